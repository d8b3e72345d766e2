// fp32 products against bf16 or fp32 weights (lm_head.cuh). The matrix-vector kernel is memory bound: each
// weight row is read once with 16-byte streaming loads (several in flight per thread) while x, reused by every
// row, stays in L1. Long matrices (the LM head) give each weight row to one warp; short ones (the router's 32
// rows) give each row to a block of 8 warps so that enough loads are in flight.
#include <cuda_bf16.h>

#include <algorithm>
#include <cstdint>
#include <stdexcept>

#include "kernels/cuda_check.cuh"
#include "kernels/lm_head.cuh"

namespace m1::kern {
namespace {

using bf16 = __nv_bfloat16;

constexpr int kThreads = 256;  // 8 warps per block
constexpr int kUnroll = 4;     // 16-byte weight loads in flight per thread before the first use

// Streaming 16-byte load that does not allocate in L1 (weights are read once; x keeps L1 to itself).
__device__ __forceinline__ uint4 load_stream(const void* p) {
    uint4 r;
    asm("ld.global.nc.L1::no_allocate.v4.u32 {%0, %1, %2, %3}, [%4];"
        : "=r"(r.x), "=r"(r.y), "=r"(r.z), "=r"(r.w)
        : "l"(p));
    return r;
}

// Eight consecutive weights: one 16-byte load of bf16, two of fp32.
template <typename TW> struct Vec8;
template <> struct Vec8<bf16> {
    uint4 v;
    __device__ void load(const bf16* p) { v = load_stream(p); }
    __device__ void widen(float f[8]) const {
        const uint32_t u[4] = {v.x, v.y, v.z, v.w};
#pragma unroll
        for (int i = 0; i < 4; ++i) {  // bf16 -> fp32 is a 16-bit shift: exact
            f[2 * i] = __uint_as_float(u[i] << 16);
            f[2 * i + 1] = __uint_as_float(u[i] & 0xffff0000u);
        }
    }
};
template <> struct Vec8<float> {
    uint4 a, b;
    __device__ void load(const float* p) {
        a = load_stream(p);
        b = load_stream(p + 4);
    }
    __device__ void widen(float f[8]) const {
        const uint32_t u[8] = {a.x, a.y, a.z, a.w, b.x, b.y, b.z, b.w};
#pragma unroll
        for (int i = 0; i < 8; ++i) f[i] = __uint_as_float(u[i]);
    }
};

// acc[r] += x[r, k..k+8) . w[0..8)
template <int R>
__device__ __forceinline__ void fma8(float (&acc)[R], const float* __restrict__ x, int ldx, int k, const float (&w)[8]) {
#pragma unroll
    for (int r = 0; r < R; ++r) {
        const float4 a = __ldg(reinterpret_cast<const float4*>(x + std::size_t(r) * ldx + k));
        const float4 b = __ldg(reinterpret_cast<const float4*>(x + std::size_t(r) * ldx + k + 4));
        acc[r] = fmaf(a.x, w[0], acc[r]);
        acc[r] = fmaf(a.y, w[1], acc[r]);
        acc[r] = fmaf(a.z, w[2], acc[r]);
        acc[r] = fmaf(a.w, w[3], acc[r]);
        acc[r] = fmaf(b.x, w[4], acc[r]);
        acc[r] = fmaf(b.y, w[5], acc[r]);
        acc[r] = fmaf(b.z, w[6], acc[r]);
        acc[r] = fmaf(b.w, w[7], acc[r]);
    }
}

// One weight row's partial dot products over this thread's share of K (team of `tsize` threads, index tid).
// vec: K % 8 == 0 and every row and x row 16-byte aligned (checked on the host).
template <typename TW, int R>
__device__ __forceinline__ void row_partial(float (&acc)[R], const float* __restrict__ x, int ldx, const TW* __restrict__ w,
                                            int K, int tid, int tsize, bool vec) {
    if (!vec) {
        for (int k = tid; k < K; k += tsize) {
            const float wk = float(w[k]);
#pragma unroll
            for (int r = 0; r < R; ++r) acc[r] = fmaf(x[std::size_t(r) * ldx + k], wk, acc[r]);
        }
        return;
    }
    const int K8 = K / 8;
    int v = tid;
    for (; v + (kUnroll - 1) * tsize < K8; v += kUnroll * tsize) {
        Vec8<TW> wv[kUnroll];
#pragma unroll
        for (int u = 0; u < kUnroll; ++u) wv[u].load(w + std::size_t(v + u * tsize) * 8);
#pragma unroll
        for (int u = 0; u < kUnroll; ++u) {
            float f[8];
            wv[u].widen(f);
            fma8<R>(acc, x, ldx, (v + u * tsize) * 8, f);
        }
    }
    for (; v < K8; v += tsize) {
        Vec8<TW> wv;
        wv.load(w + std::size_t(v) * 8);
        float f[8];
        wv.widen(f);
        fma8<R>(acc, x, ldx, v * 8, f);
    }
}

__device__ __forceinline__ float warp_sum(float v) {
#pragma unroll
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
    return v;
}

// kBlockPerRow false: warp w of the grid takes rows w, w + warps, ...; true: block b takes rows b, b + blocks, ...
template <typename TW, int R, bool kBlockPerRow>
__global__ void __launch_bounds__(kThreads) matvec_kernel(const float* __restrict__ x, int ldx, const TW* __restrict__ W,
                                                          int N, int K, float* __restrict__ out, int ldo, bool vec) {
    static_assert(R >= 1 && R <= kMatvecMaxRows, "rows per launch");
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    const int team = kBlockPerRow ? blockIdx.x : blockIdx.x * (kThreads / 32) + warp;
    const int teams = kBlockPerRow ? gridDim.x : gridDim.x * (kThreads / 32);
    const int tid = kBlockPerRow ? threadIdx.x : lane, tsize = kBlockPerRow ? kThreads : 32;
    __shared__ float part[R][kThreads / 32];
    for (int n = team; n < N; n += teams) {
        float acc[R];
#pragma unroll
        for (int r = 0; r < R; ++r) acc[r] = 0.f;
        row_partial<TW, R>(acc, x, ldx, W + std::size_t(n) * K, K, tid, tsize, vec);
#pragma unroll
        for (int r = 0; r < R; ++r) acc[r] = warp_sum(acc[r]);
        if (!kBlockPerRow) {
#pragma unroll
            for (int r = 0; r < R; ++r)
                if (lane == r) out[std::size_t(r) * ldo + n] = acc[r];
            continue;
        }
        if (lane == 0) {
#pragma unroll
            for (int r = 0; r < R; ++r) part[r][warp] = acc[r];
        }
        __syncthreads();
        if (threadIdx.x < R) {
            float s = 0.f;
#pragma unroll
            for (int i = 0; i < kThreads / 32; ++i) s += part[threadIdx.x][i];
            out[std::size_t(threadIdx.x) * ldo + n] = s;
        }
        __syncthreads();
    }
}

// Blocks that fill every SM once at full occupancy (the warp-per-row kernel strides over rows).
template <typename TW, int R, bool B>
int resident_blocks() {
    static const int per_sm = [] {
        int n = 0;
        M1_CUDA_CHECK(cudaOccupancyMaxActiveBlocksPerMultiprocessor(&n, matvec_kernel<TW, R, B>, kThreads, 0));
        return std::max(n, 1);
    }();
    int dev = 0, sms = 0;
    M1_CUDA_CHECK(cudaGetDevice(&dev));
    M1_CUDA_CHECK(cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, dev));
    return per_sm * sms;
}

template <typename TW, int R>
void launch_rows(const float* x, int ldx, const TW* W, int N, int K, float* out, int ldo, bool vec, cudaStream_t st) {
    const int full = resident_blocks<TW, R, false>();
    // Short matrices: a block per row, so that 8 warps' loads are in flight on each row.
    if (N < 2 * full) {
        matvec_kernel<TW, R, true><<<N, kThreads, 0, st>>>(x, ldx, W, N, K, out, ldo, vec);
    } else {
        const int blocks = std::min((N + kThreads / 32 - 1) / (kThreads / 32), full);
        matvec_kernel<TW, R, false><<<blocks, kThreads, 0, st>>>(x, ldx, W, N, K, out, ldo, vec);
    }
    M1_LAUNCH_CHECK();
}

template <typename TW>
void dispatch_rows(const float* x, int ldx, int rows, const TW* W, int N, int K, float* out, int ldo, bool vec,
                   cudaStream_t st) {
    switch (rows) {
        case 1: return launch_rows<TW, 1>(x, ldx, W, N, K, out, ldo, vec, st);
        case 2: return launch_rows<TW, 2>(x, ldx, W, N, K, out, ldo, vec, st);
        case 3: return launch_rows<TW, 3>(x, ldx, W, N, K, out, ldo, vec, st);
        case 4: return launch_rows<TW, 4>(x, ldx, W, N, K, out, ldo, vec, st);
        case 5: return launch_rows<TW, 5>(x, ldx, W, N, K, out, ldo, vec, st);
        case 6: return launch_rows<TW, 6>(x, ldx, W, N, K, out, ldo, vec, st);
        case 7: return launch_rows<TW, 7>(x, ldx, W, N, K, out, ldo, vec, st);
        default: return launch_rows<TW, 8>(x, ldx, W, N, K, out, ldo, vec, st);
    }
}

__global__ void widen_kernel(const bf16* __restrict__ src, std::size_t n8, float* __restrict__ dst) {
    for (std::size_t i = blockIdx.x * std::size_t(blockDim.x) + threadIdx.x; i < n8; i += std::size_t(gridDim.x) * blockDim.x) {
        Vec8<bf16> v;
        v.load(src + i * 8);
        float f[8];
        v.widen(f);
        reinterpret_cast<float4*>(dst + i * 8)[0] = make_float4(f[0], f[1], f[2], f[3]);
        reinterpret_cast<float4*>(dst + i * 8)[1] = make_float4(f[4], f[5], f[6], f[7]);
    }
}

__global__ void widen_tail_kernel(const bf16* __restrict__ src, std::size_t from, std::size_t n, float* __restrict__ dst) {
    const std::size_t i = from + threadIdx.x;
    if (i < n) dst[i] = __bfloat162float(src[i]);
}

bool aligned16(const void* p) { return (reinterpret_cast<std::uintptr_t>(p) & 15) == 0; }

}  // namespace

