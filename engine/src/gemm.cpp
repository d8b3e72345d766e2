// fp32 GEMM: OpenBLAS sgemm/sgemv when present; a blocked fallback (parallel over rows of C) otherwise.
#include "gemm.h"

#include <algorithm>
#include <vector>

#include "thread_pool.h"

#ifdef M1_HAVE_CBLAS
#include <cblas.h>
#endif

namespace m1 {

#ifdef M1_HAVE_CBLAS
void gemm_nt(const float* A, int64_t lda, const float* B, int64_t ldb, float* C, int64_t ldc, int64_t M, int64_t N,
             int64_t K, float alpha, float beta) {
    if (M == 0 || N == 0) return;
    if (M == 1) {  // a vector times a matrix: gemv is much faster for decode
        cblas_sgemv(CblasRowMajor, CblasNoTrans, blasint(N), blasint(K), alpha, B, blasint(ldb), A, 1, beta, C, 1);
        return;
    }
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, blasint(M), blasint(N), blasint(K), alpha, A, blasint(lda), B,
                blasint(ldb), beta, C, blasint(ldc));
}

void gemm_nn(const float* A, int64_t lda, const float* B, int64_t ldb, float* C, int64_t ldc, int64_t M, int64_t N,
             int64_t K) {
    if (M == 0 || N == 0) return;
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, blasint(M), blasint(N), blasint(K), 1.f, A, blasint(lda), B,
                blasint(ldb), 0.f, C, blasint(ldc));
}

const char* gemm_backend_name() { return "OpenBLAS"; }
#else
void gemm_nt(const float* A, int64_t lda, const float* B, int64_t ldb, float* C, int64_t ldc, int64_t M, int64_t N,
             int64_t K, float alpha, float beta) {
    // Each output is a dot product of two contiguous rows: vectorizes well without packing.
    parallel_for(M * N, [&](int64_t b, int64_t e) {
        for (int64_t idx = b; idx < e; ++idx) {
            const int64_t i = idx / N, j = idx % N;
            const float* a = A + i * lda;
            const float* r = B + j * ldb;
            float s = 0;
            for (int64_t k = 0; k < K; ++k) s += a[k] * r[k];
            float& c = C[i * ldc + j];
            c = alpha * s + (beta == 0.f ? 0.f : beta * c);
        }
    });
}

void gemm_nn(const float* A, int64_t lda, const float* B, int64_t ldb, float* C, int64_t ldc, int64_t M, int64_t N,
             int64_t K) {
    parallel_for(M, [&](int64_t b, int64_t e) {
        for (int64_t i = b; i < e; ++i) {
            float* c = C + i * ldc;
            std::fill(c, c + N, 0.f);
            for (int64_t k = 0; k < K; ++k) {
                const float a = A[i * lda + k];
                const float* r = B + k * ldb;
                for (int64_t j = 0; j < N; ++j) c[j] += a * r[j];
            }
        }
    });
}

const char* gemm_backend_name() { return "built-in"; }
#endif

}  // namespace m1
