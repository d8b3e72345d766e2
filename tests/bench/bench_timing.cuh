// Shared by the CUDA benchmarks: the median of event-timed launches after warm-up, and a counter-based hash
// for filling inputs on the device (the same values for the same seed on any GPU).
#pragma once
#include <cuda_runtime.h>

#include <algorithm>
#include <cstdint>
#include <vector>

#include "kernels/cuda_check.cuh"

namespace m1::bench {

// launch(i) gets the run index (for rotating inputs past L2); returns the median milliseconds on `st`.
template <class F>
double median_ms(F&& launch, int warmup, int reps, cudaStream_t st = nullptr) {
    cudaEvent_t a, b;
    M1_CUDA_CHECK(cudaEventCreate(&a));
    M1_CUDA_CHECK(cudaEventCreate(&b));
    for (int i = 0; i < warmup; ++i) launch(i);
    std::vector<float> ms;
    for (int i = 0; i < reps; ++i) {
        M1_CUDA_CHECK(cudaEventRecord(a, st));
        launch(warmup + i);
        M1_CUDA_CHECK(cudaEventRecord(b, st));
        M1_CUDA_CHECK(cudaEventSynchronize(b));
        float t = 0;
        M1_CUDA_CHECK(cudaEventElapsedTime(&t, a, b));
        ms.push_back(t);
    }
    cudaEventDestroy(a);
    cudaEventDestroy(b);
    std::sort(ms.begin(), ms.end());
    return ms[ms.size() / 2];
}

// Uniform in (0, 1) from (index, seed): splitmix-style mixing, 24 bits of mantissa.
__device__ inline float hash_uniform(uint64_t i, uint32_t seed) {
    uint64_t x = i * 0x9E3779B97F4A7C15ull + seed * 0xBF58476D1CE4E5B9ull;
    x ^= x >> 31;
    x *= 0x94D049BB133111EBull;
    x ^= x >> 29;
    return (float((x >> 40) & 0xFFFFFF) + 0.5f) * (1.0f / 16777216.0f);
}

}  // namespace m1::bench
