// The CPU backend: the M1 forward pass in fp32, top to bottom, built from the reference ops. It is the
// numerical reference for the other backends and the engine used on machines without a GPU.
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <thread>

#ifdef M1_HAVE_CBLAS
#include <cblas.h>
#endif

#include "cpu_weights.h"
#include "gemm.h"
#include "m1/backend.h"
#include "m1/reference_ops.h"
#include "m1/state_format.h"
#include "thread_pool.h"

namespace m1 {
namespace {

constexpr float kLightningNormEps = 1e-6f;  // the lightning-internal RMSNorm (HF/original), not rms_norm_eps

size_t default_cache_limit() {
    long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGE_SIZE);
    size_t ram = pages > 0 && page > 0 ? size_t(pages) * size_t(page) : (size_t(8) << 30);
    return std::min(ram / 2, size_t(16) << 30);
}

struct LayerState {
    std::vector<float> S;      // lightning: [nh, dh, dh] fp32
    std::vector<float> K, V;   // softmax: [position, nkv, dh] (keys after RoPE)
};

class CpuSession : public Session {
public:
    CpuSession(std::shared_ptr<const CpuWeights> w) : w_(std::move(w)), cfg_(w_->model().config()) {
        slopes_.resize(size_t(cfg_.num_layers));
        for (int64_t l = 0; l < cfg_.num_layers; ++l) slopes_[size_t(l)] = cfg_.lightning_slopes(l);
        reset();
    }
    const ModelConfig& config() const override { return cfg_; }
    const std::string& fingerprint() const override { return w_->model().fingerprint(); }
    std::string device() const override { return "cpu"; }
    int64_t position() const override { return pos_; }
    std::span<const float> logits() const override { return {last_logits_.data(), last_logits_.size()}; }

    void reset() override {
        pos_ = 0;
        last_logits_.clear();
        layers_.assign(size_t(cfg_.num_layers), {});
        for (int64_t l = 0; l < cfg_.num_layers; ++l)
            if (cfg_.layer_kinds[size_t(l)] == LayerKind::Lightning)
                layers_[size_t(l)].S.assign(size_t(cfg_.num_heads * cfg_.head_dim * cfg_.head_dim), 0.f);
    }

    void forward(std::span<const int32_t> ids, float* all_logits) override;
    void export_state(ByteSink& sink) const override;
    void import_state(ByteSource& source) override;

private:
    const float* W(TensorRole r, int l = -1, int e = -1, int slot = 0) const {
        return w_->get(scratch_[size_t(slot)], r, l, e);
    }
    void lightning_layer(int l, const float* u, float* out, int64_t T);
    void softmax_layer(int l, const float* u, float* out, int64_t T);
    void moe_layer(int l, const float* u, float* out, int64_t T);

