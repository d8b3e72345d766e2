// Device code shared by the lightning prefill kernels (three-pass and single-pass): one CTA of 256 threads
// walks a token range of one head in 64-token sub-blocks on tensor cores, its state in mma accumulators.
#pragma once
#include "kernels/attention_tile.cuh"
#include "kernels/lightning_prefill.cuh"

#include <cstddef>
#include <cstdint>

namespace m1::cuda::lightning {

using namespace m1::cuda::tile;
using bf16 = __nv_bfloat16;

constexpr int kDim = 128;       // head dim (d and e)
constexpr int kSub = 64;        // tokens per sub-block: intra products are 64x64 on tensor cores
constexpr int kThreads = 256;   // 8 warps; in the state update warp w owns key rows d = 16w..16w+15
constexpr int kStages = 3;      // sub-blocks in flight: the walk is bound by HBM bandwidth
constexpr int kStateElems = kDim * kDim;
constexpr float kLog2e = 1.4426950408889634f;

// Shared memory: 96 KB for a walk without outputs, 176 KB with outputs.
constexpr int tile_elems() { return kSub * kDim; }
constexpr std::size_t smem_bytes(bool with_out) {
    return sizeof(bf16) * (std::size_t(with_out ? 3 : 2) * kStages * tile_elems() + (with_out ? kStateElems : 0));
}

// cp.async with an L2 eviction policy made by createpolicy (policy_evict_*()).
__device__ __forceinline__ void cp_async16_hint(void* smem, const void* gmem, bool valid, uint64_t pol) {
    asm volatile("cp.async.cg.shared.global.L2::cache_hint [%0], [%1], 16, %2, %3;\n" ::"r"(smem_u32(smem)),
                 "l"(gmem), "r"(valid ? 16 : 0), "l"(pol));
}
__device__ __forceinline__ uint64_t policy_evict_last() {
    uint64_t pol;
    asm volatile("createpolicy.fractional.L2::evict_last.b64 %0, 1.0;\n" : "=l"(pol));
    return pol;
}
__device__ __forceinline__ uint64_t policy_evict_first() {
    uint64_t pol;
    asm volatile("createpolicy.fractional.L2::evict_first.b64 %0, 1.0;\n" : "=l"(pol));
    return pol;
}

// Copies rows [t, t+64) of one head's q (if wanted), k, v into smem; rows past t1 are zero-filled.
// kHint: loads carry L2 eviction policies (pol_q for q, pol_kv for k and v).
template <bool kOut, bool kHint = false>
__device__ __forceinline__ void load_sub(const LightningPrefillParams& p, int h, int t, int t1, bf16* qs, bf16* ks,
                                         bf16* vs, uint64_t pol_q = 0, uint64_t pol_kv = 0) {
    const int64_t head = int64_t(h) * p.head_stride;
#pragma unroll
    for (int i = 0; i < tile_elems() / 8 / kThreads; ++i) {
        int idx = threadIdx.x + i * kThreads;  // 16-byte chunk index in the 64x128 tile
        int row = idx >> 4, col = (idx & 15) << 3;
        bool ok = t + row < t1;
        int64_t off = ok ? (t + row) * p.tok_stride + head + col : 0;
        int s = swz(row, col);
        if (kHint) {
            if (kOut) cp_async16_hint(qs + s, p.q + off, ok, pol_q);
            cp_async16_hint(ks + s, p.k + off, ok, pol_kv);
            cp_async16_hint(vs + s, p.v + off, ok, pol_kv);
        } else {
            if (kOut) cp_async16(qs + s, p.q + off, ok);
            cp_async16(ks + s, p.k + off, ok);
            cp_async16(vs + s, p.v + off, ok);
        }
    }
}

// S (rows 16w.., all 128 columns, fp32 accumulators) = λ^m S + Σ_{j<m} λ^{m-1-j} k_jᵀ v_j.
__device__ __forceinline__ void update_state(float (&S)[16][4], const bf16* ks, const bf16* vs, int m,
                                             float nlog2, int warp, int lane) {
    const float dm = exp2f(nlog2 * m);
#pragma unroll
    for (int nt = 0; nt < 16; ++nt)
#pragma unroll
        for (int r = 0; r < 4; ++r) S[nt][r] *= dm;
    const int c = lane & 3;
#pragma unroll
    for (int jt = 0; jt < kSub / 16; ++jt) {
        if (jt * 16 >= m) break;
        uint32_t a[4];
        ldsm_x4_t(a, at_addr(ks, jt * 16, warp * 16, lane));  // A = Kᵀ: rows d, columns j
        // Fragment registers a0/a1 hold j = 2c, 2c+1; a2/a3 hold j = 2c+8, 2c+9 (plus 16 jt).
#pragma unroll
        for (int r = 0; r < 4; ++r) {
            int j = jt * 16 + 2 * c + ((r >> 1) << 3);
            float s0 = j < m ? exp2f(nlog2 * (m - 1 - j)) : 0.f;
            float s1 = j + 1 < m ? exp2f(nlog2 * (m - 2 - j)) : 0.f;
            float2 f = __bfloat1622float2(*reinterpret_cast<__nv_bfloat162*>(&a[r]));
            a[r] = pack_bf16(f.x * s0, f.y * s1);
        }
#pragma unroll
        for (int np = 0; np < 8; ++np) {
            uint32_t b[4];
            ldsm_x4_t(b, bt_addr(vs, jt * 16, np * 16, lane));
            mma(S[2 * np], a, b[0], b[1]);
            mma(S[2 * np + 1], a, b[2], b[3]);
        }
    }
}

// Outputs of one sub-block: warp w computes rows 16(w&3).. and value columns 64(w>>2)..
// o_i = λ^{i+1} q_i·S + Σ_{j<=i} λ^{i-j} (q_i·k_j) v_j.
__device__ __forceinline__ void sub_output(const LightningPrefillParams& p, int h, int t, int m, const bf16* qs,
                                           const bf16* ks, const bf16* vs, const bf16* sb, float nlog2, int warp,
                                           int lane) {
    const int mt = warp & 3, e0 = (warp >> 2) * 64;
    const int g = lane >> 2, c = lane & 3;
    float o[8][4] = {}, pr[8][4] = {};
#pragma unroll
    for (int kt = 0; kt < kDim / 16; ++kt) {
        uint32_t qa[4];
        ldsm_x4(qa, a_addr(qs, mt * 16, kt * 16, lane));
#pragma unroll
        for (int np = 0; np < 4; ++np) {
            uint32_t b[4];
            ldsm_x4_t(b, bt_addr(sb, kt * 16, e0 + np * 16, lane));
            mma(o[2 * np], qa, b[0], b[1]);
            mma(o[2 * np + 1], qa, b[2], b[3]);
        }
#pragma unroll
        for (int jp = 0; jp < 4; ++jp) {
            if (jp > mt) break;
            uint32_t b[4];
            ldsm_x4(b, b_addr(ks, jp * 16, kt * 16, lane));
            mma(pr[2 * jp], qa, b[0], b[1]);
            mma(pr[2 * jp + 1], qa, b[2], b[3]);
        }
    }
    const int i0 = mt * 16 + g, i1 = i0 + 8;
    const float q0 = exp2f(nlog2 * (i0 + 1)), q1 = exp2f(nlog2 * (i1 + 1));
#pragma unroll
    for (int nt = 0; nt < 8; ++nt) {
        o[nt][0] *= q0; o[nt][1] *= q0; o[nt][2] *= q1; o[nt][3] *= q1;
    }
#pragma unroll
    for (int jn = 0; jn < 8; ++jn) {
        if (jn > 2 * mt + 1) break;
#pragma unroll
        for (int r = 0; r < 4; ++r) {
            int i = r < 2 ? i0 : i1, j = jn * 8 + 2 * c + (r & 1);
            pr[jn][r] = j <= i ? pr[jn][r] * exp2f(nlog2 * (i - j)) : 0.f;
        }
    }
#pragma unroll
    for (int jt = 0; jt < 4; ++jt) {
        if (jt > mt) break;
        uint32_t a[4] = {pack_bf16(pr[2 * jt][0], pr[2 * jt][1]), pack_bf16(pr[2 * jt][2], pr[2 * jt][3]),
                         pack_bf16(pr[2 * jt + 1][0], pr[2 * jt + 1][1]),
                         pack_bf16(pr[2 * jt + 1][2], pr[2 * jt + 1][3])};
#pragma unroll
        for (int np = 0; np < 4; ++np) {
            uint32_t b[4];
            ldsm_x4_t(b, bt_addr(vs, jt * 16, e0 + np * 16, lane));
            mma(o[2 * np], a, b[0], b[1]);
            mma(o[2 * np + 1], a, b[2], b[3]);
        }
    }
    bf16* out = p.out + int64_t(h) * kDim + e0 + 2 * c;
#pragma unroll
    for (int nt = 0; nt < 8; ++nt) {
        if (i0 < m)
            *reinterpret_cast<uint32_t*>(out + (t + i0) * p.out_tok_stride + nt * 8) = pack_bf16(o[nt][0], o[nt][1]);
        if (i1 < m)
            *reinterpret_cast<uint32_t*>(out + (t + i1) * p.out_tok_stride + nt * 8) = pack_bf16(o[nt][2], o[nt][3]);
    }
}

// Walks tokens [t0, t1) of head h from state S (registers: warp w holds rows d = 16w+g and 16w+g+8,
// columns nt*8+2c and +1). kOut = false: S becomes the state after t1 (the local state when S starts at
// zero). kOut = true: writes o for every token; S is not advanced past the last sub-block (undefined after).
// Smem: K, V (and Q for outputs) [kStages][64][128] bf16, then the state as bf16 [128][128] (outputs only).
// Ends with every cp.async group retired and all threads past a barrier, so walks can follow each other.
template <bool kOut, bool kHint = false>
__device__ __forceinline__ void walk(const LightningPrefillParams& p, int h, int t0, int t1, float (&S)[16][4],
                                     unsigned char* smem, float nlog2, uint64_t pol_q = 0, uint64_t pol_kv = 0) {
    bf16* ks = reinterpret_cast<bf16*>(smem);    // [kStages][64][128]
    bf16* vs = ks + kStages * tile_elems();       // [kStages][64][128]
    bf16* qs = vs + kStages * tile_elems();       // [kStages][64][128] (kOut only)
    bf16* sb = qs + kStages * tile_elems();       // [128][128]         (kOut only)
    const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31, g = lane >> 2, c = lane & 3;
    const int nsub = (t1 - t0 + kSub - 1) / kSub;
    auto issue = [&](int sub) {  // always commits a group, empty past the end, so the wait count stays fixed
        if (sub < nsub) {
            const int st = (sub % kStages) * tile_elems();
            load_sub<kOut, kHint>(p, h, t0 + sub * kSub, t1, qs + st, ks + st, vs + st, pol_q, pol_kv);
        }
        cp_async_commit();
    };
#pragma unroll
    for (int sub = 0; sub < kStages - 1; ++sub) issue(sub);
    for (int sub = 0; sub < nsub; ++sub) {
        const int st = (sub % kStages) * tile_elems(), t = t0 + sub * kSub, m = min(kSub, t1 - t);
        issue(sub + kStages - 1);  // into the stage freed by the barrier at the end of the previous iteration
        cp_async_wait<kStages - 1>();
        if (kOut) {
#pragma unroll
            for (int nt = 0; nt < 16; ++nt) {
                int d = warp * 16 + g, e = nt * 8 + 2 * c;
                *reinterpret_cast<uint32_t*>(sb + swz(d, e)) = pack_bf16(S[nt][0], S[nt][1]);
                *reinterpret_cast<uint32_t*>(sb + swz(d + 8, e)) = pack_bf16(S[nt][2], S[nt][3]);
            }
        }
        __syncthreads();
        if (kOut) sub_output(p, h, t, m, qs + st, ks + st, vs + st, sb, nlog2, warp, lane);
        if (!kOut || sub + 1 < nsub) update_state(S, ks + st, vs + st, m, nlog2, warp, lane);
        __syncthreads();
    }
    cp_async_wait<0>();
}

}  // namespace m1::cuda::lightning
