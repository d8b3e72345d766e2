// Lightning attention decode: one new token per sequence, fused state update and output
// (S = λ·S + kᵀv; o = q·S) with the fp32 state updated in place.
#pragma once
#include <cuda_bf16.h>
#include <cuda_runtime.h>
#include <cstdint>

namespace m1::cuda {

struct LightningDecodeParams {
    // Token inputs after the q/k/v activation. Element (b, h, d) of q is q[b*qkv_batch_stride + h*qkv_head_stride + d];
    // same strides for k and v. For M1's fused projection [B, nh, 384]: batch stride nh*384, head stride 384,
    // and k = q + 128, v = q + 256.
    const __nv_bfloat16* q = nullptr;
    const __nv_bfloat16* k = nullptr;
    const __nv_bfloat16* v = nullptr;
    int64_t qkv_batch_stride = 0;
    int64_t qkv_head_stride = 0;
    // State, fp32 [B][nh][128 (d: key dim)][128 (e: value dim)], updated in place; sequence b at
    // state + b*state_batch_stride (nh*128*128 when packed).
    float* state = nullptr;
    int64_t state_batch_stride = 0;
    // Output o[b][h*128 + e] at out + b*out_batch_stride + h*128 + e (bf16).
    __nv_bfloat16* out = nullptr;
    int64_t out_batch_stride = 0;
    const float* slopes = nullptr;  // [nh] device, decay λ_h = exp(-slopes[h])
    int batch = 1;                  // sequences, 1..65535
    int heads = 8;                  // heads on this GPU (8 for M1 at TP-8)
};

// Enqueues the decode step on `stream`. Inputs are checked (programmer errors abort).
void lightning_decode(const LightningDecodeParams& p, cudaStream_t stream);

}  // namespace m1::cuda
