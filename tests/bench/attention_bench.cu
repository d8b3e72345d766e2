// Softmax attention benchmark at M1's per-GPU shape (8 query heads, 1 KV head, head dim 128): causal
// prefill at 8K/32K/128K tokens and split-K decode at 8K..1M tokens of context. Validates against the naive
// kernel of kernels/dev first, then times with events (median). The torch peer runs in the same command
// (tests/tools/torch_attention_peer.py). Usage: attention_bench [--json FILE] [--max-tokens N] [--min-tokens N]
// [--parts pd] [--impls 1234567] (prefill kernels by AttentionPrefillParams::impl; prefill at 8K/32K/128K/1M)
#include "kernels/attention_decode.cuh"
#include "kernels/attention_prefill.cuh"
#include "kernels/cuda_check.cuh"
#include "tests/bench/bench_timing.cuh"
#include "kernels/dev/attention_naive.cuh"

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
constexpr int kHeads = 8, kKv = 1, kDim = 128;

__global__ void fill_normal(bf16* p, int64_t n, uint32_t seed) {
    for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x) {
        float u1 = hash_uniform(2 * i, seed), u2 = hash_uniform(2 * i + 1, seed);
        p[i] = __float2bfloat16(sqrtf(-2.f * logf(u1)) * cosf(6.2831853f * u2));
    }
}


// Error of rows [r0, r1) of a bf16 [T][H*128] output against the naive fp32 output.
double rows_err(const bf16* got, const float* ref, int r0, int r1, bool* finite) {
    const int64_t w = kHeads * kDim, n = int64_t(r1 - r0) * w;
    std::vector<bf16> g(n);
    std::vector<float> r(n);
    M1_CUDA_CHECK(cudaMemcpy(g.data(), got + r0 * w, n * sizeof(bf16), cudaMemcpyDeviceToHost));
    M1_CUDA_CHECK(cudaMemcpy(r.data(), ref + r0 * w, n * sizeof(float), cudaMemcpyDeviceToHost));
    double num = 0, den = 0;
    for (int64_t i = 0; i < n; ++i) {
        float x = __bfloat162float(g[i]);
        if (!std::isfinite(x)) *finite = false;
        num += double(x - r[i]) * (x - r[i]);
        den += double(r[i]) * r[i];
    }
    return std::sqrt(num / den);
}

struct Row {
    std::string op;
    long long tokens;
    int batch, splits;
    double ms, tflops, gbps, err;
};

}  // namespace

