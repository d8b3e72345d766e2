// Device code of the warpgroup (wgmma, sm_90a) lightning prefill walks, shared by the three-pass kernel (impl 3)
// and the single-pass stream kernel (impl 4). A CTA of two warpgroups walks 64-token sub-blocks of one head:
// warpgroup w keeps rows d = 64w.. of the fp32 state in its m64n128 accumulators (the same per-thread layout as the
// mma.sync walk: warp i holds rows 16i+g, 16i+g+8) and writes value columns 64w.. of the outputs. Per sub-block:
//   o = diag(λ^{i+1}) Q·S + ((Q Kᵀ) ⊙ Λ) V      (Q·S and P·V at n64 per warpgroup; QKᵀ in each warpgroup)
//   S ← λ^m S + K̃ᵀ V                             (K̃ᵀ from registers, V transposed by the instruction)
// Tiles are [64][128] bf16 in the hardware's 128-byte swizzle (two 64-column halves); the state for Q·S is a
// bf16 [128][128] copy in shared memory. The copy ring is as deep as shared memory allows (the walk is bound by
// the latency of its loads at one CTA per SM: 3 stages gave 5.3 ms at 1M tokens on an H100 for impl 3).
#pragma once
#include "kernels/attention_tile.cuh"
#include "kernels/attention_wgmma.cuh"
#include "kernels/lightning_prefill.cuh"
#include "kernels/lightning_prefill_tma.cuh"

#include <cstddef>
#include <cstdint>

