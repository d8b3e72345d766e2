// The memory planner's arithmetic: bytes per tensor family from the config, divided the way the CUDA
// tensor-parallel loader divides them (heads, KV heads, expert width and LM-head vocabulary by rank;
// embedding, norms and routers replicated), plus KV cache, lightning states, workspace and a reserve.
#include "m1/memory_plan.h"

#include <algorithm>
#include <cstdio>

#include "m1/parallel.h"
#ifdef M1_HAVE_CUDA
#include "kernels/device_info.cuh"
#endif

namespace m1 {

namespace {

uint64_t ceil_div(uint64_t a, uint64_t b) { return (a + b - 1) / b; }

struct Shape {  // the config's numbers as unsigned, with layer counts
    uint64_t H, nh, nkv, dh, I, E, V, topk, n_lin, n_sm;
    bool tied;
};

Shape shape_of(const ModelConfig& c) {
    Shape s{};
    s.H = uint64_t(c.hidden_size);
    s.nh = uint64_t(c.num_heads);
    s.nkv = uint64_t(c.num_kv_heads);
    s.dh = uint64_t(c.head_dim);
    s.I = uint64_t(c.intermediate_size);
    s.E = uint64_t(c.num_experts);
    s.V = uint64_t(c.vocab_size);
    s.topk = uint64_t(c.top_k);
    for (LayerKind k : c.layer_kinds) (k == LayerKind::Softmax ? s.n_sm : s.n_lin) += 1;
    if (c.layer_kinds.empty()) s.n_lin = uint64_t(c.num_layers);  // no pattern given: count all as lightning
    s.tied = c.tie_word_embeddings;
    return s;
}

// Bytes of the layers' weights on one of `n` ranks (n = 1: the whole model): heads, KV heads and expert
// width split; norms and routers (fp32 in M1 checkpoints) replicated.
uint64_t layer_weight_bytes(const Shape& s, uint64_t n, WeightPrecision p) {
    const uint64_t heads = ceil_div(s.nh, n), kv_heads = ceil_div(s.nkv, n);
    const uint64_t inner = heads * s.dh;  // this rank's slice of the 8192-wide attention
    const uint64_t width = ceil_div(s.I, n);
    const uint64_t layers = s.n_lin + s.n_sm;
    uint64_t b = layers * (2 * s.H * 2);    // input and post-attention norms
    b += layers * (s.E * s.H * 4);          // routers
    const uint64_t expert_params = s.E * 3 * width * s.H;  // w1, w3 [I/n, H] and w2 [H, I/n] per expert
    if (p == WeightPrecision::bf16)
        b += layers * expert_params * 2;
    else
        b += layers * (expert_params + s.E * (2 * width + s.H) * 4);  // int8 + one fp32 scale per output row
    b += s.n_lin * ((3 * inner * s.H + inner * s.H + s.H * inner) * 2 + inner * 2);  // qkv, gate, out, norm
    b += s.n_sm * ((inner * s.H + 2 * kv_heads * s.dh * s.H + s.H * inner) * 2);   // q, k, v, o
    return b;
}

// The checkpoint's bytes (bf16 embedding and LM head, the LM head absent when tied).
uint64_t checkpoint_bytes(const Shape& s, WeightPrecision p) {
    uint64_t b = s.V * s.H * 2 + s.H * 2;  // embedding, final norm
    if (!s.tied) b += s.V * s.H * 2;
    return b + layer_weight_bytes(s, 1, p);
}

// What the CUDA loader allocates on one of `n` GPUs: the whole bf16 embedding on every GPU (the lookup
// stays local: no collective before the first layer, 2.5 GB for M1) and a bf16 LM head split by
// vocabulary, as M1's checkpoint stores it (the logits are computed from it in fp32; a tied head is a
// separate copy).
uint64_t resident_bytes(const Shape& s, uint64_t n, WeightPrecision p) {
    return s.V * s.H * 2 + s.H * 2 + ceil_div(s.V, n) * s.H * 2 + layer_weight_bytes(s, n, p);
}

uint64_t kv_per_token(const Shape& s, uint64_t n) { return s.n_sm * 2 * ceil_div(s.nkv, n) * s.dh * 2; }
uint64_t state_bytes(const Shape& s, uint64_t n) { return s.n_lin * ceil_div(s.nh, n) * s.dh * s.dh * 4; }

constexpr uint64_t kLogitRows = 256;  // rows of logits a CUDA session computes at once (all-position logits)
constexpr uint64_t kLmHeadTileRows = 8192;  // LM-head rows widened to fp32 per GEMM for those (kernels/lm_head.cuh)

// One rank's session buffers for a prefill chunk, as the CUDA session sizes them: residual and sub-layer
// output (fp32), bf16 copies, projection and gate outputs, attention outputs, the MoE scratch per routed
// token (gathered input, w1|w3 output fp32, activation, expert output fp32), the logits rows, the LM-head
// tile widened to fp32 for them and, with several GPUs, the bf16 all-reduce buffer and the LM-head gather.
// Lightning prefill workspaces and cuBLAS's are in the reserve.
uint64_t workspace_bytes(const Shape& s, uint64_t n, uint64_t chunk, WeightPrecision p) {
    const uint64_t inner = ceil_div(s.nh, n) * s.dh, kvw = (s.n_sm ? ceil_div(s.nkv, n) : 0) * s.dh;
    const uint64_t width = ceil_div(s.I, n);
    const uint64_t big = std::max(3 * inner, inner + 2 * kvw);
    uint64_t per_token = s.H * (4 + 2 + 4) + big * 4 + inner * (4 + 6 + 2 + 2) + 4;
    per_token += s.E * 4 + s.topk * (4 * 4 + s.H * 2 + 2 * width * 4 + width * 2 + s.H * 4);
    if (n > 1) per_token += s.H * 2 + 4;  // bf16 all-reduce, lightning norm sums
    uint64_t fixed = kLogitRows * s.V * 4 + std::min(kLmHeadTileRows, ceil_div(s.V, n)) * s.H * 4;
    if (n > 1) fixed += kLogitRows * ceil_div(s.V, n) * 4 * (n + 1);  // this rank's rows, then everyone's
    if (p == WeightPrecision::int8_experts) fixed += 2 * width * s.H * 2;  // one expert dequantised
    return chunk * per_token + fixed;
}

}  // namespace

const char* to_string(WeightPrecision p) { return p == WeightPrecision::bf16 ? "bf16" : "int8-experts"; }

GpuKind assumed_h100_80gb() { return {"NVIDIA H100 80GB (assumed)", uint64_t(81559) << 20, true}; }
GpuKind assumed_h200_141gb() { return {"NVIDIA H200 141GB (assumed)", uint64_t(143771) << 20, true}; }

ModelMemory model_memory(const ModelConfig& cfg) {
    Shape s = shape_of(cfg);
    ModelMemory m;
    m.weights_bf16 = checkpoint_bytes(s, WeightPrecision::bf16);
    m.weights_int8_experts = checkpoint_bytes(s, WeightPrecision::int8_experts);
    m.kv_bytes_per_token = kv_per_token(s, 1);
    m.lightning_state_bytes = state_bytes(s, 1);
    return m;
}

MemoryBreakdown per_gpu_memory(const ModelConfig& cfg, int gpus, WeightPrecision p, const PlanOptions& o) {
    Shape s = shape_of(cfg);
    uint64_t n = uint64_t(gpus < 1 ? 1 : gpus), seq = uint64_t(o.sequences < 1 ? 1 : o.sequences);
    MemoryBreakdown b;
    b.weights = resident_bytes(s, n, p);
    b.kv_cache = kv_per_token(s, n) * o.context_tokens * seq;
    b.lightning_state = state_bytes(s, n) * seq;
    b.workspace = workspace_bytes(s, n, uint64_t(o.prefill_chunk > 0 ? o.prefill_chunk : 1), p);
    b.reserve = o.reserve_bytes;
    return b;
}

int64_t plan_prefill_chunk(const ModelConfig& cfg, int gpus, WeightPrecision p, PlanOptions o, uint64_t free_bytes) {
    o.prefill_chunk = 1;
    const MemoryBreakdown b = per_gpu_memory(cfg, gpus, p, o);
    const uint64_t fixed = b.total() - b.workspace;
    const uint64_t spare = free_bytes > fixed ? (free_bytes - fixed) / 2 : 0;
    return largest_prefill_chunk(spare, [&](int64_t chunk) {
        o.prefill_chunk = chunk;
        return per_gpu_memory(cfg, gpus, p, o).workspace;
    });
}

int64_t largest_prefill_chunk(uint64_t limit, const std::function<uint64_t(int64_t chunk)>& workspace_at) {
    for (int64_t chunk = 32768; chunk > 512; chunk /= 2)
        if (workspace_at(chunk) <= limit) return chunk;
    return 512;
}

PlanRow plan(const ModelConfig& cfg, const GpuKind& gpu, int gpus, WeightPrecision p, const PlanOptions& o) {
    PlanRow r;
    r.gpus = gpus;
    r.precision = p;
    r.per_gpu = per_gpu_memory(cfg, gpus, p, o);
    r.gpu_bytes = gpu.bytes;
    r.fits = r.per_gpu.total() <= gpu.bytes;
    uint64_t fixed = r.per_gpu.total() - r.per_gpu.kv_cache;
    uint64_t per_token = kv_per_token(shape_of(cfg), uint64_t(gpus)) * uint64_t(o.sequences < 1 ? 1 : o.sequences);
    if (fixed < gpu.bytes && per_token > 0) {
        r.max_context_tokens = (gpu.bytes - fixed) / per_token;
        uint64_t cap = cfg.max_position_embeddings > 0 ? uint64_t(cfg.max_position_embeddings) : 0;
        if (cap && r.max_context_tokens > cap) r.max_context_tokens = cap;
    }
    return r;
}

std::vector<PlanRow> plan_table(const ModelConfig& cfg, const GpuKind& gpu, const PlanOptions& o) {
    std::vector<PlanRow> rows;
    for (WeightPrecision p : {WeightPrecision::bf16, WeightPrecision::int8_experts})
        for (int n : {1, 2, 4, 8})
            if (cfg.num_heads <= 0 || cfg.num_heads % n == 0) rows.push_back(plan(cfg, gpu, n, p, o));  // whole heads per GPU
    return rows;
}

std::string format_bytes(uint64_t b) {
    char buf[32];
    if (b >= 1'000'000'000ull)
        std::snprintf(buf, sizeof buf, "%.1f GB", double(b) / 1e9);
    else if (b >= (1ull << 20))
        std::snprintf(buf, sizeof buf, "%.1f MiB", double(b) / double(1 << 20));
    else if (b >= 1024)
        std::snprintf(buf, sizeof buf, "%.1f KiB", double(b) / 1024.0);
    else
        std::snprintf(buf, sizeof buf, "%llu B", static_cast<unsigned long long>(b));
    return buf;
}

static std::string tokens_text(uint64_t t) {
    std::string d = std::to_string(t), out;
    for (size_t i = 0; i < d.size(); ++i) {
        if (i && (d.size() - i) % 3 == 0) out += ',';
        out += d[i];
    }
    return out;
}

std::string format_plan_table(const ModelConfig& cfg, const GpuKind& gpu, const PlanOptions& o) {
    std::string out = "Memory per GPU with tensor parallelism on " + gpu.name + " (" + format_bytes(gpu.bytes) + " each), context " +
                      tokens_text(o.context_tokens) + " tokens x " + std::to_string(o.sequences) +
                      " sequence(s), prefill chunk " + std::to_string(o.prefill_chunk) + ":\n";
    char line[256];
    std::snprintf(line, sizeof line, "%-5s %-13s %10s %10s %10s %10s %10s %10s  %-4s %s\n", "GPUs", "precision",
                  "weights", "KV cache", "lightning", "workspace", "reserve", "total", "fits", "max context");
    out += line;
    for (const PlanRow& r : plan_table(cfg, gpu, o)) {
        std::snprintf(line, sizeof line, "%-5d %-13s %10s %10s %10s %10s %10s %10s  %-4s %s\n", r.gpus,
                      to_string(r.precision), format_bytes(r.per_gpu.weights).c_str(),
                      format_bytes(r.per_gpu.kv_cache).c_str(), format_bytes(r.per_gpu.lightning_state).c_str(),
                      format_bytes(r.per_gpu.workspace).c_str(), format_bytes(r.per_gpu.reserve).c_str(),
                      format_bytes(r.per_gpu.total()).c_str(), r.fits ? "yes" : "no",
                      r.max_context_tokens ? tokens_text(r.max_context_tokens).c_str() : "-");
        out += line;
    }
    return out;
}

std::string fit_advice(const ModelConfig& cfg, const GpuKind& gpu, int gpus, WeightPrecision p, const PlanOptions& o) {
    PlanRow row = plan(cfg, gpu, gpus, p, o);
    if (row.fits) return {};
    ModelMemory m = model_memory(cfg);
    std::string msg = "model needs " + format_bytes(m.weights(p)) +
                      (p == WeightPrecision::bf16 ? std::string(" in bf16") : std::string(" with int8 experts")) +
                      " plus " + format_bytes(m.kv_bytes_per_token * o.context_tokens * uint64_t(o.sequences)) +
                      " of KV cache for " + tokens_text(o.context_tokens) + " tokens; " + std::to_string(gpus) +
                      (gpus == 1 ? " GPU has " : " GPUs have ") + format_bytes(gpu.bytes * uint64_t(gpus)) + ": ";
    for (int n : {2, 4, 8})
        if (n > gpus && plan(cfg, gpu, n, p, o).fits) return msg + "use " + std::to_string(n) + " or more GPUs";
    if (p == WeightPrecision::bf16) {
        for (int n : {1, 2, 4, 8})
            if (n >= gpus && plan(cfg, gpu, n, WeightPrecision::int8_experts, o).fits)
                return msg + "use int8 experts on " + std::to_string(n) + (n == 1 ? " GPU" : " GPUs");
    }
    if (row.max_context_tokens > 0)
        return msg + "use a context of at most " + tokens_text(row.max_context_tokens) + " tokens, or more GPUs";
    return msg + "it does not fit 8 GPUs of this kind; serve it from a multi-node server (vLLM, SGLang)";
}

PresentGpus present_gpus() {
    PresentGpus p;
#ifdef M1_HAVE_CUDA
    auto devs = cuda::list_devices();
    p.count = int(devs.size());
    if (!devs.empty()) {
        p.kind = {devs[0].name, devs[0].total_bytes, false};
        return p;
    }
#endif
    p.kind = assumed_h200_141gb();
    return p;
}

std::string resolve_device(const std::string& device, int gpus) {
    if (gpus <= 0) return device;
    std::string spec = device.empty() || device == "cpu" ? "cuda" : device;
    std::vector<int> list = select_gpus(spec, gpus, present_gpus().count);
    std::string out = "cuda:";
    for (size_t i = 0; i < list.size(); ++i) out += (i ? "," : "") + std::to_string(list[i]);
    return out;
}

}  // namespace m1