int main(int argc, char** argv) {
    std::string json = "attention_bench.json";
    long long max_tokens = 1 << 20, min_tokens = 0;
    std::string impls = "1234", parts = "pd";  // prefill kernels to time; p = prefill, d = decode
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!std::strcmp(argv[i], "--json")) json = argv[i + 1];
        else if (!std::strcmp(argv[i], "--max-tokens")) max_tokens = std::atoll(argv[i + 1]);
        else if (!std::strcmp(argv[i], "--min-tokens")) min_tokens = std::atoll(argv[i + 1]);
        else if (!std::strcmp(argv[i], "--impls")) impls = argv[i + 1];
        else if (!std::strcmp(argv[i], "--parts")) parts = argv[i + 1];
    }
    cudaDeviceProp prop{};
    int dev = 0;
    M1_CUDA_CHECK(cudaGetDevice(&dev));
    M1_CUDA_CHECK(cudaGetDeviceProperties(&prop, dev));
    const int sms = prop.multiProcessorCount;
    std::printf("device: %s, %d SMs\n", prop.name, sms);
    const float scale = 1.f / std::sqrt(float(kDim));
    std::vector<Row> rows;
    bool failed = false;

    // ---- prefill: one chunk of T queries from position 0 (q [T][8][128], k/v [T][1][128])
    for (long long T : {8192LL, 32768LL, 131072LL, 1048576LL}) {
        if (T > max_tokens || T < min_tokens || parts.find('p') == std::string::npos) continue;
        bf16 *q, *k, *v, *out;
        float* ref;
        const int64_t nq = T * kHeads * kDim, nk = T * kKv * kDim;
        M1_CUDA_CHECK(cudaMalloc(&q, nq * sizeof(bf16)));
        M1_CUDA_CHECK(cudaMalloc(&k, nk * sizeof(bf16)));
        M1_CUDA_CHECK(cudaMalloc(&v, nk * sizeof(bf16)));
        M1_CUDA_CHECK(cudaMalloc(&out, nq * sizeof(bf16)));
        M1_CUDA_CHECK(cudaMalloc(&ref, nq * sizeof(float)));
        fill_normal<<<1024, 256>>>(q, nq, 1);
        fill_normal<<<1024, 256>>>(k, nk, 2);
        fill_normal<<<1024, 256>>>(v, nk, 3);
        M1_CUDA_CHECK(cudaMemset(out, 0xFF, nq * sizeof(bf16)));
        m1::cuda::AttentionPrefillParams p;
        p.q = q;
        p.q_tok_stride = kHeads * kDim;
        p.q_head_stride = kDim;
        p.k = k;
        p.v = v;
        p.kv_tok_stride = kKv * kDim;
        p.kv_head_stride = kDim;
        p.out = out;
        p.out_tok_stride = kHeads * kDim;
        p.q_tokens = int(T);
        p.q_start = 0;
        p.heads = kHeads;
        p.kv_heads = kKv;
        p.scale = scale;
        // Naive check of the first 256 and the last 256 rows (the CPU-like kernel is slow at 128K).
        const int tail = int(T) - 256;
        m1::cuda::dev::attention_naive(q, kHeads * kDim, kDim, k, v, kKv * kDim, kDim, ref, 0, 256, 0, kHeads, kKv, scale, nullptr);
        m1::cuda::dev::attention_naive(q, kHeads * kDim, kDim, k, v, kKv * kDim, kDim, ref, tail, int(T), 0, kHeads, kKv, scale, nullptr);
        M1_LAUNCH_CHECK();
        M1_CUDA_CHECK(cudaDeviceSynchronize());
        const double flop = 4.0 * kHeads * kDim * (double(T) * (T + 1) / 2);  // causal QK^T + PV
        const double bytes = (2.0 * nq + 2.0 * nk) * 2;
        for (int impl = 1; impl <= 7; ++impl) {  // each kernel validated, then timed
            if (impls.find(char('0' + impl)) == std::string::npos || (impl >= 2 && prop.major != 9)) continue;
            p.impl = impl;
            M1_CUDA_CHECK(cudaMemset(out, 0xFF, nq * sizeof(bf16)));
            m1::cuda::attention_prefill(p, nullptr);
            M1_CUDA_CHECK(cudaDeviceSynchronize());
            bool fin = true;
            const double e2 = std::max(rows_err(out, ref, 0, 256, &fin), rows_err(out, ref, tail, int(T), &fin));
            std::printf("prefill T=%lld impl=%d: err %.2e (finite %d)\n", T, impl, e2, int(fin));
            if (!fin || e2 > 2e-2) {  // report, time nothing, go on with the other kernels
                std::printf("VALIDATION FAILED\n");
                failed = true;
                continue;
            }
            // 1M tokens take seconds per call: fewer repeats there; the validation call just ran, so no warm-up.
            const int warm = T >= (1 << 20) ? 0 : 3, reps = T >= (1 << 20) ? 3 : T >= 131072 ? 10 : 30;
            const double ms = median_ms([&](int) { m1::cuda::attention_prefill(p, nullptr); }, warm, reps);
            const char* names[] = {"",
                                   "attn_prefill_mma",
                                   "attn_prefill_wgmma",
                                   "attn_prefill_wgmma_ovl",
                                   "attn_prefill_ws",
                                   "attn_prefill_ws_3st",
                                   "attn_prefill_ws_nopp",
                                   "attn_prefill_ws_3st_nopp"};
            rows.push_back({names[impl], T, 1, 0, ms, flop / ms / 1e9,
                            bytes / ms / 1e6, e2});
        }
        cudaFree(q); cudaFree(k); cudaFree(v); cudaFree(out); cudaFree(ref);
    }

    // ---- decode: one query per sequence against L cached keys
    struct Dec { long long L; int B; };
    for (Dec d : {Dec{8192, 1}, Dec{32768, 1}, Dec{131072, 1}, Dec{1048576, 1}, Dec{32768, 16}, Dec{131072, 8}}) {
        if (d.L > max_tokens || parts.find('d') == std::string::npos) continue;
        const int B = d.B;
        const int64_t per_copy = int64_t(B) * d.L * kKv * kDim;
        const int copies = int(std::max<int64_t>(1, (512LL << 20) / (per_copy * 4)));  // rotate > 512 MB of K+V
        bf16 *q, *k, *v, *out;
        float* ref;
        int* lens;
        M1_CUDA_CHECK(cudaMalloc(&q, int64_t(B) * kHeads * kDim * sizeof(bf16)));
        M1_CUDA_CHECK(cudaMalloc(&k, per_copy * copies * sizeof(bf16)));
        M1_CUDA_CHECK(cudaMalloc(&v, per_copy * copies * sizeof(bf16)));
        M1_CUDA_CHECK(cudaMalloc(&out, int64_t(B) * kHeads * kDim * sizeof(bf16)));
        M1_CUDA_CHECK(cudaMalloc(&ref, int64_t(B) * kHeads * kDim * sizeof(float)));
        M1_CUDA_CHECK(cudaMalloc(&lens, B * sizeof(int)));
        std::vector<int> hl(B, int(d.L));
        M1_CUDA_CHECK(cudaMemcpy(lens, hl.data(), B * sizeof(int), cudaMemcpyHostToDevice));
        fill_normal<<<1024, 256>>>(q, int64_t(B) * kHeads * kDim, 4);
        fill_normal<<<1024, 256>>>(k, per_copy * copies, 5);
        fill_normal<<<1024, 256>>>(v, per_copy * copies, 6);
        M1_LAUNCH_CHECK();
        const int splits = m1::cuda::attention_decode_default_splits(B, kKv, int(d.L), sms);
        const size_t wsb = m1::cuda::attention_decode_workspace_bytes(B, kHeads, splits);
        void* ws;
        M1_CUDA_CHECK(cudaMalloc(&ws, wsb));
        auto params = [&](int copy) {
            m1::cuda::AttentionDecodeParams p;
            p.q = q;
            p.q_batch_stride = kHeads * kDim;
            p.q_head_stride = kDim;
            p.k = k + int64_t(copy % copies) * per_copy;
            p.v = v + int64_t(copy % copies) * per_copy;
            p.kv_batch_stride = d.L * kKv * kDim;
            p.kv_tok_stride = kKv * kDim;
            p.kv_head_stride = kDim;
            p.seq_lens = lens;
            p.out = out;
            p.out_batch_stride = kHeads * kDim;
            p.batch = B;
            p.heads = kHeads;
            p.kv_heads = kKv;
            p.max_len = int(d.L);
            p.splits = splits;
            p.scale = scale;
            return p;
        };
        m1::cuda::attention_decode(params(0), ws, wsb, nullptr);
        for (int b = 0; b < B; ++b)  // the naive kernel with one query row at position L-1
            m1::cuda::dev::attention_naive(q + int64_t(b) * kHeads * kDim, kHeads * kDim, kDim,
                                           k + int64_t(b) * d.L * kDim, v + int64_t(b) * d.L * kDim, kKv * kDim, kDim,
                                           ref + int64_t(b) * kHeads * kDim - 0, 0, 1, int(d.L) - 1, kHeads, kKv,
                                           scale, nullptr);
        M1_LAUNCH_CHECK();
        M1_CUDA_CHECK(cudaDeviceSynchronize());
        bool finite = true;
        const double err = rows_err(out, ref, 0, B, &finite);
        std::printf("decode L=%lld B=%d splits=%d: err %.2e (finite %d)\n", d.L, B, splits, err, int(finite));
        if (!finite || err > 2e-2) {
            std::printf("VALIDATION FAILED\n");
            return 1;
        }
        const double ms = median_ms([&](int i) { m1::cuda::attention_decode(params(i), ws, wsb, nullptr); }, 5, 50);
        const double bytes = 2.0 * per_copy * 2;  // K and V of every sequence, bf16
        const double flop = 4.0 * B * kHeads * kDim * double(d.L);
        rows.push_back({"attention_decode", d.L, B, splits, ms, flop / ms / 1e9, bytes / ms / 1e6, err});
        {  // as the engine runs decode: steps captured in a CUDA graph (no launch gaps), rotating caches
            cudaStream_t st;
            M1_CUDA_CHECK(cudaStreamCreateWithFlags(&st, cudaStreamNonBlocking));
            cudaGraph_t graph;
            cudaGraphExec_t exec;
            const int steps = 20;
            M1_CUDA_CHECK(cudaStreamBeginCapture(st, cudaStreamCaptureModeGlobal));
            for (int i = 0; i < steps; ++i) m1::cuda::attention_decode(params(i), ws, wsb, st);
            M1_CUDA_CHECK(cudaStreamEndCapture(st, &graph));
            M1_CUDA_CHECK(cudaGraphInstantiate(&exec, graph, 0));
            const double gms = median_ms([&](int) { M1_CUDA_CHECK(cudaGraphLaunch(exec, nullptr)); }, 2, 15) / steps;
            rows.push_back({"attn_decode_graph", d.L, B, splits, gms, flop / gms / 1e9, bytes / gms / 1e6, err});
            cudaGraphExecDestroy(exec);
            cudaGraphDestroy(graph);
            cudaStreamDestroy(st);
        }
        cudaFree(q); cudaFree(k); cudaFree(v); cudaFree(out); cudaFree(ref); cudaFree(lens); cudaFree(ws);
    }

    std::printf("\nSoftmax attention, %d query heads, %d KV head, dim %d, %s\n", kHeads, kKv, kDim, prop.name);
    std::printf("prefill TFLOP/s = 4*H*128*T(T+1)/2 / t (causal QK^T + PV); decode GB/s = B*L*128*2B*2 (K,V) / t\n");
    std::printf("%-18s %9s %6s %7s %11s %9s %9s %9s\n", "op", "tokens", "batch", "splits", "time_us", "TFLOP/s", "GB/s",
                "rel_err");
    FILE* f = std::fopen(json.c_str(), "w");
    std::fprintf(f, "{\"device\": \"%s\", \"rows\": [\n", prop.name);
    for (size_t i = 0; i < rows.size(); ++i) {
        const Row& r = rows[i];
        std::printf("%-18s %9lld %6d %7d %11.2f %9.1f %9.1f %9.2e\n", r.op.c_str(), r.tokens, r.batch, r.splits,
                    r.ms * 1e3, r.tflops, r.gbps, r.err);
        std::fprintf(f,
                     "  {\"op\": \"%s\", \"tokens\": %lld, \"batch\": %d, \"splits\": %d, \"time_us\": %.3f, "
                     "\"tflops\": %.2f, \"gbps\": %.1f, \"rel_err\": %.3e}%s\n",
                     r.op.c_str(), r.tokens, r.batch, r.splits, r.ms * 1e3, r.tflops, r.gbps, r.err,
                     i + 1 < rows.size() ? "," : "");
    }
    std::fprintf(f, "]}\n");
    std::fclose(f);
    return failed ? 1 : 0;
}
