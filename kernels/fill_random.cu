// Counter-based fills: a splitmix64 hash of (seed, index), so any launch shape gives the same values.
#include "kernels/cuda_check.cuh"
#include "kernels/fill_random.cuh"

#include <algorithm>

namespace m1::kern {
namespace {

__device__ inline float unit(uint64_t seed, std::size_t i) {
    uint64_t z = seed * 0x9e3779b97f4a7c15ull + i + 0x632be59bd9b4e019ull;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    z ^= z >> 31;
    return float(z >> 40) * (1.f / 16777216.f) * 2.f - 1.f;  // [-1, 1)
}

template <typename T>
__global__ void fill_kernel(T* p, std::size_t n, float scale, uint64_t seed, bool random) {
    for (std::size_t i = blockIdx.x * std::size_t(blockDim.x) + threadIdx.x; i < n;
         i += std::size_t(gridDim.x) * blockDim.x) {
        const float v = random ? scale * unit(seed, i) : scale;
        if constexpr (sizeof(T) == 2) p[i] = __float2bfloat16(v); else p[i] = v;
    }
}

int blocks_for(std::size_t n) { return int(std::min<std::size_t>((n + 255) / 256, 132 * 64)); }

}  // namespace

void fill_uniform_bf16(__nv_bfloat16* p, std::size_t n, float scale, uint64_t seed, cudaStream_t stream) {
    if (!n) return;
    fill_kernel<<<blocks_for(n), 256, 0, stream>>>(p, n, scale, seed, true);
    M1_LAUNCH_CHECK();
}
void fill_uniform_f32(float* p, std::size_t n, float scale, uint64_t seed, cudaStream_t stream) {
    if (!n) return;
    fill_kernel<<<blocks_for(n), 256, 0, stream>>>(p, n, scale, seed, true);
    M1_LAUNCH_CHECK();
}
void fill_const_bf16(__nv_bfloat16* p, std::size_t n, float value, cudaStream_t stream) {
    if (!n) return;
    fill_kernel<<<blocks_for(n), 256, 0, stream>>>(p, n, value, 0, false);
    M1_LAUNCH_CHECK();
}

}  // namespace m1::kern
