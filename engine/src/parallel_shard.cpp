// Tensor-parallel slices of M1's tensors (see parallel_shard.h for where ranks combine).
#include "m1/parallel_shard.h"

namespace m1 {

const char* to_string(MoeSplit s) { return s == MoeSplit::tensor ? "tensor" : "expert"; }

static Range part(int64_t total, int rank, int ranks) {
    int64_t per = total / ranks;
    return {rank * per, (rank + 1) * per};
}

TpShape tp_shape(const ModelConfig& cfg, int rank, int ranks, MoeSplit moe) {
    auto bad = [&](const std::string& why) {
        return std::invalid_argument("tensor parallelism over " + std::to_string(ranks) + " GPUs: " + why);
    };
    if (ranks < 1 || rank < 0 || rank >= ranks) throw bad("rank " + std::to_string(rank) + " out of range");
    const int64_t nh = cfg.num_heads, nkv = cfg.num_kv_heads;
    if (nh % ranks) throw bad(std::to_string(nh) + " heads do not split evenly");
    if (nkv > 0 && nkv % ranks && ranks % nkv)
        throw bad(std::to_string(nkv) + " KV heads neither split evenly nor replicate evenly");
    TpShape s;
    s.rank = rank;
    s.ranks = ranks;
    s.moe = moe;
    s.heads = part(nh, rank, ranks);
    if (nkv >= ranks) {
        s.kv_heads = part(nkv, rank, ranks);
    } else if (nkv > 0) {
        int64_t kv = s.heads.begin / (nh / nkv);  // the one KV head this rank's query heads read
        s.kv_heads = {kv, kv + 1};
    }
    if (moe == MoeSplit::tensor) {
        if (cfg.intermediate_size % ranks) throw bad("expert width " + std::to_string(cfg.intermediate_size) +
                                                     " does not split evenly");
        s.experts = {0, cfg.num_experts};
        s.width = part(cfg.intermediate_size, rank, ranks);
    } else {
        if (cfg.num_experts % ranks) throw bad(std::to_string(cfg.num_experts) + " experts do not split evenly");
        s.experts = part(cfg.num_experts, rank, ranks);
        s.width = {0, cfg.intermediate_size};
    }
    s.vocab_pad = (cfg.vocab_size + ranks - 1) / ranks;
    s.vocab = {std::min<int64_t>(rank * s.vocab_pad, cfg.vocab_size),
               std::min<int64_t>((rank + 1) * s.vocab_pad, cfg.vocab_size)};
    return s;
}

ShardSlice shard_slice(const ModelConfig& cfg, const ExpectedTensor& t, const TpShape& tp) {
    const int64_t rows = t.shape.empty() ? 1 : t.shape[0];
    const int64_t cols = t.shape.size() > 1 ? t.shape[1] : 1;
    const int64_t dh = cfg.head_dim;
    ShardSlice s;
    s.rows = {0, rows};
    s.cols = {0, cols};
    switch (t.role) {
        case TensorRole::FinalNorm:
        case TensorRole::InputNorm:
        case TensorRole::PostAttnNorm:
        case TensorRole::Router:
            s.replicated = true;
            break;
        case TensorRole::Embed:
        case TensorRole::LmHead:
            s.rows = tp.vocab;
            break;
        case TensorRole::LinQkv:  // [nh][q|k|v][dh] rows: whole heads are 3*dh contiguous rows
            s.rows = {tp.heads.begin * 3 * dh, tp.heads.end * 3 * dh};
            break;
        case TensorRole::LinGate:
        case TensorRole::LinNorm:
        case TensorRole::AttnQ:
            s.rows = {tp.heads.begin * dh, tp.heads.end * dh};
            break;
        case TensorRole::AttnK:
        case TensorRole::AttnV:
            s.rows = {tp.kv_heads.begin * dh, tp.kv_heads.end * dh};
            break;
        case TensorRole::LinOut:
        case TensorRole::AttnO:
            s.cols = {tp.heads.begin * dh, tp.heads.end * dh};
            break;
        case TensorRole::ExpertW1:
        case TensorRole::ExpertW3:
        case TensorRole::ExpertW2:
            if (t.expert < tp.experts.begin || t.expert >= tp.experts.end) {
                s.held = false;
                s.rows = s.cols = {0, 0};
            } else if (t.role == TensorRole::ExpertW2) {
                s.cols = tp.width;
            } else {
                s.rows = tp.width;
            }
            break;
    }
    if (tp.ranks == 1) s.replicated = s.held;
    return s;
}

}  // namespace m1
