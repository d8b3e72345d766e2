// cuBLAS wrappers. cuBLAS is column-major: the row-major C[T,N] = A[T,K] W[N,K]^T is computed as the
// column-major C^T[N,T] = W^T[N,K] (W read transposed) times A^T[K,T].
#include "kernels/cuda_check.cuh"
#include "kernels/gemm_cublas.cuh"

namespace m1::kern {

namespace {
constexpr size_t kWorkspaceBytes = 32u << 20;  // cuBLAS recommends >= 32 MiB on Hopper
}

Blas::Blas(cudaStream_t stream) : stream_(stream) {
    M1_CUBLAS_CHECK(cublasCreate(&h_));
    try {
        M1_CUBLAS_CHECK(cublasSetStream(h_, stream));
        M1_CUDA_CHECK(cudaMalloc(&ws_, kWorkspaceBytes));
        M1_CUBLAS_CHECK(cublasSetWorkspace(h_, ws_, kWorkspaceBytes));
    } catch (...) {
        if (ws_) cudaFree(ws_);
        cublasDestroy(h_);
        throw;
    }
}

Blas::~Blas() {
    cublasDestroy(h_);
    cudaFree(ws_);
}

void gemm_bf16(Blas& b, int T, int N, int K, const __nv_bfloat16* A, int lda, const __nv_bfloat16* W, int ldw,
               void* C, OutType ct, int ldc, float beta) {
    if (T <= 0 || N <= 0) return;
    const float alpha = 1.f;
    M1_CUBLAS_CHECK(cublasGemmEx(b.handle(), CUBLAS_OP_T, CUBLAS_OP_N, N, T, K, &alpha, W, CUDA_R_16BF, ldw, A,
                                 CUDA_R_16BF, lda, &beta, C, ct == OutType::F32 ? CUDA_R_32F : CUDA_R_16BF, ldc,
                                 CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT));
}

void gemm_f32(Blas& b, int T, int N, int K, const float* A, int lda, const float* W, int ldw, float* C, int ldc) {
    if (T <= 0 || N <= 0) return;
    const float alpha = 1.f, beta = 0.f;
    M1_CUBLAS_CHECK(cublasGemmEx(b.handle(), CUBLAS_OP_T, CUBLAS_OP_N, N, T, K, &alpha, W, CUDA_R_32F, ldw, A,
                                 CUDA_R_32F, lda, &beta, C, CUDA_R_32F, ldc, CUBLAS_COMPUTE_32F_PEDANTIC,
                                 CUBLAS_GEMM_DEFAULT));
}

}  // namespace m1::kern
