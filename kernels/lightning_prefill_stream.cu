// Single-pass lightning prefill on warpgroup walks (impl 4). Every CTA stays resident (cooperative launch); per
// head, G CTAs take rounds of G consecutive chunks of C tokens. Per round a CTA
//   (1) walks its chunk's k, v for the local state A_j (k, v kept in L2 with evict_last),
//   (2) publishes A_j (fp32); once the round's G states are out, scans a 1/G block of the state elements over
//       the round (the slice's running fp32 state stays with this CTA from round to round) and writes every
//       chunk's incoming state for that slice (bf16),
//   (3) reads its own chunk's incoming state and walks q, k, v again for the outputs (k, v from L2).
// The copies of all three walks run through one ring that does not drain between walks or rounds, so the loads
// of the next walk are in flight while the CTA waits for the scan. impl 4 fills the ring with cp.async from every
// thread; impl 6 (kTma) with bulk copies from thread 0 that complete on one mbarrier per stage; impl 8 adds the
// output walk's overlap of P's mask with Q·S (kOverlap, lightning_prefill_wgmma.cuh). The scan moves O(1) state
// per CTA and round (the mma.sync single pass, impl 2, summed O(G) states per CTA in its look-back).
#include "kernels/lightning_prefill_stream.cuh"

#include "kernels/cuda_check.cuh"
#include "kernels/lightning_prefill_rounds.cuh"
#include "kernels/lightning_prefill_scan.cuh"
#include "kernels/lightning_prefill_sync.cuh"
#include "kernels/lightning_prefill_wgmma.cuh"

