// Weight-only int8 with one fp32 scale per output channel (row): w ~= q * scale, scale = max|row| / 127.
// Quantized at load time from bf16; dequantized to bf16 tiles for the large-batch expert GEMMs.
#pragma once
#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include <cstdint>

namespace m1::kern {

// w: [N, K] bf16 -> q: [N, K] int8, scale: [N] fp32. All-zero rows get scale 0.
void quantize_rows_int8(const __nv_bfloat16* w, int N, int K, int8_t* q, float* scale, cudaStream_t stream);

// q, scale as above -> w: [N, K] bf16.
void dequantize_rows_int8(const int8_t* q, const float* scale, int N, int K, __nv_bfloat16* w, cudaStream_t stream);

}  // namespace m1::kern
