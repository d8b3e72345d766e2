// Tensor-parallel sharding of M1 over N GPUs: which rows and columns of each checkpoint tensor a rank
// holds, and where the forward pass must combine ranks. Pure arithmetic on the config (no CUDA), shared
// by the TP loader, the memory planner's tests and the CPU simulation that proves the split exact.
//
// Where ranks combine (all inside one layer; `sum` = all-reduce of fp32 or bf16 partials):
//   lightning  qkv rows by head (the fused weight is [nh][q|k|v][dh], so whole heads are contiguous rows),
//              gate rows by head, norm weight by head; the output RMSNorm spans all nh*dh features, so
//              ranks sum their per-token sums of squares ([T] fp32) before normalizing; out_proj columns
//              by head -> partial [T, H] -> sum.
//   softmax    q rows by head, k/v rows by KV head (a rank whose heads share one KV head keeps a copy),
//              o_proj columns by head -> partial [T, H] -> sum.
//   MoE        router replicated (every rank routes every token identically). tensor: every expert's w1/w3
//              rows and w2 columns by slice of I; expert: whole experts by rank, the others skipped.
//              Either way each rank's output is a partial [T, H] -> sum.
//   embedding  rows by vocabulary: a rank writes the rows of ids it holds, zeros elsewhere -> sum.
//   LM head    rows by vocabulary -> each rank's logits slice -> all-gather (padded to ranks*ceil(V/N)).
#pragma once
#include <cstdint>
#include <stdexcept>
#include <string>

#include "m1/config.h"
#include "m1/tensor_names.h"

namespace m1 {

enum class MoeSplit { tensor, expert };  // tensor: a slice of every expert; expert: whole experts per rank
const char* to_string(MoeSplit s);       // "tensor", "expert"

struct Range {
    int64_t begin = 0, end = 0;
    int64_t size() const { return end - begin; }
    bool operator==(const Range&) const = default;
};

struct TpShape {
    int rank = 0, ranks = 1;
    MoeSplit moe = MoeSplit::tensor;
    Range heads;     // query heads of this rank (lightning and softmax)
    Range kv_heads;  // softmax KV heads it holds
    Range experts;   // experts it computes (all of them in tensor mode)
    Range width;     // slice of each expert's intermediate size (all of it in expert mode)
    Range vocab;     // rows of the embedding and LM head; the last rank's may be short
    int64_t vocab_pad = 0;  // ceil(V / ranks): the all-gather's per-rank stride
};

// Throws std::invalid_argument when `ranks` does not divide the heads (and the KV heads, or the
// reverse), the expert width (tensor mode) or the expert count (expert mode).
TpShape tp_shape(const ModelConfig& cfg, int rank, int ranks, MoeSplit moe);

// The part of one checkpoint tensor that a rank holds: rows x cols of the [rows, cols] tensor
// (1-D tensors: cols = [0, 1)). held = false: nothing (another rank's expert).
struct ShardSlice {
    bool held = true;
    bool replicated = false;  // the whole tensor on every rank
    Range rows, cols;
    int64_t numel() const { return held ? rows.size() * cols.size() : 0; }
    bool contiguous(int64_t full_cols) const { return cols.begin == 0 && cols.end == full_cols; }
};
ShardSlice shard_slice(const ModelConfig& cfg, const ExpectedTensor& t, const TpShape& tp);

}  // namespace m1
