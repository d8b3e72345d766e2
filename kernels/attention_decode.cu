// Softmax attention decode with split-K. A CTA (4 warps) takes one key range of one (sequence, KV head);
// the group's query heads form the 16 rows of one mma tile (8 used for M1), so K and V are read from HBM
// once for all heads of the group. Partials (unnormalised output, max, sum) are combined by a second kernel.
#include "kernels/attention_decode.cuh"

#include "kernels/attention_tile.cuh"
#include "kernels/cuda_check.cuh"

#include <cstdio>
#include <cstdlib>

namespace m1::cuda {
namespace {

using namespace m1::cuda::tile;
using bf16 = __nv_bfloat16;

constexpr int kDim = 128;
constexpr int kKeys = 64;      // keys per tile: warp w takes keys 16w..16w+15
constexpr int kStages = 3;     // K/V tiles in flight per CTA (32 KB each)
constexpr int kThreads = 128;
constexpr float kLog2e = 1.4426950408889634f;
constexpr std::size_t kSmem = sizeof(bf16) * (16 * kDim + kStages * 2 * kKeys * kDim);  // 100 KB: 2 CTAs/SM

__device__ __forceinline__ void load_kv(const AttentionDecodeParams& p, const bf16* kbase, const bf16* vbase, int s0,
                                        int s_end, bf16* ks, bf16* vs) {
#pragma unroll
    for (int i = 0; i < kKeys * kDim / 8 / kThreads; ++i) {
        int idx = threadIdx.x + i * kThreads, row = idx >> 4, col = (idx & 15) << 3;
        bool ok = s0 + row < s_end;
        int64_t off = ok ? (s0 + row) * p.kv_tok_stride + col : 0;
        cp_async16(ks + swz(row, col), kbase + off, ok);
        cp_async16(vs + swz(row, col), vbase + off, ok);
    }
}

__device__ __forceinline__ int keys_per_split(int max_len, int splits) {
    int per = (max_len + splits - 1) / splits;
    return (per + kKeys - 1) / kKeys * kKeys;
}

// ws layout: o [batch][heads][splits][128] fp32, then ml [batch][heads][splits][2] (max in log2 units, sum).
__global__ void __launch_bounds__(kThreads, 2) decode_split_kernel(AttentionDecodeParams p, float* ws) {
    extern __shared__ __align__(128) unsigned char smem_raw[];
    bf16* qs = reinterpret_cast<bf16*>(smem_raw);  // [16][128]
    bf16* ks = qs + 16 * kDim;                     // [stages][64][128]
    bf16* vs = ks + kStages * kKeys * kDim;        // [stages][64][128]
    const int split = blockIdx.x, gkv = blockIdx.y, b = blockIdx.z;
    const int group = p.heads / p.kv_heads;
    const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31, gr = lane >> 2, c = lane & 3;
    const int len = p.seq_lens[b];
    const int per = keys_per_split(p.max_len, p.splits);
    const int s_begin = split * per, s_end = min(len, s_begin + per);
    const int ntiles = s_end > s_begin ? (s_end - s_begin + kKeys - 1) / kKeys : 0;
    const bf16* kbase = p.k + b * p.kv_batch_stride + gkv * p.kv_head_stride;
    const bf16* vbase = p.v + b * p.kv_batch_stride + gkv * p.kv_head_stride;

    for (int idx = threadIdx.x; idx < 16 * kDim / 8; idx += kThreads) {
        int row = idx >> 4, col = (idx & 15) << 3;
        bool ok = row < group;
        int64_t off = ok ? b * p.q_batch_stride + (gkv * group + row) * p.q_head_stride + col : 0;
        cp_async16(qs + swz(row, col), p.q + off, ok);
    }
#pragma unroll
    for (int st = 0; st < kStages - 1; ++st) {  // the first commit group also holds Q
        if (st < ntiles)
            load_kv(p, kbase, vbase, s_begin + st * kKeys, s_end, ks + st * kKeys * kDim, vs + st * kKeys * kDim);
        cp_async_commit();
    }
    const float sl2 = p.scale * kLog2e;
    uint32_t qf[8][4];
    float o[16][4] = {};
    float m0 = -INFINITY, m1 = -INFINITY, l0 = 0.f, l1 = 0.f;
    for (int tile = 0; tile < ntiles; ++tile) {
        {  // keep kStages-1 tiles in flight: issue tile+2 into the stage freed at the end of tile-1
            int nt = tile + kStages - 1, st = nt % kStages;
            if (nt < ntiles)
                load_kv(p, kbase, vbase, s_begin + nt * kKeys, s_end, ks + st * kKeys * kDim, vs + st * kKeys * kDim);
            cp_async_commit();
        }
        cp_async_wait<kStages - 1>();
        __syncthreads();
        if (tile == 0) {
#pragma unroll
            for (int kt = 0; kt < 8; ++kt) ldsm_x4(qf[kt], a_addr(qs, 0, kt * 16, lane));
        }
        const int st = tile % kStages, s0 = s_begin + tile * kKeys + warp * 16;
        const bf16* kb = ks + st * kKeys * kDim;
        const bf16* vb = vs + st * kKeys * kDim;
        if (s0 < s_end) {
            float s[2][4] = {};
#pragma unroll
            for (int kt = 0; kt < 8; ++kt) {
                uint32_t bb[4];
                ldsm_x4(bb, b_addr(kb, warp * 16, kt * 16, lane));
                mma(s[0], qf[kt], bb[0], bb[1]);
                mma(s[1], qf[kt], bb[2], bb[3]);
            }
#pragma unroll
            for (int nt = 0; nt < 2; ++nt) {
#pragma unroll
                for (int r = 0; r < 4; ++r) {
                    int key = s0 + nt * 8 + 2 * c + (r & 1);
                    s[nt][r] = key < s_end ? s[nt][r] * sl2 : -INFINITY;
                }
            }
            online_softmax_step(s, o, m0, m1, l0, l1);
            uint32_t a[4] = {pack_bf16(s[0][0], s[0][1]), pack_bf16(s[0][2], s[0][3]), pack_bf16(s[1][0], s[1][1]),
                             pack_bf16(s[1][2], s[1][3])};
#pragma unroll
            for (int np = 0; np < 8; ++np) {
                uint32_t bb[4];
                ldsm_x4_t(bb, bt_addr(vb, warp * 16, np * 16, lane));
                mma(o[2 * np], a, bb[0], bb[1]);
                mma(o[2 * np + 1], a, bb[2], bb[3]);
            }
        }
        __syncthreads();  // stage st is refilled at the start of the next iteration
    }
    cp_async_wait<0>();
    __syncthreads();
    // Combine the 4 warps through smem (the pipeline buffers are free now): rows < group only.
    float* so = reinterpret_cast<float*>(ks);       // [4][16][128]
    float* sml = so + 4 * 16 * kDim;                // [4][16][2]
    l0 += __shfl_xor_sync(0xffffffffu, l0, 1);
    l0 += __shfl_xor_sync(0xffffffffu, l0, 2);
    l1 += __shfl_xor_sync(0xffffffffu, l1, 1);
    l1 += __shfl_xor_sync(0xffffffffu, l1, 2);
#pragma unroll
    for (int nt = 0; nt < 16; ++nt) {
        int e = nt * 8 + 2 * c;
        *reinterpret_cast<float2*>(so + (warp * 16 + gr) * kDim + e) = make_float2(o[nt][0], o[nt][1]);
        *reinterpret_cast<float2*>(so + (warp * 16 + gr + 8) * kDim + e) = make_float2(o[nt][2], o[nt][3]);
    }
    if (c == 0) {
        sml[(warp * 16 + gr) * 2] = m0;
        sml[(warp * 16 + gr) * 2 + 1] = l0;
        sml[(warp * 16 + gr + 8) * 2] = m1;
        sml[(warp * 16 + gr + 8) * 2 + 1] = l1;
    }
    __syncthreads();
    const int e = threadIdx.x;
    for (int r = 0; r < group; ++r) {
        float mm = -INFINITY;
#pragma unroll
        for (int w = 0; w < 4; ++w) mm = fmaxf(mm, sml[(w * 16 + r) * 2]);
        float acc = 0.f, sum = 0.f;
        if (mm != -INFINITY) {
#pragma unroll
            for (int w = 0; w < 4; ++w) {
                float f = exp2f(sml[(w * 16 + r) * 2] - mm);
                acc += f * so[(w * 16 + r) * kDim + e];
                sum += f * sml[(w * 16 + r) * 2 + 1];
            }
        }
        const int h = gkv * group + r;
        const int64_t slot = (int64_t(b) * p.heads + h) * p.splits + split;
        ws[slot * kDim + e] = acc;
        if (e == 0) {
            float* ml = ws + int64_t(p.batch) * p.heads * p.splits * kDim;
            ml[slot * 2] = mm;
            ml[slot * 2 + 1] = sum;
        }
    }
}

// One CTA per (head, sequence): warp w sums splits w, w+8, ...; lane l holds columns 4l..4l+3.
constexpr int kCombineWarps = 8;
__global__ void __launch_bounds__(kCombineWarps * 32) decode_combine_kernel(AttentionDecodeParams p, const float* ws) {
    extern __shared__ float sw[];  // [splits] weight of each split relative to the global max
    __shared__ float4 part[kCombineWarps][32];
    __shared__ float red[kCombineWarps];
    const int h = blockIdx.x, b = blockIdx.y, warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
    const int64_t first = (int64_t(b) * p.heads + h) * p.splits;
    const float* ml = ws + int64_t(p.batch) * p.heads * p.splits * kDim + first * 2;
    float mm = -INFINITY;
    for (int s = threadIdx.x; s < p.splits; s += blockDim.x) mm = fmaxf(mm, ml[2 * s]);
    for (int off = 16; off > 0; off >>= 1) mm = fmaxf(mm, __shfl_xor_sync(0xffffffffu, mm, off));
    if (lane == 0) red[warp] = mm;
    __syncthreads();
    mm = red[0];
    for (int w = 1; w < kCombineWarps; ++w) mm = fmaxf(mm, red[w]);
    float sum = 0.f;
    for (int s = threadIdx.x; s < p.splits; s += blockDim.x) {
        const float m = ml[2 * s];
        const float f = m == -INFINITY ? 0.f : exp2f(m - mm);  // empty split: a sequence shorter than max_len
        sw[s] = f;
        sum += f * ml[2 * s + 1];
    }
    for (int off = 16; off > 0; off >>= 1) sum += __shfl_xor_sync(0xffffffffu, sum, off);
    __syncthreads();  // sw complete, red[] reads done
    if (lane == 0) red[warp] = sum;
    float4 acc = make_float4(0.f, 0.f, 0.f, 0.f);
    const float4* o = reinterpret_cast<const float4*>(ws + first * kDim) + lane;
#pragma unroll 4
    for (int s = warp; s < p.splits; s += kCombineWarps) {
        const float f = sw[s];
        const float4 x = o[int64_t(s) * (kDim / 4)];
        acc.x += f * x.x; acc.y += f * x.y; acc.z += f * x.z; acc.w += f * x.w;
    }
    part[warp][lane] = acc;
    __syncthreads();
    if (warp == 0) {
        float total = 0.f;
        for (int w = 0; w < kCombineWarps; ++w) {
            total += red[w];
            if (w) {
                acc.x += part[w][lane].x; acc.y += part[w][lane].y; acc.z += part[w][lane].z; acc.w += part[w][lane].w;
            }
        }
        const float inv = 1.f / total;
        __nv_bfloat16* out = p.out + b * p.out_batch_stride + h * kDim + lane * 4;
        *reinterpret_cast<uint32_t*>(out) = pack_bf16(acc.x * inv, acc.y * inv);
        *reinterpret_cast<uint32_t*>(out + 2) = pack_bf16(acc.z * inv, acc.w * inv);
    }
}

}  // namespace

int attention_decode_default_splits(int batch, int kv_heads, int max_len, int sm_count) {
    const int ctas = batch * kv_heads;
    int splits = (2 * sm_count + ctas - 1) / ctas;  // two CTAs per SM fit (100 KB smem each)
    const int max_splits = (max_len + 4 * kKeys - 1) / (4 * kKeys);  // >= 256 keys per split
    if (splits > max_splits) splits = max_splits;
    return splits < 1 ? 1 : splits;
}

std::size_t attention_decode_workspace_bytes(int batch, int heads, int splits) {
    return std::size_t(batch) * heads * splits * (kDim + 2) * sizeof(float);
}

void attention_decode(const AttentionDecodeParams& p, void* workspace, std::size_t workspace_bytes,
                      cudaStream_t stream) {
    const bool ok = p.q && p.k && p.v && p.out && p.seq_lens && p.batch >= 1 && p.batch <= 65535 &&
                    p.kv_heads >= 1 && p.heads % p.kv_heads == 0 && p.heads / p.kv_heads <= 16 &&
                    p.kv_heads <= 65535 && p.max_len >= 1 && p.splits >= 1 && p.q_head_stride % 8 == 0 &&
                    p.q_batch_stride % 8 == 0 && p.kv_tok_stride % 8 == 0 && p.kv_head_stride % 8 == 0 &&
                    p.kv_batch_stride % 8 == 0 && p.out_batch_stride % 2 == 0 &&
                    (reinterpret_cast<uintptr_t>(p.q) | reinterpret_cast<uintptr_t>(p.k) |
                     reinterpret_cast<uintptr_t>(p.v) | reinterpret_cast<uintptr_t>(workspace)) % 16 == 0 &&
                    reinterpret_cast<uintptr_t>(p.out) % 4 == 0 && p.splits <= 8192 && workspace &&
                    workspace_bytes >= attention_decode_workspace_bytes(p.batch, p.heads, p.splits);
    if (!ok) {
        std::fprintf(stderr, "attention_decode: bad parameters (batch %d, heads %d/%d, splits %d)\n", p.batch,
                     p.heads, p.kv_heads, p.splits);
        std::abort();
    }
    M1_CUDA_CHECK(cudaFuncSetAttribute(decode_split_kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, int(kSmem)));
    float* ws = static_cast<float*>(workspace);
    decode_split_kernel<<<dim3(p.splits, p.kv_heads, p.batch), kThreads, kSmem, stream>>>(p, ws);
    M1_LAUNCH_CHECK();
    decode_combine_kernel<<<dim3(p.heads, p.batch), kCombineWarps * 32, p.splits * sizeof(float), stream>>>(p, ws);
    M1_LAUNCH_CHECK();
}

}  // namespace m1::cuda
