// The LM head at M1's shape (vocab 200064 x hidden 6144): fp32 logits from bf16 weights (kern::lm_head) beside
// the fp32-weight cuBLAS GEMM the engine used before, and the router (32 x 6144 fp32) for one token both ways.
// Validates first (float64 on sampled columns; the new path against the old on identical values), measures the
// device-to-device copy bandwidth (the roofline), then times each with events (median of 20 after 3 warm-ups).
// Weight bytes over time is the rate for the matrix-vector rows; 2 * rows * V * H FLOP for the many-row rows.
// usage: lm_head_bench [--json FILE]
#include <cuda_runtime.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "kernels/cuda_check.cuh"
#include "kernels/fill_random.cuh"
#include "kernels/gemm_cublas.cuh"
#include "kernels/lm_head.cuh"
#include "m1/safetensors.h"
#include "tests/bench/bench_timing.cuh"

namespace {

using bf16 = __nv_bfloat16;
using namespace m1::kern;

constexpr int V = 200064, H = 6144, E = 32, kMaxRows = 256;

template <typename T>
T* dalloc(std::size_t n) {
    void* p = nullptr;
    M1_CUDA_CHECK(cudaMalloc(&p, std::max<std::size_t>(n, 1) * sizeof(T)));
    return static_cast<T*>(p);
}

template <typename T>
std::vector<T> host(const T* d, std::size_t n) {
    std::vector<T> h(n);
    M1_CUDA_CHECK(cudaMemcpy(h.data(), d, n * sizeof(T), cudaMemcpyDeviceToHost));
    return h;
}

struct Row {
    std::string what, formula;
    double us, rate;  // rate: GB/s (memory rows) or TFLOP/s (compute rows)
    bool memory;
};
std::vector<Row> g_rows;
double g_copy = 0;  // measured device-to-device copy, bytes read + written per second

void add(const std::string& what, double us, double bytes, double flops, const std::string& formula) {
    const bool memory = flops == 0;
    const double rate = memory ? bytes / us * 1e-3 : flops / us * 1e-6;
    g_rows.push_back({what, formula, us, rate, memory});
    if (memory)
        std::printf("%-44s %9.1f us  %7.0f GB/s  %3.0f%% of copy  (%s)\n", what.c_str(), us, rate, 100 * rate / (g_copy * 1e-9),
                    formula.c_str());
    else
        std::printf("%-44s %9.1f us  %7.1f TFLOP/s               (%s)\n", what.c_str(), us, rate, formula.c_str());
}

// Largest |a - b| / (|b| + scale) over n values.
double max_rel(const float* a, const float* b, std::size_t n, double scale) {
    double m = 0;
    for (std::size_t i = 0; i < n; ++i) m = std::max(m, std::fabs(double(a[i]) - b[i]) / (std::fabs(double(b[i])) + scale));
    return m;
}

}  // namespace

