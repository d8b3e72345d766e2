// Strided fp32 matrix products for the CPU backend: OpenBLAS when the build found it (M1_HAVE_CBLAS),
// otherwise a cache-blocked loop nest run on the thread pool. Row-major; ld* are row strides.
#pragma once
#include <cstdint>

namespace m1 {

// C[M, N] = alpha * A[M, K] B[N, K]^T + beta * C
void gemm_nt(const float* A, int64_t lda, const float* B, int64_t ldb, float* C, int64_t ldc, int64_t M, int64_t N,
             int64_t K, float alpha, float beta);
// C[M, N] = A[M, K] B[K, N]
void gemm_nn(const float* A, int64_t lda, const float* B, int64_t ldb, float* C, int64_t ldc, int64_t M, int64_t N,
             int64_t K);
const char* gemm_backend_name();

}  // namespace m1
