// CommGroup: non-blocking NCCL communicators for the GPUs of this process and the watchdog thread
// that aborts them when a collective outlives its deadline or NCCL reports an asynchronous error.
// Every issued collective records one event per rank; the watchdog (and wait()) poll those events.
#include <cuda_runtime.h>
#include <nccl.h>

#include <algorithm>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <mutex>
#include <optional>
#include <thread>

#include "m1/nccl_comm.h"
#include "m1/parallel_buffer.h"

namespace m1 {

namespace {

using Clock = std::chrono::steady_clock;

struct DeviceGuard {
    int prev = 0;
    DeviceGuard() { cudaGetDevice(&prev); }
    ~DeviceGuard() { cudaSetDevice(prev); }
};

ncclDataType_t to_nccl(CommType t) {
    switch (t) {
        case CommType::f32: return ncclFloat32;
        case CommType::bf16: return ncclBfloat16;
        case CommType::f16: return ncclFloat16;
        case CommType::i32: return ncclInt32;
    }
    return ncclFloat32;
}

const char* type_name(CommType t) {
    switch (t) {
        case CommType::f32: return "f32";
        case CommType::bf16: return "bf16";
        case CommType::f16: return "f16";
        case CommType::i32: return "i32";
    }
    return "?";
}

// One issued collective: an event per rank recorded right after it on that rank's stream.
struct Op {
    std::vector<cudaEvent_t> done;
    Clock::time_point since;
    std::string what;  // "all_reduce #12 (6144 bf16)"
};

}  // namespace

std::size_t comm_type_size(CommType t) { return t == CommType::bf16 || t == CommType::f16 ? 2 : 4; }

std::string nccl_version() {
    int v = 0;
    if (ncclGetVersion(&v) != ncclSuccess) return {};
    int major = v / 10000, minor = (v % 10000) / 100, patch = v % 100;
    if (v < 10000) major = v / 1000, minor = (v % 1000) / 100, patch = v % 100;  // pre-2.9 encoding
    return std::to_string(major) + "." + std::to_string(minor) + "." + std::to_string(patch);
}

struct CommGroup::Impl {
    CommOptions opts;
    int n = 0;
    std::vector<ncclComm_t> comms;
    std::vector<cudaStream_t> streams;
    std::vector<std::vector<cudaEvent_t>> free_events;  // per rank pool

    std::mutex mu;  // guards everything below and every NCCL call on `comms`
    std::condition_variable cv;
    std::deque<Op> ops;
    std::optional<CommError> failure;
    bool aborted = false, stop = false;
    uint64_t seq = 0;
    std::thread watchdog;

    ~Impl() { release(); }

    cudaEvent_t take_event(int r) {
        if (!free_events[r].empty()) {
            cudaEvent_t e = free_events[r].back();
            free_events[r].pop_back();
            return e;
        }
        cudaEvent_t e = nullptr;
        check_rc(cudaEventCreateWithFlags(&e, cudaEventDisableTiming), r, "creating an event");
        return e;
    }

    void check_rc(cudaError_t rc, int r, const char* what) {
        if (rc == cudaSuccess) return;
        throw CommError(CommError::Kind::nccl, r, opts.devices[r],
                        std::string(what) + " on GPU " + std::to_string(opts.devices[r]) + ": " + cudaGetErrorString(rc));
    }

    std::string rank_name(int r) const { return "rank " + std::to_string(r) + " (GPU " + std::to_string(opts.devices[r]) + ")"; }

    // Records a failure (the first one wins) and aborts every communicator. Caller holds mu.
    void fail_locked(CommError err) {
        if (!failure) failure = std::move(err);
        abort_locked();
        cv.notify_all();
    }

