// Single-pass lightning prefill with its two walks running at once on each SM (impl 9). Every CTA stays resident
// (cooperative launch, one per SM); per head, G CTAs take rounds of G consecutive chunks of C tokens, as in the
// stream kernel (impl 6, lightning_prefill_stream.cu), which runs a round's two walks one after the other. Here a
// CTA has three warpgroups in two roles that run side by side:
//   update (warpgroup 2): walks chunk j of round r+1 for its local state A_j (k, v from HBM, kept in L2), publishes
//     it, scans a 1/G block of the state elements over round r+1's chunks (the block's running state stays with
//     this CTA) and writes every chunk's incoming state for that block (bf16);
//   output (warpgroups 0, 1): reads chunk j's incoming state of round r and walks q, k, v again for the outputs
//     (k, v from L2: the update role read them one round earlier).
// So a round costs about the longer walk instead of both, and the output role waits for the scan only when the
// update role is behind. Chunk states and incoming states have two slots (round parity); the update role starts
// round r only after the output CTAs of its head have read their states of round r - lead (lead 1 or 2), which
// frees the slot it will write and bounds the k/v that must stay in L2 to about lead rounds.
// Shared memory: the output role's 2-stage ring of q, k, v tiles and its bf16 state copy (128 KB) beside the
// update role's 3-stage ring of k, v tiles (96 KB). Registers (168 per thread for all 384): the update warpgroup
// holds the whole 128x128 fp32 state (two m64n128 accumulators); its K̃ᵀ (keys scaled by their decay) is made in
// place in shared memory, so both its operands come from there; the output warpgroups run a leaner step than
// impl 6's (out_step_lean) that fits.
// Measured (H100, 2026-11-22, docs/benchmarks/attention-kernels.md section 3): no faster than impl 6 (1M tokens:
// 5.75 vs 5.61 ms) and slower than the three passes (4.73 ms): the output role's k/v reads miss L2 (ncu at 128K:
// 1.67 GB from DRAM, compulsory 1.07 GB), and the shared SM lengthens both roles' latency chains. A measured peer.
#include "kernels/lightning_prefill_overlap.cuh"

#include "kernels/cuda_check.cuh"
#include "kernels/lightning_prefill_rounds.cuh"
#include "kernels/lightning_prefill_scan.cuh"
#include "kernels/lightning_prefill_sync.cuh"
#include "kernels/lightning_prefill_wgmma.cuh"

