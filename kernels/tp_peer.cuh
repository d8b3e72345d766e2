// Collectives between the GPUs of one process without NCCL, for captured (CUDA graph) decode steps: each rank
// writes its data into every peer's inbox over NVLink (peer access), raises a flag in the peer's memory, waits for
// its peers' flags in its own, then sums (all-reduce, in rank order, so that every rank gets the same bits) or
// copies (all-gather) what arrived. The data is cut into fixed segments, each with its own epoch counter on the
// device: a replayed launch finds its epoch there, so the same captured kernels run step after step. Each inbox
// holds two epochs (by parity): a rank can be at most one collective ahead of a peer.
// Faults: a rank whose `stall` word names it never joins (test injection); a rank that waits longer than
// timeout_ns for a peer names that peer in `blamed` and raises `abort`; a raised `abort` makes every waiting or
// later kernel give up at once (its output is then garbage: the host reports the error).
#pragma once
#include <cuda_runtime.h>

#include <cstddef>

namespace m1::kern {

constexpr int kPeerMaxRanks = 8;
constexpr int kPeerSegment = 2048;  // floats per segment (8 KiB)

// Host-mapped words shared by the ranks' kernels and the host.
struct PeerFault {
    int abort;    // nonzero: give up (raised by the host's watchdog or by a kernel that timed out)
    int stall;    // rank that never joins (fault injection), -1 for none
    int blamed;   // 1 + the rank a kernel timed out waiting for, 0 for none
    int unused;
};

struct PeerLinks {
    int rank = 0, ranks = 0;
    int segments = 0;                     // inbox capacity in segments: cap = segments * kPeerSegment floats
    float* inbox[kPeerMaxRanks] = {};     // rank q's inbox on GPU q: [2 parities][ranks][cap] fp32
    unsigned* flags[kPeerMaxRanks] = {};  // rank q's flags on GPU q: [ranks][segments], the last epoch rank r delivered
    unsigned* epochs = nullptr;           // this rank's epoch counter per segment [segments], on its GPU
    PeerFault* fault = nullptr;           // device pointer of the host-mapped words
    long long timeout_ns = 0;
};

// buf[0, n) = the sum over the ranks of their buf (fp32, in place); n <= segments * kPeerSegment.
void peer_all_reduce(const PeerLinks& l, float* buf, std::size_t n, cudaStream_t stream);
// out[q * n + i] = rank q's in[i] for every rank q; n <= segments * kPeerSegment; out must not overlap in.
void peer_all_gather(const PeerLinks& l, const float* in, float* out, std::size_t n, cudaStream_t stream);

}  // namespace m1::kern
