// Lightning attention benchmark at M1's per-GPU shape (8 heads x 128): prefill at 8K..1M tokens, three-pass
// kernel against the same kernel run as a per-head sequential walk (one CTA per head: the naive peer), the
// single-pass kernel against the three-pass one (its peer column); decode at batch 1..256. Validates against
// the naive per-token kernel of kernels/dev first, then times with events.
// Usage: lightning_bench [--json FILE] [--max-tokens N]
#include "kernels/cuda_check.cuh"
#include "tests/bench/bench_timing.cuh"
#include "kernels/dev/lightning_naive.cuh"
#include "kernels/lightning_decode.cuh"
#include "kernels/lightning_prefill.cuh"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace {

using bf16 = __nv_bfloat16;
using m1::bench::hash_uniform;
using m1::bench::median_ms;
constexpr int kHeads = 8, kDim = 128, kRow = kHeads * 3 * kDim;  // fused qkv row of one token

// silu of a normal sample, times `gain`: what q/k/v look like after the activation.
__global__ void fill_silu(bf16* p, int64_t n, uint32_t seed, float gain) {
    for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x) {
        float u1 = hash_uniform(2 * i, seed), u2 = hash_uniform(2 * i + 1, seed);
        float x = sqrtf(-2.f * logf(u1)) * cosf(6.2831853f * u2);
        p[i] = __float2bfloat16(gain * x / (1.f + expf(-x)));
    }
}
__global__ void fill_normal_f32(float* p, int64_t n, uint32_t seed) {
    for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x) {
        float u1 = hash_uniform(2 * i, seed), u2 = hash_uniform(2 * i + 1, seed);
        p[i] = sqrtf(-2.f * logf(u1)) * cosf(6.2831853f * u2);
    }
}


double rel_err_dev(const bf16* got, const float* ref, int64_t n, bool* finite) {
    std::vector<bf16> g(n);
    std::vector<float> r(n);
    M1_CUDA_CHECK(cudaMemcpy(g.data(), got, n * sizeof(bf16), cudaMemcpyDeviceToHost));
    M1_CUDA_CHECK(cudaMemcpy(r.data(), ref, n * sizeof(float), cudaMemcpyDeviceToHost));
    double num = 0, den = 0;
    *finite = true;
    for (int64_t i = 0; i < n; ++i) {
        float x = __bfloat162float(g[i]);
        if (!std::isfinite(x)) *finite = false;
        num += double(x - r[i]) * (x - r[i]);
        den += double(r[i]) * r[i];
    }
    return std::sqrt(num / den);
}
double rel_err_f32(const float* got, const float* ref, int64_t n) {
    std::vector<float> g(n), r(n);
    M1_CUDA_CHECK(cudaMemcpy(g.data(), got, n * sizeof(float), cudaMemcpyDeviceToHost));
    M1_CUDA_CHECK(cudaMemcpy(r.data(), ref, n * sizeof(float), cudaMemcpyDeviceToHost));
    double num = 0, den = 0;
    for (int64_t i = 0; i < n; ++i) {
        if (!std::isfinite(g[i])) return INFINITY;
        num += double(g[i] - r[i]) * (g[i] - r[i]);
        den += double(r[i]) * r[i];
    }
    return std::sqrt(num / den);
}

struct Row {
    std::string op;
    long long tokens;
    int batch;
    double ms, peer_ms, tflops, gbps, err;
};

}  // namespace

