// Elementwise SiLU, grid-stride over the flat array.
#include "kernels/act_silu.cuh"
#include "kernels/cuda_check.cuh"

#include <algorithm>

namespace m1::kern {
namespace {

__global__ void silu_kernel(const float* __restrict__ x, std::size_t n, __nv_bfloat16* __restrict__ y) {
    for (std::size_t i = blockIdx.x * std::size_t(blockDim.x) + threadIdx.x; i < n;
         i += std::size_t(gridDim.x) * blockDim.x) {
        const float v = x[i];
        y[i] = __float2bfloat16(v / (1.f + __expf(-v)));
    }
}

}  // namespace

void silu_to_bf16(const float* x, std::size_t n, __nv_bfloat16* y, cudaStream_t stream) {
    if (n == 0) return;
    const int blocks = int(std::min<std::size_t>((n + 255) / 256, 132 * 32));
    silu_kernel<<<blocks, 256, 0, stream>>>(x, n, y);
    M1_LAUNCH_CHECK();
}

}  // namespace m1::kern
