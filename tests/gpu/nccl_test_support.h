// Shared by the multi-GPU tests (nccl_*_test, tp_*_test): a GoogleTest environment that skips the
// whole program (exit 77) unless the build has NCCL and the machine has at least two CUDA GPUs.
#pragma once
#include <cuda_runtime.h>
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>

namespace m1::test {

inline int cuda_device_count() {
    int n = 0;
    if (cudaGetDeviceCount(&n) != cudaSuccess) {
        cudaGetLastError();
        return 0;
    }
    return n;
}

class NeedTwoGpus : public ::testing::Environment {
public:
    void SetUp() override {
#ifndef M1_HAVE_NCCL
        std::printf("SKIP: built without NCCL; multi-GPU tests need it\n");
        std::exit(77);
#endif
        if (int n = cuda_device_count(); n < 2) {
            std::printf("SKIP: %d CUDA GPU(s) here; multi-GPU tests need 2 or more\n", n);
            std::exit(77);
        }
    }
};

}  // namespace m1::test
