// Tensor-parallel scaling on an M1-width slice (hidden 6144, 64 heads, 8 KV heads, 32 experts of 9216,
// vocab 200064; random weights made on GPU 0 and split over the GPUs, so both runs use the same
// weights): prefill and decode tokens/s on 1 GPU and on N GPUs, and the scaling efficiency
// tps_N / (N * tps_1). Validates first (logits of both runs agree), then times with the devices idle: each prefill
// is the median of three, decode the mean of the steps after the first.
// usage: tp_slice_bench [--gpus N] [--lightning N] [--softmax N] [--context T[,T2...]] [--chunk C]
//                       [--decode-steps S] [--int8] [--json FILE] [--rank-alone] [--moe tp|ep|tp,ep]
//                       [--variants all|NAME,...] [--experts E] [--share K]
// --experts E: E experts instead of 32. --share K: heads, KV heads and expert width / K, so that each of the N
// GPUs holds what one of N*K GPUs holds of M1 (--share 4 on 2 GPUs: a GPU's per-layer share of M1 on 8 GPUs).
// --variants: after the engine's defaults, N GPUs again under each named setting of the TP session switches
// (M1_TP_GRAPHS, M1_TP_OVERLAP, M1_TP_OVERLAP_MOE, M1_TP_PROFILE; see kVariants), same weights, same run.
// --moe: how the N GPUs split the experts (tp: a slice of every expert, the default; ep: whole experts per
// GPU); a list runs each in turn with the same random weights (made again for each: both do not fit at once).
// --rank-alone: afterwards, one GPU runs one rank's share alone (heads, KV heads and expert width / N, no
// communication): the time N GPUs would take if combining ranks cost nothing.
// Several contexts share one set of weights (made once); each gets its own table and JSON line.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "m1/parallel_tp.h"

#ifdef M1_HAVE_NCCL
#include <cuda_runtime.h>

#include "bench/bench_args.h"
#include "bench/m1_slice.h"

using namespace m1;

