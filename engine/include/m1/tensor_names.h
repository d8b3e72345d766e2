// The M1 architecture's tensor table: every weight's checkpoint name, shape and role, in one place.
// Loading, validation, the parameter count and every backend's forward pass go through it.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "m1/config.h"

namespace m1 {

enum class TensorRole : uint8_t {
    Embed,          // model.embed_tokens.weight [V, H]
    LmHead,         // lm_head.weight [V, H] (absent when tied)
    FinalNorm,      // model.norm.weight [H]
    InputNorm,      // model.layers.{l}.input_layernorm.weight [H]
    PostAttnNorm,   // model.layers.{l}.post_attention_layernorm.weight [H]
    Router,         // model.layers.{l}.block_sparse_moe.gate.weight [E, H]
    ExpertW1,       // ...experts.{e}.w1.weight [I, H] (gate proj)
    ExpertW3,       // ...experts.{e}.w3.weight [I, H] (up proj)
    ExpertW2,       // ...experts.{e}.w2.weight [H, I] (down proj)
    LinQkv,         // lightning: self_attn.qkv_proj.weight [3*nh*dh, H], head-major interleaved q|k|v
    LinGate,        // lightning: self_attn.output_gate.weight [nh*dh, H]
    LinOut,         // lightning: self_attn.out_proj.weight [H, nh*dh]
    LinNorm,        // lightning: self_attn.norm.weight [nh*dh]
    AttnQ,          // softmax: self_attn.q_proj.weight [nh*dh, H]
    AttnK,          // softmax: self_attn.k_proj.weight [nkv*dh, H]
    AttnV,          // softmax: self_attn.v_proj.weight [nkv*dh, H]
    AttnO,          // softmax: self_attn.o_proj.weight [H, nh*dh]
};

struct ExpectedTensor {
    std::string name;
    std::vector<int64_t> shape;
    TensorRole role;
    int32_t layer = -1;   // -1 for global tensors
    int32_t expert = -1;  // -1 unless an expert weight
};

// Every tensor the config requires, in a fixed order (globals, then layer by layer).
std::vector<ExpectedTensor> expected_tensors(const ModelConfig& cfg);
std::string tensor_name(TensorRole role, int layer = -1, int expert = -1);

// Names a checkpoint may carry that the engine ignores on purpose (transformers' decay buffers,
// rotary inv_freq): the decay tables are recomputed from the formula.
bool is_ignored_tensor(const std::string& name);

}  // namespace m1
