// Elementwise SiLU, grid-stride: 8 values per step (two 16-byte loads, one 16-byte store) where the arrays allow,
// else one at a time.
#include "kernels/act_silu.cuh"
#include "kernels/cuda_check.cuh"

#include <algorithm>
#include <cstdint>

namespace m1::kern {
namespace {

__device__ __forceinline__ float silu(float v) { return v / (1.f + __expf(-v)); }

__global__ void silu_kernel(const float* __restrict__ x, std::size_t n, __nv_bfloat16* __restrict__ y) {
    for (std::size_t i = blockIdx.x * std::size_t(blockDim.x) + threadIdx.x; i < n;
         i += std::size_t(gridDim.x) * blockDim.x)
        y[i] = __float2bfloat16(silu(x[i]));
}

__global__ void silu_vec8_kernel(const float4* __restrict__ x, std::size_t groups, uint4* __restrict__ y) {
    for (std::size_t i = blockIdx.x * std::size_t(blockDim.x) + threadIdx.x; i < groups;
         i += std::size_t(gridDim.x) * blockDim.x) {
        const float4 a = x[2 * i], b = x[2 * i + 1];
        uint4 out;
        __nv_bfloat162* o = reinterpret_cast<__nv_bfloat162*>(&out);
        o[0] = __floats2bfloat162_rn(silu(a.x), silu(a.y));
        o[1] = __floats2bfloat162_rn(silu(a.z), silu(a.w));
        o[2] = __floats2bfloat162_rn(silu(b.x), silu(b.y));
        o[3] = __floats2bfloat162_rn(silu(b.z), silu(b.w));
        y[i] = out;
    }
}

}  // namespace

void silu_to_bf16(const float* x, std::size_t n, __nv_bfloat16* y, cudaStream_t stream) {
    if (n == 0) return;
    if (n % 8 == 0 && reinterpret_cast<uintptr_t>(x) % 16 == 0 && reinterpret_cast<uintptr_t>(y) % 16 == 0) {
        const std::size_t groups = n / 8;
        const int blocks = int(std::min<std::size_t>((groups + 255) / 256, 132 * 16));
        silu_vec8_kernel<<<blocks, 256, 0, stream>>>(reinterpret_cast<const float4*>(x), groups,
                                                     reinterpret_cast<uint4*>(y));
    } else {
        const int blocks = int(std::min<std::size_t>((n + 255) / 256, 132 * 32));
        silu_kernel<<<blocks, 256, 0, stream>>>(x, n, y);
    }
    M1_LAUNCH_CHECK();
}

}  // namespace m1::kern
