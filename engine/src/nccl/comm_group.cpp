// CommGroup's lifecycle and watchdog: non-blocking NCCL communicators for the GPUs of this process,
// and a thread that aborts them all when a collective outlives its deadline or NCCL reports an
// asynchronous error. Every collective records one event per rank; the watchdog and wait() poll them.
#include <algorithm>
#include <cstdio>
#include <cstdlib>

#include "m1/parallel_buffer.h"
#include "nccl/comm_group_impl.h"

namespace m1 {

std::size_t comm_type_size(CommType t) { return t == CommType::bf16 || t == CommType::f16 ? 2 : 4; }

std::string nccl_version() {
    int v = 0;
    if (ncclGetVersion(&v) != ncclSuccess) return {};
    int major = v / 10000, minor = (v % 10000) / 100, patch = v % 100;
    if (v < 10000) major = v / 1000, minor = (v % 1000) / 100, patch = v % 100;  // pre-2.9 encoding
    return std::to_string(major) + "." + std::to_string(minor) + "." + std::to_string(patch);
}

std::string CommGroup::Impl::rank_name(int r) const {
    std::string s = "rank ";
    s.append(std::to_string(r)).append(" (GPU ").append(std::to_string(opts.devices[r])).append(")");
    return s;
}

CommError CommGroup::Impl::error(CommError::Kind k, int r, const std::string& msg) const {
    return CommError(k, r, r >= 0 ? opts.devices[r] : -1, msg);
}

cudaEvent_t CommGroup::Impl::take_event_locked(int r) {
    if (!free_events[r].empty()) {
        cudaEvent_t e = free_events[r].back();
        free_events[r].pop_back();
        return e;
    }
    DeviceGuard g;
    cudaSetDevice(opts.devices[r]);
    cudaEvent_t e = nullptr;
    if (cudaError_t rc = cudaEventCreateWithFlags(&e, cudaEventDisableTiming); rc != cudaSuccess)
        throw error(CommError::Kind::nccl, r, std::string("creating an event: ") + cudaGetErrorString(rc));
    return e;
}

void CommGroup::Impl::fail_locked(CommError err) {
    if (!failure) failure = std::move(err);
    abort_locked();
    cv.notify_all();
}

// ncclCommAbort on every rank at once (one rank's abort may wait for its peers' kernels to stop), then
// a bounded wait for the streams to drain, so that the caller can free memory safely.
void CommGroup::Impl::abort_locked() {
    if (aborted) return;
    aborted = true;
    abort_requested = true;
    for (auto& hook : abort_hooks) hook();  // kernels waiting on peers outside NCCL stop first
    // An issuer polling a non-blocking call sees abort_requested and lets go; a blocking call stuck in
    // NCCL keeps its lock, and ncclCommAbort from here is what unblocks it.
    std::vector<bool> held(static_cast<size_t>(n));
    for (int r = 0; r < n; ++r) held[size_t(r)] = rank_mu[r].try_lock_for(std::chrono::milliseconds(200));
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
    for (int r = 0; r < n; ++r)
        if (held[size_t(r)]) rank_mu[r].unlock();
    auto deadline = CommClock::now() + std::chrono::seconds(10);
    for (auto& op : ops)
        for (int r = 0; r < n; ++r) {
            if (!op.done[r]) continue;
            while (cudaEventQuery(op.done[r]) == cudaErrorNotReady && CommClock::now() < deadline)
                std::this_thread::sleep_for(std::chrono::microseconds(200));
            free_events[r].push_back(op.done[r]);
        }
    ops.clear();
    cudaGetLastError();
}

void CommGroup::Impl::throw_failure_locked() {
    if (failure) throw *failure;
    throw CommError(CommError::Kind::aborted, -1, -1, "the GPU communicators were aborted");
}

bool CommGroup::Impl::check_locked() {
    if (aborted) return ops.empty();
    for (int r = 0; r < n; ++r) {
        ncclResult_t async = ncclSuccess;
        ncclResult_t rc = ncclCommGetAsyncError(comms[r], &async);
        if (rc != ncclSuccess || (async != ncclSuccess && async != ncclInProgress)) {
            ncclResult_t bad = rc != ncclSuccess ? rc : async;
            std::string msg = "NCCL error on " + rank_name(r);
            msg.append(": ").append(ncclGetErrorString(bad)).append(" (").append(ncclGetLastError(comms[r])).append(")");
            fail_locked(error(CommError::Kind::nccl, r, msg));
            return ops.empty();
        }
    }
    while (!ops.empty()) {
        CommOp& op = ops.front();
        bool all_done = true;
        for (int r = 0; r < n; ++r) {
            if (!op.done[r]) {
                all_done = false;
                continue;
            }
            cudaError_t q = cudaEventQuery(op.done[r]);
            if (q == cudaErrorNotReady) {
                all_done = false;
            } else if (q != cudaSuccess) {
                fail_locked(error(CommError::Kind::nccl, r,
                                  op.what + ": CUDA error on " + rank_name(r) + ": " + cudaGetErrorString(q)));
                return ops.empty();
            }
        }
        if (all_done) {
            for (int r = 0; r < n; ++r) free_events[r].push_back(op.done[r]);
            ops.pop_front();
            ++retired;
            continue;
        }
        auto age = std::chrono::duration_cast<std::chrono::milliseconds>(CommClock::now() - op.since);
        if (age >= opts.timeout) fail_locked(timeout_error(op, age));
        return ops.empty();
    }
    return true;
}

// Blame: a rank that never issued its part; else a rank whose part finished while its peers still
// wait (it left the collective, or, with the grouped API, was never part of it).
CommError CommGroup::Impl::timeout_error(const CommOp& op, std::chrono::milliseconds age) const {
    std::string msg = op.what + " timed out after " + std::to_string(age.count()) + " ms (watchdog " +
                      std::to_string(opts.timeout.count()) + " ms):";
    int blamed = -1, finished = -1;
    for (int r = 0; r < n; ++r) {
        if (!op.done[r]) {
            msg.append(" ").append(rank_name(r)).append(" never joined;");
            if (blamed < 0) blamed = r;
        } else if (cudaEventQuery(op.done[r]) == cudaSuccess) {
            msg.append(" ").append(rank_name(r)).append(" finished alone;");
            if (finished < 0) finished = r;
        } else {
            msg.append(" ").append(rank_name(r)).append(" still waiting;");
        }
    }
    if (blamed < 0) blamed = finished;
    msg += " all communicators aborted";
    return error(CommError::Kind::timeout, blamed, msg);
}

std::optional<CommError> CommGroup::Impl::settle(int r0, int r1, const std::string& what, CommError::Kind kind) {
    const auto start = CommClock::now(), deadline = start + opts.timeout;
    for (;;) {
        bool ready = true;
        for (int r = r0; r < r1; ++r) {
            ncclResult_t async = ncclSuccess;
            ncclCommGetAsyncError(comms[r], &async);
            if (async == ncclInProgress) {
                ready = false;
            } else if (async != ncclSuccess) {
                std::string msg = what + " failed on " + rank_name(r);
                msg.append(": ").append(ncclGetErrorString(async)).append(" (").append(ncclGetLastError(comms[r])).append(")");
                return error(kind, r, msg);
            }
        }
        if (ready) return std::nullopt;
        if (abort_requested) return CommError(CommError::Kind::aborted, -1, -1, what + ": aborted while enqueueing");
        if (CommClock::now() >= deadline)
            return CommError(CommError::Kind::timeout, r1 - r0 == 1 ? r0 : -1, r1 - r0 == 1 ? opts.devices[r0] : -1,
                             what + " was not enqueued within " + std::to_string(opts.timeout.count()) + " ms");
        // Enqueueing takes microseconds: spin first (decode issues hundreds of collectives a second).
        if (CommClock::now() - start < std::chrono::milliseconds(2))
            std::this_thread::yield();
        else
            std::this_thread::sleep_for(opts.poll);
    }
}

void CommGroup::Impl::track_locked(int r, cudaEvent_t e, const std::string& what) {
    uint64_t k = issued[r]++;
    if (k < retired) return;  // cannot happen: an op retires only once every rank recorded it
    size_t slot = size_t(k - retired);
    while (ops.size() <= slot) {
        CommOp op;
        op.done.assign(size_t(n), nullptr);
        op.since = CommClock::now();
        op.what = what;
        ops.push_back(std::move(op));
    }
    ops[slot].done[r] = e;
    cv.notify_all();
}

void CommGroup::Impl::watch() {
    std::unique_lock lock(mu);
    while (!stop) {
        cv.wait_for(lock, ops.empty() ? std::chrono::microseconds(20'000) : opts.poll);
        if (!stop && !aborted && !ops.empty()) check_locked();
    }
}

void CommGroup::Impl::release() {
    {
        std::unique_lock lock(mu);
        bool live = std::any_of(comms.begin(), comms.end(), [](ncclComm_t c) { return c != nullptr; });
        if (!aborted && live) {
            while (!check_locked()) {
                lock.unlock();
                std::this_thread::sleep_for(opts.poll);
                lock.lock();
            }
            if (!aborted) {
                for (int r = 0; r < n; ++r) ncclCommFinalize(comms[r]);
                if (auto err = settle(0, n, "finalizing the communicators", CommError::Kind::nccl)) {
                    abort_locked();  // a destructor cannot report it; abort frees everything
                } else {
                    for (int r = 0; r < n; ++r) ncclCommDestroy(comms[r]);
                    for (auto& c : comms) c = nullptr;
                }
            }
        }
        if (std::any_of(comms.begin(), comms.end(), [](ncclComm_t c) { return c != nullptr; })) abort_locked();
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
    if (const char* v = std::getenv("M1_NCCL_BLOCKING"); v && *v) m.opts.blocking = std::atoi(v) != 0;
    m.rank_mu = std::make_unique<std::timed_mutex[]>(size_t(m.n));
    m.issued.assign(size_t(m.n), 0);
    m.free_events.resize(size_t(m.n));
    m.streams.assign(size_t(m.n), nullptr);
    m.comms.assign(size_t(m.n), nullptr);
    DeviceGuard g;
    for (int r = 0; r < m.n; ++r) {
        cudaSetDevice(opts.devices[r]);
        if (cudaError_t rc = cudaStreamCreateWithFlags(&m.streams[r], cudaStreamNonBlocking); rc != cudaSuccess)
            throw m.error(CommError::Kind::init, r, std::string("creating a stream: ") + cudaGetErrorString(rc));
    }
    ncclUniqueId id;
    if (ncclResult_t rc = ncclGetUniqueId(&id); rc != ncclSuccess)
        throw CommError(CommError::Kind::init, -1, -1, std::string("ncclGetUniqueId: ") + ncclGetErrorString(rc));
    {
        std::unique_lock lock(m.mu);
        ncclConfig_t cfg = NCCL_CONFIG_INITIALIZER;
        cfg.blocking = m.opts.blocking ? 1 : 0;  // 0: every call returns at once, so an abort always gets through
        ncclGroupStart();
        for (int r = 0; r < m.n; ++r) {
            cudaSetDevice(opts.devices[r]);
            ncclResult_t rc = ncclCommInitRankConfig(&m.comms[r], m.n, id, r, &cfg);
            if (rc != ncclSuccess && rc != ncclInProgress) {
                ncclGroupEnd();
                m.fail_locked(m.error(CommError::Kind::init, r, std::string("ncclCommInitRankConfig: ") + ncclGetErrorString(rc)));
                m.throw_failure_locked();
            }
        }
        ncclResult_t rc = ncclGroupEnd();
        std::optional<CommError> err;
        if (rc == ncclInProgress || rc == ncclSuccess)
            err = m.settle(0, m.n, "creating " + std::to_string(m.n) + " NCCL communicators", CommError::Kind::init);
        else
            err = CommError(CommError::Kind::init, -1, -1, std::string("creating the communicators: ") + ncclGetErrorString(rc));
        if (err) {
            m.fail_locked(*err);
            m.throw_failure_locked();
        }
        m.watchdog = std::thread([&m] { m.watch(); });
    }
    // Warm-up: NCCL connects peers lazily on the first collective; do it now, with every rank.
    std::vector<DeviceBuffer> bufs;
    std::vector<void*> ptrs;
    for (int r = 0; r < m.n; ++r) {
        bufs.emplace_back(opts.devices[r], 256, "the NCCL warm-up");
        ptrs.push_back(bufs.back().data());
        cudaSetDevice(opts.devices[r]);
        cudaMemsetAsync(ptrs.back(), 0, 256, m.streams[r]);
    }
    issue_warmup(m, ptrs, 64);
    wait();
}

CommGroup::~CommGroup() = default;

int CommGroup::size() const { return impl_->n; }
int CommGroup::device(int rank) const { return impl_->opts.devices.at(size_t(rank)); }
GpuStream CommGroup::stream(int rank) const { return impl_->streams.at(size_t(rank)); }

bool CommGroup::healthy() const {
    std::lock_guard lock(impl_->mu);
    return !impl_->aborted;
}

void CommGroup::abort(const std::string& why) {
    std::lock_guard lock(impl_->mu);
    if (impl_->aborted) return;
    impl_->fail_locked(CommError(CommError::Kind::aborted, -1, -1, "aborted: " + why));
}

void CommGroup::fail(const CommError& err) {
    std::lock_guard lock(impl_->mu);
    impl_->fail_locked(err);
}

void CommGroup::on_abort(std::function<void()> fn) {
    std::lock_guard lock(impl_->mu);
    if (impl_->aborted) fn();
    impl_->abort_hooks.push_back(std::move(fn));
}

void CommGroup::wait() {
    Impl& m = *impl_;
    std::unique_lock lock(m.mu);
    const auto start = CommClock::now();
    for (;;) {
        if (m.aborted) m.throw_failure_locked();
        if (m.check_locked()) {
            if (m.aborted) m.throw_failure_locked();
            return;
        }
        if (CommClock::now() - start < std::chrono::milliseconds(1)) {  // short waits: spin
            lock.unlock();
            std::this_thread::yield();
            lock.lock();
        } else {
            m.cv.wait_for(lock, m.opts.poll);
        }
    }
}

}  // namespace m1
