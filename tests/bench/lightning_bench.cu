// Lightning attention benchmark at M1's per-GPU shape (8 heads x 128): prefill at 8K..1M tokens for the nine
// kernels (impl 1/3: three passes on mma.sync / wgmma walks; impl 2/4: single passes; 5-8: 3/4 with TMA loads,
// 7/8 with the output walk's overlap of P's mask and Q·S; 9: the single pass with its two walks at once;
// lightning_prefill.cuh), each beside our per-head
// sequential walk (one CTA per head: the naive peer) and the roofline from a device copy timed in the same run;
// decode at batch 1..256. Every kernel is validated against the naive per-token kernel of kernels/dev first; one
// that fails (or gives NaN) is reported and not timed.
// Usage: lightning_bench [--json FILE] [--max-tokens N] [--profile IMPL] [--quick 1] [--impls DIGITS]
// --quick 1: the wgmma kernels only (impl 3-6 and 9, each three-pass at one and two waves' chunks) beside the
// sequential walk, no decode. --impls 569: only these kernels (validated and timed).
// --profile IMPL: one launch of kernel IMPL at N tokens (default 128K) and nothing else, for a profiler.
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
    int sp_chunk = 0;  // the chunk timed where not the default (single pass: sp_chunk; three passes: chunk)
};

}  // namespace

