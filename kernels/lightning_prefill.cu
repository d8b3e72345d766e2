// Lightning attention prefill in three launches. (1) each CTA walks one chunk of one head in 64-token
// sub-blocks and keeps its local state in mma accumulators; (2) a scan over chunks turns local states
// into each chunk's incoming state; (3) each CTA walks its chunk again from that state and writes o.
#include "kernels/lightning_prefill.cuh"

#include "kernels/attention_tile.cuh"

#include "kernels/cuda_check.cuh"

#include <cstdio>
#include <cstdlib>

namespace m1::cuda {
namespace {

using namespace m1::cuda::tile;
using bf16 = __nv_bfloat16;

constexpr int kDim = 128;       // head dim (d and e)
constexpr int kSub = 64;        // tokens per sub-block: intra products are 64x64 on tensor cores
constexpr int kThreads = 256;   // 8 warps; in the state update warp w owns key rows d = 16w..16w+15
constexpr int kStages = 3;      // sub-blocks in flight: the walk is bound by HBM bandwidth
constexpr int kStateElems = kDim * kDim;
constexpr float kLog2e = 1.4426950408889634f;

// Shared memory: K, V (and Q for outputs) [kStages][64][128] bf16, plus the state as bf16 [128][128]
// (outputs only): 96 KB for pass 1, 176 KB for pass 3.
constexpr int tile_elems() { return kSub * kDim; }
constexpr std::size_t smem_bytes(bool with_out) {
    return sizeof(bf16) * (std::size_t(with_out ? 3 : 2) * kStages * tile_elems() + (with_out ? kStateElems : 0));
}

struct Chunk {
    int t0, t1;  // token range [t0, t1)
};

__device__ __forceinline__ Chunk chunk_of(const LightningPrefillParams& p, int c) {
    int t0 = c * p.chunk;
    return {t0, min(p.tokens, t0 + p.chunk)};
}

// Copies rows [t, t+64) of one head's q (if wanted), k, v into smem; rows past t1 are zero-filled.
template <bool kOut>
__device__ __forceinline__ void load_sub(const LightningPrefillParams& p, int h, int t, int t1, bf16* qs, bf16* ks,
                                         bf16* vs) {
    const int64_t head = int64_t(h) * p.head_stride;
#pragma unroll
    for (int i = 0; i < tile_elems() / 8 / kThreads; ++i) {
        int idx = threadIdx.x + i * kThreads;  // 16-byte chunk index in the 64x128 tile
        int row = idx >> 4, col = (idx & 15) << 3;
        bool ok = t + row < t1;
        int64_t off = ok ? (t + row) * p.tok_stride + head + col : 0;
        int s = swz(row, col);
        if (kOut) cp_async16(qs + s, p.q + off, ok);
        cp_async16(ks + s, p.k + off, ok);
        cp_async16(vs + s, p.v + off, ok);
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

// kOut = false: pass 1, local state of the chunk from zero -> ws. kOut = true: pass 3, outputs from the
// chunk's incoming state (read from ws).
template <bool kOut>
__global__ void __launch_bounds__(kThreads, kOut ? 1 : 2) chunk_kernel(LightningPrefillParams p, float* ws) {
    extern __shared__ __align__(128) unsigned char smem_raw[];
    bf16* base = reinterpret_cast<bf16*>(smem_raw);
    bf16* ks = base;                              // [kStages][64][128]
    bf16* vs = ks + kStages * tile_elems();       // [kStages][64][128]
    bf16* qs = vs + kStages * tile_elems();       // [kStages][64][128] (kOut only)
    bf16* sb = qs + kStages * tile_elems();       // [128][128]         (kOut only)
    const int cidx = blockIdx.x, h = blockIdx.y, nchunks = gridDim.x;
    const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31, g = lane >> 2, c = lane & 3;
    const Chunk ch = chunk_of(p, cidx);
    const float nlog2 = -p.slopes[h] * kLog2e;  // λ^n = exp2(nlog2 * n)
    float* wsl = ws + (int64_t(h) * nchunks + cidx) * kStateElems;

    float S[16][4];
#pragma unroll
    for (int nt = 0; nt < 16; ++nt) {
        int d = warp * 16 + g, e = nt * 8 + 2 * c;
        if (kOut) {
            float2 lo = *reinterpret_cast<const float2*>(wsl + d * kDim + e);
            float2 hi = *reinterpret_cast<const float2*>(wsl + (d + 8) * kDim + e);
            S[nt][0] = lo.x; S[nt][1] = lo.y; S[nt][2] = hi.x; S[nt][3] = hi.y;
        } else {
            S[nt][0] = S[nt][1] = S[nt][2] = S[nt][3] = 0.f;
        }
    }
    const int nsub = (ch.t1 - ch.t0 + kSub - 1) / kSub;
    auto issue = [&](int sub) {  // always commits a group, empty past the end, so the wait count stays fixed
        if (sub < nsub) {
            const int st = (sub % kStages) * tile_elems();
            load_sub<kOut>(p, h, ch.t0 + sub * kSub, ch.t1, qs + st, ks + st, vs + st);
        }
        cp_async_commit();
    };
#pragma unroll
    for (int sub = 0; sub < kStages - 1; ++sub) issue(sub);
    for (int sub = 0; sub < nsub; ++sub) {
        const int st = (sub % kStages) * tile_elems(), t = ch.t0 + sub * kSub, m = min(kSub, ch.t1 - t);
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
    if (!kOut) {
#pragma unroll
        for (int nt = 0; nt < 16; ++nt) {
            int d = warp * 16 + g, e = nt * 8 + 2 * c;
            *reinterpret_cast<float2*>(wsl + d * kDim + e) = make_float2(S[nt][0], S[nt][1]);
            *reinterpret_cast<float2*>(wsl + (d + 8) * kDim + e) = make_float2(S[nt][2], S[nt][3]);
        }
    }
}

// Pass 2: per state element, walk the chunks in order: ws[c] (local state) becomes the state entering
// chunk c; the state after the last chunk goes to state_out. Loads run 8 chunks ahead of the recurrence.
__global__ void __launch_bounds__(256) scan_kernel(LightningPrefillParams p, float* ws, int nchunks) {
    const int64_t idx = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
    if (idx >= int64_t(p.heads) * kStateElems) return;
    const int h = int(idx / kStateElems), el = int(idx % kStateElems);
    const float nlog2 = -p.slopes[h] * kLog2e;
    const float full = exp2f(nlog2 * p.chunk);
    float s = p.state_in ? p.state_in[idx] : 0.f;
    float* col = ws + int64_t(h) * nchunks * kStateElems + el;
    for (int c0 = 0; c0 < nchunks; c0 += 8) {
        float kv[8];
#pragma unroll
        for (int u = 0; u < 8; ++u)
            if (c0 + u < nchunks) kv[u] = col[int64_t(c0 + u) * kStateElems];
#pragma unroll
        for (int u = 0; u < 8; ++u) {
            const int cc = c0 + u;
            if (cc < nchunks) {
                col[int64_t(cc) * kStateElems] = s;
                const int len = min(p.chunk, p.tokens - cc * p.chunk);
                s = fmaf(len == p.chunk ? full : exp2f(nlog2 * len), s, kv[u]);
            }
        }
    }
    if (p.state_out) p.state_out[idx] = s;
}

bool aligned(const void* ptr, unsigned bytes) { return reinterpret_cast<uintptr_t>(ptr) % bytes == 0; }

void check(bool ok, const char* what) {
    if (!ok) {
        std::fprintf(stderr, "lightning_prefill: %s\n", what);
        std::abort();
    }
}

}  // namespace

// About two waves of the output pass (one 176 KB CTA per SM), and at least 512 tokens per chunk: each chunk
// costs four 64 KB state transfers (pass 1 write, scan read+write, pass 3 read) besides its q/k/v.
// Measured on an H100 at 8 heads (docs/benchmarks/attention-kernels.md): 8K 149 -> 82 us, 1M 6.07 -> 5.95 ms.
int lightning_prefill_default_chunk(int tokens, int heads, int sm_count) {
    const int want = (2 * sm_count + heads - 1) / heads;  // chunks per head
    int chunk = (tokens + want - 1) / want;
    chunk = (chunk + kSub - 1) / kSub * kSub;
    return chunk < 8 * kSub ? 8 * kSub : chunk;
}

std::size_t lightning_prefill_workspace_bytes(int tokens, int heads, int chunk) {
    const std::size_t nchunks = (std::size_t(tokens) + chunk - 1) / chunk;
    return nchunks * heads * kStateElems * sizeof(float);
}

void lightning_prefill(const LightningPrefillParams& p, void* workspace, std::size_t workspace_bytes,
                       cudaStream_t stream) {
    check(p.q && p.k && p.v && p.out && p.slopes, "null pointer");
    check(p.tokens >= 1 && p.heads >= 1 && p.heads <= 65535, "bad tokens/heads");
    check(p.chunk >= kSub && p.chunk % kSub == 0, "chunk must be a positive multiple of 64");
    check(p.tok_stride % 8 == 0 && p.head_stride % 8 == 0 && p.out_tok_stride % 2 == 0, "unaligned strides");
    check(aligned(p.q, 16) && aligned(p.k, 16) && aligned(p.v, 16) && aligned(p.out, 4) && aligned(p.state_in, 4) &&
              aligned(p.state_out, 4),
          "unaligned pointers (q/k/v rows are copied 16 bytes at a time)");
    check(workspace && workspace_bytes >= lightning_prefill_workspace_bytes(p.tokens, p.heads, p.chunk),
          "workspace too small");
    const int nchunks = (p.tokens + p.chunk - 1) / p.chunk;
    float* ws = static_cast<float*>(workspace);
    M1_CUDA_CHECK(cudaFuncSetAttribute(chunk_kernel<false>, cudaFuncAttributeMaxDynamicSharedMemorySize,
                                       int(smem_bytes(false))));
    M1_CUDA_CHECK(cudaFuncSetAttribute(chunk_kernel<true>, cudaFuncAttributeMaxDynamicSharedMemorySize,
                                       int(smem_bytes(true))));
    dim3 grid(nchunks, p.heads);
    chunk_kernel<false><<<grid, kThreads, smem_bytes(false), stream>>>(p, ws);
    M1_LAUNCH_CHECK();
    const int64_t elems = int64_t(p.heads) * kStateElems;
    scan_kernel<<<unsigned((elems + 255) / 256), 256, 0, stream>>>(p, ws, nchunks);
    M1_LAUNCH_CHECK();
    chunk_kernel<true><<<grid, kThreads, smem_bytes(true), stream>>>(p, ws);
    M1_LAUNCH_CHECK();
}

}  // namespace m1::cuda
