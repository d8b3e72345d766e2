// Fills device buffers with reproducible pseudo-random or constant values (benchmark weights made on the
// GPU, tests' inputs): value i depends only on (seed, i).
#pragma once
#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include <cstddef>
#include <cstdint>

namespace m1::kern {

// Uniform in [-scale, scale).
void fill_uniform_bf16(__nv_bfloat16* p, std::size_t n, float scale, uint64_t seed, cudaStream_t stream);
void fill_uniform_f32(float* p, std::size_t n, float scale, uint64_t seed, cudaStream_t stream);
void fill_const_bf16(__nv_bfloat16* p, std::size_t n, float value, cudaStream_t stream);

}  // namespace m1::kern