namespace {


double now() { return bench::now_seconds(); }

void sync_all(int n) {
    for (int d = 0; d < n; ++d) {
        cudaSetDevice(d);
        cudaDeviceSynchronize();
    }
}

int32_t argmax(std::span<const float> v) { return int32_t(std::max_element(v.begin(), v.end()) - v.begin()); }

struct Result {
    double prefill_s = 0, prefill_tps = 0, decode_ms = 0, decode_tps = 0;
};

// Settings of the TP session switches, read when a session is made. "before" is the engine as it was before
// decode graphs and overlap: NCCL collectives issued step by step, each on the compute stream.
struct Variant {
    const char* name;
    const char* graphs;    // M1_TP_GRAPHS
    const char* attn;      // M1_TP_OVERLAP: row blocks of the attention output projection
    const char* moe;       // M1_TP_OVERLAP_MOE: row blocks of the MoE
    const char* profile;   // M1_TP_PROFILE: events around every NCCL collective, printed per session
};
constexpr Variant kVariants[] = {
    {"before", "0", "0", "0", "0"},        {"profile", "0", "0", "0", "1"},      {"graphs", "1", "0", "0", "0"},
    {"graphs+attn2", "1", "2", "0", "0"},  {"graphs+moe2", "1", "0", "2", "0"},  {"graphs+both2", "1", "2", "2", "0"},
    {"graphs+both4", "1", "4", "4", "0"},
};

struct ScopedVariant {
    explicit ScopedVariant(const Variant& v) {
        setenv("M1_TP_GRAPHS", v.graphs, 1);
        setenv("M1_TP_OVERLAP", v.attn, 1);
        setenv("M1_TP_OVERLAP_MOE", v.moe, 1);
        setenv("M1_TP_PROFILE", v.profile, 1);
    }
    ~ScopedVariant() {
        for (const char* k : {"M1_TP_GRAPHS", "M1_TP_OVERLAP", "M1_TP_OVERLAP_MOE", "M1_TP_PROFILE"}) unsetenv(k);
    }
};

// Warm-up prefill on a throwaway session, then the timed prefill and greedy decode steps.
Result run(TpTwin& twin, bool parallel, const std::vector<int32_t>& ids, int64_t chunk, int steps, int gpus,
           std::vector<float>* final_logits) {
    auto make = [&] { return parallel ? twin.parallel_session() : twin.single_session(); };
    {
        auto w = make();
        std::vector<int32_t> q(ids.begin(), ids.begin() + std::min<int64_t>(int64_t(ids.size()), chunk));
        w->prefill(q, chunk);
        int32_t t = 1;
        w->forward({&t, 1});
    }
    auto s = make();
    Result r;
    std::vector<double> t;  // the median of three prefills of the same tokens (reset between them)
    double a = 0;
    for (int rep = 0; rep < 3; ++rep) {
        if (rep) s->reset();
        sync_all(gpus);
        a = now();
        s->prefill(ids, chunk);
        sync_all(gpus);
        t.push_back(now() - a);
    }
    std::sort(t.begin(), t.end());
    r.prefill_s = t[1];
    r.prefill_tps = double(ids.size()) / r.prefill_s;
    if (final_logits) final_logits->assign(s->logits().begin(), s->logits().end());
    int32_t tok = argmax(s->logits());
    s->forward({&tok, 1});  // first step excluded (graph instantiation on one GPU)
    a = now();
    for (int i = 0; i < steps; ++i) {
        tok = argmax(s->logits());
        s->forward({&tok, 1});
    }
    r.decode_ms = (now() - a) / steps * 1e3;
    r.decode_tps = 1e3 / r.decode_ms;
    return r;
}

// Validates (last-position logits of both runs), then times 1 GPU (without and with graphs) and N GPUs.
int measure(TpTwin& twin, const std::vector<int32_t>& ids, int64_t chunk, int steps, int gpus, const char* gpu_name,
            const char* moe, const std::vector<Variant>& variants, std::ofstream& json) {
    std::printf("\n== context %zu tokens, MoE split %s ==\n", ids.size(), moe);
    std::vector<float> l1, l2;
    twin.set_single_graphs(false);
    Result one_ng = run(twin, false, ids, chunk, steps, gpus, nullptr);
    twin.set_single_graphs(true);
    Result one = run(twin, false, ids, chunk, steps, gpus, &l1);
    Result par = run(twin, true, ids, chunk, steps, gpus, &l2);
    double num = 0, den = 0;
    for (size_t i = 0; i < l1.size(); ++i) {
        num += double(l1[i] - l2[i]) * (l1[i] - l2[i]);
        den += double(l1[i]) * l1[i];
    }
    const double rel = std::sqrt(num / den);
    std::printf("validation: last-position logits, %d GPUs vs 1: rel L2 %.2e, same argmax %s\n", gpus, rel,
                argmax(l1) == argmax(l2) ? "yes" : "NO");
    if (!(rel < 2e-2)) return 1;

    std::printf("\n%-8s %10s %14s %12s %14s\n", "GPUs", "prefill s", "prefill tok/s", "decode ms", "decode tok/s");
    std::printf("%-14s %10.3f %14.0f %12.2f %14.1f\n", "1", one.prefill_s, one.prefill_tps, one.decode_ms, one.decode_tps);
    std::printf("%-14s %10.3f %14.0f %12.2f %14.1f\n", "1 (no graphs)", one_ng.prefill_s, one_ng.prefill_tps, one_ng.decode_ms,
                one_ng.decode_tps);
    std::printf("%-14d %10.3f %14.0f %12.2f %14.1f\n", gpus, par.prefill_s, par.prefill_tps, par.decode_ms, par.decode_tps);
    const double eff_p = par.prefill_tps / (gpus * one.prefill_tps), eff_d = par.decode_tps / (gpus * one.decode_tps);
    std::printf("scaling efficiency (tps_N / (N * tps_1)): prefill %.0f%%, decode %.0f%% (vs 1 GPU without graphs: %.0f%%)\n",
                eff_p * 100, eff_d * 100, par.decode_tps / (gpus * one_ng.decode_tps) * 100);
    std::printf("context %lld tokens in chunks of %lld; decode %d greedy steps after it (1 GPU: CUDA graphs; %d GPUs: "
                "the engine's defaults)\n", (long long)ids.size(), (long long)chunk, steps, gpus);
    if (json) {
        json << "{\"gpu\": \"" << gpu_name << "\", \"gpus\": " << gpus << ", \"moe\": \"" << moe
             << "\", \"context\": " << ids.size()
             << ", \"chunk\": " << chunk << ", \"rel_l2\": " << rel << ", \"tp1\": {\"prefill_tps\": " << one.prefill_tps
             << ", \"decode_tps\": " << one.decode_tps << "}, \"tpN\": {\"prefill_tps\": " << par.prefill_tps
             << ", \"decode_tps\": " << par.decode_tps << "}, \"eff_prefill\": " << eff_p << ", \"eff_decode\": " << eff_d
             << "}\n";
    }
    if (variants.empty()) return 0;
    std::printf("\n%-14s %10s %14s %12s %14s %8s %8s\n", "TP variant", "prefill s", "prefill tok/s", "decode ms",
                "decode tok/s", "eff pf", "eff dec");
    for (const Variant& v : variants) {
        Result r;
        {
            ScopedVariant on(v);
            r = run(twin, true, ids, chunk, steps, gpus, nullptr);
        }
        const double ep = r.prefill_tps / (gpus * one.prefill_tps), ed = r.decode_tps / (gpus * one.decode_tps);
        std::printf("%-14s %10.4f %14.0f %12.3f %14.1f %7.0f%% %7.0f%%\n", v.name, r.prefill_s, r.prefill_tps, r.decode_ms,
                    r.decode_tps, ep * 100, ed * 100);
        std::fflush(stdout);
        if (json)
            json << "{\"gpu\": \"" << gpu_name << "\", \"gpus\": " << gpus << ", \"moe\": \"" << moe << "\", \"context\": "
                 << ids.size() << ", \"variant\": \"" << v.name << "\", \"prefill_s\": " << r.prefill_s
                 << ", \"prefill_tps\": " << r.prefill_tps << ", \"decode_ms\": " << r.decode_ms
                 << ", \"eff_prefill\": " << ep << ", \"eff_decode\": " << ed << "}\n";
    }
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    int gpus = 2, n_lin = 3, n_soft = 1, steps = 16, experts = 32, share_k = 1;
    std::vector<int64_t> contexts{8192};
    int64_t chunk = 4096;
    bool int8 = false, rank_alone = false;
    std::string json_path;
    std::vector<MoeSplit> splits{MoeSplit::tensor};
    std::vector<Variant> variants;
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        auto next = [&]() { return std::string(i + 1 < argc ? argv[++i] : "0"); };
        if (a == "--gpus") gpus = std::stoi(next());
        else if (a == "--lightning") n_lin = std::stoi(next());
        else if (a == "--softmax") n_soft = std::stoi(next());
        else if (a == "--context") contexts = bench::int_list<int64_t>(next());
        else if (a == "--chunk") chunk = std::stoll(next());
        else if (a == "--decode-steps") steps = std::stoi(next());
        else if (a == "--int8") int8 = true;
        else if (a == "--experts") experts = std::stoi(next());
        else if (a == "--share") share_k = std::stoi(next());
        else if (a == "--rank-alone") rank_alone = true;
        else if (a == "--json") json_path = next();
        else if (a == "--variants") {
            const std::string v = "," + next() + ",";
            for (const Variant& k : kVariants)
                if (v == ",all," || v.find("," + std::string(k.name) + ",") != std::string::npos) variants.push_back(k);
            if (variants.empty()) {
                std::fprintf(stderr, "--variants: none of %s is known\n", v.c_str());
                return 2;
            }
        }
        else if (a == "--moe") {
            const std::string v = next();
            splits.clear();
            if (v.find("tp") != std::string::npos) splits.push_back(MoeSplit::tensor);
            if (v.find("ep") != std::string::npos) splits.push_back(MoeSplit::expert);
            if (splits.empty() || v.find_first_not_of("tpe,") != std::string::npos) {
                std::fprintf(stderr, "--moe takes tp, ep or tp,ep\n");
                return 2;
            }
        }
        else {
            std::fprintf(stderr, "unknown argument %s\n", a.c_str());
            return 2;
        }
    }
    int count = 0;
    cudaGetDeviceCount(&count);
    if (count < gpus || gpus < 2) {
        std::printf("SKIP: needs %d GPUs (%d here)\n", gpus, count);
        return 0;
    }
    cudaDeviceProp p{};
    cudaGetDeviceProperties(&p, 0);
    ModelConfig cfg = bench::m1_width_slice(n_lin, n_soft);
    cfg.num_experts = experts;
    cfg.num_heads /= share_k;
    cfg.num_kv_heads /= share_k;
    cfg.intermediate_size /= share_k;
    std::vector<int> devices;
    for (int d = 0; d < gpus; ++d) devices.push_back(d);
    TpTwin::Options o;
    o.int8_experts = int8;
    o.max_chunk = chunk;
    const int64_t max_context = *std::max_element(contexts.begin(), contexts.end());
    o.context_tokens = max_context + steps + 8;
    std::ofstream json;
    if (!json_path.empty()) json.open(json_path);
    std::unique_ptr<TpTwin> twin;
    for (MoeSplit split : splits) {
        twin.reset();  // the previous split's weights first: two sets do not fit on GPU 0
        o.moe = split;
        double t0 = now();
        twin = TpTwin::random(cfg, devices, o, 1234);
        std::printf("%d x %s; slice %d lightning + %d softmax layers (M1 widths / %d: %lld heads, %lld KV heads, %lld "
                    "experts of %lld), experts %s, MoE split %s; weights made and split in %.1f s\n", gpus, p.name, n_lin,
                    n_soft, share_k, (long long)cfg.num_heads, (long long)cfg.num_kv_heads, (long long)cfg.num_experts,
                    (long long)cfg.intermediate_size, int8 ? "int8" : "bf16", to_string(split), now() - t0);
        for (int64_t context : contexts) {
            std::mt19937 g(7);
            std::vector<int32_t> ids(static_cast<size_t>(context));
            for (auto& x : ids) x = int32_t(g() % 200000);
            if (int rc = measure(*twin, ids, chunk, steps, gpus, p.name, to_string(split), variants, json)) return rc;
        }
    }
    if (rank_alone) {
        twin.reset();
        ModelConfig share = cfg;
        share.num_heads /= gpus;
        share.num_kv_heads /= gpus;
        share.intermediate_size /= gpus;
        auto alone = TpTwin::random(share, {0}, o, 1234);
        std::printf("\n== one rank's share (%lld heads, %lld KV heads, expert width %lld) alone on GPU 0 ==\n",
                    (long long)share.num_heads, (long long)share.num_kv_heads, (long long)share.intermediate_size);
        for (int64_t context : contexts) {
            std::mt19937 g(7);
            std::vector<int32_t> ids(static_cast<size_t>(context));
            for (auto& x : ids) x = int32_t(g() % 200000);
            Result r = run(*alone, false, ids, chunk, steps, 1, nullptr);
            std::printf("context %lld: prefill %.3f s (%.0f tok/s), decode %.2f ms/token (CUDA graphs)\n", (long long)context,
                        r.prefill_s, r.prefill_tps, r.decode_ms);
            if (json)
                json << "{\"rank_alone\": true, \"context\": " << context << ", \"prefill_tps\": " << r.prefill_tps
                     << ", \"decode_ms\": " << r.decode_ms << "}\n";
        }
    }
    return 0;
}

#else
int main() {
    std::printf("SKIP: built without NCCL\n");
    return 0;
}
#endif