int main(int argc, char** argv) {
    std::string json = "lightning_bench.json";
    long long max_tokens = 1 << 20;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!std::strcmp(argv[i], "--json")) json = argv[i + 1];
        else if (!std::strcmp(argv[i], "--max-tokens")) max_tokens = std::atoll(argv[i + 1]);
    }
    int dev = 0, sms = 0;
    cudaDeviceProp prop{};
    M1_CUDA_CHECK(cudaGetDevice(&dev));
    M1_CUDA_CHECK(cudaGetDeviceProperties(&prop, dev));
    sms = prop.multiProcessorCount;
    std::printf("device: %s, %d SMs, L2 %d MB\n", prop.name, sms, prop.l2CacheSize >> 20);

    // M1 slopes at layer 0 (fastest decay) and layer 78 (slowest), 8 heads of the 64 (TP rank 7: h = 56..63).
    std::vector<float> slopes(kHeads);
    for (int h = 0; h < kHeads; ++h) slopes[h] = float(std::pow(2.0, -(56 + h + 1) / 8.0) * (1 - 40.0 / 79 + 1e-5));
    float* dslopes;
    M1_CUDA_CHECK(cudaMalloc(&dslopes, kHeads * sizeof(float)));
    M1_CUDA_CHECK(cudaMemcpy(dslopes, slopes.data(), kHeads * sizeof(float), cudaMemcpyHostToDevice));
    std::vector<Row> rows;

    // ---- prefill
    for (long long T : {8192LL, 32768LL, 131072LL, 1048576LL}) {
        if (T > max_tokens) continue;
        const int copies = int(std::max(1LL, (256LL << 20) / (T * kRow * 2)));  // rotate > 256 MB of inputs
        bf16 *qkv, *out;
        float *state_in, *state_out, *ref_out, *ref_state;
        const int64_t n = T * kRow, S = int64_t(kHeads) * kDim * kDim;
        M1_CUDA_CHECK(cudaMalloc(&qkv, n * copies * sizeof(bf16)));
        M1_CUDA_CHECK(cudaMalloc(&out, T * kHeads * kDim * sizeof(bf16)));
        M1_CUDA_CHECK(cudaMalloc(&ref_out, T * kHeads * kDim * sizeof(float)));
        M1_CUDA_CHECK(cudaMalloc(&state_in, S * sizeof(float)));
        M1_CUDA_CHECK(cudaMalloc(&state_out, S * sizeof(float)));
        M1_CUDA_CHECK(cudaMalloc(&ref_state, S * sizeof(float)));
        fill_silu<<<1024, 256>>>(qkv, n * copies, 7, 0.5f);
        fill_normal_f32<<<256, 256>>>(state_in, S, 9);
        M1_LAUNCH_CHECK();
        M1_CUDA_CHECK(cudaMemset(out, 0xFF, T * kHeads * kDim * sizeof(bf16)));
        auto params = [&](int copy, int chunk, int impl = 1, int sp_chunk = 0, int hints = 1) {
            m1::cuda::LightningPrefillParams p;
            p.q = qkv + int64_t(copy % copies) * n;
            p.k = p.q + kDim;
            p.v = p.q + 2 * kDim;
            p.tok_stride = kRow;
            p.head_stride = 3 * kDim;
            p.out = out;
            p.out_tok_stride = kHeads * kDim;
            p.slopes = dslopes;
            p.state_in = state_in;
            p.state_out = state_out;
            p.tokens = int(T);
            p.heads = kHeads;
            p.chunk = chunk;
            p.impl = impl;
            p.sp_chunk = sp_chunk;
            p.sp_l2_hints = hints;
            return p;
        };
        const int chunk = m1::cuda::lightning_prefill_default_chunk(int(T), kHeads, sms);
        const size_t wsb = std::max({m1::cuda::lightning_prefill_workspace_bytes(int(T), kHeads, std::max(64, chunk / 2 / 64 * 64)),
                                     m1::cuda::lightning_prefill_workspace_bytes(int(T), kHeads, int(T + 63) / 64 * 64),
                                     m1::cuda::lightning_prefill_workspace_bytes(int(T), kHeads, chunk, 2)});
        void* ws;
        M1_CUDA_CHECK(cudaMalloc(&ws, wsb));
        // Validate both kernels vs the naive per-token recurrence (fp32), computed once.
        M1_CUDA_CHECK(cudaMemcpy(ref_state, state_in, S * sizeof(float), cudaMemcpyDeviceToDevice));
        m1::cuda::dev::lightning_naive(qkv, qkv + kDim, qkv + 2 * kDim, kRow, 3 * kDim, dslopes, ref_state, ref_out,
                                       int(T), kHeads, nullptr);
        M1_LAUNCH_CHECK();
        double err = 0, err1 = 0;
        for (int impl : {1, 2}) {
            M1_CUDA_CHECK(cudaMemset(out, 0xFF, T * kHeads * kDim * sizeof(bf16)));
            M1_CUDA_CHECK(cudaMemset(state_out, 0xFF, S * sizeof(float)));
            m1::cuda::lightning_prefill(params(0, chunk, impl), ws, wsb, nullptr);
            M1_CUDA_CHECK(cudaDeviceSynchronize());
            bool finite = false;
            const double e = rel_err_dev(out, ref_out, T * kHeads * kDim, &finite);
            const double serr = rel_err_f32(state_out, ref_state, S);
            std::printf("prefill impl %d T=%lld chunk=%d: out err %.2e (finite %d), final state err %.2e\n", impl, T,
                        chunk, e, int(finite), serr);
            if (!finite || e > 2e-2 || serr > 1e-2) {
                std::printf("VALIDATION FAILED\n");
                return 1;
            }
            (impl == 1 ? err : err1) = e;
        }
        const int reps = T >= (1 << 20) ? 10 : 30;
        const double ms = median_ms([&](int i) { m1::cuda::lightning_prefill(params(i, chunk), ws, wsb, nullptr); }, 3, reps);
        // Single pass: default chunk, then a sweep of chunk sizes and the L2 hints off (same run, same inputs).
        double ms1 = 0;
        for (int spc : {0, 256, 512, 1024, -512}) {
            const int hints = spc < 0 ? 0 : 1, c1 = spc < 0 ? -spc : spc;
            const double t1 = median_ms(
                [&](int i) { m1::cuda::lightning_prefill(params(i, chunk, 2, c1, hints), ws, wsb, nullptr); }, 3, reps);
            if (spc == 0) ms1 = t1;
            std::printf("prefill single-pass T=%lld sp_chunk=%d hints=%d: %.1f us (three-pass %.1f us)\n", T, c1, hints,
                        t1 * 1e3, ms * 1e3);
        }
        for (int mult : {-2, 2}) {  // half and twice the default chunk, timed just above
            const int c2 = mult > 0 ? chunk * mult : std::max(64, chunk / 2 / 64 * 64);
            if (m1::cuda::lightning_prefill_workspace_bytes(int(T), kHeads, c2) > wsb) continue;
            const double t2 = median_ms([&](int i) { m1::cuda::lightning_prefill(params(i, c2), ws, wsb, nullptr); }, 2, reps);
            std::printf("prefill T=%lld chunk=%d: %.1f us (default chunk %d: %.1f us)\n", T, c2, t2 * 1e3, chunk,
                        ms * 1e3);
        }
        const int seq_chunk = int(T + 63) / 64 * 64;  // one chunk per head: the sequential walk
        const double peer = median_ms([&](int i) { m1::cuda::lightning_prefill(params(i, seq_chunk), ws, wsb, nullptr); },
                                      1, T >= (1 << 20) ? 3 : 5);
        const double flop = 4.0 * T * kHeads * kDim * kDim;  // S update (2d^2) + q.S (2d^2) per token and head
        const double bytes = double(T) * kHeads * kDim * 2 * 4;  // q, k, v read + o written, bf16
        rows.push_back({"prefill_3pass", T, 1, ms, peer, flop / ms / 1e9, bytes / ms / 1e6, err});
        rows.push_back({"prefill_1pass", T, 1, ms1, ms, flop / ms1 / 1e9, bytes / ms1 / 1e6, err1});
        cudaFree(qkv); cudaFree(out); cudaFree(ref_out); cudaFree(state_in); cudaFree(state_out); cudaFree(ref_state);
        cudaFree(ws);
    }

    // ---- decode
    for (int B : {1, 8, 64, 128, 256}) {
        const int64_t S = int64_t(B) * kHeads * kDim * kDim;
        const int copies = int(std::max<int64_t>(2, (512LL << 20) / (S * 4)));  // rotate > 512 MB of states
        float *state, *ref_state, *ref_out;
        bf16 *qkv, *out;
        M1_CUDA_CHECK(cudaMalloc(&state, S * copies * sizeof(float)));
        M1_CUDA_CHECK(cudaMalloc(&ref_state, S * sizeof(float)));
        M1_CUDA_CHECK(cudaMalloc(&ref_out, int64_t(B) * kHeads * kDim * sizeof(float)));
        M1_CUDA_CHECK(cudaMalloc(&qkv, int64_t(B) * kRow * sizeof(bf16)));
        M1_CUDA_CHECK(cudaMalloc(&out, int64_t(B) * kHeads * kDim * sizeof(bf16)));
        fill_normal_f32<<<1024, 256>>>(state, S * copies, 5);
        fill_silu<<<256, 256>>>(qkv, int64_t(B) * kRow, 6, 1.f);
        M1_LAUNCH_CHECK();
        auto params = [&](int copy) {
            m1::cuda::LightningDecodeParams p;
            p.q = qkv;
            p.k = qkv + kDim;
            p.v = qkv + 2 * kDim;
            p.qkv_batch_stride = kRow;
            p.qkv_head_stride = 3 * kDim;
            p.state = state + int64_t(copy % copies) * S;
            p.state_batch_stride = int64_t(kHeads) * kDim * kDim;
            p.out = out;
            p.out_batch_stride = kHeads * kDim;
            p.slopes = dslopes;
            p.batch = B;
            p.heads = kHeads;
            return p;
        };
        // Validate one step per sequence against the naive kernel (one token, batch folded sequentially).
        M1_CUDA_CHECK(cudaMemcpy(ref_state, state, S * sizeof(float), cudaMemcpyDeviceToDevice));
        m1::cuda::lightning_decode(params(0), nullptr);
        double err = 0;
        bool finite = true;
        for (int b = 0; b < B; ++b)
            m1::cuda::dev::lightning_naive(qkv + int64_t(b) * kRow, qkv + int64_t(b) * kRow + kDim,
                                           qkv + int64_t(b) * kRow + 2 * kDim, kRow, 3 * kDim, dslopes,
                                           ref_state + int64_t(b) * kHeads * kDim * kDim,
                                           ref_out + int64_t(b) * kHeads * kDim, 1, kHeads, nullptr);
        M1_LAUNCH_CHECK();
        M1_CUDA_CHECK(cudaDeviceSynchronize());
        err = rel_err_dev(out, ref_out, int64_t(B) * kHeads * kDim, &finite);
        const double serr = rel_err_f32(state, ref_state, S);
        std::printf("decode batch=%d: out err %.2e (finite %d), state err %.2e\n", B, err, int(finite), serr);
        if (!finite || err > 1e-2 || serr > 1e-5) {
            std::printf("VALIDATION FAILED\n");
            return 1;
        }
        // Per-step time inside a CUDA graph of 200 steps over rotating states (launch gaps as in decode).
        cudaStream_t st;
        M1_CUDA_CHECK(cudaStreamCreateWithFlags(&st, cudaStreamNonBlocking));
        cudaGraph_t graph;
        cudaGraphExec_t exec;
        const int steps = 200;
        M1_CUDA_CHECK(cudaStreamBeginCapture(st, cudaStreamCaptureModeGlobal));
        for (int i = 0; i < steps; ++i) m1::cuda::lightning_decode(params(i), st);
        M1_CUDA_CHECK(cudaStreamEndCapture(st, &graph));
        M1_CUDA_CHECK(cudaGraphInstantiate(&exec, graph, 0));
        const double ms = median_ms([&](int) { M1_CUDA_CHECK(cudaGraphLaunch(exec, nullptr)); }, 2, 15) / steps;
        const double bytes = 2.0 * S * 4 + double(B) * kHeads * kDim * 2 * 4;  // state r+w, q k v o
        const double flop = 4.0 * B * kHeads * kDim * kDim;
        rows.push_back({"lightning_decode", 1, B, ms, 0, flop / ms / 1e9, bytes / ms / 1e6, err});
        cudaGraphExecDestroy(exec);
        cudaGraphDestroy(graph);
        cudaStreamDestroy(st);
        cudaFree(state); cudaFree(ref_state); cudaFree(ref_out); cudaFree(qkv); cudaFree(out);
    }

    std::printf("\nLightning attention, %d heads x %d, %s\n", kHeads, kDim, prop.name);
    std::printf("prefill_3pass peer: sequential walk; prefill_1pass peer: the three-pass kernel (same run)\n");
    std::printf("prefill TFLOP/s = 4*T*H*128^2 / t (state update + q.S); GB/s = T*H*128*2B*4 (q,k,v,o) / t\n");
    std::printf("decode GB/s = (2*B*H*128^2*4B state r+w + B*H*128*2B*4) / t, per step inside a CUDA graph\n");
    std::printf("%-18s %9s %6s %11s %13s %8s %9s %9s %9s\n", "op", "tokens", "batch", "time_us", "seq_peer_us",
                "speedup", "TFLOP/s", "GB/s", "rel_err");
    FILE* f = std::fopen(json.c_str(), "w");
    std::fprintf(f, "{\"device\": \"%s\", \"rows\": [\n", prop.name);
    for (size_t i = 0; i < rows.size(); ++i) {
        const Row& r = rows[i];
        std::printf("%-18s %9lld %6d %11.2f %13.2f %8.2f %9.1f %9.1f %9.2e\n", r.op.c_str(), r.tokens, r.batch,
                    r.ms * 1e3, r.peer_ms * 1e3, r.peer_ms > 0 ? r.peer_ms / r.ms : 0.0, r.tflops, r.gbps, r.err);
        std::fprintf(f,
                     "  {\"op\": \"%s\", \"tokens\": %lld, \"batch\": %d, \"time_us\": %.3f, \"seq_peer_us\": %.3f, "
                     "\"tflops\": %.2f, \"gbps\": %.1f, \"rel_err\": %.3e}%s\n",
                     r.op.c_str(), r.tokens, r.batch, r.ms * 1e3, r.peer_ms * 1e3, r.tflops, r.gbps, r.err,
                     i + 1 < rows.size() ? "," : "");
    }
    std::fprintf(f, "]}\n");
    std::fclose(f);
    return 0;
}