    // ncclCommAbort on every rank at once (a rank's abort may wait for its peers' kernels to stop),
    // then waits a bounded time for the streams to drain so memory can be freed safely.
    void abort_locked() {
        if (aborted) return;
        aborted = true;
        std::vector<std::thread> th;
        for (int r = 0; r < n; ++r) {
            if (!comms[r]) continue;
            th.emplace_back([this, r] {
                cudaSetDevice(opts.devices[r]);
                ncclCommAbort(comms[r]);
            });
        }
        for (auto& t : th) t.join();
        for (auto& c : comms) c = nullptr;
        auto deadline = Clock::now() + std::chrono::seconds(10);
        for (auto& op : ops) {
            for (int r = 0; r < n; ++r) {
                while (cudaEventQuery(op.done[r]) == cudaErrorNotReady && Clock::now() < deadline)
                    std::this_thread::sleep_for(std::chrono::microseconds(200));
                free_events[r].push_back(op.done[r]);
            }
        }
        ops.clear();
        cudaGetLastError();
    }

    [[noreturn]] void throw_failure_locked() {
        if (failure) throw *failure;
        throw CommError(CommError::Kind::aborted, -1, -1, "the GPU communicators were aborted");
    }

    // Retires finished ops; fails the group on an NCCL async error, a CUDA error or a timeout.
    // Caller holds mu. Returns true when nothing is outstanding.
    bool check_locked() {
        if (aborted) return ops.empty();
        for (int r = 0; r < n; ++r) {
            ncclResult_t async = ncclSuccess;
            ncclResult_t rc = ncclCommGetAsyncError(comms[r], &async);
            if (rc != ncclSuccess || (async != ncclSuccess && async != ncclInProgress)) {
                ncclResult_t bad = rc != ncclSuccess ? rc : async;
                fail_locked(CommError(CommError::Kind::nccl, r, opts.devices[r],
                                      "NCCL error on " + rank_name(r) + ": " + ncclGetErrorString(bad) + " (" +
                                          ncclGetLastError(comms[r]) + ")"));
                return ops.empty();
            }
        }
        while (!ops.empty()) {
            Op& op = ops.front();
            std::vector<int> waiting, finished;
            for (int r = 0; r < n; ++r) {
                cudaError_t q = cudaEventQuery(op.done[r]);
                if (q == cudaErrorNotReady) {
                    waiting.push_back(r);
                } else if (q == cudaSuccess) {
                    finished.push_back(r);
                } else {
                    fail_locked(CommError(CommError::Kind::nccl, r, opts.devices[r],
                                          op.what + ": CUDA error on " + rank_name(r) + ": " + cudaGetErrorString(q)));
                    return ops.empty();
                }
            }
            if (waiting.empty()) {
                for (int r = 0; r < n; ++r) free_events[r].push_back(op.done[r]);
                ops.pop_front();
                continue;
            }
            auto age = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - op.since);
            if (age >= opts.timeout) fail_locked(timeout_error(op, waiting, finished, age));
            return ops.empty();
        }
        return true;
    }

    CommError timeout_error(const Op& op, const std::vector<int>& waiting, const std::vector<int>& finished,
                            std::chrono::milliseconds age) const {
        std::string msg = op.what + " timed out after " + std::to_string(age.count()) + " ms (watchdog " +
                          std::to_string(opts.timeout.count()) + " ms):";
        for (int r : waiting) msg.append(" ").append(rank_name(r)).append(" still waiting;");
        // A rank whose part finished while its peers wait never joined (or left early): blame it.
        int blamed = finished.empty() ? -1 : finished.front();
        for (int r : finished) msg.append(" ").append(rank_name(r)).append(" never joined or finished alone;");
        msg += " all communicators aborted";
        return CommError(CommError::Kind::timeout, blamed, blamed >= 0 ? opts.devices[blamed] : -1, msg);
    }

