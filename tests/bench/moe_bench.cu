// MoE kernels at M1's per-GPU shapes: hidden 6144, 32 experts, top-2; expert width 1152 (tensor-parallel
// slice of 9216 over 8 GPUs) for a prefill chunk of 8192 tokens and for decode, and the whole width 9216
// (one GPU, the slice benchmark's shape) for prefill and decode. Validates the grouped path against m1::ref on
// 16 tokens (4 at the whole width) and the decode path on one, measures the copy bandwidth and the bf16 GEMM
// rate (the rooflines), then times every stage with events (median of 20 after 5 warm-ups) and prints time,
// rate, formula and roofline. Writes JSON (--json FILE).
#include <cuda_runtime.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "kernels/cuda_check.cuh"
#include "kernels/fill_random.cuh"
#include "kernels/gemm_cublas.cuh"
#include "kernels/moe_block.cuh"
#include "kernels/moe_dispatch.cuh"
#include "kernels/moe_router.cuh"
#include "kernels/moe_small.cuh"
#include "kernels/quant_int8.cuh"
#include "m1/reference_ops.h"
#include "m1/safetensors.h"
#include "tests/bench/bench_timing.cuh"

namespace {

using bf16 = __nv_bfloat16;
using namespace m1::kern;

// Median microseconds of event-timed launches on `st`.
template <class F>
double median_us(F&& launch, cudaStream_t st, int warmup = 5, int reps = 20) {
    return m1::bench::median_ms(launch, warmup, reps, st) * 1e3;
}

template <typename T>
T* dalloc(std::size_t n) {
    void* p = nullptr;
    M1_CUDA_CHECK(cudaMalloc(&p, std::max<std::size_t>(n, 1) * sizeof(T)));
    return static_cast<T*>(p);
}

struct Row {
    std::string shape, kernel, formula;
    double us, flops, bytes, roof_us;
};
std::vector<Row> g_rows;
double g_bw = 0, g_tf = 0;  // measured ceilings: bytes/s, FLOP/s

void add(const std::string& shape, const std::string& kernel, double us, double flops, double bytes,
         const std::string& formula) {
    const double roof = std::max(flops / g_tf, bytes / g_bw) * 1e6;
    g_rows.push_back({shape, kernel, formula, us, flops, bytes, roof});
    const bool compute = flops / g_tf > bytes / g_bw;
    std::printf("%-10s %-26s %10.1f us  %8.1f %s  roofline %9.1f us (%3.0f%%)  %s\n", shape.c_str(), kernel.c_str(), us,
                compute ? flops / us * 1e-6 : bytes / us * 1e-3, compute ? "TFLOP/s" : "GB/s   ", roof,
                100.0 * roof / us, formula.c_str());
    std::fflush(stdout);
}

std::vector<float> host_f32(const bf16* d, std::size_t n) {
    std::vector<uint16_t> h(n);
    M1_CUDA_CHECK(cudaMemcpy(h.data(), d, n * 2, cudaMemcpyDeviceToHost));
    std::vector<float> f(n);
    for (std::size_t i = 0; i < n; ++i) f[i] = m1::bf16_to_f32(h[i]);
    return f;
}

void ceilings(cudaStream_t st, Blas& blas) {
    const std::size_t n = std::size_t(1) << 30;  // 1 GiB each way
    char* a = dalloc<char>(n);
    char* b = dalloc<char>(n);
    M1_CUDA_CHECK(cudaMemsetAsync(a, 1, n, st));
    const double cp = median_us([&](int) { M1_CUDA_CHECK(cudaMemcpyAsync(b, a, n, cudaMemcpyDeviceToDevice, st)); }, st);
    g_bw = 2.0 * double(n) / (cp * 1e-6);
    cudaFree(a);
    cudaFree(b);
    const int N = 8192;
    bf16* x = dalloc<bf16>(std::size_t(N) * N);
    bf16* w = dalloc<bf16>(std::size_t(N) * N);
    bf16* y = dalloc<bf16>(std::size_t(N) * N);
    fill_uniform_bf16(x, std::size_t(N) * N, 1.f, 1, st);
    fill_uniform_bf16(w, std::size_t(N) * N, 1.f, 2, st);
    const double gt = median_us([&](int) { gemm_bf16(blas, N, N, N, x, N, w, N, y, OutType::BF16, N); }, st);
    g_tf = 2.0 * N * double(N) * N / (gt * 1e-6);
    cudaFree(x);
    cudaFree(w);
    cudaFree(y);
    std::printf("ceilings: device-to-device copy %.0f GB/s (read + write), cuBLAS bf16 GEMM 8192^3 %.0f TFLOP/s\n",
                g_bw * 1e-9, g_tf * 1e-12);
}

// Prefill chunk through the grouped path, stage by stage, with the validation on 16 tokens first.
bool prefill(cudaStream_t st, Blas& blas, int T, int H, int E, int I, int k, const std::string& shape) {
    ExpertWeights w{E, H, I};
    bf16* w13 = dalloc<bf16>(std::size_t(E) * 2 * I * H);
    bf16* w2 = dalloc<bf16>(std::size_t(E) * H * I);
    float* gate = dalloc<float>(std::size_t(E) * H);
    float* x = dalloc<float>(std::size_t(T) * H);
    bf16* xb = dalloc<bf16>(std::size_t(T) * H);
    float* out = dalloc<float>(std::size_t(T) * H);
    fill_uniform_bf16(w13, std::size_t(E) * 2 * I * H, std::sqrt(3.f / H), 3, st);
    fill_uniform_bf16(w2, std::size_t(E) * H * I, std::sqrt(3.f / I), 4, st);
    fill_uniform_f32(gate, std::size_t(E) * H, std::sqrt(3.f / H), 5, st);
    fill_uniform_bf16(xb, std::size_t(T) * H, 1.7f, 6, st);  // unit variance
    w.w13 = w13;
    w.w2 = w2;
    {  // x fp32 = the bf16 values, as the engine's norm writes both
        std::vector<float> h = host_f32(xb, std::size_t(T) * H);
        M1_CUDA_CHECK(cudaMemcpy(x, h.data(), h.size() * 4, cudaMemcpyHostToDevice));
    }
    void* scratch = dalloc<char>(moe_scratch_bytes(T, k, w));
    const MoeScratch s = moe_carve(scratch, T, k, w);
    int32_t* hc = nullptr;
    M1_CUDA_CHECK(cudaMallocHost(&hc, E * sizeof(int32_t)));
    moe_forward(blas, gate, w, x, xb, T, k, s, hc, out);
    M1_CUDA_CHECK(cudaStreamSynchronize(st));
    {  // validation: the first 16 tokens (4 at the whole width) against m1::ref (router, top-k, SwiGLU experts)
        const int n = I > 2048 ? 4 : 16;
        std::vector<float> xs(std::size_t(n) * H), g(std::size_t(E) * H), lg(std::size_t(n) * E), got(std::size_t(n) * H);
        M1_CUDA_CHECK(cudaMemcpy(xs.data(), x, xs.size() * 4, cudaMemcpyDeviceToHost));
        M1_CUDA_CHECK(cudaMemcpy(g.data(), gate, g.size() * 4, cudaMemcpyDeviceToHost));
        M1_CUDA_CHECK(cudaMemcpy(got.data(), out, got.size() * 4, cudaMemcpyDeviceToHost));
        m1::ref::linear(xs.data(), g.data(), lg.data(), n, E, H);
        std::vector<int32_t> ids(std::size_t(n) * k);
        std::vector<float> tw(std::size_t(n) * k), ref(std::size_t(n) * H, 0.f), y(H);
        m1::ref::router_topk(lg.data(), n, E, k, ids.data(), tw.data());
        for (int t = 0; t < n; ++t)
            for (int j = 0; j < k; ++j) {
                const std::size_t e = std::size_t(ids[std::size_t(t) * k + j]);
                const auto a = host_f32(w13 + e * 2 * I * H, std::size_t(2) * I * H);
                const auto b = host_f32(w2 + e * H * I, std::size_t(H) * I);
                m1::ref::swiglu_expert(xs.data() + std::size_t(t) * H, 1, H, I, a.data(), a.data() + std::size_t(I) * H,
                                       b.data(), y.data());
                for (int c = 0; c < H; ++c) ref[std::size_t(t) * H + c] += tw[std::size_t(t) * k + j] * y[c];
            }
        double num = 0, den = 0;
        bool finite = true;
        for (std::size_t i = 0; i < ref.size(); ++i) {
            finite &= std::isfinite(got[i]);
            num += double(got[i] - ref[i]) * (got[i] - ref[i]);
            den += double(ref[i]) * ref[i];
        }
        const double e = std::sqrt(num / den);
        std::printf("validation %s: grouped MoE vs m1::ref on %d tokens: %.2e\n", shape.c_str(), n, e);
        if (!finite || !(e < 1e-2)) return false;
    }
    const double R = double(T) * k, dE = E, dH = H, dI = I, dT = T;
    double us = median_us([&](int) { gemm_f32(blas, T, E, H, x, H, gate, H, s.logits, E); }, st);
    add(shape, "router GEMM (fp32)", us, 2 * dT * dH * dE, 4 * (dT * dH + dE * dH + dT * dE), "2TEH flop; 4(TH+EH+TE) B");
    us = median_us([&](int) { moe_route(s.logits, T, E, k, s.topk_ids, s.topk_w, st); }, st);
    add(shape, "softmax + top-k", us, 0, 4 * dT * dE + 8 * R, "4TE + 8Tk B");
    us = median_us([&](int) { moe_plan(s.topk_ids, T, k, E, s.counts, s.offsets, s.slot_of, s.token_of_slot, st); }, st);
    add(shape, "permutation plan", us, 0, 4 * R + 8 * R + 8 * dE, "4Tk in + 8Tk out B");
    us = median_us([&](int) { moe_gather(xb, s.token_of_slot, T * k, H, s.xp, st); }, st);
    add(shape, "gather rows", us, 0, 2 * 2 * R * dH, "2 x 2TkH B");
    M1_CUDA_CHECK(cudaMemcpy(hc, s.counts, E * 4, cudaMemcpyDeviceToHost));
    us = median_us([&](int) {
        for (int e = 0, off = 0; e < E; off += hc[e], ++e)
            if (hc[e]) gemm_bf16(blas, hc[e], 2 * I, H, s.xp + std::size_t(off) * H, H, w13 + std::size_t(e) * 2 * I * H, H,
                                 s.gu + std::size_t(off) * 2 * I, OutType::F32, 2 * I);
    }, st);
    add(shape, "gate|up GEMMs (32 calls)", us, 2 * R * 2 * dI * dH, 2 * dE * 2 * dI * dH + 2 * R * dH + 4 * R * 2 * dI,
        "2Tk(2I)H flop; 2E(2I)H + 2TkH + 4Tk(2I) B");
    us = median_us([&](int) { swiglu(s.gu, T * k, I, s.h, st); }, st);
    add(shape, "SwiGLU", us, 0, 4 * R * 2 * dI + 2 * R * dI, "4Tk(2I) + 2TkI B");
    us = median_us([&](int) {
        for (int e = 0, off = 0; e < E; off += hc[e], ++e)
            if (hc[e]) gemm_bf16(blas, hc[e], H, I, s.h + std::size_t(off) * I, I, w2 + std::size_t(e) * H * I, I,
                                 s.y + std::size_t(off) * H, OutType::F32, H);
    }, st);
    add(shape, "down GEMMs (32 calls)", us, 2 * R * dH * dI, 2 * dE * dH * dI + 2 * R * dI + 4 * R * dH,
        "2TkHI flop; 2EHI + 2TkI + 4TkH B");
    us = median_us([&](int) { moe_experts_grouped(blas, w, s, hc); }, st);
    add(shape, "experts, 4 lanes (engine)", us, 6 * R * dI * dH, 2 * 3 * dE * dI * dH + 2 * R * dH + 12 * R * dI + 4 * R * dH,
        "gate|up + SwiGLU + down as the engine runs them");
    us = median_us([&](int) { moe_combine(s.y, s.slot_of, s.topk_ids, s.topk_w, T, k, H, out, st); }, st);
    add(shape, "combine", us, 0, 4 * R * dH + 4 * dT * dH, "4TkH + 4TH B");
    us = median_us([&](int) { moe_forward(blas, gate, w, x, xb, T, k, s, hc, out); }, st);
    add(shape, "whole MoE block", us, 2 * dT * dH * dE + 6 * R * dI * dH, 2 * 3 * dE * dI * dH + 4 * dT * dH * 2,
        "flop: router + 6TkIH; B: 6EIH + 8TH");
    cudaFreeHost(hc);
    for (void* p : {(void*)w13, (void*)w2, (void*)gate, (void*)x, (void*)xb, (void*)out, scratch}) cudaFree(p);
    return true;
}

// One token (decode) through moe_experts_small, bf16 and int8 experts. The token and its experts change
// every repetition, so that the two experts' weights are read from HBM and not from the L2.
bool decode(cudaStream_t st, int H, int E, int I, int k, bool int8, const std::string& shape) {
    ExpertWeights w{E, H, I};
    bf16* w13 = dalloc<bf16>(std::size_t(E) * 2 * I * H);
    bf16* w2 = dalloc<bf16>(std::size_t(E) * H * I);
    fill_uniform_bf16(w13, std::size_t(E) * 2 * I * H, std::sqrt(3.f / H), 13, st);
    fill_uniform_bf16(w2, std::size_t(E) * H * I, std::sqrt(3.f / I), 14, st);
    int8_t *q13 = nullptr, *q2 = nullptr;
    float *s13 = nullptr, *s2 = nullptr;
    if (int8) {
        q13 = dalloc<int8_t>(std::size_t(E) * 2 * I * H);
        q2 = dalloc<int8_t>(std::size_t(E) * H * I);
        s13 = dalloc<float>(std::size_t(E) * 2 * I);
        s2 = dalloc<float>(std::size_t(E) * H);
        for (int e = 0; e < E; ++e) {
            quantize_rows_int8(w13 + std::size_t(e) * 2 * I * H, 2 * I, H, q13 + std::size_t(e) * 2 * I * H, s13 + std::size_t(e) * 2 * I, st);
            quantize_rows_int8(w2 + std::size_t(e) * H * I, H, I, q2 + std::size_t(e) * H * I, s2 + std::size_t(e) * H, st);
        }
        w.q13 = q13; w.s13 = s13; w.q2 = q2; w.s2 = s2;
    } else {
        w.w13 = w13;
        w.w2 = w2;
    }
    constexpr int kTok = 64;
    bf16* x = dalloc<bf16>(std::size_t(kTok) * H);
    bf16* h = dalloc<bf16>(std::size_t(k) * I);
    float* out = dalloc<float>(H);
    int32_t* ids = dalloc<int32_t>(std::size_t(kTok) * k);
    float* tw = dalloc<float>(std::size_t(kTok) * k);
    fill_uniform_bf16(x, std::size_t(kTok) * H, 1.7f, 15, st);
    std::mt19937 g(3);
    std::vector<int32_t> hid(std::size_t(kTok) * k);
    std::vector<float> htw(hid.size(), 1.f / k);
    for (int t = 0; t < kTok; ++t) {
        std::vector<int32_t> perm(E);
        for (int e = 0; e < E; ++e) perm[e] = e;
        std::shuffle(perm.begin(), perm.end(), g);
        for (int j = 0; j < k; ++j) hid[std::size_t(t) * k + j] = perm[j];
    }
    M1_CUDA_CHECK(cudaMemcpy(ids, hid.data(), hid.size() * 4, cudaMemcpyHostToDevice));
    M1_CUDA_CHECK(cudaMemcpy(tw, htw.data(), htw.size() * 4, cudaMemcpyHostToDevice));
    // Validation: token 0 against m1::ref with the (dequantised) weights.
    moe_experts_small(w, x, 1, k, ids, tw, h, out, st);
    M1_CUDA_CHECK(cudaStreamSynchronize(st));
    {
        const auto xs = host_f32(x, H);
        std::vector<float> ref(H, 0.f), y(H), got(H);
        M1_CUDA_CHECK(cudaMemcpy(got.data(), out, H * 4, cudaMemcpyDeviceToHost));
        for (int j = 0; j < k; ++j) {
            const std::size_t e = std::size_t(hid[std::size_t(j)]);
            auto a = host_f32(w13 + e * 2 * I * H, std::size_t(2) * I * H);
            auto b = host_f32(w2 + e * H * I, std::size_t(H) * I);
            m1::ref::swiglu_expert(xs.data(), 1, H, I, a.data(), a.data() + std::size_t(I) * H, b.data(), y.data());
            for (int c = 0; c < H; ++c) ref[c] += y[c] / k;
        }
        double num = 0, den = 0;
        for (int c = 0; c < H; ++c) {
            num += double(got[c] - ref[c]) * (got[c] - ref[c]);
            den += double(ref[c]) * ref[c];
        }
        const double e = std::sqrt(num / den);
        std::printf("validation %s decode %s: vs m1::ref (bf16 weights) %.2e\n", shape.c_str(), int8 ? "int8" : "bf16", e);
        if (!(e < (int8 ? 3e-2 : 1e-2))) return false;
    }
    const double us = median_us([&](int i) {
        const int t = i % kTok;
        moe_experts_small(w, x + std::size_t(t) * H, 1, k, ids + t * k, tw + t * k, h, out, st);
    }, st, 5, 40);
    const double wb = int8 ? 1.0 : 2.0, dk = k, dH = H, dI = I;
    add(shape, std::string("decode experts T=1 ") + (int8 ? "int8" : "bf16"), us, 6 * dk * dI * dH,
        wb * 3 * dk * dI * dH + (int8 ? 4 * dk * (2 * dI + dH) : 0), int8 ? "3kIH B + scales" : "2 x 3kIH B");
    for (void* p : {(void*)w13, (void*)w2, (void*)q13, (void*)q2, (void*)s13, (void*)s2, (void*)x, (void*)h, (void*)out,
                    (void*)ids, (void*)tw})
        if (p) cudaFree(p);
    return true;
}

}  // namespace

