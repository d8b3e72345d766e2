// The GPU-to-GPU collectives of captured multi-GPU decode steps (kernels/tp_peer.cuh): per rank an inbox, flags
// and epoch counters on its GPU, peer access between every pair of GPUs, and the host-mapped fault words. NCCL
// collectives cannot sit in our decode graphs: a communicator cannot be aborted while a graph holds it, so a
// stalled peer would hang the watchdog; these kernels give up on their own (timeout or the abort word).
#pragma once
#include <cuda_runtime.h>

#include <chrono>
#include <cstddef>
#include <memory>
#include <vector>

#include "kernels/tp_peer.cuh"

namespace m1 {

class PeerExchange {
public:
    // Null when some GPU cannot write another's memory, or for more than kPeerMaxRanks GPUs: then decode steps
    // are not captured. `max_floats`: the largest collective (per rank). Throws GpuError when memory runs out.
    static std::shared_ptr<PeerExchange> create(const std::vector<int>& devices, std::size_t max_floats,
                                                std::chrono::milliseconds timeout);
    ~PeerExchange();
    PeerExchange(const PeerExchange&) = delete;
    PeerExchange& operator=(const PeerExchange&) = delete;

    std::size_t capacity() const { return std::size_t(links_[0].segments) * kern::kPeerSegment; }
    // In stream order on rank's GPU; every rank must make the same calls in the same order.
    void all_reduce(int rank, float* buf, std::size_t n, cudaStream_t stream) const;
    void all_gather(int rank, const float* in, float* out, std::size_t n, cudaStream_t stream) const;

    void abort();                // waiting and later kernels give up (idempotent; never blocks)
    void set_stall(int rank);    // fault injection: that rank's kernels never join (-1: none)
    int blamed() const;          // the rank a kernel timed out waiting for, or -1
    bool aborted() const;

private:
    PeerExchange() = default;
    std::vector<int> devices_;
    std::vector<void*> mem_;               // per rank, on its GPU: inbox | flags | epochs
    kern::PeerFault* fault_ = nullptr;     // pinned, mapped into every GPU
    std::vector<kern::PeerLinks> links_;   // per rank
};

}  // namespace m1
