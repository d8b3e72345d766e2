// MoE experts for a few tokens (decode): matrix-vector products that read each selected expert's weights
// once, with the routing read from device memory, so a decode step needs no host sync and fits a CUDA graph.
#pragma once
#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include <cstdint>

namespace m1::kern {

struct ExpertWeights {
    int E, H, I;                // 32, 6144, 9216 for M1
    // bf16 layout: w13 [E, 2I, H] (rows 0..I-1 = w1 gate proj, I..2I-1 = w3 up proj), w2 [E, H, I].
    const __nv_bfloat16* w13 = nullptr;
    const __nv_bfloat16* w2 = nullptr;
    // int8 layout (weight-only, per output row): q13 [E, 2I, H] + s13 [E, 2I]; q2 [E, H, I] + s2 [E, H].
    const int8_t* q13 = nullptr;
    const float* s13 = nullptr;
    const int8_t* q2 = nullptr;
    const float* s2 = nullptr;
    // Expert parallelism: only experts [e_begin, e_begin + e_count) are held (weights indexed from e_begin) and
    // pairs routed elsewhere contribute nothing; e_count = 0 means all E are held. The router still spans all E.
    int e_begin = 0, e_count = 0;
    bool is_int8() const { return q13 != nullptr; }
    int held() const { return e_count > 0 ? e_count : E; }
    int e_end() const { return e_begin + held(); }
};

// out[t, :] = sum_j topk_w[t,j] * W2[e_j] (silu(W1[e_j] x_t) * W3[e_j] x_t), summed in ascending expert id,
// over the held experts only (a token none of whose experts is held gets zeros).
// x: [T, H] bf16; h: [T*k, I] bf16 scratch; out: [T, H] fp32. Cost grows with T: meant for T*k <= ~16.
void moe_experts_small(const ExpertWeights& w, const __nv_bfloat16* x, int T, int k, const int32_t* topk_ids,
                       const float* topk_w, __nv_bfloat16* h, float* out, cudaStream_t stream);

}  // namespace m1::kern
