// Two helpers of a rank's TP link: the row-block pipeline that overlaps a prefill sub-layer's all-reduce with
// its computation, and the event timer behind M1_TP_PROFILE (how much of a forward pass the collectives take).
#pragma once
#include <cuda_runtime.h>

#include <cstddef>
#include <functional>
#include <vector>

namespace m1 {

// Cuts T rows into `pieces` blocks: compute(r0, rows) runs on `s`, then that block's reduce(out + r0 * H,
// rows * H, side) on a high-priority side stream while the next block computes; `s` waits for the last reduce.
// Streams and events are made on first use, on the current GPU (one pipeline per rank).
class RowPipeline {
public:
    using Reduce = std::function<void(float* buf, std::size_t n, cudaStream_t stream)>;
    RowPipeline() = default;
    RowPipeline(const RowPipeline&) = delete;
    RowPipeline& operator=(const RowPipeline&) = delete;
    ~RowPipeline();
    void run(int pieces, int T, int H, float* out, cudaStream_t s, const std::function<void(int, int)>& compute,
             const Reduce& reduce);

private:
    int device_ = -1;
    cudaStream_t side_ = nullptr;
    std::vector<cudaEvent_t> ready_;  // per block: its rows are computed
    cudaEvent_t done_ = nullptr;      // the last block's reduce finished
};

// CUDA events around each collective, read back once the rank's streams drained (collect()). Sizes up to one
// row (`small`) count as decode-sized, the rest as prefill-sized.
class CollectiveTimer {
public:
    struct Totals {
        long count[2] = {0, 0};  // [0] prefill-sized, [1] decode-sized
        double ms[2] = {0, 0};
    };
    CollectiveTimer() = default;
    CollectiveTimer(const CollectiveTimer&) = delete;
    CollectiveTimer& operator=(const CollectiveTimer&) = delete;
    ~CollectiveTimer();
    void begin(cudaStream_t s);
    void end(cudaStream_t s, bool small);
    void collect();  // after the streams drained: adds every finished pair to the totals
    Totals totals;

private:
    cudaEvent_t take();
    struct Pair {
        cudaEvent_t a, b;
        bool small;
    };
    int device_ = -1;
    cudaEvent_t open_ = nullptr;
    std::vector<Pair> pending_;
    std::vector<cudaEvent_t> pool_;
};

}  // namespace m1
