// Error checking shared by the kernels' host code and the CUDA backend: every runtime, cuBLAS and
// launch error becomes an m1::cuda::CudaError carrying the code, so the engine can map it to a typed error.
#pragma once
#include <cublas_v2.h>
#include <cuda_runtime.h>

#include <stdexcept>
#include <string>

namespace m1::cuda {

struct CudaError : std::runtime_error {
    CudaError(const std::string& what, cudaError_t c, bool oom)
        : std::runtime_error(what), code(c), out_of_memory(oom) {}
    cudaError_t code;    // cudaSuccess when the failure came from cuBLAS
    bool out_of_memory;  // cudaErrorMemoryAllocation or CUBLAS_STATUS_ALLOC_FAILED
};

[[noreturn]] inline void throw_cuda(cudaError_t e, const char* expr, const char* file, int line) {
    throw CudaError(std::string("CUDA error ") + cudaGetErrorName(e) + " (" + cudaGetErrorString(e) + ") in " +
                        expr + " at " + file + ":" + std::to_string(line),
                    e, e == cudaErrorMemoryAllocation);
}

[[noreturn]] inline void throw_cublas(cublasStatus_t s, const char* expr, const char* file, int line) {
    throw CudaError(std::string("cuBLAS error ") + cublasGetStatusName(s) + " in " + expr + " at " + file + ":" +
                        std::to_string(line),
                    cudaSuccess, s == CUBLAS_STATUS_ALLOC_FAILED);
}

}  // namespace m1::cuda

#define M1_CUDA_CHECK(x)                                                              \
    do {                                                                              \
        cudaError_t m1_err_ = (x);                                                    \
        if (m1_err_ != cudaSuccess) ::m1::cuda::throw_cuda(m1_err_, #x, __FILE__, __LINE__); \
    } while (0)

#define M1_CUBLAS_CHECK(x)                                                                       \
    do {                                                                                         \
        cublasStatus_t m1_st_ = (x);                                                             \
        if (m1_st_ != CUBLAS_STATUS_SUCCESS) ::m1::cuda::throw_cublas(m1_st_, #x, __FILE__, __LINE__); \
    } while (0)

// After a launch: configuration errors show up here; faults inside the kernel surface at the next sync.
#define M1_LAUNCH_CHECK() M1_CUDA_CHECK(cudaGetLastError())
