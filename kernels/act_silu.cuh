// SiLU of the lightning layers' fused q|k|v projection, narrowed to bf16 for the attention kernels.
#pragma once
#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include <cstddef>

namespace m1::kern {

// y[i] = bf16( x[i] / (1 + exp(-x[i])) ) for i < n.
void silu_to_bf16(const float* x, std::size_t n, __nv_bfloat16* y, cudaStream_t stream);

}  // namespace m1::kern
