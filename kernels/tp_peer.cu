// Peer collectives for captured decode steps (see tp_peer.cuh). One block per segment (grid-stride past
// kMaxBlocks): block b of every rank handles the same segments in the same order, so a block only ever waits
// for its twins on the other GPUs, never for another block of its own grid.
#include <algorithm>
#include <stdexcept>
#include <string>

#include "kernels/cuda_check.cuh"
#include "kernels/tp_peer.cuh"

namespace m1::kern {
namespace {

constexpr int kThreads = 256;
constexpr int kMaxBlocks = 64;

__device__ __forceinline__ long long global_ns() {
    long long t;
    asm volatile("mov.u64 %0, %%globaltimer;" : "=l"(t));
    return t;
}

// kGather: out[q * n + i] = rank q's in[i]. Else out[i] = sum over q of rank q's in[i] (out may be in).
template <bool kGather>
__global__ void __launch_bounds__(kThreads) peer_kernel(PeerLinks l, const float* in, float* out, int n) {
    volatile PeerFault* f = l.fault;
    __shared__ int give_up;
    if (threadIdx.x == 0) give_up = f->abort != 0 || f->stall == l.rank;
    __syncthreads();
    if (give_up) return;
    const std::size_t cap = std::size_t(l.segments) * kPeerSegment;
    const int nseg = (n + kPeerSegment - 1) / kPeerSegment;
    for (int s = blockIdx.x; s < nseg; s += gridDim.x) {
        const unsigned epoch = l.epochs[s] + 1;
        const std::size_t par = epoch & 1u;
        const int i0 = s * kPeerSegment, len = min(kPeerSegment, n - i0);
        // 1. This rank's segment into slot [par][rank] of every peer's inbox.
        for (int q = 0; q < l.ranks; ++q) {
            if (q == l.rank) continue;
            float* dst = l.inbox[q] + (par * l.ranks + l.rank) * cap + i0;
            for (int i = threadIdx.x; i < len; i += kThreads) dst[i] = in[i0 + i];
        }
        __threadfence_system();  // every thread's remote writes land before the flags below
        __syncthreads();
        // 2. Thread q raises this rank's flag at peer q, then waits for peer q's flag here.
        const int q = int(threadIdx.x);
        if (q < l.ranks && q != l.rank) {
            volatile unsigned* theirs = l.flags[q] + std::size_t(l.rank) * l.segments + s;
            *theirs = epoch;
            volatile unsigned* mine = l.flags[l.rank] + std::size_t(q) * l.segments + s;
            const long long t0 = global_ns();
            for (unsigned spin = 1; int(*mine - epoch) < 0; ++spin) {
                if (spin % 256) continue;
                if (f->abort) {
                    give_up = 1;
                    break;
                }
                if (global_ns() - t0 > l.timeout_ns) {  // peer q never came: name it, stop everyone
                    f->blamed = q + 1;
                    __threadfence_system();
                    f->abort = 1;
                    give_up = 1;
                    break;
                }
            }
            __threadfence();
        }
        __syncthreads();
        if (give_up) return;
        // 3. What arrived, read from L2 (peers wrote it; this SM's L1 may hold lines of an older epoch).
        const float* box = l.inbox[l.rank] + par * l.ranks * cap + i0;
        for (int i = threadIdx.x; i < len; i += kThreads) {
            const float own = in[i0 + i];
            if (kGather) {
                for (int r = 0; r < l.ranks; ++r)
                    out[std::size_t(r) * n + i0 + i] = r == l.rank ? own : __ldcg(box + r * cap + i);
            } else {
                float acc = l.rank == 0 ? own : __ldcg(box + i);
                for (int r = 1; r < l.ranks; ++r) acc += r == l.rank ? own : __ldcg(box + r * cap + i);
                out[i0 + i] = acc;
            }
        }
        __syncthreads();
        if (threadIdx.x == 0) l.epochs[s] = epoch;
    }
}

void launch(const PeerLinks& l, const float* in, float* out, std::size_t n, bool gather, cudaStream_t stream) {
    if (n == 0) return;
    if (l.ranks < 1 || l.ranks > kPeerMaxRanks || n > std::size_t(l.segments) * kPeerSegment)
        throw std::invalid_argument("peer collective: " + std::to_string(n) + " floats over " + std::to_string(l.ranks) +
                                    " ranks exceeds the inbox (" + std::to_string(l.segments) + " segments)");
    const int nseg = int((n + kPeerSegment - 1) / kPeerSegment);
    const int grid = std::min(nseg, kMaxBlocks);
    if (gather)
        peer_kernel<true><<<grid, kThreads, 0, stream>>>(l, in, out, int(n));
    else
        peer_kernel<false><<<grid, kThreads, 0, stream>>>(l, in, out, int(n));
    M1_LAUNCH_CHECK();
}

}  // namespace

void peer_all_reduce(const PeerLinks& l, float* buf, std::size_t n, cudaStream_t stream) {
    launch(l, buf, buf, n, false, stream);
}

void peer_all_gather(const PeerLinks& l, const float* in, float* out, std::size_t n, cudaStream_t stream) {
    launch(l, in, out, n, true, stream);
}

}  // namespace m1::kern
