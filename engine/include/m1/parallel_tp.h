// The seam between the single-GPU CUDA forward pass and tensor parallelism: a rank's CUDA model holds
// its slices (parallel_shard.h) and, when it is one rank of several, a TpLink that the forward pass calls
// at the few places where ranks combine. A null link means one GPU and changes nothing.
#pragma once
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "m1/config.h"
#include "m1/parallel_shard.h"
#include "m1/session.h"

struct CUstream_st;
namespace m1::kern {
class Blas;
}

namespace m1 {

class TpLink {
public:
    virtual ~TpLink() = default;
    virtual int rank() const = 0;
    virtual int ranks() const = 0;
    // Sums a partial [n] fp32 buffer (attention output, MoE output) over the ranks, in place, in stream order.
    virtual void all_reduce(float* buf, std::size_t n, CUstream_st* stream) = 0;
    // The lightning output norm and gate on this rank's D of the model's nh*dh features: the per-token
    // sums of squares are all-reduced first. o, w, out are bf16; g is fp32 [T, ldg].
    virtual void rmsnorm_gate(const void* o, const float* g, int ldg, const void* w, float eps, int T, int D,
                              void* out, CUstream_st* stream) = 0;
    // Logits of `rows` positions: x [rows, H] fp32 times this rank's LM-head rows, gathered from every
    // rank into out [rows, V] fp32 (device), in stream order.
    virtual void lm_head(kern::Blas& blas, const float* x, int rows, float* out, CUstream_st* stream) = 0;
    // compute(r0, rows) writes rows [r0, r0 + rows) of this rank's partial out [T, H] fp32 in stream order; out is
    // then summed over the ranks. The link may cut the rows into blocks so that one block's all-reduce runs while
    // the next block computes (`site` says which sub-layer, each with its own setting).
    enum class Site { attention_out, moe };
    virtual void compute_reduce(Site site, int T, int H, float* out, CUstream_st* stream,
                                const std::function<void(int r0, int rows)>& compute) {
        (void)site;
        compute(0, T);
        all_reduce(out, std::size_t(T) * std::size_t(H), stream);
    }
};

// For benchmarks and tests (built with NCCL): random weights made on devices[0], and the same weights
// split over all of `devices`, so that one-GPU and N-GPU runs compare exactly. Throws GpuError/CommError.
class TpTwin {
public:
    struct Options {
        bool int8_experts = false;
        int64_t max_chunk = 4096;      // tokens per forward step inside a prefill
        int64_t context_tokens = 0;    // KV-cache plan per session (0: the backend's default)
        std::chrono::milliseconds timeout{120'000};
        MoeSplit moe = MoeSplit::tensor;  // expert: whole experts per GPU (the shapes must divide E)
    };
    static std::unique_ptr<TpTwin> random(const ModelConfig& cfg, const std::vector<int>& devices, const Options& o,
                                          uint64_t seed);
    virtual ~TpTwin() = default;
    virtual std::unique_ptr<Session> single_session() = 0;    // the full model on devices[0]
    virtual std::unique_ptr<Session> parallel_session() = 0;  // tensor parallel over every device
    virtual void drop_single() = 0;                           // frees the full model (keeps the shards)
    virtual void set_single_graphs(bool on) = 0;              // CUDA graphs for the one-GPU decode (default on)
};

}  // namespace m1
