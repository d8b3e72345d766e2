// RMSNorm kernels: one block per row, fp32 statistics. Rows up to kThreads * kMaxPerThread elements (M1: 6144
// and 8192) are held in registers: every load is issued before the first use, so a decode step's single-row
// norm costs about one memory latency instead of one per element a thread handles (ncu, H200, caches flushed:
// 20.9 -> 5.3 us per decode-step norm). Longer rows take the two-pass loop.
#include "kernels/cuda_check.cuh"
#include "kernels/norm_rms.cuh"

namespace m1::kern {
namespace {

constexpr int kThreads = 256;
constexpr int kMaxPerThread = 32;  // register-held elements per thread

// Sum of v over the block; every thread gets the result.
__device__ float block_sum(float v) {
    __shared__ float part[kThreads / 32];
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    __syncthreads();  // part[] may still be read by a previous call
    if (lane == 0) part[warp] = v;
    __syncthreads();
    float s = 0.f;
    for (int i = 0; i < kThreads / 32; ++i) s += part[i];
    return s;
}

// Pass 1 computes the pre-norm value into out (fp32) and its sum of squares; pass 2 normalises in place.
// mode 0: s = x;  mode 1: s = alpha*res + beta*a.
template <int kMode>
__global__ void __launch_bounds__(kThreads) norm_kernel(const float* x, const float* __restrict__ a,
                                                        float alpha, float beta, const __nv_bfloat16* __restrict__ w,
                                                        float eps, int H, float* y, __nv_bfloat16* yb) {  // y may alias x
    const size_t row = blockIdx.x;
    const float* xr = x + row * H;
    const float* ar = kMode == 1 ? a + row * H : nullptr;
    float* yr = y + row * H;
    if (H <= kThreads * kMaxPerThread) {  // the same arithmetic in the same order, from registers
        float s[kMaxPerThread], wv[kMaxPerThread];
        float ss = 0.f;
#pragma unroll
        for (int j = 0; j < kMaxPerThread; ++j) {  // no branch: clamped loads, masked values
            const int i = threadIdx.x + j * kThreads, ic = min(i, H - 1);
            const float v = kMode == 1 ? alpha * xr[ic] + beta * ar[ic] : xr[ic];
            s[j] = i < H ? v : 0.f;
            wv[j] = __bfloat162float(w[ic]);
            ss += s[j] * s[j];
        }
        const float r = rsqrtf(block_sum(ss) / float(H) + eps);
#pragma unroll
        for (int j = 0; j < kMaxPerThread; ++j) {
            const int i = threadIdx.x + j * kThreads;
            if (i >= H) break;
            const float v = s[j] * r * wv[j];
            yr[i] = v;
            if (yb) yb[row * H + i] = __float2bfloat16(v);
        }
        return;
    }
    float ss = 0.f;
    for (int i = threadIdx.x; i < H; i += kThreads) {
        float s = kMode == 1 ? alpha * xr[i] + beta * ar[i] : xr[i];
        yr[i] = s;
        ss += s * s;
    }
    const float r = rsqrtf(block_sum(ss) / float(H) + eps);
    for (int i = threadIdx.x; i < H; i += kThreads) {
        const float v = yr[i] * r * __bfloat162float(w[i]);
        yr[i] = v;
        if (yb) yb[row * H + i] = __float2bfloat16(v);
    }
}

__global__ void __launch_bounds__(kThreads) norm_gate_kernel(const __nv_bfloat16* __restrict__ o, const float* __restrict__ g,
                                                             int ldg, const __nv_bfloat16* __restrict__ w, float eps,
                                                             int D, __nv_bfloat16* __restrict__ out) {
    const size_t row = blockIdx.x;
    const __nv_bfloat16* orow = o + row * D;
    const float* grow = g + row * ldg;
    if (D <= kThreads * kMaxPerThread) {  // registers, as in norm_kernel
        // The weight row too is loaded before the reduction (after it, its loads cost one more memory latency).
        float ov[kMaxPerThread], gv[kMaxPerThread], wv[kMaxPerThread];
        float ss = 0.f;
#pragma unroll
        for (int j = 0; j < kMaxPerThread; ++j) {  // no branch: clamped loads, masked values
            const int i = threadIdx.x + j * kThreads, ic = min(i, D - 1);
            ov[j] = i < D ? __bfloat162float(orow[ic]) : 0.f;
            gv[j] = grow[ic];
            wv[j] = __bfloat162float(w[ic]);
            ss += ov[j] * ov[j];
        }
        const float r = rsqrtf(block_sum(ss) / float(D) + eps);
#pragma unroll
        for (int j = 0; j < kMaxPerThread; ++j) {
            const int i = threadIdx.x + j * kThreads;
            if (i >= D) break;
            const float gate = 1.f / (1.f + __expf(-gv[j]));
            out[row * D + i] = __float2bfloat16(ov[j] * r * wv[j] * gate);
        }
        return;
    }
    float ss = 0.f;
    for (int i = threadIdx.x; i < D; i += kThreads) {
        const float v = __bfloat162float(orow[i]);
        ss += v * v;
    }
    const float r = rsqrtf(block_sum(ss) / float(D) + eps);
    for (int i = threadIdx.x; i < D; i += kThreads) {
        const float gate = 1.f / (1.f + __expf(-grow[i]));
        out[row * D + i] = __float2bfloat16(__bfloat162float(orow[i]) * r * __bfloat162float(w[i]) * gate);
    }
}

}  // namespace

void rmsnorm(const float* x, const __nv_bfloat16* w, float eps, int T, int H, float* y_f32, __nv_bfloat16* y_bf16,
             cudaStream_t stream) {
    if (T <= 0) return;
    norm_kernel<0><<<T, kThreads, 0, stream>>>(x, nullptr, 1.f, 0.f, w, eps, H, y_f32, y_bf16);
    M1_LAUNCH_CHECK();
}

void add_rmsnorm(float* res, const float* a, float alpha, float beta, const __nv_bfloat16* w, float eps, int T, int H,
                 __nv_bfloat16* y_bf16, cudaStream_t stream) {
    if (T <= 0) return;
    norm_kernel<1><<<T, kThreads, 0, stream>>>(res, a, alpha, beta, w, eps, H, res, y_bf16);
    M1_LAUNCH_CHECK();
}

void rmsnorm_gate(const __nv_bfloat16* o, const float* g, int ldg, const __nv_bfloat16* w, float eps, int T, int D,
                  __nv_bfloat16* out, cudaStream_t stream) {
    if (T <= 0) return;
    norm_gate_kernel<<<T, kThreads, 0, stream>>>(o, g, ldg, w, eps, D, out);
    M1_LAUNCH_CHECK();
}

}  // namespace m1::kern
