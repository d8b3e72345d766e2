// Softmax attention prefill: causal GQA attention of a chunk of new queries against the KV cache
// (all earlier keys plus the chunk's own), head dim 128, bf16 in/out, fp32 softmax (flash-attention style).
#pragma once
#include <cuda_bf16.h>
#include <cuda_runtime.h>
#include <cstdint>

namespace m1::cuda {

struct AttentionPrefillParams {
    // Queries of the chunk (after RoPE): query t (at sequence position q_start + t), head h at
    // q[t*q_tok_stride + h*q_head_stride + d]. M1 at TP-8: heads 8, packed [T][8][128].
    const __nv_bfloat16* q = nullptr;
    int64_t q_tok_stride = 0;
    int64_t q_head_stride = 0;
    // The KV cache holding positions 0 .. q_start + q_tokens - 1 (the chunk's own keys included):
    // key of position s, KV head g at k[s*kv_tok_stride + g*kv_head_stride + d]; v likewise.
    const __nv_bfloat16* k = nullptr;
    const __nv_bfloat16* v = nullptr;
    int64_t kv_tok_stride = 0;
    int64_t kv_head_stride = 0;
    // Output o[t][h*128 + e] at out[t*out_tok_stride + h*128 + e].
    __nv_bfloat16* out = nullptr;
    int64_t out_tok_stride = 0;
    int q_tokens = 0;   // queries in this chunk
    int q_start = 0;    // cached positions before the chunk
    int heads = 8;      // query heads (8 for M1 at TP-8)
    int kv_heads = 1;   // KV heads (1 for M1 at TP-8); query head h reads KV head h / (heads / kv_heads)
    float scale = 0.08838834764831845f;  // 1/sqrt(128)
    int impl = 0;       // 0: the fastest for this GPU (5 on sm_90), 1: mma.sync (any sm_80+), 2: wgmma,
                        // 3: wgmma with PV(t) and S(t+1) issued together (sm_90a); warp-specialized with TMA
                        // loads (sm_90a): 4: two stages, ping-pong consumers; 5: three stages; 6: two stages,
                        // no ping-pong; 7: three stages, no ping-pong
};

// Enqueues the attention on `stream`. All pointers and strides 16-byte aligned (multiples of 8 elements).
void attention_prefill(const AttentionPrefillParams& p, cudaStream_t stream);
// The sm_90a warpgroup-MMA kernel alone (what attention_prefill picks on Hopper); no parameter checks.
void attention_prefill_wgmma(const AttentionPrefillParams& p, cudaStream_t stream);
// The warp-specialized sm_90a kernels (impl 4-7: a producer warpgroup loading through the copy engine).
void attention_prefill_ws(const AttentionPrefillParams& p, cudaStream_t stream);

}  // namespace m1::cuda
