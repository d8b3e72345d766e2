// Reads config.json in the original and the transformers layout into ModelConfig, rejecting invalid
// or unsupported values with the key's name.
#include "m1/config.h"

#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

namespace m1 {
namespace {

using json = nlohmann::json;

struct Reader {
    const json& j;
    std::string origin;

    [[noreturn]] void fail(const std::string& key, const std::string& what) const {
        throw ConfigError(origin + ": " + key + ": " + what);
    }
    bool has(const std::string& key) const { return j.contains(key) && !j.at(key).is_null(); }
    int64_t integer(const std::string& key, std::optional<int64_t> fallback, int64_t lo, int64_t hi) const {
        if (!has(key)) {
            if (!fallback) fail(key, "missing");
            return *fallback;
        }
        const json& v = j.at(key);
        if (!v.is_number_integer()) fail(key, "expected an integer, got " + v.dump());
        int64_t x = v.get<int64_t>();
        if (x < lo || x > hi)
            fail(key, std::to_string(x) + " is outside [" + std::to_string(lo) + ", " + std::to_string(hi) + "]");
        return x;
    }
    double number(const std::string& key, double fallback) const {
        if (!has(key)) return fallback;
        const json& v = j.at(key);
        if (!v.is_number()) fail(key, "expected a number, got " + v.dump());
        double x = v.get<double>();
        if (!std::isfinite(x)) fail(key, "not finite");
        return x;
    }
    bool boolean(const std::string& key, bool fallback) const {
        if (!has(key)) return fallback;
        if (!j.at(key).is_boolean()) fail(key, "expected true or false");
        return j.at(key).get<bool>();
    }
};

constexpr int64_t kMaxDim = int64_t(1) << 20;  // no dimension of a real model comes near this

void read_architecture(const Reader& r, ModelConfig& c) {
    std::string arch;
    if (r.has("architectures")) {
        const json& a = r.j.at("architectures");
        if (!a.is_array() || a.empty() || !a[0].is_string()) r.fail("architectures", "expected a list of names");
        arch = a[0].get<std::string>();
    } else if (r.has("model_type") && r.j.at("model_type").is_string()) {
        std::string mt = r.j.at("model_type").get<std::string>();
        if (mt == "minimax_m1" || mt == "MiniMaxM1" || mt == "minimax_text_01" || mt == "MiniMaxText01")
            arch = "MiniMaxM1ForCausalLM";
        else if (mt == "minimax")
            arch = "MiniMaxForCausalLM";
        else
            r.fail("model_type", "unsupported model type '" + mt + "' (expected a MiniMax-M1 / MiniMax-Text-01 model)");
    } else {
        r.fail("architectures", "missing (and no model_type): not a MiniMax config");
    }
    if (arch == "MiniMaxM1ForCausalLM" || arch == "MiniMaxText01ForCausalLM")
        c.original_layout = true;
    else if (arch == "MiniMaxForCausalLM")
        c.original_layout = false;
    else
        r.fail("architectures", "unsupported architecture '" + arch +
                                    "' (supported: MiniMaxM1ForCausalLM, MiniMaxText01ForCausalLM, MiniMaxForCausalLM)");
    c.architecture = arch;
}

void read_layer_kinds(const Reader& r, ModelConfig& c) {
    c.layer_kinds.clear();
    if (r.has("attn_type_list")) {
        const json& a = r.j.at("attn_type_list");
        if (!a.is_array()) r.fail("attn_type_list", "expected a list of 0/1");
        for (const json& v : a) {
            if (!v.is_number_integer() || (v.get<int64_t>() != 0 && v.get<int64_t>() != 1))
                r.fail("attn_type_list", "entries must be 0 (lightning) or 1 (softmax), got " + v.dump());
            c.layer_kinds.push_back(v.get<int64_t>() == 0 ? LayerKind::Lightning : LayerKind::Softmax);
        }
    } else if (r.has("layer_types")) {
        const json& a = r.j.at("layer_types");
        if (!a.is_array()) r.fail("layer_types", "expected a list of names");
        for (const json& v : a) {
            std::string s = v.is_string() ? v.get<std::string>() : v.dump();
            if (s == "linear_attention")
                c.layer_kinds.push_back(LayerKind::Lightning);
            else if (s == "full_attention")
                c.layer_kinds.push_back(LayerKind::Softmax);
            else
                r.fail("layer_types", "unknown layer type " + s + " (expected linear_attention or full_attention)");
        }
    } else {
        r.fail(c.original_layout ? "attn_type_list" : "layer_types", "missing: the layer pattern is required");
    }
    if (int64_t(c.layer_kinds.size()) != c.num_layers)
        r.fail(r.has("attn_type_list") ? "attn_type_list" : "layer_types",
               "has " + std::to_string(c.layer_kinds.size()) + " entries but num_hidden_layers is " +
                   std::to_string(c.num_layers));
}

void read_residual_factors(const Reader& r, ModelConfig& c) {
    // Either layout's names are accepted; the layout's own name wins when both are present.
    auto pick = [&](const char* orig, const char* hf) {
        const char* first = c.original_layout ? orig : hf;
        const char* second = c.original_layout ? hf : orig;
        return r.has(first) ? r.number(first, 1.0) : r.number(second, 1.0);
    };
    c.alpha_linear = pick("layernorm_linear_attention_alpha", "linear_attn_alpha_factor");
    c.beta_linear = pick("layernorm_linear_attention_beta", "linear_attn_beta_factor");
    c.alpha_full = pick("layernorm_full_attention_alpha", "full_attn_alpha_factor");
    c.beta_full = pick("layernorm_full_attention_beta", "full_attn_beta_factor");
    c.alpha_mlp = pick("layernorm_mlp_alpha", "mlp_alpha_factor");
    c.beta_mlp = pick("layernorm_mlp_beta", "mlp_beta_factor");
}

void read_rope(const Reader& r, ModelConfig& c) {
    c.rope_theta = r.number("rope_theta", 1e6);
    if (r.has("rope_parameters")) {
        const json& p = r.j.at("rope_parameters");
        if (!p.is_object()) r.fail("rope_parameters", "expected an object");
        if (p.contains("rope_type") && !(p["rope_type"].is_string() && p["rope_type"] == "default"))
            r.fail("rope_parameters.rope_type", "unsupported " + p["rope_type"].dump() + " (only \"default\")");
        if (p.contains("rope_theta")) {
            if (!p["rope_theta"].is_number()) r.fail("rope_parameters.rope_theta", "expected a number");
            c.rope_theta = p["rope_theta"].get<double>();
        }
        if (p.contains("partial_rotary_factor") && p["partial_rotary_factor"].is_number() && !r.has("rotary_dim")) {
            double f = p["partial_rotary_factor"].get<double>();
            c.rotary_dim = int64_t(std::llround(f * double(c.head_dim)));
        }
    }
    if (r.has("rope_scaling")) {  // some writers alias rope_parameters here; only the default type is supported
        const json& p = r.j.at("rope_scaling");
        std::string type = p.is_object() ? p.value("rope_type", p.value("type", std::string("?"))) : "?";
        if (type != "default") r.fail("rope_scaling", "RoPE scaling " + p.dump() + " is not supported");
        if (p.contains("rope_theta") && p["rope_theta"].is_number() && !r.has("rope_parameters"))
            c.rope_theta = p["rope_theta"].get<double>();
    }
    if (!(c.rope_theta > 1.0) || !std::isfinite(c.rope_theta)) r.fail("rope_theta", "must be a finite number > 1");
    if (r.has("rotary_dim")) c.rotary_dim = r.integer("rotary_dim", std::nullopt, 2, kMaxDim);
    if (c.rotary_dim == 0) c.rotary_dim = c.head_dim;
    if (c.rotary_dim > c.head_dim || c.rotary_dim % 2 != 0 || c.rotary_dim < 2)
        r.fail("rotary_dim", std::to_string(c.rotary_dim) + " must be even and in [2, head_dim=" +
                                 std::to_string(c.head_dim) + "]");
}

void read_misc(const Reader& r, ModelConfig& c) {
    if (r.has("hidden_act") && r.j.at("hidden_act") != "silu")
        r.fail("hidden_act", "unsupported " + r.j.at("hidden_act").dump() + " (M1 uses silu)");
    if (r.integer("shared_intermediate_size", 0, 0, kMaxDim) != 0)
        r.fail("shared_intermediate_size", "a shared expert is not supported (M1 has none: 0)");
    if (r.has("sliding_window")) r.fail("sliding_window", "sliding-window attention is not supported (M1: null)");
    c.rms_norm_eps = r.number("rms_norm_eps", 1e-5);
    if (!(c.rms_norm_eps > 0 && c.rms_norm_eps < 1)) r.fail("rms_norm_eps", "must be in (0, 1)");
    c.postnorm = r.boolean("postnorm", true);
    c.tie_word_embeddings = r.boolean("tie_word_embeddings", false);
    c.max_position_embeddings = r.integer("max_position_embeddings", int64_t(10240000), 1, int64_t(1) << 40);
    c.block_size = r.integer("block_size", 256, 1, 65536);
    if (r.has("eos_token_id")) {
        const json& e = r.j.at("eos_token_id");
        auto add = [&](const json& v) {
            if (!v.is_number_integer() || v.get<int64_t>() < 0 || v.get<int64_t>() >= c.vocab_size)
                r.fail("eos_token_id", "expected token ids below vocab_size, got " + v.dump());
            c.eos_token_ids.push_back(int32_t(v.get<int64_t>()));
        };
        if (e.is_array())
            for (const json& v : e) add(v);
        else
            add(e);
    }
}

}  // namespace

ModelConfig ModelConfig::from_json(const std::string& text, const std::string& origin) {
    json j;
    try {
        j = json::parse(text);
    } catch (const json::exception& e) {
        throw ConfigError(origin + ": not valid JSON (" + e.what() + ")");
    }
    if (!j.is_object()) throw ConfigError(origin + ": expected a JSON object");
    Reader r{j, origin};
    ModelConfig c;
    read_architecture(r, c);
    c.hidden_size = r.integer("hidden_size", std::nullopt, 1, kMaxDim);
    c.num_layers = r.integer("num_hidden_layers", std::nullopt, 1, 4096);
    c.num_heads = r.integer("num_attention_heads", std::nullopt, 1, 4096);
    c.num_kv_heads = r.integer("num_key_value_heads", c.num_heads, 1, 4096);
    if (c.num_heads % c.num_kv_heads != 0)
        r.fail("num_key_value_heads", std::to_string(c.num_kv_heads) + " does not divide num_attention_heads=" +
                                          std::to_string(c.num_heads));
    if (!r.has("head_dim") && c.hidden_size % c.num_heads != 0)
        r.fail("head_dim", "missing and hidden_size is not a multiple of num_attention_heads");
    c.head_dim = r.integer("head_dim", c.hidden_size / c.num_heads, 1, 4096);
    c.intermediate_size = r.integer("intermediate_size", std::nullopt, 1, kMaxDim);
    const char* ek = r.has("num_local_experts") ? "num_local_experts" : "num_experts";
    c.num_experts = r.integer(ek, std::nullopt, 1, 4096);
    c.top_k = r.integer("num_experts_per_tok", 2, 1, 4096);
    if (c.top_k > c.num_experts)
        r.fail("num_experts_per_tok", std::to_string(c.top_k) + " is more than the " +
                                          std::to_string(c.num_experts) + " experts");
    c.vocab_size = r.integer("vocab_size", std::nullopt, 1, int64_t(1) << 24);
    read_layer_kinds(r, c);
    read_residual_factors(r, c);
    read_rope(r, c);
    read_misc(r, c);
    return c;
}

ModelConfig ModelConfig::load(const std::string& path_or_dir) {
    namespace fs = std::filesystem;
    fs::path p(path_or_dir);
    std::error_code ec;
    if (fs::is_directory(p, ec)) p /= "config.json";
    std::ifstream f(p, std::ios::binary);
    if (!f) throw ConfigError(p.string() + ": cannot open (is this a model folder with a config.json?)");
    if (fs::file_size(p, ec) > (size_t(16) << 20)) throw ConfigError(p.string() + ": larger than 16 MB, not a config");
    std::stringstream ss;
    ss << f.rdbuf();
    return from_json(ss.str(), p.string());
}

int64_t ModelConfig::num_lightning_layers() const {
    int64_t n = 0;
    for (LayerKind k : layer_kinds) n += k == LayerKind::Lightning;
    return n;
}

int64_t ModelConfig::num_softmax_layers() const { return num_layers - num_lightning_layers(); }

std::vector<double> ModelConfig::lightning_slopes(int64_t layer) const {
    std::vector<double> s(static_cast<size_t>(num_heads));
    // Same formula as m1::ref::lightning_slopes (kept here so config has no engine dependency).
    double factor = num_layers > 1 ? 1.0 - double(layer) / double(num_layers - 1) + 1e-5 : 1.0 + 1e-5;
    for (int64_t h = 0; h < num_heads; ++h) s[size_t(h)] = std::exp2(-8.0 * double(h + 1) / double(num_heads)) * factor;
    return s;
}

ModelConfig::ParamCounts ModelConfig::param_counts() const {
    ParamCounts p;
    const int64_t H = hidden_size, W = lightning_width(), KV = kv_width(), I = intermediate_size;
    p.embedding = vocab_size * H;
    p.lm_head = tie_word_embeddings ? 0 : vocab_size * H;
    p.experts = num_layers * num_experts * 3 * H * I;
    p.routers = num_layers * num_experts * H;
    int64_t attn = 0;
    for (LayerKind k : layer_kinds)
        attn += k == LayerKind::Lightning ? H * 3 * W + W * H + H * W + W : H * W + 2 * H * KV + W * H;
    int64_t norms = num_layers * 2 * H + H;
    p.total = p.embedding + p.lm_head + p.experts + p.routers + attn + norms;
    p.active = p.total - p.experts + num_layers * top_k * 3 * H * I;
    return p;
}

std::string ModelConfig::summary() const {
    std::ostringstream s;
    s << architecture << ": " << num_layers << " layers (" << num_lightning_layers() << " lightning + "
      << num_softmax_layers() << " softmax), hidden " << hidden_size << ", " << num_heads << " heads x " << head_dim
      << " (" << num_kv_heads << " KV heads, RoPE on " << rotary_dim << " dims, theta " << rope_theta << "), "
      << num_experts << " experts x " << intermediate_size << " (top-" << top_k << "), vocab " << vocab_size
      << ", block " << block_size;
    return s.str();
}

}  // namespace m1