    std::shared_ptr<const CpuWeights> w_;
    const ModelConfig& cfg_;
    std::vector<std::vector<double>> slopes_;
    std::vector<LayerState> layers_;
    std::vector<float> last_logits_;
    int64_t pos_ = 0;
    mutable std::vector<std::vector<float>> scratch_ = std::vector<std::vector<float>>(4);
};

void CpuSession::forward(std::span<const int32_t> ids, float* all_logits) {
    const int64_t T = int64_t(ids.size()), H = cfg_.hidden_size, V = cfg_.vocab_size;
    if (T == 0) return;
    for (size_t i = 0; i < ids.size(); ++i)
        if (ids[i] < 0 || ids[i] >= V)
            throw InputError("token " + std::to_string(i) + " has id " + std::to_string(ids[i]) +
                             ", outside the model's vocabulary (0.." + std::to_string(V - 1) + ")");
    if (pos_ + T > cfg_.max_position_embeddings)
        throw InputError("the sequence would reach " + std::to_string(pos_ + T) + " tokens, past the model's " +
                         std::to_string(cfg_.max_position_embeddings) + "-token limit");
    // x: (T, H) the residual stream; u: (T, H) normalized input; a: (T, H) sub-layer output.
    std::vector<float> x(size_t(T * H)), u(size_t(T * H)), a(size_t(T * H));
    for (int64_t t = 0; t < T; ++t) w_->model().embed_row(ids[size_t(t)], x.data() + t * H);
    const float eps = float(cfg_.rms_norm_eps);
    for (int l = 0; l < int(cfg_.num_layers); ++l) {
        const bool lin = cfg_.layer_kinds[size_t(l)] == LayerKind::Lightning;
        ref::rmsnorm(x.data(), W(TensorRole::InputNorm, l), u.data(), T, H, eps);
        if (lin)
            lightning_layer(l, u.data(), a.data(), T);
        else
            softmax_layer(l, u.data(), a.data(), T);
        // Post-norm residual: x1 = u * alpha + a * beta (the residual is x itself when postnorm is off).
        const float al = float(lin ? cfg_.alpha_linear : cfg_.alpha_full), be = float(lin ? cfg_.beta_linear : cfg_.beta_full);
        const float* res = cfg_.postnorm ? u.data() : x.data();
        for (size_t i = 0; i < x.size(); ++i) x[i] = res[i] * al + a[i] * be;
        ref::rmsnorm(x.data(), W(TensorRole::PostAttnNorm, l), u.data(), T, H, eps);
        moe_layer(l, u.data(), a.data(), T);
        const float am = float(cfg_.alpha_mlp), bm = float(cfg_.beta_mlp);
        res = cfg_.postnorm ? u.data() : x.data();
        for (size_t i = 0; i < x.size(); ++i) x[i] = res[i] * am + a[i] * bm;
    }
    // Final norm and the fp32 LM head; all rows only when asked for.
    const int64_t first = all_logits ? 0 : T - 1, rows = T - first;
    ref::rmsnorm(x.data() + first * H, W(TensorRole::FinalNorm), u.data(), rows, H, eps);
    std::vector<float> lg(size_t(rows * V));
    ref::linear(u.data(), W(TensorRole::LmHead), lg.data(), rows, V, H);
    if (all_logits) std::memcpy(all_logits, lg.data(), lg.size() * sizeof(float));
    last_logits_.assign(lg.end() - V, lg.end());
    pos_ += T;
}

void CpuSession::lightning_layer(int l, const float* u, float* out, int64_t T) {
    const int64_t H = cfg_.hidden_size, nh = cfg_.num_heads, dh = cfg_.head_dim, Wd = nh * dh;
    // qkv: (T, nh, 3, dh) head-major interleaved, through SiLU; then split into q, k, v: (T, nh, dh).
    std::vector<float> qkv(size_t(T * 3 * Wd)), q(size_t(T * Wd)), k(size_t(T * Wd)), v(size_t(T * Wd)), o(size_t(T * Wd));
    ref::linear(u, W(TensorRole::LinQkv, l), qkv.data(), T, 3 * Wd, H);
    parallel_for(T, [&](int64_t b, int64_t e) {
        for (int64_t t = b; t < e; ++t)
            for (int64_t h = 0; h < nh; ++h) {
                const float* src = qkv.data() + (t * nh + h) * 3 * dh;
                float* dst[3] = {q.data() + (t * nh + h) * dh, k.data() + (t * nh + h) * dh, v.data() + (t * nh + h) * dh};
                for (int c = 0; c < 3; ++c)
                    for (int64_t d = 0; d < dh; ++d) {
                        float z = src[c * dh + d];
                        dst[c][d] = z / (1.f + std::exp(-z));
                    }
            }
    });
    float* S = layers_[size_t(l)].S.data();
    const double* s = slopes_[size_t(l)].data();
    if (T == 1)
        ref::lightning_decode(q.data(), k.data(), v.data(), S, o.data(), T, nh, dh, s);
    else
        ref::lightning_prefill(q.data(), k.data(), v.data(), S, o.data(), T, nh, dh, s, cfg_.block_size);
    // One RMSNorm over all heads (eps 1e-6), times the sigmoid gate from the same input u, then out_proj.
    ref::rmsnorm(o.data(), W(TensorRole::LinNorm, l), o.data(), T, Wd, kLightningNormEps);
    std::vector<float>& g = qkv;  // reuse: gate (T, nh*dh)
    ref::linear(u, W(TensorRole::LinGate, l), g.data(), T, Wd, H);
    for (int64_t i = 0; i < T * Wd; ++i) o[size_t(i)] *= 1.f / (1.f + std::exp(-g[size_t(i)]));
    ref::linear(o.data(), W(TensorRole::LinOut, l), out, T, H, Wd);
}

void CpuSession::softmax_layer(int l, const float* u, float* out, int64_t T) {
    const int64_t H = cfg_.hidden_size, nh = cfg_.num_heads, nkv = cfg_.num_kv_heads, dh = cfg_.head_dim;
    LayerState& st = layers_[size_t(l)];
    const int64_t past = pos_;
    std::vector<float> q(size_t(T * nh * dh)), o(size_t(T * nh * dh));
    ref::linear(u, W(TensorRole::AttnQ, l), q.data(), T, nh * dh, H);
    st.K.resize(size_t((past + T) * nkv * dh));
    st.V.resize(size_t((past + T) * nkv * dh));
    float* knew = st.K.data() + past * nkv * dh;
    ref::linear(u, W(TensorRole::AttnK, l), knew, T, nkv * dh, H);
    ref::linear(u, W(TensorRole::AttnV, l), st.V.data() + past * nkv * dh, T, nkv * dh, H);
    ref::rope(q.data(), T, nh, dh, cfg_.rotary_dim, cfg_.rope_theta, past);
    ref::rope(knew, T, nkv, dh, cfg_.rotary_dim, cfg_.rope_theta, past);
    ref::softmax_attention(q.data(), st.K.data(), st.V.data(), o.data(), T, past, nh, nkv, dh);
    ref::linear(o.data(), W(TensorRole::AttnO, l), out, T, H, nh * dh);
}

void CpuSession::moe_layer(int l, const float* u, float* out, int64_t T) {
    const int64_t H = cfg_.hidden_size, I = cfg_.intermediate_size, E = cfg_.num_experts, K = cfg_.top_k;
    // fp32 router: softmax over all experts, top-k, renormalize.
    std::vector<float> logits(size_t(T * E)), wts(size_t(T * K));
    std::vector<int32_t> ids(size_t(T * K));
    ref::linear(u, W(TensorRole::Router, l), logits.data(), T, E, H);
    ref::router_topk(logits.data(), T, E, K, ids.data(), wts.data());
    std::fill(out, out + T * H, 0.f);
    std::vector<float> xs, ys;
    for (int e = 0; e < int(E); ++e) {  // ascending expert id, like ref::moe
        std::vector<std::pair<int64_t, float>> rows;
        for (int64_t t = 0; t < T; ++t)
            for (int64_t j = 0; j < K; ++j)
                if (ids[size_t(t * K + j)] == e) rows.push_back({t, wts[size_t(t * K + j)]});
        if (rows.empty()) continue;
        const int64_t n = int64_t(rows.size());
        xs.resize(size_t(n * H));
        ys.resize(size_t(n * H));
        for (int64_t r = 0; r < n; ++r) std::copy_n(u + rows[size_t(r)].first * H, H, xs.data() + r * H);
        ref::swiglu_expert(xs.data(), n, H, I, W(TensorRole::ExpertW1, l, e, 1), W(TensorRole::ExpertW3, l, e, 2),
                           W(TensorRole::ExpertW2, l, e, 3), ys.data());
        for (int64_t r = 0; r < n; ++r) {
            float* o = out + rows[size_t(r)].first * H;
            const float w = rows[size_t(r)].second;
            const float* yr = ys.data() + r * H;
            for (int64_t c = 0; c < H; ++c) o[c] += w * yr[c];
        }
    }
}

void CpuSession::export_state(ByteSink& sink) const {
    HashingSink out(sink);
    write_state_header(out, state_header(cfg_, fingerprint(), pos_, 0));  // f32 KV
    for (int64_t l = 0; l < cfg_.num_layers; ++l) {
        const LayerState& st = layers_[size_t(l)];
        if (cfg_.layer_kinds[size_t(l)] == LayerKind::Lightning) {
            out.write(st.S.data(), st.S.size() * 4);
        } else {
            out.write(st.K.data(), st.K.size() * 4);
            out.write(st.V.data(), st.V.size() * 4);
        }
    }
    const uint32_t nlog = uint32_t(last_logits_.size());
    out.write(&nlog, 4);  // the last logits, so generation continues right after an import
    out.write(last_logits_.data(), last_logits_.size() * 4);
    out.finish();
}

// Reads n floats in pieces so that a hostile position cannot make us allocate before the bytes exist.
void read_floats(HashingSource& in, std::vector<float>& v, size_t n, bool bf16) {
    v.clear();
    constexpr size_t kPiece = size_t(1) << 20;
    std::vector<uint16_t> tmp;
    for (size_t done = 0; done < n;) {
        size_t m = std::min(kPiece, n - done);
        v.resize(done + m);
        if (bf16) {
            tmp.resize(m);
            in.read(tmp.data(), m * 2);
            for (size_t i = 0; i < m; ++i) v[done + i] = bf16_to_f32(tmp[i]);
        } else {
            in.read(v.data() + done, m * 4);
        }
        done += m;
    }
}

void CpuSession::import_state(ByteSource& source) {
    HashingSource in(source);
    StateHeader h = read_state_header(in, cfg_, fingerprint());
    std::vector<LayerState> layers(size_t(cfg_.num_layers));
    const size_t per_tok = size_t(cfg_.num_kv_heads * cfg_.head_dim);
    for (int64_t l = 0; l < cfg_.num_layers; ++l) {
        LayerState& st = layers[size_t(l)];
        if (cfg_.layer_kinds[size_t(l)] == LayerKind::Lightning) {
            read_floats(in, st.S, size_t(cfg_.num_heads * cfg_.head_dim * cfg_.head_dim), false);
        } else {
            read_floats(in, st.K, size_t(h.position) * per_tok, h.kv_dtype == 1);
            read_floats(in, st.V, size_t(h.position) * per_tok, h.kv_dtype == 1);
        }
    }
    uint32_t nlog = 0;
    in.read(&nlog, 4);
    if (nlog != 0 && nlog != uint32_t(cfg_.vocab_size))
        throw StateFormatError("state: the stored logits have " + std::to_string(nlog) + " entries, the model's vocabulary " +
                               std::to_string(cfg_.vocab_size));
    std::vector<float> lg;
    read_floats(in, lg, nlog, false);
    in.finish();
    layers_ = std::move(layers);
    last_logits_ = std::move(lg);
    pos_ = h.position;
}

class CpuBackend : public Backend {
public:
    CpuBackend(std::shared_ptr<const Model> m, int threads) {
        if (threads > 0) set_cpu_threads(threads);
        weights_ = std::make_shared<CpuWeights>(std::move(m), default_cache_limit());
    }
    std::string device() const override { return "cpu"; }
    std::unique_ptr<Session> new_session() override { return std::make_unique<CpuSession>(weights_); }
    const Model& model() const override { return weights_->model(); }

private:
    std::shared_ptr<const CpuWeights> weights_;
};

}  // namespace

std::unique_ptr<Backend> make_cpu_backend(std::shared_ptr<const Model> model, int threads) {
    return std::make_unique<CpuBackend>(std::move(model), threads);
}

void set_cpu_threads(int n) {
    set_num_threads(n);
#ifdef M1_HAVE_CBLAS
    openblas_set_num_threads(n > 0 ? n : int(std::thread::hardware_concurrency()));
#endif
}

int cpu_threads() { return num_threads(); }
const char* cpu_gemm_name() { return gemm_backend_name(); }

}  // namespace m1
