// fp32 <-> bf16 casts around the tensor-parallel all-reduce (see tp_cast.cuh). Four elements per thread
// when the pointers allow 16-byte loads; a scalar tail otherwise.
#include <cstdint>

#include "kernels/cuda_check.cuh"
#include "kernels/tp_cast.cuh"

namespace m1::kern {
namespace {

constexpr int kThreads = 256;

__global__ void narrow_kernel(const float* __restrict__ in, __nv_bfloat16* __restrict__ out, std::size_t n4,
                              std::size_t n) {
    const std::size_t stride = std::size_t(gridDim.x) * kThreads;
    for (std::size_t i = std::size_t(blockIdx.x) * kThreads + threadIdx.x; i < n4; i += stride) {
        const float4 v = reinterpret_cast<const float4*>(in)[i];
        __nv_bfloat162 a = __floats2bfloat162_rn(v.x, v.y), b = __floats2bfloat162_rn(v.z, v.w);
        reinterpret_cast<__nv_bfloat162*>(out)[2 * i] = a;
        reinterpret_cast<__nv_bfloat162*>(out)[2 * i + 1] = b;
    }
    for (std::size_t i = 4 * n4 + std::size_t(blockIdx.x) * kThreads + threadIdx.x; i < n; i += stride)
        out[i] = __float2bfloat16_rn(in[i]);
}

__global__ void widen_kernel(const __nv_bfloat16* __restrict__ in, float* __restrict__ out, std::size_t n4,
                             std::size_t n) {
    const std::size_t stride = std::size_t(gridDim.x) * kThreads;
    for (std::size_t i = std::size_t(blockIdx.x) * kThreads + threadIdx.x; i < n4; i += stride) {
        const __nv_bfloat162 a = reinterpret_cast<const __nv_bfloat162*>(in)[2 * i];
        const __nv_bfloat162 b = reinterpret_cast<const __nv_bfloat162*>(in)[2 * i + 1];
        const float2 fa = __bfloat1622float2(a), fb = __bfloat1622float2(b);
        reinterpret_cast<float4*>(out)[i] = make_float4(fa.x, fa.y, fb.x, fb.y);
    }
    for (std::size_t i = 4 * n4 + std::size_t(blockIdx.x) * kThreads + threadIdx.x; i < n; i += stride)
        out[i] = __bfloat162float(in[i]);
}

// Vector loads need 16-byte aligned fp32 and 8-byte aligned bf16 pointers.
std::size_t vec_count(const void* f32, const void* b16, std::size_t n) {
    const bool ok = (reinterpret_cast<std::uintptr_t>(f32) % 16 == 0) && (reinterpret_cast<std::uintptr_t>(b16) % 8 == 0);
    return ok ? n / 4 : 0;
}

unsigned grid_for(std::size_t n) {
    const std::size_t blocks = (n / 4 + kThreads - 1) / kThreads + 1;
    return unsigned(blocks < 4096 ? blocks : 4096);
}

}  // namespace

void tp_narrow_bf16(const float* in, __nv_bfloat16* out, std::size_t n, cudaStream_t stream) {
    if (n == 0) return;
    narrow_kernel<<<grid_for(n), kThreads, 0, stream>>>(in, out, vec_count(in, out, n), n);
    M1_CUDA_CHECK(cudaGetLastError());
}

void tp_widen_bf16(const __nv_bfloat16* in, float* out, std::size_t n, cudaStream_t stream) {
    if (n == 0) return;
    widen_kernel<<<grid_for(n), kThreads, 0, stream>>>(in, out, vec_count(out, in, n), n);
    M1_CUDA_CHECK(cudaGetLastError());
}

}  // namespace m1::kern
