// `m1 info`: a model's config summary, parameter counts (total / active per token) and the bytes its
// weights need per precision and per GPU count.
#include <algorithm>
#include <cstdio>
#include <iostream>

#include "cli.h"
#include "m1/config.h"
#include "m1/memory_plan.h"
#include "m1/model.h"
#include "model_args.h"

namespace m1::cli {

static std::string gib(double bytes) {  // human units: "912.21 GB" style but binary
    const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    int u = 0;
    while (bytes >= 1024 && u < 4) {
        bytes /= 1024;
        ++u;
    }
    char b[32];
    std::snprintf(b, sizeof b, "%.2f %s", bytes, units[u]);
    return b;
}

// --device / --gpus on info: does the model fit that many GPUs of each kind planned for, at each precision?
static void print_selection(const ModelConfig& c, const std::string& device, const std::vector<GpuKind>& kinds,
                            const PlanOptions& po) {
    const int n = int(std::count(device.begin(), device.end(), ',')) + 1;
    for (const GpuKind& k : kinds) {
        std::cout << "\n" << device << " (" << n << (n == 1 ? " GPU" : " GPUs") << " of " << k.name << "):\n";
        for (WeightPrecision p : {WeightPrecision::bf16, WeightPrecision::int8_experts}) {
            const std::string advice = fit_advice(c, k, n, p, po);
            std::cout << "  " << to_string(p) << ": " << (advice.empty() ? "fits" : advice) << "\n";
        }
    }
}

static int run_info(const Args& args) {
    const std::string device = device_arg(args, false);  // a plan: the GPUs need not be here
    std::string dir = model_dir_arg(args);
    ModelConfig c = ModelConfig::load(dir);  // the config alone: works before the weights are downloaded
    auto p = c.param_counts();
    std::cout << "model: " << dir << "\n" << c.summary() << "\n";
    std::cout << "layout: " << (c.original_layout ? "original (attn_type_list)" : "transformers (layer_types)")
              << ", residual alpha lin/full/mlp " << c.alpha_linear << "/" << c.alpha_full << "/" << c.alpha_mlp
              << ", beta " << c.beta_linear << "/" << c.beta_full << "/" << c.beta_mlp << "\n";
    std::cout << "parameters: " << p.total << " total, " << p.active << " active per token ("
              << p.active - p.embedding - p.lm_head << " without embedding and LM head)\n";
    // Weight bytes: bf16 everywhere but the fp32 routers (as M1 ships); int8 experts keep one fp32
    // scale per output row; fp32 is what the CPU backend's cache holds.
    const double rows_scale = double(c.num_layers * c.num_experts * (2 * c.intermediate_size + c.hidden_size)) * 4;
    struct Prec { const char* name; double bytes; } precs[] = {
        {"bf16", double(p.total - p.routers) * 2 + double(p.routers) * 4},
        {"int8 experts", double(p.total - p.routers - p.experts) * 2 + double(p.routers) * 4 + double(p.experts) + rows_scale},
        {"fp32", double(p.total) * 4}};
    std::cout << "weights (per GPU with tensor parallelism over N GPUs):\n";
    std::printf("  %-13s %14s %14s %14s %14s\n", "precision", "1 GPU", "2 GPUs", "4 GPUs", "8 GPUs");
    std::cout.flush();
    for (const auto& pr : precs)
        std::printf("  %-13s %14s %14s %14s %14s\n", pr.name, gib(pr.bytes).c_str(), gib(pr.bytes / 2).c_str(),
                    gib(pr.bytes / 4).c_str(), gib(pr.bytes / 8).c_str());
    const double kv = double(c.num_softmax_layers() * 2 * c.kv_width()) * 2;
    const double lin = double(c.num_lightning_layers() * c.num_heads * c.head_dim * c.head_dim) * 4;
    std::printf("per sequence: KV cache %.0f bytes/token (bf16), lightning state %s (fp32)\n", kv, gib(lin).c_str());
    std::fflush(stdout);
    // What fits: this machine's GPU kind, or both common kinds when there is no GPU here.
    PlanOptions po;
    if (args.has("context")) po.context_tokens = uint64_t(std::max<int64_t>(1, args.get_int("context", 0)));
    PresentGpus here = present_gpus();
    std::vector<GpuKind> kinds = here.count > 0 ? std::vector<GpuKind>{here.kind}
                                                : std::vector<GpuKind>{assumed_h100_80gb(), assumed_h200_141gb()};
    for (const GpuKind& k : kinds) std::cout << "\n" << format_plan_table(c, k, po);
    if (device != "cpu") print_selection(c, device, kinds, po);
    return 0;
}

static Registrar reg({"info",
                      "show a model's config, parameter counts and memory needs (--gpus N: does it fit N GPUs?)",
                      std::string("--model DIR [--context N] ") + kDeviceUsage,
                      with_device_flags({{"model", true, "model folder (config.json); default: the demo model"},
                                         {"context", true, "tokens of KV cache to plan for (default 1000000)"}}),
                      0,
                      run_info,
                      20});

}  // namespace m1::cli
