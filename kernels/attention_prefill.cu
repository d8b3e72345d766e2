// Softmax attention prefill, flash-attention-2 style on mma.sync: a CTA owns 128 query rows of one head
// (8 warps x 16 rows, Q fragments in registers), streams 64-key tiles of K and V through a two-stage
// cp.async pipeline and keeps the running max, sum and output in fp32 registers.
#include "kernels/attention_prefill.cuh"

#include "kernels/attention_tile.cuh"
#include "kernels/cuda_check.cuh"

#include <cstdio>
#include <cstdlib>

namespace m1::cuda {
namespace {

using namespace m1::cuda::tile;
using bf16 = __nv_bfloat16;

constexpr int kDim = 128;
constexpr int kRows = 128;     // query rows per CTA
constexpr int kKeys = 64;      // keys per tile
constexpr int kThreads = 256;  // 8 warps
constexpr float kLog2e = 1.4426950408889634f;
constexpr std::size_t kSmem = sizeof(bf16) * (kRows * kDim + 4 * kKeys * kDim);  // Q + 2 x (K, V): 96 KB

__device__ __forceinline__ void load_kv(const AttentionPrefillParams& p, int g, int s0, int s_end, bf16* ks, bf16* vs) {
#pragma unroll
    for (int i = 0; i < kKeys * kDim / 8 / kThreads; ++i) {
        int idx = threadIdx.x + i * kThreads, row = idx >> 4, col = (idx & 15) << 3;
        bool ok = s0 + row < s_end;
        int64_t off = ok ? (s0 + row) * p.kv_tok_stride + g * p.kv_head_stride + col : 0;
        cp_async16(ks + swz(row, col), p.k + off, ok);
        cp_async16(vs + swz(row, col), p.v + off, ok);
    }
}

__global__ void __launch_bounds__(kThreads, 1) attention_prefill_kernel(AttentionPrefillParams p) {
    extern __shared__ __align__(128) unsigned char smem_raw[];
    bf16* qs = reinterpret_cast<bf16*>(smem_raw);  // [128][128]
    bf16* ks = qs + kRows * kDim;                  // [2][64][128]
    bf16* vs = ks + 2 * kKeys * kDim;              // [2][64][128]
    const int h = blockIdx.x, qt = gridDim.y - 1 - blockIdx.y;  // longest rows first
    const int g = h / (p.heads / p.kv_heads);
    const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31, gr = lane >> 2, c = lane & 3;
    const int t0 = qt * kRows;
    const int rows = min(kRows, p.q_tokens - t0);
    const int s_end = p.q_start + t0 + rows;  // keys visible to the last row of this CTA
    const int ntiles = (s_end + kKeys - 1) / kKeys;

#pragma unroll
    for (int i = 0; i < kRows * kDim / 8 / kThreads; ++i) {
        int idx = threadIdx.x + i * kThreads, row = idx >> 4, col = (idx & 15) << 3;
        bool ok = row < rows;
        int64_t off = ok ? (t0 + row) * p.q_tok_stride + h * p.q_head_stride + col : 0;
        cp_async16(qs + swz(row, col), p.q + off, ok);
    }
    load_kv(p, g, 0, s_end, ks, vs);
    cp_async_commit();

    const int pos0 = p.q_start + t0 + warp * 16 + gr, pos1 = pos0 + 8;  // positions of this lane's two rows
    const int warp_first = p.q_start + t0 + warp * 16, warp_last = warp_first + 15;
    const float sl2 = p.scale * kLog2e;
    uint32_t qf[8][4];
    float o[16][4] = {};
    float m0 = -INFINITY, m1 = -INFINITY, l0 = 0.f, l1 = 0.f;

    for (int tile = 0; tile < ntiles; ++tile) {
        const int buf = tile & 1, s0 = tile * kKeys;
        if (tile + 1 < ntiles) {
            load_kv(p, g, s0 + kKeys, s_end, ks + (buf ^ 1) * kKeys * kDim, vs + (buf ^ 1) * kKeys * kDim);
            cp_async_commit();
            cp_async_wait<1>();
        } else {
            cp_async_wait<0>();
        }
        __syncthreads();
        if (tile == 0) {
#pragma unroll
            for (int kt = 0; kt < 8; ++kt) ldsm_x4(qf[kt], a_addr(qs, warp * 16, kt * 16, lane));
        }
        const bf16* kb = ks + buf * kKeys * kDim;
        const bf16* vb = vs + buf * kKeys * kDim;
        if (s0 <= warp_last) {  // else every key of the tile lies after this warp's rows
            float s[8][4] = {};
#pragma unroll
            for (int kt = 0; kt < 8; ++kt) {
#pragma unroll
                for (int np = 0; np < 4; ++np) {
                    uint32_t b[4];
                    ldsm_x4(b, b_addr(kb, np * 16, kt * 16, lane));
                    mma(s[2 * np], qf[kt], b[0], b[1]);
                    mma(s[2 * np + 1], qf[kt], b[2], b[3]);
                }
            }
            const bool masked = s0 + kKeys - 1 > warp_first;
#pragma unroll
            for (int nt = 0; nt < 8; ++nt) {
#pragma unroll
                for (int r = 0; r < 4; ++r) {
                    int key = s0 + nt * 8 + 2 * c + (r & 1);
                    float x = s[nt][r] * sl2;
                    if (masked && key > (r < 2 ? pos0 : pos1)) x = -INFINITY;
                    s[nt][r] = x;
                }
            }
            online_softmax_step(s, o, m0, m1, l0, l1);
#pragma unroll
            for (int jt = 0; jt < 4; ++jt) {
                uint32_t a[4] = {pack_bf16(s[2 * jt][0], s[2 * jt][1]), pack_bf16(s[2 * jt][2], s[2 * jt][3]),
                                 pack_bf16(s[2 * jt + 1][0], s[2 * jt + 1][1]),
                                 pack_bf16(s[2 * jt + 1][2], s[2 * jt + 1][3])};
#pragma unroll
                for (int np = 0; np < 8; ++np) {
                    uint32_t b[4];
                    ldsm_x4_t(b, bt_addr(vb, jt * 16, np * 16, lane));
                    mma(o[2 * np], a, b[0], b[1]);
                    mma(o[2 * np + 1], a, b[2], b[3]);
                }
            }
        }
        __syncthreads();  // the buffer is refilled by the next iteration's prefetch
    }
    l0 += __shfl_xor_sync(0xffffffffu, l0, 1);
    l0 += __shfl_xor_sync(0xffffffffu, l0, 2);
    l1 += __shfl_xor_sync(0xffffffffu, l1, 1);
    l1 += __shfl_xor_sync(0xffffffffu, l1, 2);
    const float inv0 = 1.f / l0, inv1 = 1.f / l1;
    const int r0 = warp * 16 + gr, r1 = r0 + 8;
    bf16* out = p.out + int64_t(h) * kDim + 2 * c;
#pragma unroll
    for (int nt = 0; nt < 16; ++nt) {
        if (r0 < rows)
            *reinterpret_cast<uint32_t*>(out + (t0 + r0) * p.out_tok_stride + nt * 8) =
                pack_bf16(o[nt][0] * inv0, o[nt][1] * inv0);
        if (r1 < rows)
            *reinterpret_cast<uint32_t*>(out + (t0 + r1) * p.out_tok_stride + nt * 8) =
                pack_bf16(o[nt][2] * inv1, o[nt][3] * inv1);
    }
}

}  // namespace

void attention_prefill(const AttentionPrefillParams& p, cudaStream_t stream) {
    const bool ok = p.q && p.k && p.v && p.out && p.q_tokens >= 1 && p.q_start >= 0 && p.heads >= 1 &&
                    p.kv_heads >= 1 && p.heads % p.kv_heads == 0 && p.heads <= 65535 &&
                    p.q_tok_stride % 8 == 0 && p.q_head_stride % 8 == 0 && p.kv_tok_stride % 8 == 0 &&
                    p.kv_head_stride % 8 == 0 && p.out_tok_stride % 2 == 0 &&
                    (reinterpret_cast<uintptr_t>(p.q) | reinterpret_cast<uintptr_t>(p.k) |
                     reinterpret_cast<uintptr_t>(p.v)) % 16 == 0 &&
                    reinterpret_cast<uintptr_t>(p.out) % 4 == 0;
    if (!ok) {
        std::fprintf(stderr, "attention_prefill: bad parameters (q_tokens %d, heads %d/%d)\n", p.q_tokens,
                     p.heads, p.kv_heads);
        std::abort();
    }
    int dev = 0, major = 0;
    M1_CUDA_CHECK(cudaGetDevice(&dev));
    M1_CUDA_CHECK(cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, dev));
    if (p.impl >= 4 || (p.impl == 0 && major == 9)) {
        attention_prefill_ws(p, stream);
        return;
    }
    if (p.impl >= 2) {
        attention_prefill_wgmma(p, stream);
        return;
    }
    M1_CUDA_CHECK(cudaFuncSetAttribute(attention_prefill_kernel, cudaFuncAttributeMaxDynamicSharedMemorySize,
                                       int(kSmem)));
    dim3 grid(p.heads, (p.q_tokens + kRows - 1) / kRows);
    attention_prefill_kernel<<<grid, kThreads, kSmem, stream>>>(p);
    M1_LAUNCH_CHECK();
}

}  // namespace m1::cuda
