// Helpers for the attention and lightning op tests: device buffers, random bf16 inputs that are exactly
// representable (so the CPU reference sees the same numbers), NaN poisoning and the normalised error.
#pragma once
#include <cuda_bf16.h>
#include <cuda_runtime.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

#include "kernels/cuda_check.cuh"

namespace m1::test {

template <class T>
struct DeviceBuffer {
    T* ptr = nullptr;
    std::size_t n = 0;
    explicit DeviceBuffer(std::size_t count) : n(count) {
        M1_CUDA_CHECK(cudaMalloc(&ptr, count * sizeof(T) + 16));
        M1_CUDA_CHECK(cudaMemset(ptr, 0xFF, count * sizeof(T) + 16));  // NaN in bf16 and fp32
    }
    ~DeviceBuffer() { cudaFree(ptr); }
    DeviceBuffer(const DeviceBuffer&) = delete;
    DeviceBuffer& operator=(const DeviceBuffer&) = delete;
    void upload(const std::vector<T>& h) { M1_CUDA_CHECK(cudaMemcpy(ptr, h.data(), h.size() * sizeof(T), cudaMemcpyHostToDevice)); }
    std::vector<T> download() const {
        std::vector<T> h(n);
        M1_CUDA_CHECK(cudaMemcpy(h.data(), ptr, n * sizeof(T), cudaMemcpyDeviceToHost));
        return h;
    }
};

// Values as q/k/v look after SiLU (silu of a standard normal), rounded to bf16; `f` gets the same values.
inline void random_silu_bf16(std::mt19937& rng, std::vector<__nv_bfloat16>& b, std::vector<float>& f, float gain = 1.f) {
    std::normal_distribution<float> nd(0.f, 1.f);
    f.resize(b.size());
    for (std::size_t i = 0; i < b.size(); ++i) {
        float x = nd(rng);
        b[i] = __float2bfloat16(gain * x / (1.f + std::exp(-x)));
        f[i] = __bfloat162float(b[i]);
    }
}
inline void random_normal_bf16(std::mt19937& rng, std::vector<__nv_bfloat16>& b, std::vector<float>& f, float sd) {
    std::normal_distribution<float> nd(0.f, sd);
    f.resize(b.size());
    for (std::size_t i = 0; i < b.size(); ++i) {
        b[i] = __float2bfloat16(nd(rng));
        f[i] = __bfloat162float(b[i]);
    }
}

inline std::vector<float> to_float(const std::vector<__nv_bfloat16>& b) {
    std::vector<float> f(b.size());
    for (std::size_t i = 0; i < b.size(); ++i) f[i] = __bfloat162float(b[i]);
    return f;
}

// ‖got − ref‖ / ‖ref‖ in double; infinity when any compared element of `got` is not finite.
inline double rel_error(const std::vector<float>& got, const std::vector<float>& ref) {
    double num = 0, den = 0;
    for (std::size_t i = 0; i < ref.size(); ++i) {
        if (!std::isfinite(got[i])) return INFINITY;
        double d = double(got[i]) - ref[i];
        num += d * d;
        den += double(ref[i]) * ref[i];
    }
    return std::sqrt(num / (den > 0 ? den : 1));
}

inline int sm_count() {
    int dev = 0, n = 0;
    M1_CUDA_CHECK(cudaGetDevice(&dev));
    M1_CUDA_CHECK(cudaDeviceGetAttribute(&n, cudaDevAttrMultiProcessorCount, dev));
    return n;
}

}  // namespace m1::test
