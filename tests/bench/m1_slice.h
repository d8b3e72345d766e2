// The M1-width slice the GPU benchmarks run: M1's real widths (hidden 6144, 64 heads, 8 KV heads, 32 experts of
// 9216, vocab 200064) with fewer layers, lightning layers first and the softmax layers after, as in each group of 8.
// The multi-GPU tests use it too, with fewer experts (quicker to make).
#pragma once
#include <chrono>

#include "m1/config.h"

namespace m1::bench {

inline ModelConfig m1_width_slice(int n_lightning, int n_softmax, int experts = 32) {
    ModelConfig c;
    c.architecture = "MiniMaxM1ForCausalLM (slice)";
    c.hidden_size = 6144; c.num_heads = 64; c.num_kv_heads = 8; c.head_dim = 128; c.rotary_dim = 64;
    c.intermediate_size = 9216; c.num_experts = experts; c.top_k = 2; c.vocab_size = 200064;
    c.max_position_embeddings = 10240000; c.rope_theta = 1e7; c.rms_norm_eps = 1e-5;
    c.alpha_linear = c.alpha_full = c.alpha_mlp = 3.5565588200778455;
    c.num_layers = n_lightning + n_softmax;
    for (int l = 0; l < n_lightning; ++l) c.layer_kinds.push_back(LayerKind::Lightning);
    for (int l = 0; l < n_softmax; ++l) c.layer_kinds.push_back(LayerKind::Softmax);
    return c;
}

inline double now_seconds() {
    return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

}  // namespace m1::bench
