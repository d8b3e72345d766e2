// Single-pass lightning prefill: every CTA stays resident (cooperative launch); per head, G CTAs take
// rounds of G consecutive chunks. Per round a CTA (1) walks its chunk's k/v for the local state A_j,
// (2) publishes A_j (bf16), (3) builds its incoming state from the round's incoming state P_r and the A_i
// of the earlier chunks of the round (decoupled look-back; the last CTA publishes P_{r+1}), (4) walks
// q/k/v again for the outputs, k/v of step (4) meant to come from L2 (loaded with evict_last in step 1) so
// that HBM sees q, k, v and o once. Measured slower than the three-pass kernel (not the default): the walks
// are bound by their arithmetic, which this design does not reduce.
#include "kernels/lightning_prefill_single.cuh"

#include "kernels/cuda_check.cuh"
#include "kernels/lightning_prefill_rounds.cuh"
#include "kernels/lightning_prefill_sync.cuh"
#include "kernels/lightning_prefill_walk.cuh"

namespace m1::cuda::lightning {
namespace {

// Tokens per chunk. Each round costs ~13-18 us of look-back and pipeline restarts, so longer chunks win
// although k/v of a 1024-token round (67 MB at 8 heads) outgrow L2: 1M tokens on an H200 took 10.9 / 9.25 /
// 8.10 ms at 256 / 512 / 1024 (docs/benchmarks/attention-kernels.md).
constexpr int kDefaultChunk = 1024;
constexpr int kAVecs = 8 * kThreads;                 // uint4 per bf16 chunk state (32 KB)
constexpr int kPVecs = 16 * kThreads;                // float4 per fp32 round state (64 KB)

// State slots are stored in register order (vector u of thread tid at [u * 256 + tid]): the writer and
// every reader hold the state in the same mma accumulator layout, and each load is fully coalesced.
struct Slots {
    uint4* a;        // [heads][2 parities][gmax][kAVecs]: A_j of rounds r (parity r & 1), bf16
    float4* pst;     // [heads][2][kPVecs]: P_r, the state entering round r (r >= 1), fp32
    int* aflag;      // [heads][gmax]: r + 1 once A_j of round r is published
    int* pflag;      // [heads]: r once P_r is published
    int* consumed;   // [heads]: look-backs finished (G per round); guards slot reuse and in-place state_out
    int G, C, rounds, gmax;
};

Slots carve(void* ws, int tokens, int heads, Rounds plan) {
    const int gmax = per_head_slots(tokens, kSub);
    unsigned char* b = static_cast<unsigned char*>(ws);
    Slots s{};
    s.gmax = gmax;
    s.G = plan.G;
    s.C = plan.C;
    s.rounds = plan.rounds;
    s.a = reinterpret_cast<uint4*>(b);
    b += std::size_t(heads) * 2 * gmax * kAVecs * sizeof(uint4);
    s.pst = reinterpret_cast<float4*>(b);
    b += std::size_t(heads) * 2 * kPVecs * sizeof(float4);
    s.aflag = reinterpret_cast<int*>(b);
    s.pflag = s.aflag + std::size_t(heads) * gmax;
    s.consumed = s.pflag + heads;
    return s;
}
std::size_t flag_bytes(int tokens, int heads) {
    return std::size_t(heads) * (per_head_slots(tokens, kSub) + 2) * sizeof(int);
}

__device__ __forceinline__ int upto(int tokens, int64_t t) { return t < tokens ? int(t) : tokens; }
__device__ __forceinline__ float2 bf2(uint32_t x) {
    return __bfloat1622float2(*reinterpret_cast<const __nv_bfloat162*>(&x));
}
// S += scale * A for a bf16 slot; two slots per call so that 16 loads are in flight.
__device__ __forceinline__ void add_slots(float (&S)[16][4], const uint4* a0, float s0, const uint4* a1, float s1) {
    uint4 v0[8], v1[8];
#pragma unroll
    for (int u = 0; u < 8; ++u) {
        v0[u] = __ldcg(a0 + u * kThreads + threadIdx.x);
        if (a1) v1[u] = __ldcg(a1 + u * kThreads + threadIdx.x);
    }
#pragma unroll
    for (int u = 0; u < 8; ++u) {
        const uint32_t w0[4] = {v0[u].x, v0[u].y, v0[u].z, v0[u].w};
#pragma unroll
        for (int q = 0; q < 4; ++q) {
            float2 f = bf2(w0[q]);
            S[2 * u + (q >> 1)][(q & 1) * 2] += s0 * f.x;
            S[2 * u + (q >> 1)][(q & 1) * 2 + 1] += s0 * f.y;
        }
        if (a1) {
            const uint32_t w1[4] = {v1[u].x, v1[u].y, v1[u].z, v1[u].w};
#pragma unroll
            for (int q = 0; q < 4; ++q) {
                float2 f = bf2(w1[q]);
                S[2 * u + (q >> 1)][(q & 1) * 2] += s1 * f.x;
                S[2 * u + (q >> 1)][(q & 1) * 2 + 1] += s1 * f.y;
            }
        }
    }
}

template <bool kHint>
__global__ void __launch_bounds__(kThreads, 1) single_pass_kernel(LightningPrefillParams p, Slots w) {
    extern __shared__ __align__(128) unsigned char smem_raw[];
    const int h = blockIdx.x / w.G, j = blockIdx.x % w.G, tid = threadIdx.x;
    const int warp = tid >> 5, lane = tid & 31, g = lane >> 2, c = lane & 3;
    const float nlog2 = -p.slopes[h] * kLog2e;  // λ^n = exp2(nlog2 * n)
    uint64_t pol_first = 0, pol_last = 0;
    if (kHint) {
        pol_first = policy_evict_first();  // q, and k/v at their last use
        pol_last = policy_evict_last();    // k/v of the first walk: read again by the second
    }
    uint4* aslots = w.a + int64_t(h) * 2 * w.gmax * kAVecs;
    float4* pslots = w.pst + int64_t(h) * 2 * kPVecs;
    int* aflag = w.aflag + h * w.gmax;
    for (int r = 0; r < w.rounds; ++r) {
        const int64_t tr = int64_t(r) * w.G * w.C;  // first token of the round (< tokens)
        const int t0 = upto(p.tokens, tr + int64_t(j) * w.C);
        const int t1 = upto(p.tokens, tr + int64_t(j + 1) * w.C);
        float S[16][4];
#pragma unroll
        for (int nt = 0; nt < 16; ++nt) S[nt][0] = S[nt][1] = S[nt][2] = S[nt][3] = 0.f;
        walk<false, kHint>(p, h, t0, t1, S, smem_raw, nlog2, pol_first, pol_last);

        // Publish A_j. Its slot last held A_j of round r - 2: every look-back of that round must be done.
        if (r >= 2) wait_at_least(w.consumed + h, w.G * (r - 1));
        uint4* mine = aslots + (int64_t(r & 1) * w.gmax + j) * kAVecs;
#pragma unroll
        for (int u = 0; u < 8; ++u)
            mine[u * kThreads + tid] = make_uint4(pack_bf16(S[2 * u][0], S[2 * u][1]), pack_bf16(S[2 * u][2], S[2 * u][3]),
                                                  pack_bf16(S[2 * u + 1][0], S[2 * u + 1][1]),
                                                  pack_bf16(S[2 * u + 1][2], S[2 * u + 1][3]));
        publish(aflag + j, r + 1);

        // Look-back: S_in = λ^(t0 - tr) P_r + Σ_{i<j} λ^(t0 - t1_i) A_i.
        if (tid == 0) {
            for (int i = 0; i < j; ++i)
                while (ld_acquire(aflag + i) < r + 1) {
                }
            if (r > 0)
                while (ld_acquire(w.pflag + h) < r) {
                }
        }
        __syncthreads();
        const float dp = exp2f(nlog2 * float(t0 - tr));
        if (r > 0) {
            const float4* ps = pslots + int64_t(r & 1) * kPVecs;
#pragma unroll
            for (int nt = 0; nt < 16; ++nt) {
                float4 v = __ldcg(ps + nt * kThreads + tid);
                S[nt][0] = dp * v.x; S[nt][1] = dp * v.y; S[nt][2] = dp * v.z; S[nt][3] = dp * v.w;
            }
        } else {
#pragma unroll
            for (int nt = 0; nt < 16; ++nt) {
                const int d = warp * 16 + g, e = nt * 8 + 2 * c;
                float2 lo = make_float2(0.f, 0.f), hi = lo;
                if (p.state_in) {
                    const float* s0 = p.state_in + int64_t(h) * kStateElems;
                    lo = __ldcg(reinterpret_cast<const float2*>(s0 + d * kDim + e));
                    hi = __ldcg(reinterpret_cast<const float2*>(s0 + (d + 8) * kDim + e));
                }
                S[nt][0] = dp * lo.x; S[nt][1] = dp * lo.y; S[nt][2] = dp * hi.x; S[nt][3] = dp * hi.y;
            }
        }
        auto end_of = [&](int i) { return upto(p.tokens, tr + int64_t(i + 1) * w.C); };
        for (int i = 0; i < j; i += 2) {
            const uint4* a0 = aslots + (int64_t(r & 1) * w.gmax + i) * kAVecs;
            const uint4* a1 = i + 1 < j ? a0 + kAVecs : nullptr;
            add_slots(S, a0, exp2f(nlog2 * float(t0 - end_of(i))), a1,
                      a1 ? exp2f(nlog2 * float(t0 - end_of(i + 1))) : 0.f);
        }
        __syncthreads();  // every read of slots and state_in of this round is done
        if (tid == 0) add_release(w.consumed + h, 1);

        if (j == w.G - 1) {  // P_{r+1} = λ^(t1 - t0) S_in + A_j: the next round's state, or the final one
            const bool last = r + 1 == w.rounds;
            if (last) wait_at_least(w.consumed + h, w.G * w.rounds);  // state_out may alias state_in
            const float dl = exp2f(nlog2 * float(t1 - t0));
            float4* pn = pslots + int64_t((r + 1) & 1) * kPVecs;
#pragma unroll
            for (int u = 0; u < 8; ++u) {
                const uint4 v = __ldcg(mine + u * kThreads + tid);
                const uint32_t wv[4] = {v.x, v.y, v.z, v.w};
#pragma unroll
                for (int half = 0; half < 2; ++half) {
                    const int nt = 2 * u + half;
                    const float2 a01 = bf2(wv[2 * half]), a23 = bf2(wv[2 * half + 1]);
                    const float4 pv = make_float4(dl * S[nt][0] + a01.x, dl * S[nt][1] + a01.y,
                                                  dl * S[nt][2] + a23.x, dl * S[nt][3] + a23.y);
                    if (!last) {
                        pn[nt * kThreads + tid] = pv;
                    } else if (p.state_out) {
                        const int d = warp * 16 + g, e = nt * 8 + 2 * c;
                        float* so = p.state_out + int64_t(h) * kStateElems;
                        *reinterpret_cast<float2*>(so + d * kDim + e) = make_float2(pv.x, pv.y);
                        *reinterpret_cast<float2*>(so + (d + 8) * kDim + e) = make_float2(pv.z, pv.w);
                    }
                }
            }
            if (!last) publish(w.pflag + h, r + 1);
        }
        walk<true, kHint>(p, h, t0, t1, S, smem_raw, nlog2, pol_first, pol_first);
    }
}

}  // namespace

std::size_t single_pass_workspace_bytes(int tokens, int heads) {
    const std::size_t gmax = std::size_t(per_head_slots(tokens, kSub));
    return std::size_t(heads) * (2 * gmax * kAVecs * sizeof(uint4) + 2 * kPVecs * sizeof(float4)) +
           flag_bytes(tokens, heads);
}

bool single_pass_prefill(const LightningPrefillParams& p, void* workspace, std::size_t workspace_bytes,
                         cudaStream_t stream) {
    if (workspace_bytes < single_pass_workspace_bytes(p.tokens, p.heads)) return false;
    const bool hint = p.sp_l2_hints != 0;
    const auto fn = hint ? single_pass_kernel<true> : single_pass_kernel<false>;
    const int smem = int(smem_bytes(true));
    const Rounds plan = plan_rounds(fn, kThreads, smem, p, kDefaultChunk, kSub);
    if (plan.G < 1) return false;
    Slots w = carve(workspace, p.tokens, p.heads, plan);
    M1_CUDA_CHECK(cudaMemsetAsync(w.aflag, 0, flag_bytes(p.tokens, p.heads), stream));
    launch_cooperative(fn, p.heads * w.G, kThreads, smem, stream, p, w);
    return true;
}

}  // namespace m1::cuda::lightning
