// The M1 tensor table (names and shapes per config), shared by loading, validation and backends.
#include "m1/tensor_names.h"

namespace m1 {

std::string tensor_name(TensorRole role, int layer, int expert) {
    const std::string l = "model.layers." + std::to_string(layer) + ".";
    const std::string moe = l + "block_sparse_moe.";
    const std::string ex = moe + "experts." + std::to_string(expert) + ".";
    switch (role) {
        case TensorRole::Embed: return "model.embed_tokens.weight";
        case TensorRole::LmHead: return "lm_head.weight";
        case TensorRole::FinalNorm: return "model.norm.weight";
        case TensorRole::InputNorm: return l + "input_layernorm.weight";
        case TensorRole::PostAttnNorm: return l + "post_attention_layernorm.weight";
        case TensorRole::Router: return moe + "gate.weight";
        case TensorRole::ExpertW1: return ex + "w1.weight";
        case TensorRole::ExpertW3: return ex + "w3.weight";
        case TensorRole::ExpertW2: return ex + "w2.weight";
        case TensorRole::LinQkv: return l + "self_attn.qkv_proj.weight";
        case TensorRole::LinGate: return l + "self_attn.output_gate.weight";
        case TensorRole::LinOut: return l + "self_attn.out_proj.weight";
        case TensorRole::LinNorm: return l + "self_attn.norm.weight";
        case TensorRole::AttnQ: return l + "self_attn.q_proj.weight";
        case TensorRole::AttnK: return l + "self_attn.k_proj.weight";
        case TensorRole::AttnV: return l + "self_attn.v_proj.weight";
        case TensorRole::AttnO: return l + "self_attn.o_proj.weight";
    }
    return {};
}

std::vector<ExpectedTensor> expected_tensors(const ModelConfig& c) {
    std::vector<ExpectedTensor> t;
    const int64_t H = c.hidden_size, W = c.lightning_width(), KV = c.kv_width(), I = c.intermediate_size;
    auto add = [&](TensorRole r, std::vector<int64_t> shape, int layer = -1, int expert = -1) {
        t.push_back({tensor_name(r, layer, expert), std::move(shape), r, layer, expert});
    };
    add(TensorRole::Embed, {c.vocab_size, H});
    if (!c.tie_word_embeddings) add(TensorRole::LmHead, {c.vocab_size, H});
    add(TensorRole::FinalNorm, {H});
    for (int l = 0; l < int(c.num_layers); ++l) {
        add(TensorRole::InputNorm, {H}, l);
        add(TensorRole::PostAttnNorm, {H}, l);
        if (c.layer_kinds[size_t(l)] == LayerKind::Lightning) {
            add(TensorRole::LinQkv, {3 * W, H}, l);
            add(TensorRole::LinGate, {W, H}, l);
            add(TensorRole::LinOut, {H, W}, l);
            add(TensorRole::LinNorm, {W}, l);
        } else {
            add(TensorRole::AttnQ, {W, H}, l);
            add(TensorRole::AttnK, {KV, H}, l);
            add(TensorRole::AttnV, {KV, H}, l);
            add(TensorRole::AttnO, {H, W}, l);
        }
        add(TensorRole::Router, {c.num_experts, H}, l);
        for (int e = 0; e < int(c.num_experts); ++e) {
            add(TensorRole::ExpertW1, {I, H}, l, e);
            add(TensorRole::ExpertW3, {I, H}, l, e);
            add(TensorRole::ExpertW2, {H, I}, l, e);
        }
    }
    return t;
}

bool is_ignored_tensor(const std::string& name) {
    static const char* suffixes[] = {".slope_rate", ".query_decay", ".key_decay", ".diagonal_decay",
                                     ".rotary_emb.inv_freq"};
    for (const char* s : suffixes) {
        std::string suf(s);
        if (name.size() >= suf.size() && name.compare(name.size() - suf.size(), suf.size(), suf) == 0) return true;
    }
    return false;
}

}  // namespace m1
