// Naive causal GQA softmax attention on the GPU (fp32, one warp per query row and head), the check of
// the fast prefill/decode kernels at sizes where the CPU reference is too slow. Header-only.
#pragma once
#include <cuda_bf16.h>
#include <cuda_runtime.h>
#include <cstdint>

namespace m1::cuda::dev {

// Rows t in [row_begin, row_end) of a chunk starting at position q_start; layouts as AttentionPrefillParams;
// out fp32 [T][heads*128] (only the given rows are written).
__global__ void attention_naive_kernel(const __nv_bfloat16* q, int64_t q_tok_stride, int64_t q_head_stride,
                                       const __nv_bfloat16* k, const __nv_bfloat16* v, int64_t kv_tok_stride,
                                       int64_t kv_head_stride, float* out, int row_begin, int row_end, int q_start,
                                       int heads, int kv_heads, float scale) {
    const int warp = (blockIdx.x * blockDim.x + threadIdx.x) >> 5, lane = threadIdx.x & 31;
    const int t = row_begin + warp / heads, h = warp % heads;
    if (t >= row_end) return;
    const int g = h / (heads / kv_heads), last = q_start + t;
    float qv[4], acc[4] = {0.f, 0.f, 0.f, 0.f}, m = -INFINITY, l = 0.f;
    for (int i = 0; i < 4; ++i) qv[i] = __bfloat162float(q[t * q_tok_stride + h * q_head_stride + lane * 4 + i]);
    for (int s = 0; s <= last; ++s) {
        const int64_t base = s * kv_tok_stride + g * kv_head_stride + lane * 4;
        float dot = 0.f;
        for (int i = 0; i < 4; ++i) dot += qv[i] * __bfloat162float(k[base + i]);
        for (int off = 16; off > 0; off >>= 1) dot += __shfl_xor_sync(0xffffffffu, dot, off);
        const float x = dot * scale, mn = fmaxf(m, x), a = expf(m - mn), w = expf(x - mn);
        l = l * a + w;
        for (int i = 0; i < 4; ++i) acc[i] = acc[i] * a + w * __bfloat162float(v[base + i]);
        m = mn;
    }
    for (int i = 0; i < 4; ++i) out[int64_t(t) * heads * 128 + h * 128 + lane * 4 + i] = acc[i] / l;
}

inline void attention_naive(const __nv_bfloat16* q, int64_t q_tok_stride, int64_t q_head_stride,
                            const __nv_bfloat16* k, const __nv_bfloat16* v, int64_t kv_tok_stride,
                            int64_t kv_head_stride, float* out, int row_begin, int row_end, int q_start, int heads,
                            int kv_heads, float scale, cudaStream_t stream) {
    const int64_t threads = int64_t(row_end - row_begin) * heads * 32;
    attention_naive_kernel<<<unsigned((threads + 255) / 256), 256, 0, stream>>>(
        q, q_tok_stride, q_head_stride, k, v, kv_tok_stride, kv_head_stride, out, row_begin, row_end, q_start, heads,
        kv_heads, scale);
}

}  // namespace m1::cuda::dev
