// The LM head (and other fp32 products against a weight matrix): out[r, n] = sum_k x[r, k] * W[n, k] with fp32
// inputs x, weights stored as bf16 (M1's checkpoint: widening to fp32 is exact) or fp32, and fp32 accumulation.
// A few rows (decode, a prefill's last token, the router) go through a matrix-vector kernel that reads W once
// at HBM speed; many rows widen bf16 W tile by tile into fp32 for cuBLAS's true-fp32 GEMM (gemm_f32).
#pragma once
#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include <cstddef>

#include "kernels/gemm_cublas.cuh"

namespace m1::kern {

enum class WeightType { F32, BF16 };

struct RowWeights {
    const void* w = nullptr;            // [N, K] row-major, row stride K: 200064 x 6144 for M1's LM head
    WeightType type = WeightType::BF16;
    int N = 0;                          // output columns (vocabulary rows held)
    int K = 0;                          // reduction length (hidden size)
    std::size_t bytes() const { return std::size_t(N) * K * (type == WeightType::BF16 ? 2 : 4); }
};

constexpr int kMatvecMaxRows = 8;        // rows the matrix-vector kernel takes; more go through the tiled GEMM
constexpr int kLmHeadTileRows = 8192;    // weight rows widened to fp32 per GEMM in the many-row path: 201 MB at
                                         // M1's width; 2048 gave cuBLAS 32 tiles (38 vs 52 TFLOP/s, H200)

// out[r, n] for r < rows (1..kMatvecMaxRows), n < N. x: [rows, K] fp32 (row stride ldx); out: row stride ldo.
void matvec_f32(const float* x, int ldx, int rows, const RowWeights& w, float* out, int ldo, cudaStream_t stream);

// Device scratch the many-row path needs for `rows` rows (0 when the matrix-vector kernel or fp32 weights do).
std::size_t lm_head_scratch_bytes(const RowWeights& w, int rows);

// Any number of rows, on blas.stream(): the matrix-vector kernel up to kMatvecMaxRows, else per tile of
// kLmHeadTileRows weight rows a widening into `scratch` (lm_head_scratch_bytes) and one fp32 GEMM.
void lm_head(Blas& blas, const float* x, int ldx, int rows, const RowWeights& w, float* out, int ldo, void* scratch);

// dst[i] = float(src[i]) for n bf16 values (exact). Exposed for the benchmark.
void widen_bf16(const __nv_bfloat16* src, std::size_t n, float* dst, cudaStream_t stream);

}  // namespace m1::kern