int main(int argc, char** argv) {
    std::string json;
    for (int i = 1; i < argc; ++i)
        if (std::string(argv[i]) == "--json" && i + 1 < argc) json = argv[++i];
    cudaDeviceProp prop{};
    M1_CUDA_CHECK(cudaGetDeviceProperties(&prop, 0));
    cudaStream_t st;
    M1_CUDA_CHECK(cudaStreamCreate(&st));
    Blas blas(st);
    auto* wb = dalloc<bf16>(std::size_t(V) * H);   // the LM head as M1 stores it
    auto* wf = dalloc<float>(std::size_t(V) * H);  // the same values in fp32 (the engine's old LM head)
    auto* x = dalloc<float>(std::size_t(kMaxRows) * H);
    auto* out = dalloc<float>(std::size_t(kMaxRows) * V);
    auto* out2 = dalloc<float>(std::size_t(kMaxRows) * V);
    const RowWeights head{wb, WeightType::BF16, V, H}, head32{wf, WeightType::F32, V, H};
    void* tile = dalloc<char>(lm_head_scratch_bytes(head, kMaxRows));
    constexpr int kRouterCopies = 256;  // 201 MB of routers: each timed launch reads one from HBM, not L2
    auto* router = dalloc<float>(std::size_t(kRouterCopies) * E * H);
    auto* rlog = dalloc<float>(std::size_t(kRouterCopies) * E);
    fill_uniform_bf16(wb, std::size_t(V) * H, std::sqrt(3.f / H), 11, st);
    widen_bf16(wb, std::size_t(V) * H, wf, st);
    fill_uniform_f32(x, std::size_t(kMaxRows) * H, 2.f, 12, st);
    fill_uniform_f32(router, std::size_t(kRouterCopies) * E * H, std::sqrt(3.f / H), 13, st);
    M1_CUDA_CHECK(cudaStreamSynchronize(st));
    std::printf("GPU %s, LM head %d x %d (bf16 %.2f GB, fp32 %.2f GB)\n", prop.name, V, H, head.bytes() / 1e9, head32.bytes() / 1e9);

    // Validation: float64 on 64 sampled vocabulary rows for 1 and 256 rows of x; new vs old on all logits.
    {
        const auto xh = host(x, std::size_t(kMaxRows) * H);
        double worst = 0;
        for (int rows : {1, 4, kMaxRows}) {
            lm_head(blas, x, H, rows, head, out, V, tile);
            M1_CUDA_CHECK(cudaStreamSynchronize(st));
            for (int s = 0; s < 64; ++s) {
                const int n = int((int64_t(s) * 3130001) % V);
                const auto w = host(wf + std::size_t(n) * H, H);
                for (int r = 0; r < rows; r += std::max(1, rows / 8)) {
                    double ref = 0, mag = 0;
                    for (int k = 0; k < H; ++k) {
                        ref += double(xh[std::size_t(r) * H + k]) * w[k];
                        mag += std::fabs(double(xh[std::size_t(r) * H + k]) * w[k]);
                    }
                    float o = 0;
                    M1_CUDA_CHECK(cudaMemcpy(&o, out + std::size_t(r) * V + n, 4, cudaMemcpyDeviceToHost));
                    worst = std::max(worst, std::isfinite(o) ? std::fabs(o - ref) / mag : 1e30);
                }
            }
        }
        gemm_f32(blas, 1, V, H, x, H, wf, H, out2, V);
        lm_head(blas, x, H, 1, head, out, V, nullptr);
        M1_CUDA_CHECK(cudaStreamSynchronize(st));
        const auto a = host(out, V), b = host(out2, V);
        const double d = max_rel(a.data(), b.data(), V, 1.0);
        std::printf("validation: vs float64 worst |err| / sum|xw| %.2e (limit 2e-6); bf16-weight kernel vs fp32 cuBLAS max rel %.2e\n",
                    worst, d);
        if (!(worst < 2e-6) || !(d < 1e-5)) return 1;
    }

    // The roofline: a 4 GB device-to-device copy (bytes read + written).
    {
        const std::size_t n = std::size_t(2) << 30;
        const double ms = m1::bench::median_ms([&](int) { M1_CUDA_CHECK(cudaMemcpyAsync(wf, wb, n, cudaMemcpyDeviceToDevice, st)); }, 2, 10, st);
        g_copy = 2.0 * n / (ms * 1e-3);
        widen_bf16(wb, std::size_t(V) * H, wf, st);  // restore the fp32 copy the copy overwrote
        std::printf("device-to-device copy: %.0f GB/s (read + write)\n", g_copy * 1e-9);
    }
    auto time = [&](auto&& f) { return m1::bench::median_ms(f, 3, 20, st) * 1e3; };
    const double wbytes = double(head.bytes()), fbytes = double(head32.bytes());
    for (int rows : {1, 2, 4, 8}) {
        const double us = time([&](int) { lm_head(blas, x, H, rows, head, out, V, nullptr); });
        add("LM head bf16 weights, matvec, rows " + std::to_string(rows), us, wbytes, 0, "2VH bytes");
    }
    add("LM head fp32 weights, cuBLAS fp32 (before), rows 1", time([&](int) { gemm_f32(blas, 1, V, H, x, H, wf, H, out2, V); }),
        fbytes, 0, "4VH bytes");
    add("LM head fp32 weights, matvec, rows 1", time([&](int) { lm_head(blas, x, H, 1, head32, out, V, nullptr); }), fbytes, 0,
        "4VH bytes");
    for (int ranks : {2, 8}) {  // one rank's vocabulary slice under tensor parallelism
        const RowWeights part{wb, WeightType::BF16, (V + ranks - 1) / ranks, H};
        add("TP=" + std::to_string(ranks) + " slice bf16, matvec, rows 1", time([&](int) { lm_head(blas, x, H, 1, part, out, V, nullptr); }),
            double(part.bytes()), 0, "2(V/n)H bytes");
    }
    const double flops = 2.0 * kMaxRows * V * H;
    add("LM head bf16, widened tiles + cuBLAS fp32, 256 rows", time([&](int) { lm_head(blas, x, H, kMaxRows, head, out, V, tile); }), 0,
        flops, "2TVH FLOP");
    add("LM head fp32 weights, cuBLAS fp32 (before), 256 rows",
        time([&](int) { gemm_f32(blas, kMaxRows, V, H, x, H, wf, H, out2, V); }), 0, flops, "2TVH FLOP");
    const double rbytes = double(E) * H * 4;
    auto rw = [&](int i) { return RowWeights{router + std::size_t(i % kRouterCopies) * E * H, WeightType::F32, E, H}; };
    add("router fp32 32 x 6144, cuBLAS fp32, 1 token",
        time([&](int i) { gemm_f32(blas, 1, E, H, x, H, router + std::size_t(i % kRouterCopies) * E * H, H, rlog, E); }), rbytes, 0,
        "4EH bytes");
    add("router fp32 32 x 6144, matvec, 1 token", time([&](int i) { matvec_f32(x, H, 1, rw(i), rlog, E, st); }), rbytes, 0,
        "4EH bytes");
    if (!json.empty()) {
        std::ofstream f(json);
        f << "{\"gpu\": \"" << prop.name << "\", \"copy_gb_s\": " << g_copy * 1e-9 << ", \"rows\": [";
        for (std::size_t i = 0; i < g_rows.size(); ++i)
            f << (i ? ", " : "") << "{\"what\": \"" << g_rows[i].what << "\", \"us\": " << g_rows[i].us << ", \""
              << (g_rows[i].memory ? "gb_s" : "tflop_s") << "\": " << g_rows[i].rate << ", \"formula\": \"" << g_rows[i].formula
              << "\"}";
        f << "]}\n";
    }
    return 0;
}
