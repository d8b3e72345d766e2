// End-to-end benchmark of the CUDA backend on an M1-width slice (hidden 6144, 64 heads, 32 experts of 9216,
// vocab 200064; random weights made on the GPU): prefill tokens/s at several context lengths and decode
// tokens/s after them. Validates first (finite logits, chunking invariance), then times with the device
// synchronised; prints a table and writes JSON. Decode is timed twice per context, with the next step's graph
// captured while the GPU runs (the default) and without, and split into GPU time, host capture and the rest.
// --profile-step brackets one decode step with cudaProfilerStart/Stop (for ncu --profile-from-start off);
// --profile-prefill the timed prefill of the first context.
// usage: e2e_slice_bench [--lightning N] [--softmax N] [--int8] [--contexts 8192,32768,131072]
//                        [--chunk N (default 0: the engine's auto_prefill_chunk)] [--decode-steps 16] [--profile-step]
//                        [--profile-prefill] [--json FILE]
#include <cuda_profiler_api.h>
#include <cuda_runtime.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "engine/src/cuda/cuda_backend.h"
#include "kernels/device_info.cuh"

#include "bench/bench_args.h"
#include "bench/m1_slice.h"

using namespace m1;

namespace {


double now() { return bench::now_seconds(); }

bool finite(std::span<const float> v) {
    for (float x : v)
        if (!std::isfinite(x)) return false;
    return true;
}

int32_t argmax(std::span<const float> v) { return int32_t(std::max_element(v.begin(), v.end()) - v.begin()); }

// Per decode step, ms: the whole loop (what tok/s is), and from the session's counters the graph on the GPU,
// host capture before the launch, host capture of the next step during it; plus the token pick: the session's
// pick_next (greedy, on the GPU inside the decode graph), or the logits copied to the host and scanned there.
struct DecodeRun { double step, gpu, capture, overlap, pick; };

const SamplingOptions kGreedy{.greedy = true};

int32_t next_token(Session& s, bool host_argmax) {
    return host_argmax ? argmax(s.logits()) : s.pick_next(kGreedy, uint64_t(s.position())).id;
}

DecodeRun time_decode(Session& s, int steps, bool prepare, bool host_argmax = false) {
    set_cuda_decode_prepare(s, prepare);
    int32_t tok = next_token(s, host_argmax);
    s.forward({&tok, 1});  // settles the mode (the first step after switching on has nothing prepared)
    const CudaDecodeStats a = cuda_decode_stats(s);
    double am = 0;
    const double t0 = now();
    for (int i = 0; i < steps; ++i) {
        const double t = now();
        tok = next_token(s, host_argmax);
        am += now() - t;
        s.forward({&tok, 1});
    }
    const double dt = (now() - t0) / steps;
    const CudaDecodeStats b = cuda_decode_stats(s);
    return {dt * 1e3, (b.gpu_ms - a.gpu_ms) / steps, (b.capture_ms - a.capture_ms) / steps,
            (b.overlap_ms - a.overlap_ms) / steps, am * 1e3 / steps};
}

}  // namespace

