// Softmax attention prefill on Hopper warpgroup MMAs (wgmma, sm_90a): a CTA of two warpgroups owns 128
// query rows of one head (64 per warpgroup); S = QKᵀ comes from shared-memory operands, O += PV takes P
// from registers and V transposed by the instruction. K/V tiles of 128 keys, two-stage cp.async pipeline.
#include "kernels/attention_prefill.cuh"

#include "kernels/attention_tile.cuh"
#include "kernels/attention_wgmma.cuh"
#include "kernels/cuda_check.cuh"

namespace m1::cuda {
namespace {

using bf16 = __nv_bfloat16;
using tile::cp_async16;
using tile::pack_bf16;
using wg::swz128;

constexpr int kDim = 128;
constexpr int kRows = 128;     // query rows per CTA: warpgroup w owns rows 64w..64w+63
constexpr int kKeys = 128;     // keys per tile (the N of the S product)
constexpr int kThreads = 256;
constexpr int kTile = 128 * kDim;  // elements of one [128][128] tile
constexpr float kLog2e = 1.4426950408889634f;
constexpr std::size_t kSmem = sizeof(bf16) * 5 * kTile + 1024;  // Q, 2 x K, 2 x V, slack for 1024-alignment

// rows [first, first + valid) of a [.][128] bf16 matrix into a swizzled [128][128] tile; the rest zero.
__device__ __forceinline__ void load_tile(const bf16* src, int64_t stride, int first, int valid, bf16* dst) {
#pragma unroll
    for (int i = 0; i < 128 * 16 / kThreads; ++i) {
        const int idx = threadIdx.x + i * kThreads, row = idx >> 4, col = (idx & 15) << 3;
        const bool ok = row < valid;
        cp_async16(dst + swz128(row, col, 128), ok ? src + (first + row) * stride + col : src, ok);
    }
}


// Per-lane state of a warpgroup's 64 rows: this lane holds rows row0 and row0 + 8 of the tile.
struct RowState {
    float o[64];                 // O accumulators (m64n128 layout: n-tile i at o[4i..4i+3])
    float m0, m1, l0, l1;        // running max (log2 units) and partial sums of the two rows
    int pos0, pos1, wg_first;    // sequence positions of the two rows, of the warpgroup's first row
};

// s = Q(64 rows of warpgroup wgi) · K(tile)ᵀ, issued asynchronously (the caller commits and waits).
__device__ __forceinline__ void issue_s(float (&s)[64], const bf16* qs, const bf16* kb, int wgi) {
#pragma unroll
    for (int i = 0; i < 64; ++i) s[i] = 0.f;
    wg::qk_tile(s, qs, kb, wgi);
}

// o += P · V(tile), P from registers, issued asynchronously.
__device__ __forceinline__ void issue_pv(float (&o)[64], const uint32_t (&pa)[8][4], const bf16* vb) {
    wg::pv_tile(o, pa, vb);
}

// Causal mask, online-softmax update of the tile starting at key s0, O rescaled, P packed as bf16 A fragments.
__device__ __forceinline__ void softmax_tile(float (&s)[64], RowState& r, uint32_t (&pa)[8][4], int s0, float sl2,
                                             int c) {
    const bool masked = s0 + kKeys - 1 > r.wg_first;
    float mx0 = r.m0, mx1 = r.m1;
#pragma unroll
    for (int i = 0; i < 16; ++i) {
#pragma unroll
        for (int e = 0; e < 4; ++e) {
            const int key = s0 + i * 8 + 2 * c + (e & 1);
            float x = s[4 * i + e] * sl2;
            if (masked && key > (e < 2 ? r.pos0 : r.pos1)) x = -INFINITY;
            s[4 * i + e] = x;
        }
        mx0 = fmaxf(mx0, fmaxf(s[4 * i], s[4 * i + 1]));
        mx1 = fmaxf(mx1, fmaxf(s[4 * i + 2], s[4 * i + 3]));
    }
    mx0 = fmaxf(mx0, __shfl_xor_sync(0xffffffffu, mx0, 1));
    mx0 = fmaxf(mx0, __shfl_xor_sync(0xffffffffu, mx0, 2));
    mx1 = fmaxf(mx1, __shfl_xor_sync(0xffffffffu, mx1, 1));
    mx1 = fmaxf(mx1, __shfl_xor_sync(0xffffffffu, mx1, 2));
    const float a0 = exp2f(r.m0 - mx0), a1 = exp2f(r.m1 - mx1);  // key 0 is visible to every row
    r.m0 = mx0;
    r.m1 = mx1;
    r.l0 *= a0;
    r.l1 *= a1;
#pragma unroll
    for (int i = 0; i < 16; ++i) {
        r.o[4 * i] *= a0; r.o[4 * i + 1] *= a0; r.o[4 * i + 2] *= a1; r.o[4 * i + 3] *= a1;
        const float e0 = exp2f(s[4 * i] - r.m0), e1 = exp2f(s[4 * i + 1] - r.m0);
        const float e2 = exp2f(s[4 * i + 2] - r.m1), e3 = exp2f(s[4 * i + 3] - r.m1);
        r.l0 += e0 + e1;
        r.l1 += e2 + e3;
        // n-tiles 2j and 2j+1 of S form the A fragment of k-step j of PV.
        pa[i >> 1][(i & 1) * 2] = pack_bf16(e0, e1);
        pa[i >> 1][(i & 1) * 2 + 1] = pack_bf16(e2, e3);
    }
}

__device__ __forceinline__ void store_rows(const AttentionPrefillParams& p, RowState& r, int h, int t0, int row0,
                                           int rows, int c) {
    float l0 = r.l0, l1 = r.l1;
    l0 += __shfl_xor_sync(0xffffffffu, l0, 1);
    l0 += __shfl_xor_sync(0xffffffffu, l0, 2);
    l1 += __shfl_xor_sync(0xffffffffu, l1, 1);
    l1 += __shfl_xor_sync(0xffffffffu, l1, 2);
    const float inv0 = 1.f / l0, inv1 = 1.f / l1;
    bf16* out = p.out + int64_t(h) * kDim + 2 * c;
#pragma unroll
    for (int i = 0; i < 16; ++i) {
        if (row0 < rows)
            *reinterpret_cast<uint32_t*>(out + (t0 + row0) * p.out_tok_stride + i * 8) =
                pack_bf16(r.o[4 * i] * inv0, r.o[4 * i + 1] * inv0);
        if (row0 + 8 < rows)
            *reinterpret_cast<uint32_t*>(out + (t0 + row0 + 8) * p.out_tok_stride + i * 8) =
                pack_bf16(r.o[4 * i + 2] * inv1, r.o[4 * i + 3] * inv1);
    }
}

// impl 2: per tile, S then softmax then PV, each product waited for; two K/V stages.
__global__ void __launch_bounds__(kThreads, 1) attention_prefill_wgmma_kernel(AttentionPrefillParams p) {
    extern __shared__ unsigned char smem_raw[];
    bf16* qs = reinterpret_cast<bf16*>((reinterpret_cast<uintptr_t>(smem_raw) + 1023) & ~uintptr_t(1023));
    bf16* ks = qs + kTile;      // [2][128][128]
    bf16* vs = ks + 2 * kTile;  // [2][128][128]
    const int h = blockIdx.x, qt = gridDim.y - 1 - blockIdx.y;  // longest rows first
    const int g = h / (p.heads / p.kv_heads);
    const int wgi = threadIdx.x >> 7, warp = (threadIdx.x >> 5) & 3, lane = threadIdx.x & 31, c = lane & 3;
    const int t0 = qt * kRows, rows = min(kRows, p.q_tokens - t0);
    const int s_end = p.q_start + t0 + rows;
    const int ntiles = (s_end + kKeys - 1) / kKeys;
    const bf16* kg = p.k + int64_t(g) * p.kv_head_stride;
    const bf16* vg = p.v + int64_t(g) * p.kv_head_stride;

    load_tile(p.q + t0 * p.q_tok_stride + int64_t(h) * p.q_head_stride, p.q_tok_stride, 0, rows, qs);
    load_tile(kg, p.kv_tok_stride, 0, min(kKeys, s_end), ks);
    load_tile(vg, p.kv_tok_stride, 0, min(kKeys, s_end), vs);
    tile::cp_async_commit();

    const int row0 = wgi * 64 + warp * 16 + (lane >> 2);
    RowState r;
    r.pos0 = p.q_start + t0 + row0;
    r.pos1 = r.pos0 + 8;
    r.wg_first = p.q_start + t0 + wgi * 64;
    r.m0 = r.m1 = -INFINITY;
    r.l0 = r.l1 = 0.f;
#pragma unroll
    for (int i = 0; i < 64; ++i) r.o[i] = 0.f;
    const float sl2 = p.scale * kLog2e;

    for (int t = 0; t < ntiles; ++t) {
        const int buf = t & 1, s0 = t * kKeys;
        if (t + 1 < ntiles) {
            const int n0 = s0 + kKeys, nv = min(kKeys, s_end - n0);
            load_tile(kg, p.kv_tok_stride, n0, nv, ks + (buf ^ 1) * kTile);
            load_tile(vg, p.kv_tok_stride, n0, nv, vs + (buf ^ 1) * kTile);
            tile::cp_async_commit();
            tile::cp_async_wait<1>();
        } else {
            tile::cp_async_wait<0>();
        }
        wg::fence_proxy();
        __syncthreads();
        if (s0 <= r.wg_first + 63) {  // warpgroup-uniform: else every key of the tile lies after its rows
            float s[64];
            uint32_t pa[8][4];
            wg::fence();
            issue_s(s, qs, ks + buf * kTile, wgi);
            wg::commit();
            wg::wait<0>();
            softmax_tile(s, r, pa, s0, sl2, c);
            wg::fence();
            issue_pv(r.o, pa, vs + buf * kTile);
            wg::commit();
            wg::wait<0>();
        }
        __syncthreads();  // the buffer is refilled by the next iteration's prefetch
    }
    store_rows(p, r, h, t0, row0, rows, c);
}

// impl 3: PV of tile t and S of tile t+1 are issued back to back and waited for together, so the tensor
// cores see 16 products per wait instead of 8; three K/V stages (V of tile t and K of tile t+1 live at once).
constexpr int kStages3 = 3;
constexpr std::size_t kSmem3 = sizeof(bf16) * (1 + 2 * kStages3) * kTile + 1024;  // 225 KB

__global__ void __launch_bounds__(kThreads, 1) attention_prefill_wgmma_overlap_kernel(AttentionPrefillParams p) {
    extern __shared__ unsigned char smem_raw[];
    bf16* qs = reinterpret_cast<bf16*>((reinterpret_cast<uintptr_t>(smem_raw) + 1023) & ~uintptr_t(1023));
    bf16* ks = qs + kTile;              // [3][128][128]
    bf16* vs = ks + kStages3 * kTile;   // [3][128][128]
    const int h = blockIdx.x, qt = gridDim.y - 1 - blockIdx.y;
    const int g = h / (p.heads / p.kv_heads);
    const int wgi = threadIdx.x >> 7, warp = (threadIdx.x >> 5) & 3, lane = threadIdx.x & 31, c = lane & 3;
    const int t0 = qt * kRows, rows = min(kRows, p.q_tokens - t0);
    const int s_end = p.q_start + t0 + rows;
    const int ntiles = (s_end + kKeys - 1) / kKeys;
    const bf16* kg = p.k + int64_t(g) * p.kv_head_stride;
    const bf16* vg = p.v + int64_t(g) * p.kv_head_stride;
    auto issue = [&](int t) {  // commits a group even past the end, so the wait counts stay fixed
        if (t < ntiles) {
            const int n0 = t * kKeys, nv = min(kKeys, s_end - n0), st = (t % kStages3) * kTile;
            load_tile(kg, p.kv_tok_stride, n0, nv, ks + st);
            load_tile(vg, p.kv_tok_stride, n0, nv, vs + st);
        }
        tile::cp_async_commit();
    };
    load_tile(p.q + t0 * p.q_tok_stride + int64_t(h) * p.q_head_stride, p.q_tok_stride, 0, rows, qs);
    issue(0);  // group 0: Q and tile 0
    issue(1);

    const int row0 = wgi * 64 + warp * 16 + (lane >> 2);
    RowState r;
    r.pos0 = p.q_start + t0 + row0;
    r.pos1 = r.pos0 + 8;
    r.wg_first = p.q_start + t0 + wgi * 64;
    r.m0 = r.m1 = -INFINITY;
    r.l0 = r.l1 = 0.f;
#pragma unroll
    for (int i = 0; i < 64; ++i) r.o[i] = 0.f;
    const float sl2 = p.scale * kLog2e;
    const int wg_last = r.wg_first + 63;

    float s[64];
    uint32_t pa[8][4];
    tile::cp_async_wait<1>();
    wg::fence_proxy();
    __syncthreads();
    wg::fence();
    issue_s(s, qs, ks, wgi);  // tile 0 is visible to every row
    wg::commit();
    wg::wait<0>();
    softmax_tile(s, r, pa, 0, sl2, c);
    for (int t = 0; t < ntiles; ++t) {
        __syncthreads();   // both warpgroups are done with tile t-1: its stage may be refilled
        issue(t + 2);
        tile::cp_async_wait<1>();  // tile t+1 has landed
        wg::fence_proxy();
        __syncthreads();
        const bool act = t * kKeys <= wg_last;
        const bool next = t + 1 < ntiles && (t + 1) * kKeys <= wg_last;
        if (act) {
            wg::fence();
            issue_pv(r.o, pa, vs + (t % kStages3) * kTile);
            if (next) issue_s(s, qs, ks + ((t + 1) % kStages3) * kTile, wgi);
            wg::commit();
            wg::wait<0>();
            if (next) softmax_tile(s, r, pa, (t + 1) * kKeys, sl2, c);
        }
    }
    store_rows(p, r, h, t0, row0, rows, c);
}

}  // namespace

void attention_prefill_wgmma(const AttentionPrefillParams& p, cudaStream_t stream) {
    dim3 grid(p.heads, (p.q_tokens + kRows - 1) / kRows);
    if (p.impl == 3) {
        M1_CUDA_CHECK(cudaFuncSetAttribute(attention_prefill_wgmma_overlap_kernel,
                                           cudaFuncAttributeMaxDynamicSharedMemorySize, int(kSmem3)));
        attention_prefill_wgmma_overlap_kernel<<<grid, kThreads, kSmem3, stream>>>(p);
    } else {
        M1_CUDA_CHECK(cudaFuncSetAttribute(attention_prefill_wgmma_kernel, cudaFuncAttributeMaxDynamicSharedMemorySize,
                                           int(kSmem)));
        attention_prefill_wgmma_kernel<<<grid, kThreads, kSmem, stream>>>(p);
    }
    M1_LAUNCH_CHECK();
}

}  // namespace m1::cuda
