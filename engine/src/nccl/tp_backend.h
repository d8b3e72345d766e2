// Internal: the multi-GPU (tensor-parallel) CUDA backend. One process, one NCCL communicator and one
// CUDA model per GPU holding its slices; each GPU runs the single-GPU forward pass on its own thread,
// joined through TpLink at the all-reduces and the LM-head gather.
#pragma once
#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "cuda/cuda_model.h"
#include "m1/nccl_comm.h"
#include "m1/parallel_shard.h"
#include "tp_state.h"

namespace m1 {

// Loading progress: (fraction 0..1, "rank slices: 12.1 of 48.0 GB, 9.8 GB/s, ETA 4 s").
using TpProgress = std::function<void(double, const std::string&)>;

struct TpOptions {
    CudaOptions cuda;                                  // per-rank options (decode graphs: per session, M1_TP_GRAPHS)
    std::chrono::milliseconds timeout{120'000};        // NCCL watchdog (env M1_NCCL_TIMEOUT_MS)
    TpProgress progress;                               // may be empty
    const std::atomic<bool>* cancel = nullptr;         // checked by every rank between tensors while loading
    // Whole experts per GPU (expert) or a slice of every expert (tensor); env M1_TP_MOE=ep|tp. Expert is the
    // default: on 2 x H200 it prefilled 8K tokens ~1.45x faster, decode equal (docs/benchmarks/multi-gpu.md).
    // Unless asked for explicitly, it falls back to tensor when the experts do not split evenly.
    MoeSplit moe = MoeSplit::expert;
    bool moe_explicit = false;
    static TpOptions from_env();
};

// Rank `tp.rank`'s model on `device`, read slice by slice from the checkpoint's memory-mapped shards.
// `done` counts the bytes copied so far (shared by the ranks loading in parallel). Throws GpuError, or
// LoadCancelled once `cancel` is set (the rank's GPU memory is freed).
std::shared_ptr<CudaModel> load_rank_model(const Model& model, int device, const CudaOptions& opts, const TpShape& tp,
                                           std::atomic<uint64_t>& done, const std::atomic<bool>* cancel = nullptr);
// Bytes rank tp.rank reads from the checkpoint (for progress totals).
uint64_t rank_load_bytes(const Model& model, const TpShape& tp);
// Rank `tp.rank`'s model on `device`, copied slice by slice from a full model on any GPU (benchmarks and
// tests: the TP=1 and TP=N runs then share their weights exactly). Throws GpuError.
std::shared_ptr<CudaModel> shard_cuda_model(const CudaModel& full, int device, const TpShape& tp);

// The communicators and the rank models they join (rank r's model on its own GPU). Sessions made
// from it drive every GPU from its own thread. Used by the backend and by benchmarks and tests that
// shard a random full model.
class TpEngine;
std::shared_ptr<TpEngine> make_tp_engine(const ModelConfig& global, std::vector<std::shared_ptr<CudaModel>> ranks,
                                         std::chrono::milliseconds timeout, MoeSplit moe = MoeSplit::tensor);
// M1_TP_MOE: "ep" (or "expert") -> expert parallel, "tp" (or "tensor") -> sliced experts; unset -> `fallback`.
// Throws std::invalid_argument on any other value.
MoeSplit tp_moe_from_env(MoeSplit fallback);
std::unique_ptr<Session> new_tp_session(std::shared_ptr<TpEngine> engine);
CommGroup& tp_comm(TpEngine& engine);

// Plans, checks memory, creates the communicators and loads every rank's slices in parallel.
std::unique_ptr<Backend> make_tp_backend(std::shared_ptr<const Model> model, const std::vector<int>& devices,
                                         const TpOptions& opts);

}  // namespace m1
