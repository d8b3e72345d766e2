// The memory planner: how many bytes each GPU needs to run a model with tensor parallelism over N
// GPUs (weights at a precision, KV cache for a context, lightning states, workspace, fixed reserve),
// and whether that fits a GPU kind. Used by `m1 info` and, before any allocation, by the loaders.
// Works from the config alone: no weights file is read and no GPU is needed.
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "m1/config.h"

namespace m1 {

enum class WeightPrecision { bf16, int8_experts };  // int8_experts: expert weights int8 + fp32 row scales
const char* to_string(WeightPrecision p);             // "bf16", "int8-experts"

struct GpuKind {
    std::string name;    // "NVIDIA H200"
    uint64_t bytes = 0;  // memory per GPU as the driver reports it
    bool assumed = false;  // true when no GPU is present and the planner assumes this kind
};
GpuKind assumed_h100_80gb();   // 81,559 MiB (what an H100 80GB reports)
GpuKind assumed_h200_141gb();  // 143,771 MiB (what an H200 reports)

struct PlanOptions {
    uint64_t context_tokens = 1'000'000;  // KV cache is reserved for this many tokens per sequence
    int sequences = 1;                    // concurrent sequences (each has its own KV and lightning state)
    int64_t prefill_chunk = 8192;         // tokens per prefill step: sizes the activation workspace
    uint64_t reserve_bytes = uint64_t(2) << 30;  // CUDA context, cuBLAS workspace, NCCL buffers
};

// Bytes for the whole model as the checkpoint stores it (one sequence where it matters), independent of
// the GPU count.
struct ModelMemory {
    uint64_t weights_bf16 = 0;          // 912,210,767,872 for M1 (routers stored fp32)
    uint64_t weights_int8_experts = 0;  // ~477.6e9 for M1
    uint64_t kv_bytes_per_token = 0;    // 40,960 for M1: softmax layers x K,V x nkv x dh x bf16
    uint64_t lightning_state_bytes = 0; // 293,601,280 (280 MiB) for M1: fp32 state per sequence
    uint64_t weights(WeightPrecision p) const { return p == WeightPrecision::bf16 ? weights_bf16 : weights_int8_experts; }
};
ModelMemory model_memory(const ModelConfig& cfg);

// One GPU's share under tensor parallelism over `gpus` GPUs (the largest share when ranks differ), as the
// CUDA loader and sessions allocate it: the whole bf16 embedding on every GPU, a bf16 LM-head slice.
struct MemoryBreakdown {
    uint64_t weights = 0, kv_cache = 0, lightning_state = 0, workspace = 0, reserve = 0;
    uint64_t total() const { return weights + kv_cache + lightning_state + workspace + reserve; }
};
MemoryBreakdown per_gpu_memory(const ModelConfig& cfg, int gpus, WeightPrecision p, const PlanOptions& o);

// The prefill chunk (tokens per forward step) when none is asked for: the largest power of two from 512 to 32768
// whose per-GPU workspace takes at most half of what `free_bytes` (the tightest GPU's) leaves after weights, KV
// cache for o.context_tokens, lightning states and the reserve, so that the KV cache can still grow. Larger
// chunks give the GEMMs more rows. 512 when even that does not fit (the plan then refuses with advice).
int64_t plan_prefill_chunk(const ModelConfig& cfg, int gpus, WeightPrecision p, PlanOptions o, uint64_t free_bytes);
// The rule itself, for any planner: the largest power of two from 512 to 32768 with workspace_at(chunk) <= limit.
int64_t largest_prefill_chunk(uint64_t limit, const std::function<uint64_t(int64_t chunk)>& workspace_at);

struct PlanRow {
    int gpus = 1;
    WeightPrecision precision = WeightPrecision::bf16;
    MemoryBreakdown per_gpu;
    uint64_t gpu_bytes = 0;
    bool fits = false;                // per_gpu.total() <= gpu_bytes
    uint64_t max_context_tokens = 0;  // longest context (per sequence) that fits; 0 when nothing does
};
PlanRow plan(const ModelConfig& cfg, const GpuKind& gpu, int gpus, WeightPrecision p, const PlanOptions& o);
// Rows for 1, 2, 4, 8 GPUs at bf16 and int8-experts.
std::vector<PlanRow> plan_table(const ModelConfig& cfg, const GpuKind& gpu, const PlanOptions& o);
// A fixed-width text table of plan_table's rows, headed by the GPU kind and the context.
std::string format_plan_table(const ModelConfig& cfg, const GpuKind& gpu, const PlanOptions& o);

// Empty when it fits; otherwise what to do, e.g. "model needs 477.6 GB with int8 experts; 2 GPUs have
// 301.5 GB: use 4 or more GPUs". Loaders throw GpuError(-1, advice) before allocating anything.
std::string fit_advice(const ModelConfig& cfg, const GpuKind& gpu, int gpus, WeightPrecision p, const PlanOptions& o);

// The GPUs of this machine: how many, and the kind of GPU 0 (an assumed H200 when there is none or
// the build has no CUDA; count is then 0).
struct PresentGpus {
    int count = 0;
    GpuKind kind;
};
PresentGpus present_gpus();

// --device and --gpus together, as every command takes them: "cpu" or "" with gpus = 0 stays as given;
// --gpus N picks the first N GPUs of the --device list (or of the machine) and implies CUDA:
// ("cpu", 2) -> "cuda:0,1", ("cuda:2,3", 0) -> "cuda:2,3". Throws std::invalid_argument with the reason.
std::string resolve_device(const std::string& device, int gpus);

// "912.2 GB", "40.0 KiB": decimal GB for model-scale sizes, binary units below 1 GB.
std::string format_bytes(uint64_t bytes);

}  // namespace m1
