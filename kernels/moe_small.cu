// Decode-path experts: one warp per output row, 16-byte weight loads, fp32 accumulation. Stage 1 makes the
// SwiGLU activations h for every (token, chosen expert); stage 2 applies the down projections and combines.
#include "kernels/cuda_check.cuh"
#include "kernels/moe_small.cuh"

namespace m1::kern {
namespace {

constexpr int kWarps = 8;  // rows per block

__device__ __forceinline__ float to_f(__nv_bfloat16 v) { return __bfloat162float(v); }
__device__ __forceinline__ float to_f(int8_t v) { return float(v); }

// dot(w[0..K), x[0..K)) over one warp; kVec = elements per 16-byte weight load (8 bf16 or 16 int8), or 1.
template <typename WT, int kVec>
__device__ float warp_dot(const WT* __restrict__ w, const __nv_bfloat16* __restrict__ x, int K) {
    const int lane = threadIdx.x & 31;
    float acc = 0.f;
    int done = 0;
    if constexpr (kVec > 1) {
        const int span = 32 * kVec;
        done = K / span * span;
        for (int base = lane * kVec; base < done; base += span) {
            WT wv[kVec];
            __nv_bfloat16 xv[kVec];
            *reinterpret_cast<uint4*>(wv) = *reinterpret_cast<const uint4*>(w + base);
#pragma unroll
            for (int v = 0; v < kVec; v += 8) *reinterpret_cast<uint4*>(xv + v) = *reinterpret_cast<const uint4*>(x + base + v);
#pragma unroll
            for (int v = 0; v < kVec; ++v) acc += to_f(wv[v]) * __bfloat162float(xv[v]);
        }
    }
    for (int i = done + lane; i < K; i += 32) acc += to_f(w[i]) * __bfloat162float(x[i]);
    for (int o = 16; o > 0; o >>= 1) acc += __shfl_xor_sync(0xffffffffu, acc, o);
    return acc;
}

// grid: (ceil(I / kWarps), T*k). Row n of the chosen expert's gate and up projections.
template <typename WT, int kVec>
__global__ void __launch_bounds__(32 * kWarps) up_kernel(const WT* __restrict__ w13, const float* __restrict__ s13,
                                                         const __nv_bfloat16* __restrict__ x, int H, int I, int k,
                                                         const int32_t* __restrict__ ids, int e0, int e1,
                                                         __nv_bfloat16* __restrict__ h) {
    const int pair = blockIdx.y, t = pair / k;
    const int n = blockIdx.x * kWarps + (threadIdx.x >> 5);
    if (n >= I || ids[pair] < e0 || ids[pair] >= e1) return;  // another rank's expert: its h row stays unused
    const size_t e = size_t(ids[pair] - e0);
    const WT* base = w13 + e * 2 * I * size_t(H);
    float g = warp_dot<WT, kVec>(base + size_t(n) * H, x + size_t(t) * H, H);
    float u = warp_dot<WT, kVec>(base + size_t(I + n) * H, x + size_t(t) * H, H);
    if (s13) {
        g *= s13[e * 2 * I + n];
        u *= s13[e * 2 * I + I + n];
    }
    if ((threadIdx.x & 31) == 0) h[size_t(pair) * I + n] = __float2bfloat16(g / (1.f + __expf(-g)) * u);
}

// grid: (ceil(H / kWarps), T). Row m of the down projections of token t's experts, combined.
template <typename WT, int kVec>
__global__ void __launch_bounds__(32 * kWarps) down_kernel(const WT* __restrict__ w2, const float* __restrict__ s2,
                                                           const __nv_bfloat16* __restrict__ h, int H, int I, int k,
                                                           const int32_t* __restrict__ ids, int e0, int e1,
                                                           const float* __restrict__ tw, float* __restrict__ out) {
    const int t = blockIdx.y;
    const int m = blockIdx.x * kWarps + (threadIdx.x >> 5);
    if (m >= H) return;
    float acc = 0.f;
    int last = -1;
    for (int step = 0; step < k; ++step) {
        int j = -1;  // next pair in ascending expert id
        for (int c = 0; c < k; ++c) {
            const int e = ids[t * k + c];
            if (e > last && (j < 0 || e < ids[t * k + j])) j = c;  // top-k ids are distinct
        }
        last = ids[t * k + j];
        if (last < e0 || last >= e1) continue;
        const size_t e = size_t(last - e0);
        float d = warp_dot<WT, kVec>(w2 + (e * H + m) * size_t(I), h + size_t(t * k + j) * I, I);
        if (s2) d *= s2[e * H + m];
        acc += tw[t * k + j] * d;
    }
    if ((threadIdx.x & 31) == 0) out[size_t(t) * H + m] = acc;
}

template <typename WT, int kVec>
void launch(const WT* w13, const float* s13, const WT* w2, const float* s2, const ExpertWeights& w,
            const __nv_bfloat16* x, int T, int k, const int32_t* ids, const float* tw, __nv_bfloat16* h, float* out,
            cudaStream_t stream) {
    up_kernel<WT, kVec><<<dim3((w.I + kWarps - 1) / kWarps, T * k), 32 * kWarps, 0, stream>>>(
        w13, s13, x, w.H, w.I, k, ids, w.e_begin, w.e_end(), h);
    M1_LAUNCH_CHECK();
    down_kernel<WT, kVec><<<dim3((w.H + kWarps - 1) / kWarps, T), 32 * kWarps, 0, stream>>>(
        w2, s2, h, w.H, w.I, k, ids, w.e_begin, w.e_end(), tw, out);
    M1_LAUNCH_CHECK();
}

bool aligned16(const void* p) { return reinterpret_cast<uintptr_t>(p) % 16 == 0; }

}  // namespace

void moe_experts_small(const ExpertWeights& w, const __nv_bfloat16* x, int T, int k, const int32_t* topk_ids,
                       const float* topk_w, __nv_bfloat16* h, float* out, cudaStream_t stream) {
    if (T <= 0) return;
    // Vector loads need 16-byte aligned rows of weights and activations.
    const bool vec = w.H % 16 == 0 && w.I % 16 == 0 && aligned16(x) && aligned16(h);
    if (w.is_int8()) {
        if (vec && aligned16(w.q13) && aligned16(w.q2))
            launch<int8_t, 16>(w.q13, w.s13, w.q2, w.s2, w, x, T, k, topk_ids, topk_w, h, out, stream);
        else
            launch<int8_t, 1>(w.q13, w.s13, w.q2, w.s2, w, x, T, k, topk_ids, topk_w, h, out, stream);
    } else {
        if (vec && aligned16(w.w13) && aligned16(w.w2))
            launch<__nv_bfloat16, 8>(w.w13, nullptr, w.w2, nullptr, w, x, T, k, topk_ids, topk_w, h, out, stream);
        else
            launch<__nv_bfloat16, 1>(w.w13, nullptr, w.w2, nullptr, w, x, T, k, topk_ids, topk_w, h, out, stream);
    }
}

}  // namespace m1::kern