void matvec_f32(const float* x, int ldx, int rows, const RowWeights& w, float* out, int ldo, cudaStream_t stream) {
    if (rows <= 0 || w.N <= 0) return;
    if (rows > kMatvecMaxRows) throw std::invalid_argument("matvec_f32: more than kMatvecMaxRows rows");
    const int es = w.type == WeightType::BF16 ? 2 : 4;
    const bool vec = w.K % 8 == 0 && ldx % 4 == 0 && aligned16(x) && aligned16(w.w) && (std::size_t(w.K) * es) % 16 == 0;
    if (w.type == WeightType::BF16)
        dispatch_rows(x, ldx, rows, static_cast<const bf16*>(w.w), w.N, w.K, out, ldo, vec, stream);
    else
        dispatch_rows(x, ldx, rows, static_cast<const float*>(w.w), w.N, w.K, out, ldo, vec, stream);
}

void widen_bf16(const bf16* src, std::size_t n, float* dst, cudaStream_t stream) {
    if (n == 0) return;
    const std::size_t n8 = aligned16(src) && aligned16(dst) ? n / 8 : 0;
    if (n8 > 0) {
        const int blocks = int(std::min<std::size_t>((n8 + kThreads - 1) / kThreads, 132 * 16));
        widen_kernel<<<blocks, kThreads, 0, stream>>>(src, n8, dst);
        M1_LAUNCH_CHECK();
    }
    for (std::size_t from = n8 * 8; from < n; from += 1024) {  // < 8 values unless unaligned (tests only)
        widen_tail_kernel<<<1, 1024, 0, stream>>>(src, from, n, dst);
        M1_LAUNCH_CHECK();
    }
}

