// Internal state of CommGroup, shared by its lifecycle/watchdog file and its collectives file.
// Locks: `rank_mu[r]` guards every NCCL call on comms[r]; `mu` guards the op table and the failure.
// An issuer never holds a rank lock while taking `mu`; abort takes `mu`, then every rank lock, after
// raising `abort_requested` so that an issuer polling a non-blocking call lets go first.
#pragma once
#include <cuda_runtime.h>
#include <nccl.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <span>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "m1/nccl_comm.h"

namespace m1 {

using CommClock = std::chrono::steady_clock;

struct DeviceGuard {  // restores the caller's current device: one thread drives several GPUs
    int prev = 0;
    DeviceGuard() { cudaGetDevice(&prev); }
    ~DeviceGuard() { cudaSetDevice(prev); }
};

// One collective: the event each rank recorded after its part (null until that rank issued it).
struct CommOp {
    std::vector<cudaEvent_t> done;
    CommClock::time_point since;  // when the first rank issued it
    std::string what;             // "all_reduce #12 (6144 bf16)"
};

struct CommGroup::Impl {
    CommOptions opts;
    int n = 0;
    std::vector<ncclComm_t> comms;
    std::vector<cudaStream_t> streams;
    std::unique_ptr<std::timed_mutex[]> rank_mu;
    std::atomic<bool> abort_requested{false};

    std::mutex mu;
    std::condition_variable cv;
    std::vector<std::vector<cudaEvent_t>> free_events;  // per-rank pools
    std::deque<CommOp> ops;         // ops[0] is collective number `retired`
    uint64_t retired = 0;
    std::vector<uint64_t> issued;   // per rank: collectives issued so far
    std::optional<CommError> failure;
    std::vector<std::function<void()>> abort_hooks;  // run first when the group aborts (under mu)
    bool aborted = false, stop = false;
    std::thread watchdog;

    ~Impl() { release(); }

    std::string rank_name(int r) const;
    CommError error(CommError::Kind k, int r, const std::string& msg) const;
    cudaEvent_t take_event_locked(int r);
    // Records the first failure and aborts every communicator. Caller holds mu.
    void fail_locked(CommError err);
    void abort_locked();
    [[noreturn]] void throw_failure_locked();
    bool check_locked();  // retires finished ops, fires on errors and timeouts; true when none is left
    CommError timeout_error(const CommOp& op, std::chrono::milliseconds age) const;
    // Polls ranks [r0, r1) after a non-blocking call until ready; returns an error instead of throwing.
    std::optional<CommError> settle(int r0, int r1, const std::string& what, CommError::Kind kind);
    // Places rank r's completion event of its next collective in the op table. Caller holds mu.
    void track_locked(int r, cudaEvent_t e, const std::string& what);
    void watch();
    void release();
};

// The constructor's first all-reduce, exempt from fault injection (it only connects the peers).
void issue_warmup(CommGroup::Impl& m, std::span<void* const> bufs, std::size_t count);

}  // namespace m1