namespace m1::cuda::lightning {
namespace {

using namespace m1::cuda::lwg;

constexpr int kStages = kStagesQKV;

// Tokens per chunk. Each round costs ~3.6 us (counter waits, the slowest CTA of the head), so long chunks win
// although k/v of a 1024-token round (67 MB at 8 heads) outgrow L2: 1M tokens on an H100 took 6.98 / 6.50 /
// 6.00 ms at 256 / 512 / 1024 (docs/benchmarks/attention-kernels.md).
constexpr int kDefaultChunk = 1024;
constexpr int kScanBatch = 8;  // chunk states in flight per thread in the scan

struct Work {
    float4* a;     // [heads][gmax][kVecs]: A_j of the current round, fp32
    uint2* e;      // [heads][gmax][kVecs]: incoming state of chunk j of the current round, bf16 x4
    float4* run;   // [heads][kVecs]: running state of the scan slices, fp32
    int* acnt;     // [heads]: A_j published (G per round)
    int* ecnt;     // [heads]: scan slices written (G per round)
    int G, C, rounds, gmax;
};

Work carve(void* ws, int tokens, int heads, Rounds plan) {
    Work w{};
    w.gmax = per_head_slots(tokens, kSub);
    w.G = plan.G;
    w.C = plan.C;
    w.rounds = plan.rounds;
    unsigned char* b = static_cast<unsigned char*>(ws);
    w.a = reinterpret_cast<float4*>(b);
    b += std::size_t(heads) * w.gmax * kVecs * sizeof(float4);
    w.e = reinterpret_cast<uint2*>(b);
    b += std::size_t(heads) * w.gmax * kVecs * sizeof(uint2);
    w.run = reinterpret_cast<float4*>(b);
    b += std::size_t(heads) * kVecs * sizeof(float4);
    w.acnt = reinterpret_cast<int*>(b);
    w.ecnt = w.acnt + heads;
    return w;
}

// The sequence of tiles the copy ring walks: per round the chunk's k/v (walk 1), then its q/k/v (walk 3).
struct Cursor {
    int r = 0, phase = 0, sub = 0;
    Range c{0, 0};
    __device__ void settle(int tokens, const Work& w, int j) {  // skip walks without tiles
        while (r < w.rounds && sub >= subs(c)) {
            sub = 0;
            if (phase == 0) {
                phase = 1;
            } else {
                phase = 0;
                if (++r < w.rounds) c = chunk_range(tokens, w, r, j);
            }
        }
    }
};

// (2) of the header: publish A_j, scan this CTA's slice of the round, read back the incoming state of chunk j.
__device__ __forceinline__ void exchange(const LightningPrefillParams& p, const Work& w, int h, int j, int r,
                                         float (&S)[64], float nlog2) {
    const int tid = threadIdx.x;
    float4* a_head = w.a + int64_t(h) * w.gmax * kVecs;
    uint2* e_head = w.e + int64_t(h) * w.gmax * kVecs;
#pragma unroll
    for (int u = 0; u < 16; ++u)
        __stcg(a_head + int64_t(j) * kVecs + u * kThreads + tid, make_float4(S[4 * u], S[4 * u + 1], S[4 * u + 2], S[4 * u + 3]));
    arrive(w.acnt + h);
    wait_at_least(w.acnt + h, w.G * (r + 1));

    scan_block<kScanBatch, kThreads>(p, w, h, j, r, nlog2, tid, a_head, e_head);
    arrive(w.ecnt + h);
    wait_at_least(w.ecnt + h, w.G * (r + 1));
    load_incoming(S, e_head + int64_t(j) * kVecs, tid);
}

template <bool kHint, bool kTma, bool kOverlap>
__global__ void __launch_bounds__(kThreads, 1)
    stream_kernel(LightningPrefillParams p, Work w, const __grid_constant__ Maps maps) {
    extern __shared__ unsigned char smem_raw[];
    bf16* smem = align_smem(smem_raw);
    bf16* sbuf = smem + kStages * 3 * kTile;  // the bf16 state copy
    uint64_t* full = ring_bars(smem, true);   // kTma: stage s holds its tiles once barrier s completes a phase
    if (kTma) {
        init_ring_bars(full, kStages);
        __syncthreads();
    }
    const int h = blockIdx.x / w.G, j = blockIdx.x % w.G;
    const float nlog2 = -p.slopes[h] * kLog2e;  // λ^n = exp2(nlog2 * n)
    uint64_t pol_keep = 0, pol_drop = 0;
    if (kHint) {
        pol_keep = policy(true);   // k/v of walk 1: read again by walk 3
        pol_drop = policy(false);  // q, and k/v at their last use
    }
    Cursor in;  // the next tile to copy
    in.c = chunk_range(p.tokens, w, 0, j);
    in.settle(p.tokens, w, j);
    int issued = 0, used = 0;  // tiles copied / consumed so far: tile n lives in stage n % kStages
    auto issue = [&]() {  // cp.async: always commits a group, empty past the end, so the wait count stays fixed
        if (in.r < w.rounds) {
            bf16* st = smem + (issued % kStages) * 3 * kTile;
            const int t = in.c.t0 + in.sub * kSub;
            if (kTma) {
                if (threadIdx.x == 0) {
                    uint64_t* bar = full + issued % kStages;
                    if (in.phase == 0) tma_tiles<false>(maps, h, t, st, st + kTile, nullptr, bar, pol_drop, pol_keep);
                    else tma_tiles<true>(maps, h, t, st, st + kTile, st + 2 * kTile, bar, pol_drop, pol_drop);
                }
            } else if (in.phase == 0) {
                load_tiles<false, kHint>(p, h, t, in.c.t1, st, st + kTile, nullptr, pol_drop, pol_keep);
            } else {
                load_tiles<true, kHint>(p, h, t, in.c.t1, st, st + kTile, st + 2 * kTile, pol_drop, pol_drop);
            }
            ++issued;
            ++in.sub;
            in.settle(p.tokens, w, j);
        }
        if (!kTma) tile::cp_async_commit();
    };
    auto next_tile = [&]() -> bf16* {  // waits for tile `used`, visible to every thread and the tensor cores
        issue();
        if (kTma) {
            sm90::mbar_wait(full + used % kStages, (used / kStages) & 1);
        } else {
            tile::cp_async_wait<kStages - 1>();
            wg::fence_proxy();
            __syncthreads();
        }
        return smem + (used++ % kStages) * 3 * kTile;
    };
#pragma unroll
    for (int s = 0; s < kStages - 1; ++s) issue();

    float S[64];
    for (int r = 0; r < w.rounds; ++r) {
        const Range c = chunk_range(p.tokens, w, r, j);
        const int n = subs(c);
#pragma unroll
        for (int i = 0; i < 64; ++i) S[i] = 0.f;
        for (int sub = 0; sub < n; ++sub) {  // (1) local state
            const bf16* st = next_tile();
            issue_update(S, st, st + kTile, min(kSub, c.t1 - c.t0 - sub * kSub), nlog2);
            wg::wait<0>();
            pin(S);
            __syncthreads();
        }
        exchange(p, w, h, j, r, S, nlog2);  // (2) S becomes the state entering the chunk
        store_state_bf16(S, sbuf);
        if (kTma) __syncthreads();  // the copy before the other warpgroup's products (cp.async: next_tile's barrier)
        for (int sub = 0; sub < n; ++sub) {  // (3) outputs
            const bf16* st = next_tile();
            const int t = c.t0 + sub * kSub;
            out_step<kOverlap>(p, h, t, min(kSub, c.t1 - t), st + 2 * kTile, st, st + kTile, sbuf, S, nlog2,
                               sub + 1 < n);
            __syncthreads();
        }
    }
    if (!kTma) tile::cp_async_wait<0>();
}

}  // namespace

std::size_t stream_workspace_bytes(int tokens, int heads) {
    const std::size_t gmax = std::size_t(per_head_slots(tokens, kSub));
    return std::size_t(heads) * (gmax * kVecs * (sizeof(float4) + sizeof(uint2)) + kVecs * sizeof(float4) + 2 * sizeof(int));
}

bool stream_prefill(const LightningPrefillParams& p, void* workspace, std::size_t workspace_bytes,
                    cudaStream_t stream, bool tma, bool overlap) {
    if (workspace_bytes < stream_workspace_bytes(p.tokens, p.heads)) return false;
    const bool hint = p.sp_l2_hints != 0;
    using Kernel = void (*)(LightningPrefillParams, Work, const Maps);
    const Kernel fn = !tma     ? (hint ? stream_kernel<true, false, false> : stream_kernel<false, false, false>)
                      : overlap ? (hint ? stream_kernel<true, true, true> : stream_kernel<false, true, true>)
                                : (hint ? stream_kernel<true, true, false> : stream_kernel<false, true, false>);
    const int smem = int(smem_bytes(true));
    const Rounds plan = plan_rounds(fn, kThreads, smem, p, kDefaultChunk, kSub);
    if (plan.G < 1) return false;
    Work w = carve(workspace, p.tokens, p.heads, plan);
    M1_CUDA_CHECK(cudaMemsetAsync(w.acnt, 0, 2 * sizeof(int) * std::size_t(p.heads), stream));
    const Maps maps = tma ? lightning_maps(p) : Maps{};
    launch_cooperative(fn, p.heads * w.G, kThreads, smem, stream, p, w, maps);
    return true;
}

}  // namespace m1::cuda::lightning
