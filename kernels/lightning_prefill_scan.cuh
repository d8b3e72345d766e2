// Device code of the chunk-state scan shared by the warpgroup single-pass kernels: the stream kernel (impl 4, 6, 8;
// lightning_prefill_stream.cu) and the overlap kernel (impl 9; lightning_prefill_overlap.cu). Per head, G CTAs take
// rounds of G consecutive chunks of C tokens (a kernel's Work has G, C, rounds, run); each CTA publishes its chunk's
// local state A_j (fp32), then scans a 1/G block of the state positions over the round's chunks.
// States are stored in register order: float4 q is vector q/256 of thread q%256 of a 256-thread walk.
#pragma once
#include "kernels/lightning_prefill_wgmma.cuh"

namespace m1::cuda::lwg {

constexpr int kVecs = kStateElems / 4;  // float4 positions of a state, in register order

// A state position q and its element (d, e): the float4 holds (d, e), (d, e+1), (d+8, e), (d+8, e+1).
__device__ __forceinline__ int2 element_of(int q) {
    const int u = q >> 8, t = q & 255, lane = t & 31;
    return make_int2((t >> 5) * 16 + (lane >> 2), u * 8 + 2 * (lane & 3));
}

struct Range {
    int t0, t1;
};
// Tokens [t0, t1) of chunk j of round r (empty past the end of the input).
template <class Work>
__device__ __forceinline__ Range chunk_range(int tokens, const Work& w, int r, int j) {
    const int64_t a = (int64_t(r) * w.G + j) * w.C;
    return {int(min(int64_t(tokens), a)), int(min(int64_t(tokens), a + w.C))};
}
__device__ __forceinline__ int subs(Range c) { return (c.t1 - c.t0 + kSub - 1) / kSub; }

// The scan of round r over CTA j's block of positions, by threads t = 0, kStride, ...: per position, the state
// before each chunk i of the round goes to e_round[i] (bf16, for the output walk), A_i (a_round[i]) folds in, and
// the state past the round stays in w.run (after the last round: state_out). kBatch: A_i loads in flight per thread.
template <int kBatch, int kStride, class Work>
__device__ __forceinline__ void scan_block(const LightningPrefillParams& p, const Work& w, int h, int j, int r,
                                           float nlog2, int t, const float4* a_round, uint2* e_round) {
    const bool last = r + 1 == w.rounds;
    const int per = (kVecs + w.G - 1) / w.G, q_end = min(kVecs, (j + 1) * per);
    for (int q = j * per + t; q < q_end; q += kStride) {
        const int2 de = element_of(q);
        float4 run;
        if (r > 0) {
            run = __ldcg(w.run + int64_t(h) * kVecs + q);
        } else if (p.state_in) {
            const float* s0 = p.state_in + int64_t(h) * kStateElems;
            const float2 lo = __ldcg(reinterpret_cast<const float2*>(s0 + de.x * kDim + de.y));
            const float2 hi = __ldcg(reinterpret_cast<const float2*>(s0 + (de.x + 8) * kDim + de.y));
            run = make_float4(lo.x, lo.y, hi.x, hi.y);
        } else {
            run = make_float4(0.f, 0.f, 0.f, 0.f);
        }
        for (int i0 = 0; i0 < w.G; i0 += kBatch) {
            float4 av[kBatch];
#pragma unroll
            for (int b = 0; b < kBatch; ++b)
                if (i0 + b < w.G) av[b] = __ldcg(a_round + int64_t(i0 + b) * kVecs + q);
#pragma unroll
            for (int b = 0; b < kBatch; ++b) {
                const int i = i0 + b;
                if (i < w.G) {
                    __stcg(e_round + int64_t(i) * kVecs + q, make_uint2(pack_bf16(run.x, run.y), pack_bf16(run.z, run.w)));
                    const Range ci = chunk_range(p.tokens, w, r, i);
                    const float dl = exp2f(nlog2 * float(ci.t1 - ci.t0));
                    run = make_float4(fmaf(dl, run.x, av[b].x), fmaf(dl, run.y, av[b].y), fmaf(dl, run.z, av[b].z),
                                      fmaf(dl, run.w, av[b].w));
                }
            }
        }
        if (!last) {
            __stcg(w.run + int64_t(h) * kVecs + q, run);
        } else if (p.state_out) {  // this thread alone read these elements of state_in: in place is safe
            float* so = p.state_out + int64_t(h) * kStateElems;
            *reinterpret_cast<float2*>(so + de.x * kDim + de.y) = make_float2(run.x, run.y);
            *reinterpret_cast<float2*>(so + (de.x + 8) * kDim + de.y) = make_float2(run.z, run.w);
        }
    }
}

// S of thread t of a 256-thread walk (register order) from a chunk's incoming-state slot (bf16 x4).
__device__ __forceinline__ void load_incoming(float (&S)[64], const uint2* slot, int t) {
#pragma unroll
    for (int u = 0; u < 16; ++u) {
        const uint2 v = __ldcg(slot + u * kThreads + t);
        const float2 lo = __bfloat1622float2(*reinterpret_cast<const __nv_bfloat162*>(&v.x));
        const float2 hi = __bfloat1622float2(*reinterpret_cast<const __nv_bfloat162*>(&v.y));
        S[4 * u] = lo.x; S[4 * u + 1] = lo.y; S[4 * u + 2] = hi.x; S[4 * u + 3] = hi.y;
    }
}

}  // namespace m1::cuda::lwg
