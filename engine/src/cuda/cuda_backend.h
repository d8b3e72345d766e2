// The CUDA backend's own API (beside the generic Backend interface): options, the memory plan, the typed
// device error, and the GPU-resident model that sessions and benchmarks share.
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <stdexcept>
#include <string>

#include "m1/backend.h"

namespace m1 {

struct CudaOptions {
    bool int8_experts = false;    // weight-only int8 experts, quantised at load (env M1_CUDA_EXPERTS=int8)
    int64_t context_tokens = 0;   // KV-cache tokens planned per session; 0 = min(max_position, 32768)
                                  // (env M1_CUDA_CONTEXT); the cache grows past it when memory allows
    int64_t max_chunk = 0;        // tokens per forward pass inside a prefill chunk (env M1_CUDA_CHUNK);
                                  // 0 = auto_prefill_chunk() when the model goes onto the GPU
    bool cuda_graphs = true;      // decode steps through a CUDA graph (env M1_CUDA_GRAPHS=0 turns off)
    bool lm_head_f32 = false;     // the checkpoint's LM head is not bf16, so it stays fp32 on the GPU (set by
                                  // the loaders from the checkpoint; M1 stores it in bf16)
    static CudaOptions from_env();
};

// A GPU failure surfaced to the caller. out_of_memory: an allocation failed (nothing leaked; the session
// was reset to empty and stays usable). context_lost: a kernel fault poisoned the CUDA context; the backend
// must be made again (make_backend) before further use.
struct DeviceError : std::runtime_error {
    DeviceError(const std::string& what, bool oom, bool lost)
        : std::runtime_error(what), out_of_memory(oom), context_lost(lost) {}
    bool out_of_memory;
    bool context_lost;
};

// What the model needs on one GPU, computed before anything is allocated.
struct MemoryPlan {
    std::size_t weights = 0;     // at the chosen expert precision (+ bf16 LM head, fp32 routers)
    std::size_t kv_cache = 0;    // softmax layers' bf16 K and V for context_tokens
    std::size_t states = 0;      // lightning fp32 states
    std::size_t workspace = 0;   // activations for max_chunk tokens, MoE scratch, cuBLAS
    std::size_t total() const { return weights + kv_cache + states + workspace; }
    std::string describe() const;  // "weights 91.2 GB + KV 1.3 GB + ... = 95.0 GB"
};
MemoryPlan plan_memory(const ModelConfig& cfg, const CudaOptions& opts);

// The prefill chunk for max_chunk = 0: the largest power of two from 512 to 32768 tokens whose workspace takes at
// most half of what `free_bytes` leaves after weights, KV cache, states and a margin, so that the KV cache can
// still grow. Larger chunks feed the expert GEMMs more rows each (128K-token slice prefill on an H100: 78K tok/s
// at 8192, 82K at 16384, 85K at 32768). Never below 512: a model that fits only with less is refused by the plan.
int64_t auto_prefill_chunk(const ModelConfig& cfg, const CudaOptions& opts, std::size_t free_bytes);

// Throws DeviceError (out_of_memory) with advice when the plan does not fit `free_bytes`.
void check_plan_fits(const ModelConfig& cfg, const CudaOptions& opts, std::size_t free_bytes, int device);

std::unique_ptr<Backend> make_cuda_backend(std::shared_ptr<const Model> model, int device, const CudaOptions& opts,
                                           const LoadOptions& load = {});

// Weights on one GPU. Made from a loaded Model (upload) or filled with random values on the GPU (benchmarks).
struct CudaModel;
// load: progress per layer (bytes/s, ETA) and cancel between layers (LoadCancelled, memory released).
std::shared_ptr<CudaModel> upload_model(const Model& model, int device, const CudaOptions& opts,
                                        const LoadOptions& load = {});
std::shared_ptr<CudaModel> random_cuda_model(const ModelConfig& cfg, int device, const CudaOptions& opts,
                                             uint64_t seed);
std::unique_ptr<Session> new_cuda_session(std::shared_ptr<CudaModel> model);

// One layer's intermediates, for checking the GPU against a reference layer by layer (tests, diagnosis).
struct CudaLayerTrace {
    int layer;
    int64_t position;                       // of the first token of the chunk
    int tokens;                             // T
    std::span<const float> residual;        // [T, H] after the layer: the next layer's normalised input
                                            // (after the last layer: the final norm's output)
    std::span<const float> router_logits;   // [T, E] fp32
    std::span<const int32_t> experts;       // [T, top_k] chosen experts
};
using CudaTraceFn = std::function<void(const CudaLayerTrace&)>;
// Calls fn after every layer of every later forward (the stream syncs per layer; decode graphs are bypassed).
// An empty fn stops tracing. Throws std::invalid_argument when s is not a single-GPU CUDA session.
void set_cuda_trace(Session& s, CudaTraceFn fn);

// Where a single-GPU CUDA session's decode steps (through the CUDA graph) spent their time, summed since the
// session was made (benchmarks, diagnosis). Throws std::invalid_argument for other sessions.
struct CudaDecodeStats {
    int64_t steps = 0;        // decode steps through the graph
    int64_t prepared = 0;     // of which ran a graph captured while the previous step was on the GPU
    double capture_ms = 0;    // host, before the launch: capturing the step when it was not prepared
    double overlap_ms = 0;    // host, after the launch while the GPU runs: capturing the next step
    double gpu_ms = 0;        // the step's graph on the GPU (events around the launch)
    double wall_ms = 0;       // the whole step, host copy of the logits included
};
CudaDecodeStats cuda_decode_stats(const Session& s);
// Whether the next position's decode graph is captured while the GPU runs the current step (default on).
void set_cuda_decode_prepare(Session& s, bool on);

}  // namespace m1