namespace m1::cuda::lwg {

using bf16 = __nv_bfloat16;
using tile::pack_bf16;
using wg::swz128;

constexpr int kDim = 128;
constexpr int kSub = 64;       // tokens per sub-block
constexpr int kThreads = 256;  // two warpgroups
constexpr int kStagesKV = 3;   // ring depth of the update-only walk (97 KB: two CTAs per SM)
constexpr int kStagesQKV = 4;  // ring depth of the output walk and the stream kernel (225 KB: one CTA per SM)
constexpr int kTile = kSub * kDim;
constexpr int kStateElems = kDim * kDim;
constexpr float kLog2e = 1.4426950408889634f;

constexpr int stages(bool with_out) { return with_out ? kStagesQKV : kStagesKV; }
static_assert(kTmaRows == kSub && kTmaTile == kTile, "bulk-copy boxes are the walks' tiles");
// Shared memory: the ring's stages of K, V (and Q) tiles, then (outputs only) the bf16 state copy, then one
// mbarrier per stage (bulk-copy walks); +1 KB so the base can be rounded up to the 1024-byte alignment the swizzle
// needs. Update-only 97 KB, with outputs 225 KB.
constexpr std::size_t ring_elems(bool with_out) {
    return std::size_t(stages(with_out)) * (with_out ? 3 : 2) * kTile + (with_out ? kStateElems : 0);
}
constexpr std::size_t smem_bytes(bool with_out) { return 1024 + sizeof(bf16) * ring_elems(with_out) + 64; }
// The stages' mbarriers (bulk-copy walks), behind the tiles and the state copy.
__device__ __forceinline__ uint64_t* ring_bars(bf16* smem, bool with_out) {
    return reinterpret_cast<uint64_t*>(smem + ring_elems(with_out));
}
// Thread 0 makes the stages' barriers (one arrival each: the thread that issues the copies); the caller's barrier
// publishes them.
__device__ __forceinline__ void init_ring_bars(uint64_t* bars, int n) {
    if (threadIdx.x == 0) {
        for (int s = 0; s < n; ++s) sm90::mbar_init(bars + s, 1);
        sm90::mbar_init_fence();
    }
}
__device__ __forceinline__ bf16* align_smem(unsigned char* raw) {
    return reinterpret_cast<bf16*>((reinterpret_cast<uintptr_t>(raw) + 1023) & ~uintptr_t(1023));
}

// Keeps the compiler from moving register writes across the asynchronous products that read them.
template <int N>
__device__ __forceinline__ void pin(float (&d)[N]) {
#pragma unroll
    for (int i = 0; i < N; ++i) asm volatile("" : "+f"(d[i])::"memory");
}

// 2^x in one MUFU instruction (exp2f adds a denormal fix-up: four instructions; the walk is issue-bound).
__device__ __forceinline__ float ex2(float x) {
    float y;
    asm("ex2.approx.ftz.f32 %0, %1;" : "=f"(y) : "f"(x));
    return y;
}
// A descriptor advanced by `elems` bf16 elements (a multiple of 8): the start address field counts 16 bytes.
__device__ __forceinline__ uint64_t adv(uint64_t d, int elems) { return d + uint64_t(elems >> 3); }

// The 32 fp32 accumulators d[0..31] of an m64n64 product as the asm operands %0..%31 (read and written).
#define M1_WG_ACC32(d)                                                                                             \
    "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3]), "+f"(d[4]), "+f"(d[5]), "+f"(d[6]), "+f"(d[7]), "+f"(d[8]),    \
        "+f"(d[9]), "+f"(d[10]), "+f"(d[11]), "+f"(d[12]), "+f"(d[13]), "+f"(d[14]), "+f"(d[15]), "+f"(d[16]),     \
        "+f"(d[17]), "+f"(d[18]), "+f"(d[19]), "+f"(d[20]), "+f"(d[21]), "+f"(d[22]), "+f"(d[23]), "+f"(d[24]),    \
        "+f"(d[25]), "+f"(d[26]), "+f"(d[27]), "+f"(d[28]), "+f"(d[29]), "+f"(d[30]), "+f"(d[31])

// d(64x64) = (scale_d ? d : 0) + A(64x16, K-major smem) * B(16x64, K-major smem: stored [n][k]).
__device__ __forceinline__ void mma_ss_n64(float (&d)[32], uint64_t da, uint64_t db, int scale_d) {
#if defined(__CUDA_ARCH_FEAT_SM90_ALL)
    asm volatile(
        "{\n.reg .pred p;\nsetp.ne.b32 p, %34, 0;\n"
        "wgmma.mma_async.sync.aligned.m64n64k16.f32.bf16.bf16 {%0, %1, %2, %3, %4, %5, %6, %7, %8, %9, %10, %11, %12, %13, %14, %15, %16, %17, %18, %19, %20, %21, %22, %23, %24, %25, %26, %27, %28, %29, %30, %31}, %32, %33, p, 1, 1, 0, 0;\n}\n"
        : M1_WG_ACC32(d)
        : "l"(da), "l"(db), "r"(scale_d));
#else
    (void)d; (void)da; (void)db; (void)scale_d;
    __trap();
#endif
}

// d(64x64) += A(64x16, K-major smem) * B(16x64, MN-major smem: stored [k][n], transposed by the instruction).
__device__ __forceinline__ void mma_ss_n64_tb(float (&d)[32], uint64_t da, uint64_t db) {
#if defined(__CUDA_ARCH_FEAT_SM90_ALL)
    asm volatile(
        "{\n.reg .pred p;\nsetp.ne.b32 p, 1, 0;\n"
        "wgmma.mma_async.sync.aligned.m64n64k16.f32.bf16.bf16 {%0, %1, %2, %3, %4, %5, %6, %7, %8, %9, %10, %11, %12, %13, %14, %15, %16, %17, %18, %19, %20, %21, %22, %23, %24, %25, %26, %27, %28, %29, %30, %31}, %32, %33, p, 1, 1, 0, 1;\n}\n"
        : M1_WG_ACC32(d)
        : "l"(da), "l"(db));
#else
    (void)d; (void)da; (void)db;
    __trap();
#endif
}

// d(64x64) += A(64x16, registers, mma.sync A-fragment layout per warp) * B(16x64, MN-major smem: stored [k][n]).
__device__ __forceinline__ void mma_rs_n64(float (&d)[32], const uint32_t (&a)[4], uint64_t db) {
#if defined(__CUDA_ARCH_FEAT_SM90_ALL)
    asm volatile(
        "{\n.reg .pred p;\nsetp.ne.b32 p, 1, 0;\n"
        "wgmma.mma_async.sync.aligned.m64n64k16.f32.bf16.bf16 {%0, %1, %2, %3, %4, %5, %6, %7, %8, %9, %10, %11, %12, %13, %14, %15, %16, %17, %18, %19, %20, %21, %22, %23, %24, %25, %26, %27, %28, %29, %30, %31}, {%32, %33, %34, %35}, %36, p, 1, 1, 1;\n}\n"
        : M1_WG_ACC32(d)
        : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "l"(db));
#else
    (void)d; (void)a; (void)db;
    __trap();
#endif
}

// cp.async of 16 bytes with an L2 eviction policy from createpolicy.
__device__ __forceinline__ void cp_async16_pol(void* smem, const void* gmem, bool valid, uint64_t pol) {
    asm volatile("cp.async.cg.shared.global.L2::cache_hint [%0], [%1], 16, %2, %3;\n" ::"r"(tile::smem_u32(smem)),
                 "l"(gmem), "r"(valid ? 16 : 0), "l"(pol));
}
__device__ __forceinline__ uint64_t policy(bool keep) {
    uint64_t pol;
    if (keep) asm volatile("createpolicy.fractional.L2::evict_last.b64 %0, 1.0;\n" : "=l"(pol));
    else asm volatile("createpolicy.fractional.L2::evict_first.b64 %0, 1.0;\n" : "=l"(pol));
    return pol;
}

// Rows [t, t+64) of head h's k, v (and q) into swizzled tiles; rows at or past t1 are zero-filled.
template <bool kWithQ, bool kHint>
__device__ __forceinline__ void load_tiles(const LightningPrefillParams& p, int h, int t, int t1, bf16* ks, bf16* vs,
                                           bf16* qs, uint64_t pol_q, uint64_t pol_kv) {
    const int64_t head = int64_t(h) * p.head_stride;
#pragma unroll
    for (int i = 0; i < kTile / 8 / kThreads; ++i) {
        const int idx = threadIdx.x + i * kThreads, row = idx >> 4, col = (idx & 15) << 3;
        const bool ok = t + row < t1;
        const int64_t off = ok ? int64_t(t + row) * p.tok_stride + head + col : 0;
        const int s = swz128(row, col, kSub);
        if (kHint) {
            cp_async16_pol(ks + s, p.k + off, ok, pol_kv);
            cp_async16_pol(vs + s, p.v + off, ok, pol_kv);
            if (kWithQ) cp_async16_pol(qs + s, p.q + off, ok, pol_q);
        } else {
            tile::cp_async16(ks + s, p.k + off, ok);
            tile::cp_async16(vs + s, p.v + off, ok);
            if (kWithQ) tile::cp_async16(qs + s, p.q + off, ok);
        }
    }
}

// A fragments of the update: K̃ᵀ (rows d = this warpgroup's 64 state rows, columns tokens) with token j scaled by
// λ^{m-1-j} and tokens at or past m zeroed.
__device__ __forceinline__ void update_frags(uint32_t (&a)[4][4], const bf16* ks, int m, float nlog2) {
    const int wgi = threadIdx.x >> 7, w4 = (threadIdx.x >> 5) & 3, lane = threadIdx.x & 31, c = lane & 3;
    const int sel = lane >> 3;
    const float up = ex2(-nlog2);  // λ^-1
#pragma unroll
    for (int jt = 0; jt < 4; ++jt) {
        // A = K̃ᵀ: rows d, columns tokens, from the [token][d] tile by a transposing ldmatrix.
        const int row = jt * 16 + (lane & 7) + ((sel >> 1) << 3), col = wgi * 64 + w4 * 16 + ((sel & 1) << 3);
        tile::ldsm_x4_t(a[jt], ks + swz128(row, col, kSub));
        // a0/a1 hold tokens j = 2c, 2c+1 (rows g, g+8); a2/a3 tokens j = 2c+8, 2c+9; scale λ^{m-1-j}.
#pragma unroll
        for (int h8 = 0; h8 < 2; ++h8) {
            const int j = jt * 16 + 2 * c + h8 * 8;
            const float e0 = ex2(nlog2 * float(m - 1 - j));
            const float s0 = j < m ? e0 : 0.f, s1 = j + 1 < m ? e0 * up : 0.f;
#pragma unroll
            for (int rr = 0; rr < 2; ++rr) {
                const int r = h8 * 2 + rr;
                const float2 f = __bfloat1622float2(*reinterpret_cast<__nv_bfloat162*>(&a[jt][r]));
                a[jt][r] = pack_bf16(f.x * s0, f.y * s1);
            }
        }
    }
}

// Issues (and commits) S = λ^m S + K̃ᵀ V from update_frags' fragments; the caller waits.
__device__ __forceinline__ void issue_update_frags(float (&S)[64], const uint32_t (&a)[4][4], const bf16* vs, int m,
                                                   float nlog2) {
    const float dm = ex2(nlog2 * float(m));  // λ^m
#pragma unroll
    for (int i = 0; i < 64; ++i) S[i] *= dm;
    const uint64_t dv = wg::desc(vs, kSub * 64 * 2, 1024);
    pin(S);
    wg::fence();
#pragma unroll
    for (int jt = 0; jt < 4; ++jt) wg::mma_rs(S, a[jt], adv(dv, jt * 16 * 64));
    wg::commit();
}

// Issues (and commits) S = λ^m S + Σ_{j<m} λ^{m-1-j} k_jᵀ v_j for this warpgroup's 64 state rows; the caller waits.
__device__ __forceinline__ void issue_update(float (&S)[64], const bf16* ks, const bf16* vs, int m, float nlog2) {
    uint32_t a[4][4];
    update_frags(a, ks, m, nlog2);
    issue_update_frags(S, a, vs, m, nlog2);
}

__device__ __forceinline__ void sts32(uint32_t addr, uint32_t v) {
    asm volatile("st.shared.b32 [%0], %1;\n" ::"r"(addr), "r"(v) : "memory");
}

// bf16 copy of the state (every thread its own rows) into a [128][128] swizzled tile, fenced for the tensor cores.
// Shared-space stores: through the generic pointer the compiler emitted generic ST instructions.
__device__ __forceinline__ void store_state_bf16(const float (&S)[64], bf16* sb) {
    const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31, g = lane >> 2, c = lane & 3;
    const int d = warp * 16 + g;
    const uint32_t base = tile::smem_u32(sb);
#pragma unroll
    for (int n = 0; n < 16; ++n) {
        const int e = n * 8 + 2 * c;
        sts32(base + 2 * swz128(d, e, kDim), pack_bf16(S[4 * n], S[4 * n + 1]));
        sts32(base + 2 * swz128(d + 8, e, kDim), pack_bf16(S[4 * n + 2], S[4 * n + 3]));
    }
    wg::fence_proxy();
}

// Pieces of the output walk's sub-block (out_step here, out_step_lean in lightning_prefill_overlap.cu); dq, dk
// describe the Q and K tiles, ds this warpgroup's 64 columns of the state copy. The issuing ones leave the
// fences, commits and waits to the caller unless they say otherwise.
// P = Q Kᵀ over d (this warp's 16 query rows, all 64 keys).
__device__ __forceinline__ void issue_qk(float (&P)[32], uint64_t dq, uint64_t dk) {
#pragma unroll
    for (int kk = 0; kk < 8; ++kk) {
        const int off = (kk >> 2) * kSub * 64 + (kk & 3) * 16;
        mma_ss_n64(P, adv(dq, off), adv(dk, off), kk > 0);
    }
}
// o += Q · S[:, 64wg..] (B: the state copy, rows d = k, columns e = n).
__device__ __forceinline__ void issue_qs(float (&o)[32], uint64_t dq, uint64_t ds) {
#pragma unroll
    for (int kk = 0; kk < 8; ++kk) mma_ss_n64_tb(o, adv(dq, (kk >> 2) * kSub * 64 + (kk & 3) * 16), adv(ds, kk * 16 * 64));
}
// o rows i0 (q0 = λ^{i0+1}) and i1 (q1): Q·S becomes diag(λ^{i+1}) Q·S.
__device__ __forceinline__ void scale_rows(float (&o)[32], float q0, float q1) {
#pragma unroll
    for (int n = 0; n < 8; ++n) {
        o[4 * n] *= q0; o[4 * n + 1] *= q0; o[4 * n + 2] *= q1; o[4 * n + 3] *= q1;
    }
}
// P *= λ^{i-j} where j <= i, else 0 (this thread's columns j, j+1 of rows i0, i1; up = λ^-1), packed into P·V's
// A fragments `pa`. kScaleO: o's rows are scaled by q0, q1 in the same pass (tile by tile).
template <bool kScaleO>
__device__ __forceinline__ void mask_p(float (&P)[32], uint32_t (&pa)[4][4], float (&o)[32], float q0, float q1,
                                       float nlog2, float up) {
    const int w4 = (threadIdx.x >> 5) & 3, lane = threadIdx.x & 31, c = lane & 3;
    const int i0 = w4 * 16 + (lane >> 2), i1 = i0 + 8;
#pragma unroll
    for (int n = 0; n < 8; ++n) {
        if (kScaleO) {
            o[4 * n] *= q0; o[4 * n + 1] *= q0; o[4 * n + 2] *= q1; o[4 * n + 3] *= q1;
        }
        // Key tiles n < 2*w4 lie left of this warp's diagonal (no mask), tiles n > 2*w4+1 right of it (all zero);
        // w4 is uniform across the warp.
        const int j = n * 8 + 2 * c;
        if (n > 2 * w4 + 1) {
            P[4 * n] = P[4 * n + 1] = P[4 * n + 2] = P[4 * n + 3] = 0.f;
        } else {
            const float f0 = ex2(nlog2 * float(i0 - j)), f1 = ex2(nlog2 * float(i1 - j));
            const float f0u = f0 * up, f1u = f1 * up;
            if (n < 2 * w4) {
                P[4 * n] *= f0; P[4 * n + 1] *= f0u; P[4 * n + 2] *= f1; P[4 * n + 3] *= f1u;
            } else {
                P[4 * n] = j <= i0 ? P[4 * n] * f0 : 0.f;
                P[4 * n + 1] = j + 1 <= i0 ? P[4 * n + 1] * f0u : 0.f;
                P[4 * n + 2] = j <= i1 ? P[4 * n + 2] * f1 : 0.f;
                P[4 * n + 3] = j + 1 <= i1 ? P[4 * n + 3] * f1u : 0.f;
            }
        }
        // n-tiles 2k and 2k+1 of P form the A fragment of k-step k of P·V.
        pa[n >> 1][(n & 1) * 2] = pack_bf16(P[4 * n], P[4 * n + 1]);
        pa[n >> 1][(n & 1) * 2 + 1] = pack_bf16(P[4 * n + 2], P[4 * n + 3]);
    }
}
// Issues (fenced and committed) o += P̃ · V[:, 64wg..].
__device__ __forceinline__ void issue_pv(float (&o)[32], const uint32_t (&pa)[4][4], const bf16* vs, int wgi) {
    const uint64_t dvh = wg::desc(vs + wgi * kSub * 64, kSub * 64 * 2, 1024);
    pin(o);
    wg::fence();
#pragma unroll
    for (int k = 0; k < 4; ++k) mma_rs_n64(o, pa[k], adv(dvh, k * 16 * 64));
    wg::commit();
}
// Rows i0, i1 (< m) of tokens [t, t+m) of o, value columns 64wg.. (this thread's pairs 2c, 2c+1 of each 8).
__device__ __forceinline__ void store_out(const LightningPrefillParams& p, int h, int t, int m, const float (&o)[32],
                                          int wgi, int c, int i0, int i1) {
    bf16* out = p.out + int64_t(h) * kDim + wgi * 64 + 2 * c;
#pragma unroll
    for (int n = 0; n < 8; ++n) {
        if (i0 < m)
            *reinterpret_cast<uint32_t*>(out + int64_t(t + i0) * p.out_tok_stride + n * 8) = pack_bf16(o[4 * n], o[4 * n + 1]);
        if (i1 < m)
            *reinterpret_cast<uint32_t*>(out + int64_t(t + i1) * p.out_tok_stride + n * 8) =
                pack_bf16(o[4 * n + 2], o[4 * n + 3]);
    }
}

// One sub-block of the output walk: tokens [t, t+m) of head h, value columns 64*wg.. of o, from the state copy
// in `sb` (bf16). If `advance`, S moves past the sub-block and its bf16 copy replaces `sb` (after a barrier: the
// other warpgroup reads it too). Every thread calls it. Ends with every product retired; the caller's barrier
// then frees the stage and publishes the new copy.
// kOverlap (impl 7, 8): QKᵀ is issued first and its own group, so the decay mask of P (and the update's K̃ᵀ
// fragments) run on the CUDA cores while the tensor cores still do Q·S.
template <bool kOverlap = false>
__device__ __forceinline__ void out_step(const LightningPrefillParams& p, int h, int t, int m, const bf16* qs,
                                         const bf16* ks, const bf16* vs, bf16* sb, float (&S)[64], float nlog2,
                                         bool advance) {
    const int wgi = threadIdx.x >> 7, w4 = (threadIdx.x >> 5) & 3, lane = threadIdx.x & 31;
    const int g = lane >> 2, c = lane & 3;
    float o[32], P[32];
#pragma unroll
    for (int i = 0; i < 32; ++i) o[i] = P[i] = 0.f;
    const uint64_t dq = wg::desc(qs, 16, 1024), dk = wg::desc(ks, 16, 1024);
    const uint64_t ds = wg::desc(sb + wgi * kDim * 64, kDim * 64 * 2, 1024);
    pin(o);
    pin(P);
    wg::fence();
    if (!kOverlap) issue_qs(o, dq, ds);
    issue_qk(P, dq, dk);
    wg::commit();
    if (kOverlap) {
        issue_qs(o, dq, ds);
        wg::commit();
        wg::wait<1>();  // P is done; Q·S may still run
    } else {
        wg::wait<0>();
        pin(o);
        __syncthreads();  // both warpgroups are done reading sb: the update below may overwrite it
    }
    pin(P);
    const int i0 = w4 * 16 + g, i1 = i0 + 8;
    const float q0 = ex2(nlog2 * float(i0 + 1)), q1 = ex2(nlog2 * float(i1 + 1)), up = ex2(-nlog2);
    uint32_t pa[4][4];
    mask_p<!kOverlap>(P, pa, o, q0, q1, nlog2, up);
    uint32_t ua[4][4];  // kOverlap: the update's fragments, also while Q·S runs
    if (kOverlap) {
        if (advance) update_frags(ua, ks, m, nlog2);
        wg::wait<0>();
        pin(o);
        __syncthreads();  // both warpgroups are done reading sb: the update below may overwrite it
        scale_rows(o, q0, q1);
    }
    issue_pv(o, pa, vs, wgi);
    if (advance) {
        if (kOverlap) issue_update_frags(S, ua, vs, m, nlog2);
        else issue_update(S, ks, vs, m, nlog2);
    }
    wg::wait<0>();
    pin(o);
    pin(S);
    store_out(p, h, t, m, o, wgi, c, i0, i1);
    if (advance) store_state_bf16(S, sb);
}

// Walks tokens [t0, t1) of head h from state S (fp32, the layout above). kOut = false: S becomes the state after
// t1. kOut = true: writes o for every token (S is not advanced past the last sub-block). `smem` is 1024-aligned,
// smem_bytes(kOut) - 1024 long. kTma: thread 0 copies the tiles with bulk copies (`maps`), each thread waits on the
// stage's mbarrier; otherwise every thread copies with cp.async. Ends with every copy retired and all threads
// past a barrier.
template <bool kOut, bool kTma = false, bool kOverlap = false>
__device__ __forceinline__ void walk(const LightningPrefillParams& p, int h, int t0, int t1, float (&S)[64],
                                     bf16* smem, float nlog2, const Maps* maps = nullptr) {
    constexpr int per = kOut ? 3 : 2;  // tiles per stage: K, V (, Q)
    constexpr int kStages = stages(kOut);
    bf16* sbuf = smem + kStages * per * kTile;
    uint64_t* full = ring_bars(smem, kOut);
    const int nsub = (t1 - t0 + kSub - 1) / kSub;
    auto issue = [&](int sub) {  // cp.async: always commits a group, empty past the end, so the wait count stays fixed
        bf16* st = smem + (sub % kStages) * per * kTile;
        if (kTma) {
            if (sub < nsub && threadIdx.x == 0)
                tma_tiles<kOut>(*maps, h, t0 + sub * kSub, st, st + kTile, st + 2 * kTile, full + sub % kStages, 0, 0);
            return;
        }
        if (sub < nsub) load_tiles<kOut, false>(p, h, t0 + sub * kSub, t1, st, st + kTile, st + 2 * kTile, 0, 0);
        tile::cp_async_commit();
    };
    if (kTma) init_ring_bars(full, kStages);
    if (kOut) store_state_bf16(S, sbuf);
    if (kTma) __syncthreads();  // the barriers and the state copy, before any copy or product uses them
#pragma unroll
    for (int sub = 0; sub < kStages - 1; ++sub) issue(sub);
    for (int sub = 0; sub < nsub; ++sub) {
        const int t = t0 + sub * kSub, m = min(kSub, t1 - t);
        const bf16* st = smem + (sub % kStages) * per * kTile;
        issue(sub + kStages - 1);  // into the stage freed by the previous iteration's closing barrier
        if (kTma) {
            sm90::mbar_wait(full + sub % kStages, (sub / kStages) & 1);
        } else {
            tile::cp_async_wait<kStages - 1>();
            wg::fence_proxy();
            __syncthreads();
        }
        if (kOut) {
            out_step<kOverlap>(p, h, t, m, st + 2 * kTile, st, st + kTile, sbuf, S, nlog2, sub + 1 < nsub);
        } else {
            issue_update(S, st, st + kTile, m, nlog2);
            wg::wait<0>();
            pin(S);
        }
        __syncthreads();
    }
    if (!kTma) tile::cp_async_wait<0>();
}

}  // namespace m1::cuda::lwg
