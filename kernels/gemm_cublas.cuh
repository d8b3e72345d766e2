// Dense GEMMs through cuBLAS: bf16 in / fp32 accumulate for the projections and the experts, fp32 (no TF32)
// for the router and the LM head. Row-major shapes: C[T, N] = A[T, K] * W[N, K]^T (W as nn.Linear stores it).
#pragma once
#include <cublas_v2.h>
#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include <cstddef>

namespace m1::kern {

// One cuBLAS handle bound to a stream, with a fixed workspace so that calls can be captured in a CUDA graph.
class Blas {
public:
    explicit Blas(cudaStream_t stream);
    ~Blas();
    Blas(const Blas&) = delete;
    Blas& operator=(const Blas&) = delete;
    cublasHandle_t handle() const { return h_; }
    cudaStream_t stream() const { return stream_; }

    // Side lanes for independent GEMMs that are each too small to fill the GPU (one expert's rows): each lane
    // is a stream with its own handle. fork(n) makes lanes 0..n-1 wait for the work enqueued so far on
    // stream(); join(n) makes stream() wait for theirs. Made on first use; capturable in a CUDA graph.
    static constexpr int kLanes = 4;
    Blas& lane(int i);
    void fork(int n);
    void join(int n);

private:
    explicit Blas(cudaStream_t stream, std::size_t workspace_bytes);
    struct Lanes;
    cublasHandle_t h_ = nullptr;
    cudaStream_t stream_ = nullptr;
    void* ws_ = nullptr;
    Lanes* lanes_ = nullptr;
};

enum class OutType { F32, BF16 };

// C = beta*C + A * W^T.  A: [T, K] bf16 (row stride lda), W: [N, K] bf16 (row stride ldw), C: [T, N] (ldc).
void gemm_bf16(Blas& b, int T, int N, int K, const __nv_bfloat16* A, int lda, const __nv_bfloat16* W, int ldw,
               void* C, OutType ct, int ldc, float beta = 0.f);

// C = A * W^T in true fp32 (CUBLAS_COMPUTE_32F_PEDANTIC: no TF32, as M1's LM head was trained).
void gemm_f32(Blas& b, int T, int N, int K, const float* A, int lda, const float* W, int ldw, float* C, int ldc);

}  // namespace m1::kern