int main(int argc, char** argv) {
    std::string json = "moe_bench.json";
    for (int i = 1; i + 1 < argc; ++i)
        if (!std::strcmp(argv[i], "--json")) json = argv[i + 1];
    cudaDeviceProp prop{};
    M1_CUDA_CHECK(cudaGetDeviceProperties(&prop, 0));
    cudaStream_t st;
    M1_CUDA_CHECK(cudaStreamCreateWithFlags(&st, cudaStreamNonBlocking));
    bool ok = true;
    {
        Blas blas(st);
        ceilings(st, blas);
        std::printf("GPU %s; median of 20 timed launches after 5 warm-ups; roofline = max(flop / GEMM rate, bytes / copy rate)\n",
                    prop.name);
        ok &= prefill(st, blas, 8192, 6144, 32, 1152, 2, "tp8 T=8192");
        ok &= prefill(st, blas, 8192, 6144, 32, 9216, 2, "full T=8192");
        ok &= decode(st, 6144, 32, 1152, 2, false, "tp8");
        ok &= decode(st, 6144, 32, 1152, 2, true, "tp8");
        ok &= decode(st, 6144, 32, 9216, 2, false, "full");
        ok &= decode(st, 6144, 32, 9216, 2, true, "full");
    }
    FILE* f = std::fopen(json.c_str(), "w");
    if (f) {
        std::fprintf(f, "{\"gpu\": \"%s\", \"copy_GBs\": %.1f, \"gemm_TFs\": %.1f, \"rows\": [", prop.name, g_bw * 1e-9,
                     g_tf * 1e-12);
        for (std::size_t i = 0; i < g_rows.size(); ++i)
            std::fprintf(f, "%s{\"shape\": \"%s\", \"kernel\": \"%s\", \"us\": %.2f, \"flop\": %.4g, \"bytes\": %.4g, "
                            "\"roofline_us\": %.2f, \"formula\": \"%s\"}",
                         i ? ", " : "", g_rows[i].shape.c_str(), g_rows[i].kernel.c_str(), g_rows[i].us, g_rows[i].flops,
                         g_rows[i].bytes, g_rows[i].roof_us, g_rows[i].formula.c_str());
        std::fprintf(f, "]}\n");
        std::fclose(f);
    }
    cudaStreamDestroy(st);
    if (!ok) std::printf("VALIDATION FAILED\n");
    return ok ? 0 : 1;
}
