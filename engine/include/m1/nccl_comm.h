// One NCCL communicator per GPU, created inside this process, with a watchdog that never lets a
// collective hang: a timeout or an NCCL error aborts every communicator (ncclCommAbort) and the
// caller gets a CommError. Built only with NCCL (M1_HAVE_NCCL); the header itself needs no CUDA.
#pragma once
#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "m1/parallel.h"

struct CUstream_st;  // cudaStream_t without <cuda_runtime.h>

namespace m1 {

using GpuStream = CUstream_st*;

enum class CommType { f32, bf16, f16, i32 };
std::size_t comm_type_size(CommType t);

struct CommOptions {
    std::vector<int> devices;                         // CUDA ordinals; rank r drives devices[r]
    std::chrono::milliseconds timeout{120'000};       // a collective (or init) unfinished by then aborts all
    std::chrono::microseconds poll{200};              // watchdog polling period
    // Non-blocking communicators (this struct's default) never block a host call; blocking ones cost ~24 us
    // per small all-reduce instead of ~72 us, and the watchdog's ncclCommAbort still releases a host call
    // stuck in them (the TP engine uses blocking ones). Env M1_NCCL_BLOCKING=1 or 0 overrides either way.
    bool blocking = false;
};

class CommGroup {
public:
    // Creates the communicators (non-blocking, in one NCCL group) and one stream per rank, then
    // runs a small warm-up all-reduce so that connections exist before real work. Sets
    // NCCL_NVLS_ENABLE=0 when the user has not set it. Throws CommError (kind init or timeout).
    explicit CommGroup(const CommOptions& opts);
    ~CommGroup();  // finalizes and destroys when healthy, aborts otherwise; frees streams and events
    CommGroup(const CommGroup&) = delete;
    CommGroup& operator=(const CommGroup&) = delete;

    int size() const;
    int device(int rank) const;
    GpuStream stream(int rank) const;  // the group's own stream on that rank's GPU

    // Collectives over one device buffer per rank, issued together from this thread. `streams`
    // empty: the group's streams. They return once enqueued; call wait() (or keep enqueueing work
    // on the same streams) to use the result. Throw CommError when the group is broken.
    void all_reduce_sum(std::span<void* const> bufs, std::size_t count, CommType type,
                        std::span<const GpuStream> streams = {});
    // recv[r] gets count*size() elements: rank k's `count` elements at offset k*count.
    void all_gather(std::span<const void* const> send, std::span<void* const> recv, std::size_t count,
                    CommType type, std::span<const GpuStream> streams = {});

    // One rank's part of a collective, for engines that drive each GPU from its own thread: every rank
    // calls it (in the same order of collectives) from its thread; it returns once enqueued on `stream`.
    void all_reduce_sum_rank(int rank, void* buf, std::size_t count, CommType type, GpuStream stream);
    void all_gather_rank(int rank, const void* send, void* recv, std::size_t count, CommType type, GpuStream stream);

    // Blocks until every rank's stream has finished what was issued on it through this group.
    // Throws CommError when the watchdog fired or fires meanwhile.
    void wait();

    bool healthy() const;
    // Aborts all communicators now (idempotent); later calls throw CommError{aborted}.
    void abort(const std::string& why);
    // Records `err` as the group's failure (unless one is recorded) and aborts: for faults found outside NCCL
    // (a GPU-to-GPU kernel that timed out waiting for a peer). Later calls throw it.
    void fail(const CommError& err);
    // Called with the group's lock held when it aborts, before the communicators go: work that waits on peers
    // outside NCCL must be told to stop there (a flag store, nothing that blocks or calls back into the group).
    void on_abort(std::function<void()> fn);

    struct Impl;

private:
    std::unique_ptr<Impl> impl_;
};

// NCCL version linked at run time ("2.28.9"), empty without NCCL.
std::string nccl_version();

}  // namespace m1
