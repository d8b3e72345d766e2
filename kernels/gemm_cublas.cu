// cuBLAS wrappers. cuBLAS is column-major: the row-major C[T,N] = A[T,K] W[N,K]^T is computed as the
// column-major C^T[N,T] = W^T[N,K] (W read transposed) times A^T[K,T].
#include "kernels/cuda_check.cuh"
#include "kernels/gemm_cublas.cuh"

namespace m1::kern {

namespace {
constexpr size_t kWorkspaceBytes = 32u << 20;      // cuBLAS recommends >= 32 MiB on Hopper
constexpr size_t kLaneWorkspaceBytes = 16u << 20;  // per side lane
}

struct Blas::Lanes {
    cudaStream_t streams[kLanes] = {};
    cudaEvent_t forked = nullptr, done[kLanes] = {};
    Blas* blas[kLanes] = {};
    ~Lanes() {
        for (int i = 0; i < kLanes; ++i) {
            delete blas[i];
            if (done[i]) cudaEventDestroy(done[i]);
            if (streams[i]) cudaStreamDestroy(streams[i]);
        }
        if (forked) cudaEventDestroy(forked);
    }
};

Blas::Blas(cudaStream_t stream) : Blas(stream, kWorkspaceBytes) {}

Blas::Blas(cudaStream_t stream, std::size_t workspace_bytes) : stream_(stream) {
    M1_CUBLAS_CHECK(cublasCreate(&h_));
    try {
        M1_CUBLAS_CHECK(cublasSetStream(h_, stream));
        M1_CUDA_CHECK(cudaMalloc(&ws_, workspace_bytes));
        M1_CUBLAS_CHECK(cublasSetWorkspace(h_, ws_, workspace_bytes));
    } catch (...) {
        if (ws_) cudaFree(ws_);
        cublasDestroy(h_);
        throw;
    }
}

Blas::~Blas() {
    delete lanes_;
    cublasDestroy(h_);
    cudaFree(ws_);
}

Blas& Blas::lane(int i) {
    if (!lanes_) {
        auto* l = new Lanes;
        try {
            M1_CUDA_CHECK(cudaEventCreateWithFlags(&l->forked, cudaEventDisableTiming));
            for (int j = 0; j < kLanes; ++j) {
                M1_CUDA_CHECK(cudaStreamCreateWithFlags(&l->streams[j], cudaStreamNonBlocking));
                M1_CUDA_CHECK(cudaEventCreateWithFlags(&l->done[j], cudaEventDisableTiming));
                l->blas[j] = new Blas(l->streams[j], kLaneWorkspaceBytes);
            }
        } catch (...) {
            delete l;
            throw;
        }
        lanes_ = l;
    }
    return *lanes_->blas[i];
}

void Blas::fork(int n) {
    lane(0);
    M1_CUDA_CHECK(cudaEventRecord(lanes_->forked, stream_));
    for (int i = 0; i < n; ++i) M1_CUDA_CHECK(cudaStreamWaitEvent(lanes_->streams[i], lanes_->forked, 0));
}

void Blas::join(int n) {
    for (int i = 0; i < n; ++i) {
        M1_CUDA_CHECK(cudaEventRecord(lanes_->done[i], lanes_->streams[i]));
        M1_CUDA_CHECK(cudaStreamWaitEvent(stream_, lanes_->done[i], 0));
    }
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