    // After a non-blocking NCCL call returned ncclInProgress: poll every rank until it is ready.
    void settle_locked(const std::string& what, Clock::time_point deadline, CommError::Kind kind) {
        for (;;) {
            bool ready = true;
            for (int r = 0; r < n; ++r) {
                ncclResult_t async = ncclSuccess;
                ncclCommGetAsyncError(comms[r], &async);
                if (async == ncclInProgress) {
                    ready = false;
                } else if (async != ncclSuccess) {
                    fail_locked(CommError(kind, r, opts.devices[r],
                                          what + " failed on " + rank_name(r) + ": " + ncclGetErrorString(async) +
                                              " (" + ncclGetLastError(comms[r]) + ")"));
                    throw_failure_locked();
                }
            }
            if (ready) return;
            if (Clock::now() >= deadline) {
                fail_locked(CommError(CommError::Kind::timeout, -1, -1,
                                      what + " did not complete within " + std::to_string(opts.timeout.count()) +
                                          " ms; all communicators aborted"));
                throw_failure_locked();
            }
            std::this_thread::sleep_for(opts.poll);
        }
    }

    void group_end_locked(const std::string& what, CommError::Kind kind) {
        ncclResult_t rc = ncclGroupEnd();
        if (rc == ncclInProgress) {
            settle_locked(what, Clock::now() + opts.timeout, kind);
        } else if (rc != ncclSuccess) {
            fail_locked(CommError(kind, -1, -1, what + " failed: " + ncclGetErrorString(rc) + " (" +
                                                    ncclGetLastError(nullptr) + ")"));
            throw_failure_locked();
        }
    }

