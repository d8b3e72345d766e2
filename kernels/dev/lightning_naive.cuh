// Naive lightning attention on the GPU, kept next to the fast kernels as their check at sizes the CPU
// reference is too slow for: the per-token recurrence in fp32, one CTA per (head, 8 value columns).
// Header-only; include it from one test or benchmark translation unit.
#pragma once
#include <cuda_bf16.h>
#include <cuda_runtime.h>
#include <cstdint>

namespace m1::cuda::dev {

// Thread d (0..127) holds S[d][e0..e0+7]; per token: S = λS + k_d v_e, o_e = Σ_d q_d S[d][e].
// q/k/v layout as LightningPrefillParams; out fp32 [T][heads*128]; state [heads][128][128] in/out (fp32).
__global__ void __launch_bounds__(128) lightning_naive_kernel(const __nv_bfloat16* q, const __nv_bfloat16* k,
                                                              const __nv_bfloat16* v, int64_t tok_stride,
                                                              int64_t head_stride, const float* slopes, float* state,
                                                              float* out, int T, int heads) {
    const int h = blockIdx.y, e0 = blockIdx.x * 8, d = threadIdx.x;
    const float lambda = expf(-slopes[h]);
    float* S = state + (int64_t(h) * 128 + d) * 128 + e0;
    float s[8];
    for (int j = 0; j < 8; ++j) s[j] = S[j];
    __shared__ float part[4][8];
    for (int t = 0; t < T; ++t) {
        const int64_t base = t * tok_stride + h * head_stride;
        const float kd = __bfloat162float(k[base + d]), qd = __bfloat162float(q[base + d]);
        float o[8];
        for (int j = 0; j < 8; ++j) {
            s[j] = lambda * s[j] + kd * __bfloat162float(v[base + e0 + j]);
            o[j] = qd * s[j];
            for (int off = 16; off > 0; off >>= 1) o[j] += __shfl_xor_sync(0xffffffffu, o[j], off);
        }
        if ((d & 31) == 0)
            for (int j = 0; j < 8; ++j) part[d >> 5][j] = o[j];
        __syncthreads();
        if (d < 8) out[int64_t(t) * heads * 128 + h * 128 + e0 + d] = part[0][d] + part[1][d] + part[2][d] + part[3][d];
        __syncthreads();
    }
    for (int j = 0; j < 8; ++j) S[j] = s[j];
}

inline void lightning_naive(const __nv_bfloat16* q, const __nv_bfloat16* k, const __nv_bfloat16* v, int64_t tok_stride,
                            int64_t head_stride, const float* slopes, float* state, float* out, int T, int heads,
                            cudaStream_t stream) {
    lightning_naive_kernel<<<dim3(16, heads), 128, 0, stream>>>(q, k, v, tok_stride, head_stride, slopes, state, out,
                                                                T, heads);
}

}  // namespace m1::cuda::dev
