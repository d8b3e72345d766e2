// Tensor-parallel all-reduces in bf16: a rank's fp32 partial sums narrowed before the collective (half the
// bytes on the link) and widened after it. Vectorised, in stream order.
#pragma once
#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include <cstddef>

namespace m1::kern {

// out[i] = bf16(in[i]) for i < n.
void tp_narrow_bf16(const float* in, __nv_bfloat16* out, std::size_t n, cudaStream_t stream);
// out[i] = float(in[i]) for i < n.
void tp_widen_bf16(const __nv_bfloat16* in, float* out, std::size_t n, cudaStream_t stream);

}  // namespace m1::kern
