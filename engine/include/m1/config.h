// ModelConfig: the MiniMax-M1 architecture parameters, read from config.json in either published layout
// (original `MiniMaxM1ForCausalLM` / `MiniMaxText01ForCausalLM`, or transformers' `MiniMaxForCausalLM`).
#pragma once
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace m1 {

// Invalid or unsupported config values; the message names the key ("config.json: rotary_dim: ...").
struct ConfigError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

enum class LayerKind : uint8_t { Lightning = 0, Softmax = 1 };  // attn_type_list 0 / 1

struct ModelConfig {
    std::string architecture;     // "MiniMaxM1ForCausalLM"
    bool original_layout = true;  // false: transformers layout (layer_types, *_alpha_factor)
    int64_t hidden_size = 0;      // H: 6144 for M1
    int64_t num_layers = 0;       // L: 80
    int64_t num_heads = 0;        // nh: 64 (lightning and softmax layers)
    int64_t num_kv_heads = 0;     // nkv: 8 (softmax layers, GQA)
    int64_t head_dim = 0;         // dh: 128
    int64_t rotary_dim = 0;       // 64 for M1; == head_dim when absent from the file
    int64_t intermediate_size = 0;// I: 9216 per expert
    int64_t num_experts = 0;      // E: 32
    int64_t top_k = 0;            // 2
    int64_t vocab_size = 0;       // V: 200064
    int64_t block_size = 256;     // lightning prefill block (B)
    int64_t max_position_embeddings = 0;
    double rms_norm_eps = 1e-5;   // decoder and final norms (the lightning-internal norm uses 1e-6)
    double rope_theta = 1e6;      // 1e7 for M1
    bool postnorm = true;         // residual is the normalized input (M1: true)
    bool tie_word_embeddings = false;
    // Residual scaling: out = residual * alpha + sublayer * beta.
    double alpha_linear = 1, beta_linear = 1;  // lightning layers (3.5565588200778455 / 1 for M1)
    double alpha_full = 1, beta_full = 1;      // softmax layers
    double alpha_mlp = 1, beta_mlp = 1;        // MoE
    std::vector<LayerKind> layer_kinds;        // size num_layers
    std::vector<int32_t> eos_token_ids;        // from config (may be empty)

    // Parses config.json text; `origin` prefixes error messages. Throws ConfigError.
    static ModelConfig from_json(const std::string& text, const std::string& origin = "config.json");
    static ModelConfig load(const std::string& path_or_dir);  // a config.json file or a folder with one

    int64_t lightning_width() const { return num_heads * head_dim; }  // 8192 for M1
    int64_t kv_width() const { return num_kv_heads * head_dim; }      // 1024 for M1
    int64_t num_lightning_layers() const;
    int64_t num_softmax_layers() const;
    // Per-head lightning decay rates s_{l,h} (original/vLLM formula, in double): decay per token = exp(-s).
    std::vector<double> lightning_slopes(int64_t layer) const;

    struct ParamCounts {
        int64_t total = 0;           // every weight
        int64_t active = 0;          // per token: top_k experts, everything else
        int64_t embedding = 0;       // embed_tokens
        int64_t lm_head = 0;         // 0 when tied
        int64_t experts = 0;         // all experts' weights
        int64_t routers = 0;         // router gates (fp32 in M1 checkpoints)
    };
    ParamCounts param_counts() const;
    // A one-line summary: "MiniMaxM1ForCausalLM: 80 layers (70 lightning + 10 softmax), H=6144, ...".
    std::string summary() const;
};

}  // namespace m1
