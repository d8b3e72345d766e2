// Helpers for the CUDA op tests: device buffers from host vectors, bf16 rounding, normalised error.
#pragma once
#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <cstdint>
#include <random>
#include <vector>

#include "kernels/cuda_check.cuh"
#include "m1/safetensors.h"

namespace m1::test {

template <typename T>
struct Dev {
    T* p = nullptr;
    std::size_t n = 0;
    explicit Dev(std::size_t count) : n(count) {
        M1_CUDA_CHECK(cudaMalloc(&p, std::max<std::size_t>(count, 1) * sizeof(T)));
        M1_CUDA_CHECK(cudaMemset(p, 0xff, std::max<std::size_t>(count, 1) * sizeof(T)));  // poison: NaN for floats
    }
    explicit Dev(const std::vector<T>& h) : Dev(h.size()) {
        M1_CUDA_CHECK(cudaMemcpy(p, h.data(), h.size() * sizeof(T), cudaMemcpyHostToDevice));
    }
    ~Dev() { cudaFree(p); }
    Dev(const Dev&) = delete;
    Dev& operator=(const Dev&) = delete;
    std::vector<T> get() const {
        std::vector<T> h(n);
        M1_CUDA_CHECK(cudaDeviceSynchronize());
        M1_CUDA_CHECK(cudaMemcpy(h.data(), p, n * sizeof(T), cudaMemcpyDeviceToHost));
        return h;
    }
};

inline std::vector<float> randn(std::size_t n, std::mt19937& g, float scale = 1.f) {
    std::normal_distribution<float> d(0.f, scale);
    std::vector<float> v(n);
    for (auto& x : v) x = d(g);
    return v;
}
// Rounds to bf16 values (returned as fp32), the inputs the CPU reference sees.
inline std::vector<float> round_bf16(std::vector<float> v) {
    for (auto& x : v) x = bf16_to_f32(f32_to_bf16(x));
    return v;
}
inline std::vector<__nv_bfloat16> to_bf16(const std::vector<float>& v) {
    std::vector<__nv_bfloat16> o(v.size());
    for (std::size_t i = 0; i < v.size(); ++i) {
        const uint16_t b = f32_to_bf16(v[i]);
        std::memcpy(static_cast<void*>(&o[i]), &b, 2);
    }
    return o;
}
inline std::vector<float> from_bf16(const std::vector<__nv_bfloat16>& v) {
    std::vector<float> o(v.size());
    for (std::size_t i = 0; i < v.size(); ++i) {
        uint16_t b;
        std::memcpy(&b, static_cast<const void*>(&v[i]), 2);
        o[i] = bf16_to_f32(b);
    }
    return o;
}
// ||a - b|| / ||b||; NaN anywhere gives +inf so that it never passes.
inline double rel_err(const std::vector<float>& a, const std::vector<float>& b) {
    double num = 0, den = 0;
    for (std::size_t i = 0; i < a.size(); ++i) {
        if (!std::isfinite(a[i]) || !std::isfinite(b[i])) return INFINITY;
        num += double(a[i] - b[i]) * (a[i] - b[i]);
        den += double(b[i]) * b[i];
    }
    return std::sqrt(num / std::max(den, 1e-30));
}

}  // namespace m1::test
