// RowPipeline and CollectiveTimer (tp_pipeline.h).
#include "nccl/tp_pipeline.h"

#include <algorithm>
#include <cstdint>

#include "kernels/cuda_check.cuh"

namespace m1 {

namespace {
struct OnDevice {  // makes `d` current for a scope, then restores the caller's
    int prev = 0;
    explicit OnDevice(int d) {
        cudaGetDevice(&prev);
        cudaSetDevice(d);
    }
    ~OnDevice() { cudaSetDevice(prev); }
};
}  // namespace

RowPipeline::~RowPipeline() {
    if (device_ < 0) return;
    OnDevice on(device_);
    if (side_) cudaStreamSynchronize(side_);
    for (auto e : ready_) cudaEventDestroy(e);
    if (done_) cudaEventDestroy(done_);
    if (side_) cudaStreamDestroy(side_);
}

void RowPipeline::run(int pieces, int T, int H, float* out, cudaStream_t s, const std::function<void(int, int)>& compute,
                      const Reduce& reduce) {
    if (!side_) {
        M1_CUDA_CHECK(cudaGetDevice(&device_));
        int least = 0, greatest = 0;
        M1_CUDA_CHECK(cudaDeviceGetStreamPriorityRange(&least, &greatest));
        // High priority: the collective's blocks take SMs as the GEMM's blocks retire instead of queueing behind them.
        M1_CUDA_CHECK(cudaStreamCreateWithPriority(&side_, cudaStreamNonBlocking, greatest));
        M1_CUDA_CHECK(cudaEventCreateWithFlags(&done_, cudaEventDisableTiming));
    }
    while (int(ready_.size()) < pieces) {
        cudaEvent_t e = nullptr;
        M1_CUDA_CHECK(cudaEventCreateWithFlags(&e, cudaEventDisableTiming));
        ready_.push_back(e);
    }
    int r0 = 0;
    for (int i = 0; i < pieces && r0 < T; ++i) {
        // Block ends on multiples of 64 rows (whole GEMM tiles); the last block takes the rest.
        const int r1 = i + 1 == pieces ? T : std::min(T, int((int64_t(T) * (i + 1) / pieces + 63) / 64 * 64));
        if (r1 <= r0) continue;
        compute(r0, r1 - r0);
        M1_CUDA_CHECK(cudaEventRecord(ready_[std::size_t(i)], s));
        M1_CUDA_CHECK(cudaStreamWaitEvent(side_, ready_[std::size_t(i)], 0));
        reduce(out + std::size_t(r0) * std::size_t(H), std::size_t(r1 - r0) * std::size_t(H), side_);
        r0 = r1;
    }
    M1_CUDA_CHECK(cudaEventRecord(done_, side_));
    M1_CUDA_CHECK(cudaStreamWaitEvent(s, done_, 0));
}

CollectiveTimer::~CollectiveTimer() {
    if (device_ < 0) return;
    OnDevice on(device_);
    for (auto& p : pending_) pool_.insert(pool_.end(), {p.a, p.b});
    if (open_) pool_.push_back(open_);
    for (auto e : pool_) cudaEventDestroy(e);
}

cudaEvent_t CollectiveTimer::take() {
    if (device_ < 0) M1_CUDA_CHECK(cudaGetDevice(&device_));
    if (!pool_.empty()) {
        cudaEvent_t e = pool_.back();
        pool_.pop_back();
        return e;
    }
    cudaEvent_t e = nullptr;
    M1_CUDA_CHECK(cudaEventCreate(&e));
    return e;
}

void CollectiveTimer::begin(cudaStream_t s) {
    if (!open_) open_ = take();
    M1_CUDA_CHECK(cudaEventRecord(open_, s));
}

void CollectiveTimer::end(cudaStream_t s, bool small) {
    cudaEvent_t b = take();
    M1_CUDA_CHECK(cudaEventRecord(b, s));
    pending_.push_back({open_, b, small});
    open_ = nullptr;
}

void CollectiveTimer::collect() {
    for (auto& p : pending_) {
        float ms = 0;
        if (cudaEventElapsedTime(&ms, p.a, p.b) == cudaSuccess) {
            totals.count[p.small ? 1 : 0] += 1;
            totals.ms[p.small ? 1 : 0] += ms;
        } else {
            cudaGetLastError();  // not finished (an aborted step): not counted
        }
        pool_.insert(pool_.end(), {p.a, p.b});
    }
    pending_.clear();
}

}  // namespace m1
