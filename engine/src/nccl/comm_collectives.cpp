// CommGroup's collectives: grouped (all ranks from one thread) and per rank (each GPU's own thread).
// Each issue holds only the issuing ranks' locks while calling NCCL, then records one completion event
// per rank for the watchdog. The injected stall fault makes a rank skip its part.
#include "nccl/comm_group_impl.h"

namespace m1 {

namespace {

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

std::string describe(const char* op, uint64_t k, std::size_t count, CommType t) {
    std::string s = op;
    s.append(" #").append(std::to_string(k)).append(" (").append(std::to_string(count)).append(" ");
    return s.append(type_name(t)).append(")");
}

// One rank's NCCL call for a collective.
using Call = std::function<ncclResult_t(int rank, ncclComm_t comm, cudaStream_t stream)>;

}  // namespace

// Issues `call` for ranks [r0, r1) (all of them: one NCCL group; one: that rank alone), settles the
// non-blocking calls, records completion events and hands them to the watchdog. Throws CommError.
static void issue(CommGroup::Impl& m, int r0, int r1, const char* op, std::size_t count, CommType type,
                  const std::vector<cudaStream_t>& streams, const Call& call, bool honor_faults) {
    std::vector<cudaEvent_t> events(size_t(m.n), nullptr);
    std::string what;
    {
        std::lock_guard lock(m.mu);
        if (m.aborted) m.throw_failure_locked();
        what = describe(op, m.issued[size_t(r0)] + 1, count, type);
        for (int r = r0; r < r1; ++r) events[size_t(r)] = m.take_event_locked(r);
    }
    const int stall = honor_faults ? faults().stall_rank : -1;
    std::optional<CommError> err;
    {
        for (int r = r0; r < r1; ++r) m.rank_mu[r].lock();
        DeviceGuard g;
        if (m.abort_requested) {
            err = CommError(CommError::Kind::aborted, -1, -1, what + ": the communicators were aborted");
        } else {
            if (r1 - r0 > 1) ncclGroupStart();
            for (int r = r0; r < r1 && !err; ++r) {
                if (r == stall) continue;  // injected fault: this rank never joins
                ncclResult_t rc = call(r, m.comms[r], streams[size_t(r)]);
                if (rc != ncclSuccess && rc != ncclInProgress)
                    err = m.error(CommError::Kind::nccl, r, what + " on " + m.rank_name(r) + ": " + ncclGetErrorString(rc));
            }
            if (r1 - r0 > 1) {
                ncclResult_t rc = ncclGroupEnd();
                if (!err && rc != ncclSuccess && rc != ncclInProgress)
                    err = CommError(CommError::Kind::nccl, -1, -1, what + ": " + ncclGetErrorString(rc));
            }
            if (!err) err = m.settle(r0, r1, what, CommError::Kind::nccl);
            for (int r = r0; r < r1 && !err; ++r) {
                if (r == stall) continue;
                cudaSetDevice(m.opts.devices[r]);
                if (cudaError_t rc = cudaEventRecord(events[size_t(r)], streams[size_t(r)]); rc != cudaSuccess)
                    err = m.error(CommError::Kind::nccl, r, what + ": recording an event: " + cudaGetErrorString(rc));
            }
        }
        for (int r = r0; r < r1; ++r) m.rank_mu[r].unlock();
    }
    std::lock_guard lock(m.mu);
    if (err) {
        for (int r = r0; r < r1; ++r) m.free_events[r].push_back(events[size_t(r)]);
        m.fail_locked(*err);
        m.throw_failure_locked();
    }
    for (int r = r0; r < r1; ++r) {
        if (r == stall) {  // its slot stays empty: the watchdog sees a rank that never joined
            m.free_events[r].push_back(events[size_t(r)]);
            m.track_locked(r, nullptr, what);
        } else {
            m.track_locked(r, events[size_t(r)], what);
        }
    }
}

// An NCCL call on a capturing stream would put the communicator into a CUDA graph, and a communicator that a
// graph holds cannot be aborted (ncclCommAbort waits for the graph to go): the watchdog could hang. Captured
// decode steps use the GPU-to-GPU kernels of nccl/tp_peer.h instead.
static void refuse_capture(cudaStream_t s, const char* op) {
    cudaStreamCaptureStatus st = cudaStreamCaptureStatusNone;
    if (s && cudaStreamIsCapturing(s, &st) == cudaSuccess && st != cudaStreamCaptureStatusNone)
        throw std::logic_error(std::string(op) + ": an NCCL collective may not be captured into a CUDA graph");
}

static std::vector<cudaStream_t> pick(const CommGroup::Impl& m, std::span<const GpuStream> given) {
    if (given.empty()) return m.streams;
    if (static_cast<int>(given.size()) != m.n)
        throw std::invalid_argument("collective: " + std::to_string(given.size()) + " streams for " +
                                    std::to_string(m.n) + " ranks");
    return std::vector<cudaStream_t>(given.begin(), given.end());
}

void issue_warmup(CommGroup::Impl& m, std::span<void* const> bufs, std::size_t count) {
    issue(m, 0, m.n, "warm-up all_reduce", count, CommType::f32, m.streams,
          [&](int r, ncclComm_t c, cudaStream_t s) { return ncclAllReduce(bufs[r], bufs[r], count, ncclFloat32, ncclSum, c, s); },
          false);
}

void CommGroup::all_reduce_sum(std::span<void* const> bufs, std::size_t count, CommType type,
                               std::span<const GpuStream> streams) {
    Impl& m = *impl_;
    if (static_cast<int>(bufs.size()) != m.n)
        throw std::invalid_argument("all_reduce_sum: " + std::to_string(bufs.size()) + " buffers for " +
                                    std::to_string(m.n) + " ranks");
    issue(m, 0, m.n, "all_reduce", count, type, pick(m, streams),
          [&](int r, ncclComm_t c, cudaStream_t s) { return ncclAllReduce(bufs[r], bufs[r], count, to_nccl(type), ncclSum, c, s); },
          true);
}

void CommGroup::all_gather(std::span<const void* const> send, std::span<void* const> recv, std::size_t count,
                           CommType type, std::span<const GpuStream> streams) {
    Impl& m = *impl_;
    if (static_cast<int>(send.size()) != m.n || static_cast<int>(recv.size()) != m.n)
        throw std::invalid_argument("all_gather: buffer count differs from the number of ranks");
    issue(m, 0, m.n, "all_gather", count, type, pick(m, streams),
          [&](int r, ncclComm_t c, cudaStream_t s) { return ncclAllGather(send[r], recv[r], count, to_nccl(type), c, s); },
          true);
}

void CommGroup::all_reduce_sum_rank(int rank, void* buf, std::size_t count, CommType type, GpuStream stream) {
    Impl& m = *impl_;
    std::vector<cudaStream_t> s(size_t(m.n), nullptr);
    s.at(size_t(rank)) = stream ? stream : m.streams[size_t(rank)];
    refuse_capture(s[size_t(rank)], "all_reduce");
    issue(m, rank, rank + 1, "all_reduce", count, type, s,
          [&](int, ncclComm_t c, cudaStream_t st) { return ncclAllReduce(buf, buf, count, to_nccl(type), ncclSum, c, st); },
          true);
}

void CommGroup::all_gather_rank(int rank, const void* send, void* recv, std::size_t count, CommType type,
                                GpuStream stream) {
    Impl& m = *impl_;
    std::vector<cudaStream_t> s(size_t(m.n), nullptr);
    s.at(size_t(rank)) = stream ? stream : m.streams[size_t(rank)];
    refuse_capture(s[size_t(rank)], "all_gather");
    issue(m, rank, rank + 1, "all_gather", count, type, s,
          [&](int, ncclComm_t c, cudaStream_t st) { return ncclAllGather(send, recv, count, to_nccl(type), c, st); },
          true);
}

}  // namespace m1