std::size_t lm_head_scratch_bytes(const RowWeights& w, int rows) {
    if (rows <= kMatvecMaxRows || w.type == WeightType::F32) return 0;
    return std::size_t(std::min(kLmHeadTileRows, w.N)) * w.K * 4;
}

void lm_head(Blas& blas, const float* x, int ldx, int rows, const RowWeights& w, float* out, int ldo, void* scratch) {
    if (rows <= 0 || w.N <= 0) return;
    if (rows <= kMatvecMaxRows) return matvec_f32(x, ldx, rows, w, out, ldo, blas.stream());
    if (w.type == WeightType::F32)
        return gemm_f32(blas, rows, w.N, w.K, x, ldx, static_cast<const float*>(w.w), w.K, out, ldo);
    if (!scratch) throw std::invalid_argument("lm_head: the many-row path needs lm_head_scratch_bytes of scratch");
    auto* tile = static_cast<float*>(scratch);
    for (int n0 = 0; n0 < w.N; n0 += kLmHeadTileRows) {
        const int nt = std::min(kLmHeadTileRows, w.N - n0);
        widen_bf16(static_cast<const bf16*>(w.w) + std::size_t(n0) * w.K, std::size_t(nt) * w.K, tile, blas.stream());
        gemm_f32(blas, rows, nt, w.K, x, ldx, tile, w.K, out + n0, ldo);
    }
}

}  // namespace m1::kern
