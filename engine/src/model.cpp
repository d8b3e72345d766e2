// Model loading: config + mapped weights checked against the tensor table (one error listing every
// problem), the fingerprint, and where the embedded demo model lives.
#include "m1/model.h"

#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <sstream>
#include <stdexcept>

#include <xxhash.h>

#include "m1/memory_plan.h"

namespace m1 {
namespace {

std::string shape_str(const std::vector<int64_t>& s) {
    std::string r = "[";
    for (size_t i = 0; i < s.size(); ++i) r += (i ? ", " : "") + std::to_string(s[i]);
    return r + "]";
}

// Lists every missing, extra and mis-shaped tensor (and unusable dtypes) in one message.
void check_tensors(const ModelConfig& cfg, const WeightStore& ws, const std::vector<ExpectedTensor>& exp,
                   const std::string& dir) {
    std::vector<std::string> missing, wrong, extra;
    std::map<std::string, bool> wanted;
    for (const auto& e : exp) {
        wanted[e.name] = true;
        const TensorInfo* t = ws.find(e.name);
        if (!t) {
            missing.push_back(e.name + " " + shape_str(e.shape));
        } else if (t->shape != e.shape) {
            wrong.push_back(e.name + " is " + shape_str(t->shape) + ", expected " + shape_str(e.shape));
        } else if (t->dtype != DType::BF16 && t->dtype != DType::F16 && t->dtype != DType::F32) {
            wrong.push_back(e.name + " has dtype " + dtype_name(t->dtype) + " (expected BF16, F16 or F32)");
        }
    }
    for (const auto& [name, t] : ws.tensors())
        if (!wanted.count(name) && !is_ignored_tensor(name)) extra.push_back(name + " " + shape_str(t.shape));
    if (missing.empty() && wrong.empty() && extra.empty()) return;
    std::ostringstream m;
    m << dir << ": the weights do not match the config (" << cfg.architecture << ", " << cfg.num_layers << " layers):";
    auto list = [&](const char* what, const std::vector<std::string>& v) {
        if (v.empty()) return;
        m << "\n  " << v.size() << " " << what << ":";
        for (size_t i = 0; i < v.size() && i < 20; ++i) m << "\n    " << v[i];
        if (v.size() > 20) m << "\n    ... and " << v.size() - 20 << " more";
    };
    list("missing", missing);
    list("mis-shaped", wrong);
    list("extra", extra);
    throw WeightsError(m.str());
}

std::string make_fingerprint(const std::string& config_text, const WeightStore& ws, size_t full_limit,
                             const LoadOptions& opts) {
    XXH3_state_t* st = XXH3_createState();
    XXH3_64bits_reset(st);
    XXH3_64bits_update(st, config_text.data(), config_text.size());
    bool full = ws.total_bytes() <= full_limit;
    size_t done = 0, total = ws.total_bytes();
    const auto t0 = std::chrono::steady_clock::now();
    auto last = t0;
    for (const auto& [name, t] : ws.tensors()) {
        if (opts.cancel && opts.cancel->load()) {
            XXH3_freeState(st);
            throw LoadCancelled();
        }
        if (is_ignored_tensor(name)) continue;
        std::string head = name + ":" + dtype_name(t.dtype) + ":" + shape_str(t.shape);
        XXH3_64bits_update(st, head.data(), head.size());
        if (full) {
            XXH3_64bits_update(st, t.data, t.nbytes);
        } else {  // first and last 4 KiB of every tensor: cheap, and tells retrained weights apart
            size_t n = std::min<size_t>(t.nbytes, 4096);
            XXH3_64bits_update(st, t.data, n);
            XXH3_64bits_update(st, t.data + t.nbytes - n, n);
        }
        done += t.nbytes;
        // A few reports a second are plenty (M1 has ~25,000 tensors); the last one always goes out.
        const auto now = std::chrono::steady_clock::now();
        if (opts.progress && total && (now - last >= std::chrono::milliseconds(50) || done == total)) {
            last = now;
            const double secs = std::chrono::duration<double>(now - t0).count();
            opts.progress(0.05 + 0.95 * double(done) / double(total),
                          load_rate_text(full ? "checking weights" : "checking weights (sampled)", done, total, secs));
        }
    }
    uint64_t h = XXH3_64bits_digest(st);
    XXH3_freeState(st);
    char buf[32];
    std::snprintf(buf, sizeof buf, "m1fp1-%016llx", static_cast<unsigned long long>(h));
    return buf;
}

}  // namespace

std::string load_rate_text(const std::string& what, uint64_t done, uint64_t total, double seconds) {
    const double rate = seconds > 0 ? double(done) / seconds : 0;
    const double eta = rate > 0 ? double(total - std::min(done, total)) / rate : 0;
    char tail[64];
    std::snprintf(tail, sizeof tail, "/s, ETA %.0f s", eta);
    return what + ": " + format_bytes(done) + " of " + format_bytes(total) + ", " + format_bytes(uint64_t(rate)) + tail;
}

std::shared_ptr<const Model> Model::load(const std::string& dir, const LoadOptions& opts) {
    namespace fs = std::filesystem;
    const auto t0 = std::chrono::steady_clock::now();
    auto m = std::shared_ptr<Model>(new Model());
    m->dir_ = dir;
    if (opts.progress) opts.progress(0.0, "config");
    fs::path cfg_path = fs::path(dir) / "config.json";
    m->config_ = ModelConfig::load(dir);
    std::string cfg_text = m->config_.summary() + (m->config_.postnorm ? "|postnorm" : "|prenorm") + "|a" +
                           std::to_string(m->config_.alpha_linear) + "," + std::to_string(m->config_.alpha_full) +
                           "," + std::to_string(m->config_.alpha_mlp) + "|b" + std::to_string(m->config_.beta_linear) +
                           "," + std::to_string(m->config_.beta_full) + "," + std::to_string(m->config_.beta_mlp) +
                           "|eps" + std::to_string(m->config_.rms_norm_eps);
    if (opts.progress) opts.progress(0.02, "mapping weights");
    if (opts.cancel && opts.cancel->load()) throw LoadCancelled();
    m->weights_ = WeightStore::open(dir);
    auto exp = expected_tensors(m->config_);
    check_tensors(m->config_, *m->weights_, exp, dir);
    m->table_.reserve(exp.size());
    int last_layer = -2;
    for (size_t i = 0; i < exp.size(); ++i) {
        m->table_.push_back(m->weights_->find(exp[i].name));
        if (exp[i].layer != last_layer && exp[i].layer >= 0) {
            m->layer_base_.push_back(i);
            last_layer = exp[i].layer;
        }
    }
    m->fingerprint_ = make_fingerprint(cfg_text, *m->weights_, opts.full_hash_limit, opts);
    if (opts.progress) {
        const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        const uint64_t bytes = m->weights_->total_bytes();
        opts.progress(1.0, load_rate_text("loaded", bytes, bytes, secs));
    }
    return m;
}

const TensorInfo& Model::tensor(TensorRole role, int layer, int expert) const {
    // Table order (see expected_tensors): per layer 2 norms, 4 attention tensors, router, experts x 3.
    size_t i;
    if (layer < 0) {
        const bool tied = config_.tie_word_embeddings;
        if (role == TensorRole::Embed) i = 0;
        else if (role == TensorRole::LmHead && !tied) i = 1;
        else if (role == TensorRole::LmHead) i = 0;
        else if (role == TensorRole::FinalNorm) i = tied ? 1 : 2;
        else throw WeightsError("tensor role needs a layer index");
    } else {
        if (layer >= int(layer_base_.size())) throw WeightsError("layer index " + std::to_string(layer) + " out of range");
        size_t b = layer_base_[size_t(layer)];
        const bool lin = config_.layer_kinds[size_t(layer)] == LayerKind::Lightning;
        switch (role) {
            case TensorRole::InputNorm: i = b; break;
            case TensorRole::PostAttnNorm: i = b + 1; break;
            case TensorRole::LinQkv: case TensorRole::AttnQ: i = b + 2; break;
            case TensorRole::LinGate: case TensorRole::AttnK: i = b + 3; break;
            case TensorRole::LinOut: case TensorRole::AttnV: i = b + 4; break;
            case TensorRole::LinNorm: case TensorRole::AttnO: i = b + 5; break;
            case TensorRole::Router: i = b + 6; break;
            case TensorRole::ExpertW1: i = b + 7 + 3 * size_t(expert); break;
            case TensorRole::ExpertW3: i = b + 8 + 3 * size_t(expert); break;
            case TensorRole::ExpertW2: i = b + 9 + 3 * size_t(expert); break;
            default: throw WeightsError("tensor role has no layer index");
        }
        const bool lin_role = role == TensorRole::LinQkv || role == TensorRole::LinGate || role == TensorRole::LinOut ||
                              role == TensorRole::LinNorm;
        const bool sm_role = role == TensorRole::AttnQ || role == TensorRole::AttnK || role == TensorRole::AttnV ||
                             role == TensorRole::AttnO;
        if ((lin_role && !lin) || (sm_role && lin)) throw WeightsError("tensor role does not match the layer kind");
    }
    return *table_.at(i);
}

void Model::embed_row(int32_t id, float* out) const {
    if (id < 0 || id >= config_.vocab_size)
        throw std::out_of_range("token id " + std::to_string(id) + " is outside the vocabulary (0.." +
                                std::to_string(config_.vocab_size - 1) + ")");
    const TensorInfo& t = tensor(TensorRole::Embed);
    size_t H = size_t(config_.hidden_size), es = dtype_size(t.dtype);
    to_f32(t.dtype, t.data + size_t(id) * H * es, out, H);
}

std::string demo_model_dir() {
    namespace fs = std::filesystem;
    std::error_code ec;
    std::vector<fs::path> tried;
    if (const char* e = std::getenv("M1_DEMO_MODEL"); e && *e) tried.emplace_back(e);
    char exe[4096];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n > 0) {
        exe[n] = 0;
        tried.push_back(fs::path(exe).parent_path().parent_path() / "share" / "m1-studio" / "demo");
    }
#ifdef M1_SOURCE_TREE
    tried.push_back(fs::path(M1_SOURCE_TREE) / "resources" / "demo");
#endif
    for (const auto& p : tried)
        if (fs::exists(p / "config.json", ec)) return p.string();
    std::string msg = "the embedded demo model was not found; looked in:";
    for (const auto& p : tried) msg += " " + p.string();
    throw std::runtime_error(msg + " (set M1_DEMO_MODEL to the folder)");
}

}  // namespace m1