    void watch() {
        std::unique_lock lock(mu);
        while (!stop) {
            cv.wait_for(lock, ops.empty() ? std::chrono::microseconds(20'000) : opts.poll);
            if (!stop && !aborted && !ops.empty()) check_locked();
        }
    }

    // Waits for outstanding work, finalizes and destroys when healthy, aborts otherwise.
    void release() {
        {
            std::unique_lock lock(mu);
            if (!aborted && !comms.empty() && comms[0]) {
                try {
                    while (!check_locked()) {
                        lock.unlock();
                        std::this_thread::sleep_for(opts.poll);
                        lock.lock();
                    }
                    if (!aborted) {
                        for (int r = 0; r < n; ++r) ncclCommFinalize(comms[r]);
                        settle_locked("finalizing the communicators", Clock::now() + opts.timeout,
                                      CommError::Kind::nccl);
                        for (int r = 0; r < n; ++r) ncclCommDestroy(comms[r]);
                        for (auto& c : comms) c = nullptr;
                    }
                } catch (const CommError&) {
                    // settle_locked already aborted; nothing more to do in a destructor
                }
            }
            if (!comms.empty() && std::any_of(comms.begin(), comms.end(), [](ncclComm_t c) { return c != nullptr; }))
                abort_locked();
            stop = true;
            cv.notify_all();
        }
        if (watchdog.joinable()) watchdog.join();
        DeviceGuard g;
        for (int r = 0; r < static_cast<int>(streams.size()); ++r) {
            cudaSetDevice(opts.devices[r]);
            for (auto e : free_events[r]) cudaEventDestroy(e);
            free_events[r].clear();
            if (streams[r]) cudaStreamDestroy(streams[r]);
        }
        streams.clear();
        comms.clear();
    }

    std::vector<cudaStream_t> pick_streams(std::span<const GpuStream> given) const {
        if (given.empty()) return streams;
        if (static_cast<int>(given.size()) != n)
            throw std::invalid_argument("collective: " + std::to_string(given.size()) + " streams for " +
                                        std::to_string(n) + " ranks");
        return std::vector<cudaStream_t>(given.begin(), given.end());
    }

    // Records the completion events of a just-issued collective and hands it to the watchdog.
    void track_locked(std::string what, const std::vector<cudaStream_t>& s) {
        Op op;
        op.what = std::move(what);
        op.since = Clock::now();
        for (int r = 0; r < n; ++r) {
            cudaSetDevice(opts.devices[r]);
            cudaEvent_t e = take_event(r);
            check_rc(cudaEventRecord(e, s[r]), r, "recording an event");
            op.done.push_back(e);
        }
        ops.push_back(std::move(op));
        cv.notify_all();
    }
};

CommGroup::CommGroup(const CommOptions& opts) : impl_(std::make_unique<Impl>()) {
    Impl& m = *impl_;
    m.opts = opts;
    m.n = static_cast<int>(opts.devices.size());
    if (m.n < 1) throw CommError(CommError::Kind::init, -1, -1, "no GPUs given to the communicator group");
    // NVLink multicast (NVLS) can take shared hosts' GPUs out of service: off unless the user says otherwise.
    setenv("NCCL_NVLS_ENABLE", "0", /*overwrite=*/0);
    int count = 0;
    if (cudaGetDeviceCount(&count) != cudaSuccess) count = 0;
    for (int r = 0; r < m.n; ++r) {
        int d = opts.devices[r];
        if (d < 0 || d >= count)
            throw CommError(CommError::Kind::init, r, d,
                            "GPU " + std::to_string(d) + " does not exist (" + std::to_string(count) + " present)");
        for (int q = 0; q < r; ++q)
            if (opts.devices[q] == d)
                throw CommError(CommError::Kind::init, r, d, "GPU " + std::to_string(d) + " is listed twice");
    }
    DeviceGuard g;
    m.streams.assign(m.n, nullptr);
    m.free_events.resize(m.n);
    m.comms.assign(m.n, nullptr);
    for (int r = 0; r < m.n; ++r) {
        m.check_rc(cudaSetDevice(opts.devices[r]), r, "selecting the GPU");
        m.check_rc(cudaStreamCreateWithFlags(&m.streams[r], cudaStreamNonBlocking), r, "creating a stream");
    }
    ncclUniqueId id;
    if (ncclResult_t rc = ncclGetUniqueId(&id); rc != ncclSuccess)
        throw CommError(CommError::Kind::init, -1, -1, std::string("ncclGetUniqueId: ") + ncclGetErrorString(rc));
    std::unique_lock lock(m.mu);
    ncclConfig_t cfg = NCCL_CONFIG_INITIALIZER;
    cfg.blocking = 0;  // every call returns at once; the watchdog can then always abort
    ncclGroupStart();
    for (int r = 0; r < m.n; ++r) {
        cudaSetDevice(opts.devices[r]);
        ncclResult_t rc = ncclCommInitRankConfig(&m.comms[r], m.n, id, r, &cfg);
        if (rc != ncclSuccess && rc != ncclInProgress) {
            ncclGroupEnd();
            m.fail_locked(CommError(CommError::Kind::init, r, opts.devices[r],
                                    std::string("ncclCommInitRankConfig: ") + ncclGetErrorString(rc)));
            m.throw_failure_locked();
        }
    }
    m.group_end_locked("creating " + std::to_string(m.n) + " NCCL communicators", CommError::Kind::init);
    m.watchdog = std::thread([&m] { m.watch(); });
    lock.unlock();
    // Warm-up: NCCL connects peers lazily on the first collective; do it now, with every rank.
    std::vector<DeviceBuffer> bufs;
    std::vector<void*> ptrs;
    for (int r = 0; r < m.n; ++r) {
        bufs.emplace_back(opts.devices[r], 256, "the NCCL warm-up");
        ptrs.push_back(bufs.back().data());
        cudaSetDevice(opts.devices[r]);
        m.check_rc(cudaMemsetAsync(ptrs.back(), 0, 256, m.streams[r]), r, "clearing the warm-up buffer");
    }
    issue_all_reduce(ptrs, 64, CommType::f32, {}, /*warmup=*/true);
    wait();
}

CommGroup::~CommGroup() = default;

int CommGroup::size() const { return impl_->n; }
int CommGroup::device(int rank) const { return impl_->opts.devices.at(rank); }
GpuStream CommGroup::stream(int rank) const { return impl_->streams.at(rank); }

bool CommGroup::healthy() const {
    std::lock_guard lock(impl_->mu);
    return !impl_->aborted;
}

void CommGroup::abort(const std::string& why) {
    std::lock_guard lock(impl_->mu);
    if (impl_->aborted) return;
    impl_->fail_locked(CommError(CommError::Kind::aborted, -1, -1, "aborted: " + why));
}

void CommGroup::all_reduce_sum(std::span<void* const> bufs, std::size_t count, CommType type,
                               std::span<const GpuStream> streams) {
    issue_all_reduce(bufs, count, type, streams, false);
}

void CommGroup::issue_all_reduce(std::span<void* const> bufs, std::size_t count, CommType type,
                                 std::span<const GpuStream> streams, bool warmup) {
    Impl& m = *impl_;
    if (static_cast<int>(bufs.size()) != m.n)
        throw std::invalid_argument("all_reduce_sum: " + std::to_string(bufs.size()) + " buffers for " +
                                    std::to_string(m.n) + " ranks");
    auto s = m.pick_streams(streams);
    std::unique_lock lock(m.mu);
    if (m.aborted) m.throw_failure_locked();
    std::string what = "all_reduce #" + std::to_string(++m.seq) + " (" + std::to_string(count) + " " +
                       type_name(type) + ")";
    int stall = warmup ? -1 : faults().stall_rank;
    DeviceGuard g;
    ncclGroupStart();
    for (int r = 0; r < m.n; ++r) {
        if (r == stall) continue;  // injected fault: this rank never joins
        ncclResult_t rc = ncclAllReduce(bufs[r], bufs[r], count, to_nccl(type), ncclSum, m.comms[r], s[r]);
        if (rc != ncclSuccess && rc != ncclInProgress) {
            ncclGroupEnd();
            m.fail_locked(CommError(CommError::Kind::nccl, r, m.opts.devices[r],
                                    what + " on " + m.rank_name(r) + ": " + ncclGetErrorString(rc)));
            m.throw_failure_locked();
        }
    }
    m.group_end_locked(what, CommError::Kind::nccl);
    m.track_locked(std::move(what), s);
}

void CommGroup::all_gather(std::span<const void* const> send, std::span<void* const> recv, std::size_t count,
                           CommType type, std::span<const GpuStream> streams) {
    Impl& m = *impl_;
    if (static_cast<int>(send.size()) != m.n || static_cast<int>(recv.size()) != m.n)
        throw std::invalid_argument("all_gather: buffer count differs from the number of ranks");
    auto s = m.pick_streams(streams);
    std::unique_lock lock(m.mu);
    if (m.aborted) m.throw_failure_locked();
    std::string what = "all_gather #" + std::to_string(++m.seq) + " (" + std::to_string(count) + " " +
                       type_name(type) + " per rank)";
    int stall = faults().stall_rank;
    DeviceGuard g;
    ncclGroupStart();
    for (int r = 0; r < m.n; ++r) {
        if (r == stall) continue;
        ncclResult_t rc = ncclAllGather(send[r], recv[r], count, to_nccl(type), m.comms[r], s[r]);
        if (rc != ncclSuccess && rc != ncclInProgress) {
            ncclGroupEnd();
            m.fail_locked(CommError(CommError::Kind::nccl, r, m.opts.devices[r],
                                    what + " on " + m.rank_name(r) + ": " + ncclGetErrorString(rc)));
            m.throw_failure_locked();
        }
    }
    m.group_end_locked(what, CommError::Kind::nccl);
    m.track_locked(std::move(what), s);
}

void CommGroup::wait() {
    Impl& m = *impl_;
    std::unique_lock lock(m.mu);
    for (;;) {
        if (m.aborted) m.throw_failure_locked();
        if (m.check_locked()) {
            if (m.aborted) m.throw_failure_locked();
            return;
        }
        m.cv.wait_for(lock, m.opts.poll);
    }
}

}  // namespace m1