namespace m1::cuda::lightning {
namespace {

using namespace m1::cuda::lwg;

constexpr int kOutThreads = 256;  // warpgroups 0, 1: the output walk (out_step's layout: threads 0..255)
constexpr int kUpdThreads = 128;  // warpgroup 2: the state-update walk
constexpr int kCtaThreads = kOutThreads + kUpdThreads;
constexpr int kOutBar = 1, kUpdBar = 2;         // the roles' named barriers (0 is __syncthreads)
constexpr int kOutStages = 2, kUpdStages = 3;
// Tokens per chunk. Fewer, longer rounds won on an H100 (1M tokens: 7.58 / 6.30 / 5.90 / 5.75 ms at 256 / 512 /
// 1024 / 2048): a round costs ~10-20 us of counter waits and scan, and even at 512 (33.5 MB of k/v a round at 8
// heads) the output role's k/v reads mostly missed L2 (ncu: 1.84 GB from DRAM at 128K).
constexpr int kDefaultChunk = 2048;
constexpr int kDefaultLead = 2;
constexpr int kScanBatch = 4;  // chunk states in flight per thread in the scan (8: ptxas spilled 0.8 KB)

// Shared memory in bf16 elements from the 1024-aligned base: the output ring, the state copy, the update ring,
// then the rings' mbarriers.
constexpr std::size_t kOutRing = 0;
constexpr std::size_t kStateCopy = kOutRing + std::size_t(kOutStages) * 3 * kTile;
constexpr std::size_t kUpdRing = kStateCopy + kStateElems;
constexpr std::size_t kBars = kUpdRing + std::size_t(kUpdStages) * 2 * kTile;
constexpr std::size_t kSmemBytes = 1024 + sizeof(bf16) * kBars + sizeof(uint64_t) * (kOutStages + kUpdStages);
static_assert(kSmemBytes <= 227 * 1024, "one CTA per SM");

struct Work {
    float4* a;     // [heads][2][gmax][kVecs]: A_j of the rounds of each parity, fp32
    uint2* e;      // [heads][2][gmax][kVecs]: incoming state of chunk j, bf16 x4
    float4* run;   // [heads][kVecs]: running state of the scan blocks, fp32
    int* acnt;     // [heads]: A_j published (G per round)
    int* ecnt;     // [heads]: scan blocks written (G per round)
    int* oread;    // [heads][gmax]: rounds whose incoming state the output role of CTA j has read (a flag per CTA:
                   // output roles do not wait on each other, so a count could be ahead for one and behind for another)
    int G, C, rounds, gmax, lead;
};

Work carve(void* ws, int tokens, int heads, Rounds plan) {
    Work w{};
    w.gmax = per_head_slots(tokens, kSub);
    w.G = plan.G;
    w.C = plan.C;
    w.rounds = plan.rounds;
    const std::size_t slots = std::size_t(heads) * 2 * w.gmax * kVecs;
    unsigned char* b = static_cast<unsigned char*>(ws);
    w.a = reinterpret_cast<float4*>(b);
    b += slots * sizeof(float4);
    w.e = reinterpret_cast<uint2*>(b);
    b += slots * sizeof(uint2);
    w.run = reinterpret_cast<float4*>(b);
    b += std::size_t(heads) * kVecs * sizeof(float4);
    w.acnt = reinterpret_cast<int*>(b);
    w.ecnt = w.acnt + heads;
    w.oread = w.ecnt + heads;
    return w;
}

__device__ __forceinline__ float4* a_slot(const Work& w, int h, int r, int j) {
    return w.a + ((int64_t(h) * 2 + (r & 1)) * w.gmax + j) * kVecs;
}
__device__ __forceinline__ uint2* e_slot(const Work& w, int h, int r, int j) {
    return w.e + ((int64_t(h) * 2 + (r & 1)) * w.gmax + j) * kVecs;
}

// The tiles a role's ring walks: the sub-blocks of chunk j of rounds 0, 1, ... (empty chunks skipped).
struct Tiles {
    int r = 0, sub = 0;
    Range c{0, 0};
    __device__ void start(int tokens, const Work& w, int j) {
        c = chunk_range(tokens, w, 0, j);
        settle(tokens, w, j);
    }
    __device__ void settle(int tokens, const Work& w, int j) {
        while (r < w.rounds && sub >= subs(c)) {
            sub = 0;
            if (++r < w.rounds) c = chunk_range(tokens, w, r, j);
        }
    }
    __device__ bool more(const Work& w) const { return r < w.rounds; }
    __device__ int token() const { return c.t0 + sub * kSub; }
    __device__ void next(int tokens, const Work& w, int j) {
        ++sub;
        settle(tokens, w, j);
    }
};

// Until every output role of head h has read its incoming state of round `round` (flags oread[h][0..G)): lane i of
// the role's first warp polls flag i (G <= 32), so the flags cost one L2 round trip, not G in a row.
template <int kBar, int kCount>
__device__ __forceinline__ void wait_all_read(const Work& w, int h, int round, int t) {
    if (t < 32) {
        if (t < w.G)
            while (ld_acquire(w.oread + h * w.gmax + t) < round + 1) {
            }
        __syncwarp();
    }
    sm90::bar_sync(kBar, kCount);
}

// Counter waits and signals of one role: its first thread polls or signals, the role's named barrier orders the
// role's other threads around it (lightning_prefill_sync.cuh does the same for whole CTAs).
template <int kBar, int kCount>
__device__ __forceinline__ void role_wait(const int* f, int v, bool leader) {
    if (leader)
        while (ld_acquire(f) < v) {
        }
    sm90::bar_sync(kBar, kCount);
}
template <int kBar, int kCount>
__device__ __forceinline__ void role_arrive(int* f, bool leader) {
    sm90::bar_sync(kBar, kCount);
    if (leader) {
        __threadfence();
        add_release(f, 1);
    }
}

__device__ __forceinline__ uint4 lds128(uint32_t addr) {
    uint4 v;
    asm volatile("ld.shared.v4.b32 {%0, %1, %2, %3}, [%4];\n" : "=r"(v.x), "=r"(v.y), "=r"(v.z), "=r"(v.w) : "r"(addr));
    return v;
}
__device__ __forceinline__ void sts128(uint32_t addr, uint4 v) {
    asm volatile("st.shared.v4.b32 [%0], {%1, %2, %3, %4};\n" ::"r"(addr), "r"(v.x), "r"(v.y), "r"(v.z), "r"(v.w)
                 : "memory");
}
__device__ __forceinline__ uint32_t scale_pair(uint32_t x, float f) {
    const float2 v = __bfloat1622float2(*reinterpret_cast<const __nv_bfloat162*>(&x));
    return pack_bf16(v.x * f, v.y * f);
}

// K̃ in place: row j of a [64][128] key tile (two swizzled 64-column halves, 128-byte rows) scaled by λ^{m-1-j},
// rows at or past m zeroed; fenced for the tensor cores. Thread t of the update role takes 16-byte chunks
// t + 128i: the swizzle permutes chunks within a row, so a chunk's row is its index / 8 (mod 64).
__device__ __forceinline__ void decay_keys(bf16* ks, int m, float nlog2, int t) {
    const uint32_t base = tile::smem_u32(ks);
#pragma unroll
    for (int i = 0; i < kTile / 8 / kUpdThreads; ++i) {
        const int idx = t + i * kUpdThreads, row = (idx >> 3) & (kSub - 1);
        const float f = row < m ? ex2(nlog2 * float(m - 1 - row)) : 0.f;
        uint4 v = lds128(base + 16 * idx);
        v = make_uint4(scale_pair(v.x, f), scale_pair(v.y, f), scale_pair(v.z, f), scale_pair(v.w, f));
        sts128(base + 16 * idx, v);
    }
    wg::fence_proxy();
}

// S = λ^m S + K̃ᵀ V for all 128 state rows (S0: rows 0..63, S1: rows 64..127), K̃ from decay_keys.
__device__ __forceinline__ void update_rows(float (&S0)[64], float (&S1)[64], const bf16* ks, const bf16* vs, int m,
                                            float nlog2) {
    const float dm = ex2(nlog2 * float(m));
#pragma unroll
    for (int i = 0; i < 64; ++i) {
        S0[i] *= dm;
        S1[i] *= dm;
    }
    // A = K̃ᵀ: rows d (one 64-column half of the key tile), columns tokens; B = V: rows tokens, columns e.
    const uint64_t dk0 = wg::desc(ks, kSub * 64 * 2, 1024), dk1 = wg::desc(ks + kSub * 64, kSub * 64 * 2, 1024);
    const uint64_t dv = wg::desc(vs, kSub * 64 * 2, 1024);
    pin(S0);
    pin(S1);
    wg::fence();
#pragma unroll
    for (int jt = 0; jt < 4; ++jt) wg::mma_ss_tt(S0, adv(dk0, jt * 16 * 64), adv(dv, jt * 16 * 64));
#pragma unroll
    for (int jt = 0; jt < 4; ++jt) wg::mma_ss_tt(S1, adv(dk1, jt * 16 * 64), adv(dv, jt * 16 * 64));
    wg::commit();
    wg::wait<0>();
    pin(S0);
    pin(S1);
}

// One sub-block of the output walk (tokens [t, t+m) of head h, value columns 64*wg.. of o) for warpgroups 0, 1,
// as lwg::out_step, with fewer registers live: the state update is issued beside QKᵀ (it reads the fp32 state,
// not the bf16 copy that Q·S reads), and Q·S after P's mask, so at most 112 accumulator and operand registers per
// thread are live (out_step: 128, and at this CTA's register share ptxas serialized its products). S always moves
// past the sub-block (also past a chunk's last one, where the caller drops it: no branches around the products)
// and its bf16 copy replaces `sb` once both warpgroups have read it.
__device__ __forceinline__ void out_step_lean(const LightningPrefillParams& p, int h, int t, int m, const bf16* qs,
                                              const bf16* ks, const bf16* vs, bf16* sb, float (&S)[64],
                                              float nlog2) {
    const int wgi = threadIdx.x >> 7, w4 = (threadIdx.x >> 5) & 3, lane = threadIdx.x & 31;
    const int g = lane >> 2, c = lane & 3;
    const uint64_t dq = wg::desc(qs, 16, 1024), dk = wg::desc(ks, 16, 1024);
    uint32_t pa[4][4];
    float o[32];
    {
        uint32_t ua[4][4];
        update_frags(ua, ks, m, nlog2);
        float P[32];
#pragma unroll
        for (int i = 0; i < 32; ++i) P[i] = 0.f;
        const float dm = ex2(nlog2 * float(m));  // λ^m
#pragma unroll
        for (int i = 0; i < 64; ++i) S[i] *= dm;
        pin(P);
        pin(S);
        wg::fence();
        issue_qk(P, dq, dk);
        const uint64_t dv = wg::desc(vs, kSub * 64 * 2, 1024);
#pragma unroll
        for (int jt = 0; jt < 4; ++jt) wg::mma_rs(S, ua[jt], adv(dv, jt * 16 * 64));  // S = λ^m S + K̃ᵀ V
        wg::commit();
        wg::wait<0>();
        pin(P);
        pin(S);
        mask_p<false>(P, pa, o, 0.f, 0.f, nlog2, ex2(-nlog2));
    }
#pragma unroll
    for (int i = 0; i < 32; ++i) o[i] = 0.f;
    const uint64_t ds = wg::desc(sb + wgi * kDim * 64, kDim * 64 * 2, 1024);
    pin(o);
    wg::fence();
    issue_qs(o, dq, ds);
    wg::commit();
    wg::wait<0>();
    pin(o);
    sm90::bar_sync(kOutBar, kOutThreads);  // both warpgroups are done reading sb: it may be overwritten below
    const int i0 = w4 * 16 + g, i1 = i0 + 8;
    const float q0 = ex2(nlog2 * float(i0 + 1)), q1 = ex2(nlog2 * float(i1 + 1));
    scale_rows(o, q0, q1);
    issue_pv(o, pa, vs, wgi);
    wg::wait<0>();
    pin(o);
    store_out(p, h, t, m, o, wgi, c, i0, i1);
    store_state_bf16(S, sb);
}

// Warpgroup 2: local states, their publication and the scan, round after round.
__device__ __forceinline__ void update_role(const LightningPrefillParams& p, const Work& w, const Maps& maps,
                                            bf16* ring, uint64_t* full, int h, int j, float nlog2) {
    const int t = threadIdx.x - kOutThreads;
    const bool leader = t == 0;
    const uint64_t pol_keep = p.sp_l2_hints ? policy(true) : 0;  // k/v: read again by the output role
    Tiles in;
    in.start(p.tokens, w, j);
    int issued = 0, used = 0;  // tiles copied / consumed: tile n lives in stage n % kUpdStages
    auto issue = [&]() {
        if (!in.more(w)) return;
        if (leader) {
            bf16* st = ring + (issued % kUpdStages) * 2 * kTile;
            tma_tiles<false>(maps, h, in.token(), st, st + kTile, nullptr, full + issued % kUpdStages, 0, pol_keep);
        }
        ++issued;
        in.next(p.tokens, w, j);
    };
#pragma unroll
    for (int s = 0; s < kUpdStages - 1; ++s) issue();
    for (int r = 0; r < w.rounds; ++r) {
        // The slots of round r are free, and at most `lead` rounds of k/v wait in L2 for the output role.
        if (r >= w.lead) wait_all_read<kUpdBar, kUpdThreads>(w, h, r - w.lead, t);
        {  // the state's scope ends before the scan, which needs the registers
        const Range c = chunk_range(p.tokens, w, r, j);
        const int n = subs(c);
        float S0[64], S1[64];
#pragma unroll
        for (int i = 0; i < 64; ++i) S0[i] = S1[i] = 0.f;
        for (int sub = 0; sub < n; ++sub) {
            issue();  // into the stage freed by the previous sub-block's closing barrier
            sm90::mbar_wait(full + used % kUpdStages, (used / kUpdStages) & 1);
            bf16* st = ring + (used++ % kUpdStages) * 2 * kTile;
            decay_keys(st, min(kSub, c.t1 - c.t0 - sub * kSub), nlog2, t);
            sm90::bar_sync(kUpdBar, kUpdThreads);  // every key row scaled before the products read them
            update_rows(S0, S1, st, st + kTile, min(kSub, c.t1 - c.t0 - sub * kSub), nlog2);
            sm90::bar_sync(kUpdBar, kUpdThreads);  // every product retired: the stage may be refilled
        }
        float4* mine = a_slot(w, h, r, j);  // rows 64*half + (this thread's rows): thread 128*half + t of a 256-walk
#pragma unroll
        for (int u = 0; u < 16; ++u) {
            __stcg(mine + u * 256 + t, make_float4(S0[4 * u], S0[4 * u + 1], S0[4 * u + 2], S0[4 * u + 3]));
            __stcg(mine + u * 256 + 128 + t, make_float4(S1[4 * u], S1[4 * u + 1], S1[4 * u + 2], S1[4 * u + 3]));
        }
        }
        role_arrive<kUpdBar, kUpdThreads>(w.acnt + h, leader);
        role_wait<kUpdBar, kUpdThreads>(w.acnt + h, w.G * (r + 1), leader);
        scan_block<kScanBatch, kUpdThreads>(p, w, h, j, r, nlog2, t, a_slot(w, h, r, 0), e_slot(w, h, r, 0));
        role_arrive<kUpdBar, kUpdThreads>(w.ecnt + h, leader);
    }
}

// Warpgroups 0, 1: each round, the incoming state of chunk j, then the output walk over the chunk.
__device__ __forceinline__ void output_role(const LightningPrefillParams& p, const Work& w, const Maps& maps,
                                            bf16* ring, bf16* sbuf, uint64_t* full, int h, int j, float nlog2) {
    const int tid = threadIdx.x;
    const bool leader = tid == 0;
    const uint64_t pol_drop = p.sp_l2_hints ? policy(false) : 0;  // q, and k/v at their last use
    Tiles in;
    in.start(p.tokens, w, j);
    int issued = 0, used = 0;
    auto issue = [&]() {
        if (!in.more(w)) return;
        if (leader) {
            bf16* st = ring + (issued % kOutStages) * 3 * kTile;
            tma_tiles<true>(maps, h, in.token(), st, st + kTile, st + 2 * kTile, full + issued % kOutStages, pol_drop,
                            pol_drop);
        }
        ++issued;
        in.next(p.tokens, w, j);
    };
#pragma unroll
    for (int s = 0; s < kOutStages - 1; ++s) issue();
    float S[64];
    for (int r = 0; r < w.rounds; ++r) {
        const Range c = chunk_range(p.tokens, w, r, j);
        const int n = subs(c);
        role_wait<kOutBar, kOutThreads>(w.ecnt + h, w.G * (r + 1), leader);
        load_incoming(S, e_slot(w, h, r, j), tid);
        sm90::bar_sync(kOutBar, kOutThreads);  // every thread's state read: the slot may be rewritten (round r + 2)
        if (leader) {
            __threadfence();
            st_release(w.oread + h * w.gmax + j, r + 1);
        }
        store_state_bf16(S, sbuf);
        sm90::bar_sync(kOutBar, kOutThreads);  // the copy before the other warpgroup's products
        for (int sub = 0; sub < n; ++sub) {
            issue();
            sm90::mbar_wait(full + used % kOutStages, (used / kOutStages) & 1);
            const bf16* st = ring + (used++ % kOutStages) * 3 * kTile;
            const int t = c.t0 + sub * kSub;
            out_step_lean(p, h, t, min(kSub, c.t1 - t), st + 2 * kTile, st, st + kTile, sbuf, S, nlog2);
            sm90::bar_sync(kOutBar, kOutThreads);
        }
    }
}

__global__ void __launch_bounds__(kCtaThreads, 1)
    overlap_kernel(LightningPrefillParams p, Work w, const __grid_constant__ Maps maps) {
    extern __shared__ unsigned char smem_raw[];
    bf16* smem = align_smem(smem_raw);
    uint64_t* bars = reinterpret_cast<uint64_t*>(smem + kBars);  // output ring's, then the update ring's
    if (threadIdx.x == 0) {
        for (int s = 0; s < kOutStages + kUpdStages; ++s) sm90::mbar_init(bars + s, 1);
        sm90::mbar_init_fence();
    }
    __syncthreads();
    const int h = blockIdx.x / w.G, j = blockIdx.x % w.G;
    const float nlog2 = -p.slopes[h] * kLog2e;  // λ^n = exp2(nlog2 * n)
    // Both roles at the launch's 168 registers per thread: setmaxnreg moves registers only within the CTA, and
    // the update role needs 160 (ptxas: 1.2 KB of spills at 152), so the output role could gain 4 at most.
    if (threadIdx.x >= kOutThreads) update_role(p, w, maps, smem + kUpdRing, bars + kOutStages, h, j, nlog2);
    else output_role(p, w, maps, smem + kOutRing, smem + kStateCopy, bars, h, j, nlog2);
}

}  // namespace

std::size_t overlap_workspace_bytes(int tokens, int heads) {
    const std::size_t gmax = std::size_t(per_head_slots(tokens, kSub));
    return std::size_t(heads) *
           (2 * gmax * kVecs * (sizeof(float4) + sizeof(uint2)) + kVecs * sizeof(float4) + (2 + gmax) * sizeof(int));
}

bool overlap_prefill(const LightningPrefillParams& p, void* workspace, std::size_t workspace_bytes,
                     cudaStream_t stream) {
    if (workspace_bytes < overlap_workspace_bytes(p.tokens, p.heads)) return false;
    const int smem = int(kSmemBytes);
    const Rounds plan = plan_rounds(overlap_kernel, kCtaThreads, smem, p, kDefaultChunk, kSub);
    if (plan.G < 1) return false;
    Work w = carve(workspace, p.tokens, p.heads, plan);
    w.lead = p.sp_lead == 1 ? 1 : kDefaultLead;  // two slots: at most 2
    M1_CUDA_CHECK(cudaMemsetAsync(w.acnt, 0, (2 + std::size_t(w.gmax)) * sizeof(int) * std::size_t(p.heads), stream));
    launch_cooperative(overlap_kernel, p.heads * w.G, kCtaThreads, smem, stream, p, w, lightning_maps(p));
    return true;
}

}  // namespace m1::cuda::lightning