int main(int argc, char** argv) {
    std::string json = "lightning_bench.json";
    long long max_tokens = 1 << 20;
    int profile = 0, quick = 0;
    std::string impls;  // empty: every kernel
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!std::strcmp(argv[i], "--quick")) quick = std::atoi(argv[i + 1]);
        if (!std::strcmp(argv[i], "--impls")) impls = argv[i + 1];
        if (!std::strcmp(argv[i], "--json")) json = argv[i + 1];
        else if (!std::strcmp(argv[i], "--max-tokens")) max_tokens = std::atoll(argv[i + 1]);
        else if (!std::strcmp(argv[i], "--profile")) profile = std::atoi(argv[i + 1]);
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
    if (profile) {  // one launch, for a profiler
        const long long T = max_tokens < (1 << 20) ? max_tokens : 131072;
        bf16 *qkv, *out;
        float* st;
        M1_CUDA_CHECK(cudaMalloc(&qkv, T * kRow * sizeof(bf16)));
        M1_CUDA_CHECK(cudaMalloc(&out, T * kHeads * kDim * sizeof(bf16)));
        M1_CUDA_CHECK(cudaMalloc(&st, int64_t(kHeads) * kDim * kDim * sizeof(float)));
        fill_silu<<<1024, 256>>>(qkv, T * kRow, 3, 0.5f);
        fill_normal_f32<<<256, 256>>>(st, int64_t(kHeads) * kDim * kDim, 4);
        m1::cuda::LightningPrefillParams p;
        p.q = qkv; p.k = qkv + kDim; p.v = qkv + 2 * kDim; p.tok_stride = kRow; p.head_stride = 3 * kDim;
        p.out = out; p.out_tok_stride = kHeads * kDim; p.slopes = dslopes; p.state_in = st; p.state_out = st;
        p.tokens = int(T); p.heads = kHeads; p.impl = profile;
        p.chunk = m1::cuda::lightning_prefill_default_chunk(int(T), kHeads, sms);
        const size_t wsb = m1::cuda::lightning_prefill_workspace_bytes(int(T), kHeads, p.chunk, profile);
        void* ws;
        M1_CUDA_CHECK(cudaMalloc(&ws, wsb));
        m1::cuda::lightning_prefill(p, ws, wsb, nullptr);
        M1_CUDA_CHECK(cudaDeviceSynchronize());
        std::printf("profiled impl %d at %lld tokens\n", profile, T);
        return 0;
    }

    // Copy ceiling of this GPU, this run: 2 GiB device to device, bytes read + written.
    double copy_gbps = 0;
    {
        const size_t nb = size_t(1) << 31;
        void *src, *dst;
        M1_CUDA_CHECK(cudaMalloc(&src, nb));
        M1_CUDA_CHECK(cudaMalloc(&dst, nb));
        M1_CUDA_CHECK(cudaMemset(src, 1, nb));
        const double ms = median_ms([&](int) { M1_CUDA_CHECK(cudaMemcpyAsync(dst, src, nb, cudaMemcpyDeviceToDevice)); }, 3, 10);
        copy_gbps = 2.0 * nb / ms / 1e6;
        cudaFree(src);
        cudaFree(dst);
        std::printf("device copy: %.0f GB/s (read + write)\n", copy_gbps);
    }

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
        fill_silu<<<1024, 256>>>(qkv, n * copies, uint32_t(T) ^ 7u, 0.5f);
        fill_normal_f32<<<256, 256>>>(state_in, S, 9);
        M1_LAUNCH_CHECK();
        auto params = [&](int copy, int chunk, int impl, int sp_chunk = 0, int hints = 1, int lead = 0) {
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
            p.sp_lead = lead;
            return p;
        };
        const int chunk = m1::cuda::lightning_prefill_default_chunk(int(T), kHeads, sms);         // the default
        const int chunk1 = m1::cuda::lightning_prefill_default_chunk(int(T), kHeads, sms, 1);     // one wave
        const int chunk2 = m1::cuda::lightning_prefill_default_chunk(int(T), kHeads, sms, 2);     // two waves
        const int seq_chunk = int(T + 63) / 64 * 64;  // one chunk per head: the sequential walk
        size_t wsb = 0;
        for (int c : {std::max(64, chunk / 2 / 64 * 64), chunk, chunk1, chunk2, seq_chunk})
            for (int impl = 1; impl <= 9; ++impl)
                wsb = std::max(wsb, m1::cuda::lightning_prefill_workspace_bytes(int(T), kHeads, c, impl));
        void* ws;
        M1_CUDA_CHECK(cudaMalloc(&ws, wsb));
        // Validate every kernel vs the naive per-token recurrence (fp32), computed once; outputs start as NaN.
        M1_CUDA_CHECK(cudaMemcpy(ref_state, state_in, S * sizeof(float), cudaMemcpyDeviceToDevice));
        m1::cuda::dev::lightning_naive(qkv, qkv + kDim, qkv + 2 * kDim, kRow, 3 * kDim, dslopes, ref_state, ref_out,
                                       int(T), kHeads, nullptr);
        M1_LAUNCH_CHECK();
        double err[10] = {};
        bool ok[10] = {};
        for (int impl = 1; impl <= 9; ++impl) {
            if (quick && (impl < 3 || (impl > 6 && impl != 9))) continue;
            if (!impls.empty() && impls.find(char('0' + impl)) == std::string::npos) continue;
            M1_CUDA_CHECK(cudaMemset(out, 0xFF, T * kHeads * kDim * sizeof(bf16)));
            M1_CUDA_CHECK(cudaMemset(state_out, 0xFF, S * sizeof(float)));
            m1::cuda::lightning_prefill(params(0, chunk, impl), ws, wsb, nullptr);
            M1_CUDA_CHECK(cudaDeviceSynchronize());
            bool finite = false;
            err[impl] = rel_err_dev(out, ref_out, T * kHeads * kDim, &finite);
            const double serr = rel_err_f32(state_out, ref_state, S);
            ok[impl] = finite && err[impl] <= 2e-2 && serr <= 1e-2;
            std::printf("prefill impl %d T=%lld: out err %.2e (finite %d), final state err %.2e%s\n", impl, T, err[impl],
                        int(finite), serr, ok[impl] ? "" : "  VALIDATION FAILED: not timed");
        }
        const int reps = T >= (1 << 20) ? 10 : 30;
        auto time_impl = [&](int impl, int c, int spc = 0, int hints = 1, int warm = 3, int r = 0, int lead = 0) {
            return median_ms(
                [&](int i) { m1::cuda::lightning_prefill(params(i, c, impl, spc, hints, lead), ws, wsb, nullptr); }, warm,
                r ? r : reps);
        };
        const int seq_reps = T >= (1 << 20) ? 3 : 5;
        const double seq1 = time_impl(1, seq_chunk, 0, 1, 1, seq_reps);  // our per-head sequential walk (mma.sync)
        const double seq3 = ok[3] && !quick ? time_impl(3, seq_chunk, 0, 1, 1, seq_reps) : 0;  // the same on wgmma walks
        std::printf("prefill T=%lld sequential walk: mma.sync %.1f us, wgmma %.1f us\n", T, seq1 * 1e3, seq3 * 1e3);
        const double flop = 4.0 * T * kHeads * kDim * kDim;      // S update (2d^2) + q.S (2d^2) per token and head
        const double bytes = double(T) * kHeads * kDim * 2 * 4;  // q, k, v read + o written, bf16
        auto row = [&](const char* name, int impl, double ms, int spc) {
            rows.push_back({name, T, 1, ms, seq1, flop / ms / 1e9, bytes / ms / 1e6, err[impl], spc});
        };
        if (ok[1]) row("prefill_3pass_mma", 1, time_impl(1, chunk), 0);
        if (ok[2]) row("prefill_1pass_mma", 2, time_impl(2, chunk, 0), 0);
        for (int impl : {3, 5})  // the three passes at the chunking the default does not use at this length
            for (int other : {chunk1, chunk2})
                if (ok[impl] && other != chunk) {
                    const double t2 = time_impl(impl, other);
                    std::printf("prefill impl %d T=%lld chunk=%d (%s wave%s): %.1f us\n", impl, T, other,
                                other == chunk1 ? "one" : "two", other == chunk1 ? "" : "s", t2 * 1e3);
                    row(impl == 3 ? "prefill_3pass_wg" : "prefill_3pass_tma", impl, t2, other);
                }
        if (quick) {
            if (ok[3]) row("prefill_3pass_wg", 3, time_impl(3, chunk), 0);
            if (ok[5]) row("prefill_3pass_tma", 5, time_impl(5, chunk), 0);
            if (ok[4]) row("prefill_1pass_wg", 4, time_impl(4, chunk), 0);
            if (ok[6]) row("prefill_1pass_tma", 6, time_impl(6, chunk), 0);
            if (ok[6]) row("prefill_1pass_tma", 6, time_impl(6, chunk, 2048), 2048);
        }
        if (ok[3] && !quick) {
            row("prefill_3pass_wg", 3, time_impl(3, chunk), 0);
            for (int c2 : {std::max(64, chunk / 2 / 64 * 64), chunk * 2})
                if (m1::cuda::lightning_prefill_workspace_bytes(int(T), kHeads, c2, 3) <= wsb)
                    std::printf("prefill impl 3 T=%lld chunk=%d: %.1f us (default chunk %d)\n", T, c2,
                                time_impl(3, c2) * 1e3, chunk);
        }
        if (ok[4] && !quick) {
            row("prefill_1pass_wg", 4, time_impl(4, chunk), 0);  // the default chunk
            for (int spc : {512, 1024}) {
                const double t1 = time_impl(4, chunk, spc);
                std::printf("prefill impl 4 T=%lld sp_chunk=%d: %.1f us\n", T, spc, t1 * 1e3);
                row("prefill_1pass_wg", 4, t1, spc);
            }
        }
        for (int impl : {5, 7}) {  // impl 3 with bulk-copy (TMA) loads; and the output walk's overlap
            if (!ok[impl] || quick) continue;
            row(impl == 5 ? "prefill_3pass_tma" : "prefill_3pass_ovl", impl, time_impl(impl, chunk), 0);
            if (m1::cuda::lightning_prefill_workspace_bytes(int(T), kHeads, chunk * 2, impl) <= wsb)
                std::printf("prefill impl %d T=%lld chunk=%d: %.1f us (default chunk %d)\n", impl, T, chunk * 2,
                            time_impl(impl, chunk * 2) * 1e3, chunk);
        }
        for (int impl : {6, 8}) {  // impl 4 with bulk-copy (TMA) loads; and the output walk's overlap
            if (!ok[impl] || quick) continue;
            const char* name = impl == 6 ? "prefill_1pass_tma" : "prefill_1pass_ovl";
            row(name, impl, time_impl(impl, chunk), 0);
            for (int spc : {256, 512, 2048, -1024}) {
                const int hints = spc < 0 ? 0 : 1, c1 = spc < 0 ? -spc : spc;
                const double t1 = time_impl(impl, chunk, c1, hints);
                std::printf("prefill impl %d T=%lld sp_chunk=%d hints=%d: %.1f us\n", impl, T, c1, hints, t1 * 1e3);
                if (hints) row(name, impl, t1, c1);
            }
        }
        if (ok[9]) {  // the single pass with its two walks at once: the default chunk, then chunks and lead 1
            row("prefill_1pass_2walk", 9, time_impl(9, chunk), 0);
            for (int spc : {256, 512, 1024, -1}) {
                const int c1 = spc < 0 ? 0 : spc, lead = spc < 0 ? 1 : 0;
                const double t1 = time_impl(9, chunk, c1, 1, 3, 0, lead);
                std::printf("prefill impl 9 T=%lld sp_chunk=%d lead=%d: %.1f us\n", T, c1, lead, t1 * 1e3);
                if (!lead) row("prefill_1pass_2walk", 9, t1, c1);
            }
        }
        cudaFree(qkv); cudaFree(out); cudaFree(ref_out); cudaFree(state_in); cudaFree(state_out); cudaFree(ref_state);
        cudaFree(ws);
    }

    // ---- decode
    for (int B : {1, 8, 64, 128, 256}) {
        if (quick) break;
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
        rows.push_back({"lightning_decode", 1, B, ms, 0, flop / ms / 1e9, bytes / ms / 1e6, err, 0});
        cudaGraphExecDestroy(exec);
        cudaGraphDestroy(graph);
        cudaStreamDestroy(st);
        cudaFree(state); cudaFree(ref_state); cudaFree(ref_out); cudaFree(qkv); cudaFree(out);
    }

    std::printf("\nLightning attention, %d heads x %d, %s; device copy %.0f GB/s (this run)\n", kHeads, kDim, prop.name,
                copy_gbps);
    std::printf("prefill peer: our per-head sequential walk (mma.sync, one CTA per head, same run)\n");
    std::printf("prefill TFLOP/s = 4*T*H*128^2 / t (state update + q.S); GB/s = T*H*128*2B*4 (q,k,v,o) / t;\n"
                "roofline = those bytes / device copy rate; anchor: naive Triton 20.5 ms at 1M on an H100\n");
    std::printf("decode GB/s = (2*B*H*128^2*4B state r+w + B*H*128*2B*4) / t, per step inside a CUDA graph\n");
    std::printf("%-18s %8s %5s %5s %11s %12s %8s %8s %8s %7s %6s %9s\n", "op", "tokens", "batch", "chunk", "time_us",
                "seq_peer_us", "vs_seq", "TFLOP/s", "GB/s", "%roof", "vs_20.5", "rel_err");
    FILE* f = std::fopen(json.c_str(), "w");
    std::fprintf(f, "{\"device\": \"%s\", \"copy_gbps\": %.1f, \"rows\": [\n", prop.name, copy_gbps);
    for (size_t i = 0; i < rows.size(); ++i) {
        const Row& r = rows[i];
        const double roof = copy_gbps > 0 ? 100.0 * r.gbps / copy_gbps : 0;
        const double anchor = r.tokens == (1 << 20) && r.batch == 1 && r.op != "lightning_decode" ? 20.5 / r.ms : 0;
        std::printf("%-18s %8lld %5d %5d %11.2f %12.2f %8.2f %8.1f %8.1f %7.1f %6.2f %9.2e\n", r.op.c_str(), r.tokens,
                    r.batch, r.sp_chunk, r.ms * 1e3, r.peer_ms * 1e3, r.peer_ms > 0 ? r.peer_ms / r.ms : 0.0, r.tflops,
                    r.gbps, roof, anchor, r.err);
        std::fprintf(f,
                     "  {\"op\": \"%s\", \"tokens\": %lld, \"batch\": %d, \"sp_chunk\": %d, \"time_us\": %.3f, "
                     "\"seq_peer_us\": %.3f, \"tflops\": %.2f, \"gbps\": %.1f, \"pct_copy\": %.1f, \"rel_err\": %.3e}%s\n",
                     r.op.c_str(), r.tokens, r.batch, r.sp_chunk, r.ms * 1e3, r.peer_ms * 1e3, r.tflops, r.gbps, roof,
                     r.err, i + 1 < rows.size() ? "," : "");
    }
    std::fprintf(f, "]}\n");
    std::fclose(f);
    return 0;
}
