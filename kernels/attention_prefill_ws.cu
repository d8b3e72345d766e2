// Softmax attention prefill, warp-specialized for Hopper (sm_90a). A CTA owns 128 query rows of one head and
// has three warpgroups: warpgroup 0 only loads (one thread issues bulk tensor copies of Q once and of K/V
// tiles of 128 keys into a ring of mbarrier-guarded stages, then gives its registers away); warpgroups 1 and
// 2 compute 64 rows each. Within a consumer, QKᵀ of tile t is issued together with PV of tile t-1, so the
// softmax of tile t runs while the tensor cores do PV(t-1); between the consumers, named barriers make them
// take turns issuing ("ping-pong"), so one's softmax overlaps the other's products.
#include "kernels/attention_prefill.cuh"

#include <cudaTypedefs.h>

#include <cstdio>
#include <cstdlib>

#include "kernels/attention_sm90.cuh"
#include "kernels/attention_tile.cuh"
#include "kernels/attention_wgmma.cuh"
#include "kernels/cuda_check.cuh"
#include "kernels/tensor_map.cuh"

namespace m1::cuda {
namespace {

using bf16 = __nv_bfloat16;
using namespace m1::cuda::sm90;

constexpr int kDim = 128;
constexpr int kRows = 128;              // query rows per CTA (64 per consumer warpgroup)
constexpr int kKeys = 128;              // keys per K/V tile
constexpr int kThreads = 384;           // producer warpgroup + two consumer warpgroups
constexpr int kTile = 128 * kDim;       // elements of a [128][128] tile: two swizzled [128][64] halves
constexpr uint32_t kTileBytes = kTile * sizeof(bf16);
constexpr int kConsumerWarps = 8;       // arrivals that free a stage
constexpr int kProducerRegs = 24, kConsumerRegs = 240;  // 128*24 + 256*240 <= 64K registers
constexpr float kLog2e = 1.4426950408889634f;

template <int kStages>
constexpr std::size_t smem_bytes() {  // Q, K and V stages, 1 KB for alignment, the mbarriers
    return sizeof(bf16) * (1 + 2 * kStages) * kTile + 1024 + sizeof(uint64_t) * (1 + 4 * kStages);
}

struct WsArgs {
    CUtensorMap q, k, v;  // (d, head, token) maps, boxes 64 x 1 x 128, 128-byte swizzle (the swz128 layout)
    AttentionPrefillParams p;
};

// Online softmax of one tile of raw scores s (keys s0..s0+127) for this lane's two rows: masks keys after
// the row's position where `masked`, updates the running max m (log2 units, scale folded in) and sum l,
// returns the factors a0/a1 that rescale O, and leaves exp2(s·scale·log2e − m) in s.
__device__ __forceinline__ void online_softmax(float (&s)[64], float& m0, float& m1, float& l0, float& l1, float& a0,
                                               float& a1, bool masked, int s0, int pos0, int pos1, int cq,
                                               float sl2) {
    if (masked) {
#pragma unroll
        for (int i = 0; i < 16; ++i)
#pragma unroll
            for (int e = 0; e < 4; ++e)
                if (s0 + i * 8 + 2 * cq + (e & 1) > (e < 2 ? pos0 : pos1)) s[4 * i + e] = -INFINITY;
    }
    float x0 = -INFINITY, x1 = -INFINITY, y0 = -INFINITY, y1 = -INFINITY;  // two chains per row
#pragma unroll
    for (int i = 0; i < 16; i += 2) {
        x0 = fmaxf(x0, fmaxf(s[4 * i], s[4 * i + 1]));
        x1 = fmaxf(x1, fmaxf(s[4 * i + 2], s[4 * i + 3]));
        y0 = fmaxf(y0, fmaxf(s[4 * i + 4], s[4 * i + 5]));
        y1 = fmaxf(y1, fmaxf(s[4 * i + 6], s[4 * i + 7]));
    }
    x0 = fmaxf(x0, y0);
    x1 = fmaxf(x1, y1);
    x0 = fmaxf(x0, __shfl_xor_sync(0xffffffffu, x0, 1));
    x0 = fmaxf(x0, __shfl_xor_sync(0xffffffffu, x0, 2));
    x1 = fmaxf(x1, __shfl_xor_sync(0xffffffffu, x1, 1));
    x1 = fmaxf(x1, __shfl_xor_sync(0xffffffffu, x1, 2));
    // Key 0 lies in tile 0 and is visible to every row, so the max is finite from the first tile on.
    const float n0 = fmaxf(m0, x0 * sl2), n1 = fmaxf(m1, x1 * sl2);
    a0 = ex2(m0 - n0);
    a1 = ex2(m1 - n1);
    m0 = n0;
    m1 = n1;
    float u0 = 0.f, u1 = 0.f, v0 = 0.f, v1 = 0.f;
#pragma unroll
    for (int i = 0; i < 16; i += 2) {
#pragma unroll
        for (int e = 0; e < 8; ++e) s[4 * i + e] = ex2(fmaf(s[4 * i + e], sl2, (e & 2) ? -n1 : -n0));
        u0 += s[4 * i] + s[4 * i + 1];
        u1 += s[4 * i + 2] + s[4 * i + 3];
        v0 += s[4 * i + 4] + s[4 * i + 5];
        v1 += s[4 * i + 6] + s[4 * i + 7];
    }
    l0 = l0 * a0 + (u0 + v0);
    l1 = l1 * a1 + (u1 + v1);
}

// P as bf16 A fragments: n-tiles 2j and 2j+1 of the S accumulators form k-step j of PV.
__device__ __forceinline__ void to_fragments(const float (&s)[64], uint32_t (&pa)[8][4]) {
#pragma unroll
    for (int i = 0; i < 16; ++i) {
        pa[i >> 1][(i & 1) * 2] = tile::pack_bf16(s[4 * i], s[4 * i + 1]);
        pa[i >> 1][(i & 1) * 2 + 1] = tile::pack_bf16(s[4 * i + 2], s[4 * i + 3]);
    }
}

__device__ __forceinline__ void rescale(float (&o)[64], float a0, float a1) {
#pragma unroll
    for (int i = 0; i < 16; ++i) {
        o[4 * i] *= a0;
        o[4 * i + 1] *= a0;
        o[4 * i + 2] *= a1;
        o[4 * i + 3] *= a1;
    }
}

// Warpgroup 0, one thread: Q once, then K and V of every tile, each into its stage once the consumers have
// released it (parity ph ^ 1 of a fresh barrier passes at once, so the first round does not wait).
template <int kStages>
__device__ __forceinline__ void produce(const WsArgs& a, bf16* qs, bf16* ks, bf16* vs, uint64_t* q_full,
                                        uint64_t* k_full, uint64_t* v_full, uint64_t* k_empty, uint64_t* v_empty,
                                        int h, int g, int t0, int ntiles) {
    tma_prefetch_map(&a.q);
    tma_prefetch_map(&a.k);
    tma_prefetch_map(&a.v);
    mbar_arrive_expect(q_full, kTileBytes);
    tma_load_3d(qs, &a.q, 0, h, t0, q_full);
    tma_load_3d(qs + kRows * 64, &a.q, 64, h, t0, q_full);
    int st = 0;
    uint32_t ph = 0;
    for (int t = 0; t < ntiles; ++t) {
        bf16* kd = ks + st * kTile;
        bf16* vd = vs + st * kTile;
        mbar_wait(k_empty + st, ph ^ 1);
        mbar_arrive_expect(k_full + st, kTileBytes);
        tma_load_3d(kd, &a.k, 0, g, t * kKeys, k_full + st);
        tma_load_3d(kd + kKeys * 64, &a.k, 64, g, t * kKeys, k_full + st);
        mbar_wait(v_empty + st, ph ^ 1);
        mbar_arrive_expect(v_full + st, kTileBytes);
        tma_load_3d(vd, &a.v, 0, g, t * kKeys, v_full + st);
        tma_load_3d(vd + kKeys * 64, &a.v, 64, g, t * kKeys, v_full + st);
        if (++st == kStages) {
            st = 0;
            ph ^= 1;
        }
    }
}

template <int kStages, bool kPingPong>
__global__ void __launch_bounds__(kThreads, 1) attention_prefill_ws_kernel(const __grid_constant__ WsArgs a) {
    extern __shared__ unsigned char smem_raw[];
    bf16* qs = reinterpret_cast<bf16*>((reinterpret_cast<uintptr_t>(smem_raw) + 1023) & ~uintptr_t(1023));
    bf16* ks = qs + kTile;            // [kStages][128][128]
    bf16* vs = ks + kStages * kTile;  // [kStages][128][128]
    uint64_t* q_full = reinterpret_cast<uint64_t*>(vs + kStages * kTile);
    uint64_t* k_full = q_full + 1;
    uint64_t* v_full = k_full + kStages;
    uint64_t* k_empty = v_full + kStages;
    uint64_t* v_empty = k_empty + kStages;
    const AttentionPrefillParams& p = a.p;
    const int h = blockIdx.x, qt = gridDim.y - 1 - blockIdx.y;  // longest rows first
    const int t0 = qt * kRows, rows = min(kRows, p.q_tokens - t0);
    const int s_end = p.q_start + t0 + rows;  // keys visible to the CTA's last row
    const int ntiles = (s_end + kKeys - 1) / kKeys;
    const int wgi = threadIdx.x >> 7;

    if (threadIdx.x == 0) {
        mbar_init(q_full, 1);
        for (int i = 0; i < kStages; ++i) {
            mbar_init(k_full + i, 1);
            mbar_init(v_full + i, 1);
            mbar_init(k_empty + i, kConsumerWarps);
            mbar_init(v_empty + i, kConsumerWarps);
        }
        mbar_init_fence();
    }
    __syncthreads();

    if (wgi == 0) {
        regs_dec<kProducerRegs>();
        if (threadIdx.x == 0)
            produce<kStages>(a, qs, ks, vs, q_full, k_full, v_full, k_empty, v_empty, h,
                             h / (p.heads / p.kv_heads), t0, ntiles);
        return;
    }
    regs_inc<kConsumerRegs>();

    const int c = wgi - 1;  // consumer 0 or 1: query rows 64c .. 64c+63 of the tile
    const int warp = (threadIdx.x >> 5) & 3, lane = threadIdx.x & 31, cq = lane & 3;
    const int row0 = c * 64 + warp * 16 + (lane >> 2);  // this lane's rows: row0 and row0 + 8
    const int pos0 = p.q_start + t0 + row0, pos1 = pos0 + 8;
    const int wg_first = p.q_start + t0 + c * 64;
    const float sl2 = p.scale * kLog2e;
    // Ping-pong: consumer c waits on barrier 1 + c before issuing its products and then lets the other go.
    const int my_turn = 1 + c, other_turn = 2 - c;
    constexpr int kPair = 256;  // both consumer warpgroups take part in each turn barrier

    float o[64], s[64];
    uint32_t pa[8][4];
#pragma unroll
    for (int i = 0; i < 64; ++i) o[i] = s[i] = 0.f;
    float m0 = -INFINITY, m1 = -INFINITY, l0 = 0.f, l1 = 0.f, a0, a1;

    if (kPingPong && c == 1) bar_arrive(1, kPair);  // consumer 0 issues first
    mbar_wait(q_full, 0);

    // Tile 0: S alone.
    mbar_wait(k_full, 0);
    if (kPingPong) bar_sync(my_turn, kPair);
    wg::fence();
    wg::qk_tile(s, qs, ks, c);
    wg::commit();
    if (kPingPong) bar_arrive(other_turn, kPair);
    wg::wait<0>();
    if (lane == 0) mbar_arrive(k_empty);
    online_softmax(s, m0, m1, l0, l1, a0, a1, kKeys - 1 > wg_first, 0, pos0, pos1, cq, sl2);
    to_fragments(s, pa);

    // Tile t: S(t) and PV(t-1) issued together; the softmax of S(t) overlaps PV(t-1).
    int st = 0, pst = 0;
    uint32_t ph = 0, pph = 0;
    for (int t = 1; t < ntiles; ++t) {
        pst = st;
        pph = ph;
        if (++st == kStages) {
            st = 0;
            ph ^= 1;
        }
        mbar_wait(k_full + st, ph);
        mbar_wait(v_full + pst, pph);  // V(t-1) was loaded before K(t)
        if (kPingPong) bar_sync(my_turn, kPair);
        wg::fence();
        wg::qk_tile(s, qs, ks + st * kTile, c);
        wg::commit();
        wg::pv_tile(o, pa, vs + pst * kTile);
        wg::commit();
        if (kPingPong) bar_arrive(other_turn, kPair);
        wg::wait<1>();
        if (lane == 0) mbar_arrive(k_empty + st);
        const int s0 = t * kKeys;
        online_softmax(s, m0, m1, l0, l1, a0, a1, s0 + kKeys - 1 > wg_first, s0, pos0, pos1, cq, sl2);
        wg::wait<0>();
        if (lane == 0) mbar_arrive(v_empty + pst);
        rescale(o, a0, a1);
        to_fragments(s, pa);
    }

    // PV of the last tile.
    mbar_wait(v_full + st, ph);
    if (kPingPong) bar_sync(my_turn, kPair);
    wg::fence();
    wg::pv_tile(o, pa, vs + st * kTile);
    wg::commit();
    if (kPingPong && c == 0) bar_arrive(other_turn, kPair);  // consumer 1's last turn; none follows it
    wg::wait<0>();

    // Normalise and store this lane's two rows.
    l0 += __shfl_xor_sync(0xffffffffu, l0, 1);
    l0 += __shfl_xor_sync(0xffffffffu, l0, 2);
    l1 += __shfl_xor_sync(0xffffffffu, l1, 1);
    l1 += __shfl_xor_sync(0xffffffffu, l1, 2);
    const float inv0 = 1.f / l0, inv1 = 1.f / l1;
    bf16* out = p.out + int64_t(h) * kDim + 2 * cq;
#pragma unroll
    for (int i = 0; i < 16; ++i) {
        if (row0 < rows)
            *reinterpret_cast<uint32_t*>(out + (t0 + row0) * p.out_tok_stride + i * 8) =
                tile::pack_bf16(o[4 * i] * inv0, o[4 * i + 1] * inv0);
        if (row0 + 8 < rows)
            *reinterpret_cast<uint32_t*>(out + (t0 + row0 + 8) * p.out_tok_stride + i * 8) =
                tile::pack_bf16(o[4 * i + 2] * inv1, o[4 * i + 3] * inv1);
    }
}

// A [tokens][heads][128] bf16 tensor read in boxes of 128 tokens x 64 dims of one head.
CUtensorMap tensor_map(const bf16* base, int heads, int64_t head_stride, int tokens, int64_t tok_stride) {
    return head_dim128_map(base, heads, head_stride, tokens, tok_stride, 128, "attention_prefill");
}

template <int kStages, bool kPingPong>
void launch(const AttentionPrefillParams& p, cudaStream_t stream) {
    WsArgs a;
    a.q = tensor_map(p.q, p.heads, p.q_head_stride, p.q_tokens, p.q_tok_stride);
    a.k = tensor_map(p.k, p.kv_heads, p.kv_head_stride, p.q_start + p.q_tokens, p.kv_tok_stride);
    a.v = tensor_map(p.v, p.kv_heads, p.kv_head_stride, p.q_start + p.q_tokens, p.kv_tok_stride);
    a.p = p;
    constexpr std::size_t smem = smem_bytes<kStages>();
    static_assert(smem <= 227 * 1024, "shared memory");
    M1_CUDA_CHECK(cudaFuncSetAttribute(attention_prefill_ws_kernel<kStages, kPingPong>,
                                       cudaFuncAttributeMaxDynamicSharedMemorySize, int(smem)));
    const dim3 grid(p.heads, (p.q_tokens + kRows - 1) / kRows);
    attention_prefill_ws_kernel<kStages, kPingPong><<<grid, kThreads, smem, stream>>>(a);
    M1_LAUNCH_CHECK();
}

}  // namespace

void attention_prefill_ws(const AttentionPrefillParams& p, cudaStream_t stream) {
    // The variants were within run-to-run noise of each other on an H100 (572-598 TFLOP/s at 32K-1M); three
    // stages with ping-pong never fell under 588 at 32K/128K in two runs, so it is the default.
    switch (p.impl) {
        case 4: launch<2, true>(p, stream); break;
        case 6: launch<2, false>(p, stream); break;
        case 7: launch<3, false>(p, stream); break;
        default: launch<3, true>(p, stream); break;  // impl 5 (and 0 on Hopper)
    }
}

}  // namespace m1::cuda