int main(int argc, char** argv) {
    int n_lin = 3, n_soft = 1, steps = 16;
    int64_t chunk = 0;
    bool int8 = false, profile = false, profile_prefill = false;
    std::vector<int> contexts{8192, 32768, 131072};
    std::string json_path;
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        auto next = [&]() { return std::string(i + 1 < argc ? argv[++i] : ""); };
        if (a == "--lightning") n_lin = std::stoi(next());
        else if (a == "--softmax") n_soft = std::stoi(next());
        else if (a == "--int8") int8 = true;
        else if (a == "--profile-step") profile = true;
        else if (a == "--profile-prefill") profile_prefill = true;
        else if (a == "--chunk") chunk = std::stoll(next());
        else if (a == "--decode-steps") steps = std::stoi(next());
        else if (a == "--json") json_path = next();
        else if (a == "--contexts") contexts = bench::int_list<int>(next());
        else {
            std::fprintf(stderr, "unknown argument %s\n", a.c_str());
            return 2;
        }
    }
    const auto devs = cuda::list_devices();
    if (devs.empty()) {
        std::fprintf(stderr, "no CUDA GPU\n");
        return 1;
    }
    const ModelConfig cfg = bench::m1_width_slice(n_lin, n_soft);
    CudaOptions opts;
    opts.int8_experts = int8;
    opts.context_tokens = *std::max_element(contexts.begin(), contexts.end()) + steps;
    if (chunk <= 0) chunk = auto_prefill_chunk(cfg, opts, devs[0].free_bytes);
    opts.max_chunk = chunk;
    const MemoryPlan plan = plan_memory(cfg, opts);
    std::printf("GPU %s, slice %d lightning + %d softmax layers, experts %s, chunk %lld\nplan: %s\n",
                devs[0].name.c_str(), n_lin, n_soft, int8 ? "int8" : "bf16", (long long)chunk, plan.describe().c_str());
    check_plan_fits(cfg, opts, devs[0].free_bytes, 0);
    const double t0 = now();
    auto model = random_cuda_model(cfg, 0, opts, 1234);
    std::printf("random weights made on the GPU in %.1f s\n", now() - t0);

    std::mt19937 g(7);
    std::vector<int32_t> ids(std::size_t(contexts.back()) + steps);
    for (auto& x : ids) x = int32_t(g() % 200000);

    // Validation: finite logits; a 2-chunk prefill equals one chunk (normalised difference).
    {
        auto a = new_cuda_session(model), b = new_cuda_session(model);
        std::vector<int32_t> v(ids.begin(), ids.begin() + 1024);
        a->prefill(v, 1024);
        b->prefill(v, 384);
        double num = 0, den = 0;
        for (std::size_t i = 0; i < a->logits().size(); ++i) {
            const double d = a->logits()[i] - b->logits()[i];
            num += d * d;
            den += double(a->logits()[i]) * a->logits()[i];
        }
        const double rel = std::sqrt(num / den);
        std::printf("validation: logits finite %s, chunked vs whole prefill rel diff %.2e\n",
                    finite(a->logits()) && finite(b->logits()) ? "yes" : "NO", rel);
        if (!finite(a->logits()) || rel > 2e-2) return 1;
    }
    struct Row { int ctx; double prefill_s, prefill_tps, decode_ms, decode_tps; DecodeRun on, off, host; double first_s; };
    std::vector<Row> rows;
    for (int ctx : contexts) {
        auto s = new_cuda_session(model);
        std::vector<int32_t> p(ids.begin(), ids.begin() + ctx);
        {  // warm-up: cuBLAS heuristics, module load
            auto w = new_cuda_session(model);
            std::vector<int32_t> q(ids.begin(), ids.begin() + std::min<int>(ctx, int(chunk)));
            w->prefill(q, chunk);
        }
        cudaDeviceSynchronize();
        // The session's first prefill also allocates its activation workspace and KV cache; the timed one runs
        // after a reset, with them in place (as a second question in the same session, and as the peer runs
        // after its warm-up with its caching allocator filled).
        double a = now();
        s->prefill(p, chunk);
        cudaDeviceSynchronize();
        const double pf_first = now() - a;
        s->reset();
        const bool prof = profile_prefill && ctx == contexts.front();
        if (prof) cudaProfilerStart();
        a = now();
        s->prefill(p, chunk);
        cudaDeviceSynchronize();
        const double pf = now() - a;
        if (prof) cudaProfilerStop();
        // Decode: greedy tokens fed back one at a time (CUDA graph path); first step excluded (instantiation).
        // The device pick and the host argmax must agree on every step.
        const int32_t first = s->pick_next(kGreedy, uint64_t(s->position())).id;
        if (first != argmax(s->logits())) {
            std::printf("device pick %d != host argmax %d at context %d\n", first, argmax(s->logits()), ctx);
            return 1;
        }
        int32_t tok = first;
        s->forward({&tok, 1});
        const DecodeRun off = time_decode(*s, steps, false), host = time_decode(*s, steps, true, true),
                        on = time_decode(*s, steps, true);
        if (!finite(s->logits())) {
            std::printf("non-finite logits at context %d\n", ctx);
            return 1;
        }
        const double dt = on.step * 1e-3;
        rows.push_back({ctx, pf, ctx / pf, dt * 1e3, 1.0 / dt, on, off, host, pf_first});
        std::printf("ctx %7d  prefill %8.3f s  %9.0f tok/s   decode %7.2f ms/token  %7.1f tok/s   (first prefill of "
                    "a new session %.3f s)\n", ctx, pf, ctx / pf, dt * 1e3, 1.0 / dt, pf_first);
        for (const auto& [name, r] : {std::pair{"next step prepared", on}, std::pair{"captured each step", off},
                                      std::pair{"host argmax", host}})
            std::printf("  decode, %-18s %6.3f ms/token = GPU graph %6.3f + capture before launch %6.3f + token pick "
                        "%6.3f + rest %6.3f (capture during the step %6.3f)\n",
                        name, r.step, r.gpu, r.capture, r.pick, r.step - r.gpu - r.capture - r.pick, r.overlap);
        if (profile && ctx == contexts.front()) {  // one step for ncu --profile-from-start off
            tok = next_token(*s, false);
            cudaProfilerStart();
            s->forward({&tok, 1});
            cudaDeviceSynchronize();
            cudaProfilerStop();
        }
        std::fflush(stdout);
    }
    if (!json_path.empty()) {
        std::ofstream f(json_path);
        f << "{\"gpu\": \"" << devs[0].name << "\", \"lightning_layers\": " << n_lin << ", \"softmax_layers\": " << n_soft
          << ", \"experts\": \"" << (int8 ? "int8" : "bf16") << "\", \"chunk\": " << chunk << ", \"rows\": [";
        for (std::size_t i = 0; i < rows.size(); ++i)
            f << (i ? ", " : "") << "{\"context\": " << rows[i].ctx << ", \"prefill_s\": " << rows[i].prefill_s
              << ", \"prefill_tok_s\": " << rows[i].prefill_tps << ", \"first_prefill_s\": " << rows[i].first_s << ", \"decode_ms\": " << rows[i].decode_ms
              << ", \"decode_tok_s\": " << rows[i].decode_tps << ", \"decode_gpu_ms\": " << rows[i].on.gpu
              << ", \"decode_capture_ms\": " << rows[i].on.capture << ", \"decode_pick_ms\": " << rows[i].on.pick
              << ", \"decode_host_argmax_ms\": " << rows[i].host.step << ", \"decode_host_argmax_pick_ms\": " << rows[i].host.pick
              << ", \"decode_unprepared_ms\": " << rows[i].off.step << ", \"decode_unprepared_gpu_ms\": " << rows[i].off.gpu
              << ", \"decode_unprepared_capture_ms\": " << rows[i].off.capture << "}";
        f << "]}\n";
    }
    return 0;
}
