// Tensor-parallel lightning output norm: per-rank sums of squares, then the norm with the global sum.
#include "kernels/cuda_check.cuh"
#include "kernels/tp_norm.cuh"

namespace m1::kern {
namespace {

constexpr int kThreads = 256;

// One block per token row: a block-wide sum of squares in fp32.
__global__ void row_sumsq_kernel(const __nv_bfloat16* __restrict__ o, int D, float* __restrict__ ss) {
    __shared__ float warp_sums[kThreads / 32];
    const __nv_bfloat16* row = o + size_t(blockIdx.x) * D;
    float s = 0.f;
    for (int i = threadIdx.x; i < D; i += kThreads) {
        float v = __bfloat162float(row[i]);
        s += v * v;
    }
    for (int off = 16; off > 0; off >>= 1) s += __shfl_xor_sync(0xffffffffu, s, off);
    if ((threadIdx.x & 31) == 0) warp_sums[threadIdx.x >> 5] = s;
    __syncthreads();
    if (threadIdx.x < 32) {
        s = threadIdx.x < kThreads / 32 ? warp_sums[threadIdx.x] : 0.f;
        for (int off = 16; off > 0; off >>= 1) s += __shfl_xor_sync(0xffffffffu, s, off);
        if (threadIdx.x == 0) ss[blockIdx.x] = s;
    }
}

__global__ void norm_gate_apply_kernel(const __nv_bfloat16* __restrict__ o, const float* __restrict__ g, int ldg,
                                       const __nv_bfloat16* __restrict__ w, const float* __restrict__ ss,
                                       float inv_total, float eps, int D, __nv_bfloat16* __restrict__ out) {
    const size_t row = blockIdx.x;
    const float r = rsqrtf(ss[row] * inv_total + eps);
    for (int i = threadIdx.x; i < D; i += kThreads) {
        const float gate = 1.f / (1.f + __expf(-g[row * ldg + i]));
        out[row * D + i] = __float2bfloat16(__bfloat162float(o[row * D + i]) * r * __bfloat162float(w[i]) * gate);
    }
}

}  // namespace

void tp_row_sumsq(const __nv_bfloat16* o, int T, int D, float* ss, cudaStream_t stream) {
    if (T <= 0) return;
    row_sumsq_kernel<<<T, kThreads, 0, stream>>>(o, D, ss);
    M1_LAUNCH_CHECK();
}

void tp_rmsnorm_gate_apply(const __nv_bfloat16* o, const float* g, int ldg, const __nv_bfloat16* w, const float* ss,
                           int D_total, float eps, int T, int D, __nv_bfloat16* out, cudaStream_t stream) {
    if (T <= 0) return;
    norm_gate_apply_kernel<<<T, kThreads, 0, stream>>>(o, g, ldg, w, ss, 1.f / float(D_total), eps, D, out);
    M1_LAUNCH_CHECK();
}

}  // namespace m1::kern
