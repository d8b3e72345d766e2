// Softmax attention decode: one new query per sequence against its whole KV cache, split over the keys
// (split-K, flash-decoding) so that a single long sequence still spreads over every SM.
#pragma once
#include <cuda_bf16.h>
#include <cuda_runtime.h>
#include <cstddef>
#include <cstdint>

namespace m1::cuda {

struct AttentionDecodeParams {
    // Query of sequence b, head h (after RoPE) at q[b*q_batch_stride + h*q_head_stride + d].
    const __nv_bfloat16* q = nullptr;
    int64_t q_batch_stride = 0;
    int64_t q_head_stride = 0;
    // KV cache: key of sequence b, position s, KV head g at k[b*kv_batch_stride + s*kv_tok_stride +
    // g*kv_head_stride + d]; v likewise. The current token's key/value must already be in the cache.
    const __nv_bfloat16* k = nullptr;
    const __nv_bfloat16* v = nullptr;
    int64_t kv_batch_stride = 0;
    int64_t kv_tok_stride = 0;
    int64_t kv_head_stride = 0;
    const int* seq_lens = nullptr;  // [batch] device: keys of each sequence (>= 1, <= max_len)
    // Output o[b][h*128 + e] at out[b*out_batch_stride + h*128 + e].
    __nv_bfloat16* out = nullptr;
    int64_t out_batch_stride = 0;
    int batch = 1;
    int heads = 8;      // query heads (8 for M1 at TP-8)
    int kv_heads = 1;   // heads / kv_heads must be <= 16 (8 for M1)
    int max_len = 0;    // upper bound of seq_lens: sizes the split
    int splits = 0;     // key ranges per (sequence, KV head); from attention_decode_default_splits()
    float scale = 0.08838834764831845f;
};

// Splits so that batch x kv_heads x splits CTAs cover the SMs about twice, each with >= 64 keys.
int attention_decode_default_splits(int batch, int kv_heads, int max_len, int sm_count);
// Device workspace: partial outputs, maxima and sums of every split.
std::size_t attention_decode_workspace_bytes(int batch, int heads, int splits);
// Two launches on `stream`: the split partials, then their combination.
void attention_decode(const AttentionDecodeParams& p, void* workspace, std::size_t workspace_bytes,
                      cudaStream_t stream);

}  // namespace m1::cuda
