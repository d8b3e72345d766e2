// Shared by the multi-GPU tests (nccl_*_test, tp_*_test): a GoogleTest environment that skips the
// whole program (exit 77) unless the build has NCCL and the machine has at least two CUDA GPUs, and the
// small comparisons they all make.
#pragma once
#include <cuda_runtime.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <span>
#include <vector>

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

// ‖a − b‖ / ‖b‖ in double.
inline double rel_l2(std::span<const float> a, std::span<const float> b) {
    double num = 0, den = 0;
    for (size_t i = 0; i < a.size(); ++i) {
        num += double(a[i] - b[i]) * (a[i] - b[i]);
        den += double(b[i]) * b[i];
    }
    return std::sqrt(num / (den + 1e-30));
}

inline int32_t argmax(std::span<const float> v) { return int32_t(std::max_element(v.begin(), v.end()) - v.begin()); }

inline std::vector<int32_t> random_ids(size_t n, int64_t vocab, uint32_t seed) {
    std::mt19937 g(seed);
    std::vector<int32_t> ids(n);
    for (auto& x : ids) x = int32_t(g() % uint32_t(vocab));
    return ids;
}

}  // namespace m1::test
