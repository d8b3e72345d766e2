// Reference-grade attention kernels: straightforward loops, fp32 arithmetic, no tiling tricks.
#include "kernels/cuda_check.cuh"
#include "kernels/dev/attention_ref.cuh"

namespace m1::cuda::dev {
namespace {

constexpr int kCols = 8;   // value columns per block in the lightning kernel
constexpr int kTile = 32;  // tokens staged in shared memory at a time

// grid (nh, ceil(dh / kCols)), 128 threads: thread d keeps S[d][e0 .. e0+8) in registers; columns past dh
// (the last block when dh is not a multiple of 8) stay zero and are never stored.
__global__ void __launch_bounds__(128) lightning_kernel(LightningPrefillParams p, int dh) {
    const int h = blockIdx.x, e0 = blockIdx.y * kCols, d = threadIdx.x;
    const int lane = d & 31, warp = d >> 5;
    const float lambda = expf(-p.slopes[h]);
    float S[kCols];
    const size_t sbase = (size_t(h) * dh + d) * dh + e0;
#pragma unroll
    for (int j = 0; j < kCols; ++j) S[j] = (d < dh && e0 + j < dh && p.state_in) ? p.state_in[sbase + j] : 0.f;
    __shared__ float qs[kTile][128], ks[kTile][128], vs[kTile][kCols];
    __shared__ float red[kTile][4][kCols];
    for (int t0 = 0; t0 < p.tokens; t0 += kTile) {
        const int n = min(kTile, p.tokens - t0);
        __syncthreads();
        for (int i = 0; i < n; ++i) {
            const size_t row = size_t(t0 + i) * p.tok_stride + size_t(h) * p.head_stride;
            if (d < dh) {
                qs[i][d] = __bfloat162float(p.q[row + d]);
                ks[i][d] = __bfloat162float(p.k[row + d]);
            }
            if (d < kCols) vs[i][d] = e0 + d < dh ? __bfloat162float(p.v[row + e0 + d]) : 0.f;
        }
        __syncthreads();
        for (int i = 0; i < n; ++i) {
            const float kd = d < dh ? ks[i][d] : 0.f, qd = d < dh ? qs[i][d] : 0.f;
#pragma unroll
            for (int j = 0; j < kCols; ++j) {
                S[j] = lambda * S[j] + kd * vs[i][j];
                float part = qd * S[j];
                for (int o = 16; o > 0; o >>= 1) part += __shfl_xor_sync(0xffffffffu, part, o);
                if (lane == 0) red[i][warp][j] = part;
            }
        }
        __syncthreads();
        for (int idx = d; idx < n * kCols; idx += 128) {
            const int i = idx / kCols, j = idx % kCols;
            if (e0 + j >= dh) continue;
            const float o = red[i][0][j] + red[i][1][j] + red[i][2][j] + red[i][3][j];
            p.out[size_t(t0 + i) * p.out_tok_stride + size_t(h) * dh + e0 + j] = __float2bfloat16(o);
        }
    }
    if (d < dh)
#pragma unroll
        for (int j = 0; j < kCols; ++j)
            if (e0 + j < dh) p.state_out[sbase + j] = S[j];
}

// One warp per (query t, head h): online softmax over keys 0 .. q_start + t. Lane owns dims lane + 32*i.
__global__ void softmax_kernel(AttentionPrefillParams p, int dh) {
    const int gw = (blockIdx.x * blockDim.x + threadIdx.x) >> 5, lane = threadIdx.x & 31;
    if (gw >= p.q_tokens * p.heads) return;
    const int t = gw / p.heads, h = gw % p.heads, g = h / (p.heads / p.kv_heads);
    constexpr int kMaxPer = 8;  // dh <= 256
    float q[kMaxPer], acc[kMaxPer];
    const __nv_bfloat16* qr = p.q + size_t(t) * p.q_tok_stride + size_t(h) * p.q_head_stride;
#pragma unroll
    for (int i = 0; i < kMaxPer; ++i) {
        const int c = lane + 32 * i;
        q[i] = c < dh ? __bfloat162float(qr[c]) : 0.f;
        acc[i] = 0.f;
    }
    float m = -INFINITY, l = 0.f;
    const int last = p.q_start + t;
    for (int s = 0; s <= last; ++s) {
        const size_t kv = size_t(s) * p.kv_tok_stride + size_t(g) * p.kv_head_stride;
        float dot = 0.f;
#pragma unroll
        for (int i = 0; i < kMaxPer; ++i) {
            const int c = lane + 32 * i;
            if (c < dh) dot += q[i] * __bfloat162float(p.k[kv + c]);
        }
        for (int o = 16; o > 0; o >>= 1) dot += __shfl_xor_sync(0xffffffffu, dot, o);
        const float sc = dot * p.scale;
        const float mn = fmaxf(m, sc);
        const float corr = expf(m - mn), w = expf(sc - mn);
        l = l * corr + w;
#pragma unroll
        for (int i = 0; i < kMaxPer; ++i) {
            const int c = lane + 32 * i;
            acc[i] = acc[i] * corr + (c < dh ? w * __bfloat162float(p.v[kv + c]) : 0.f);
        }
        m = mn;
    }
    __nv_bfloat16* o = p.out + size_t(t) * p.out_tok_stride + size_t(h) * dh;
#pragma unroll
    for (int i = 0; i < kMaxPer; ++i) {
        const int c = lane + 32 * i;
        if (c < dh) o[c] = __float2bfloat16(acc[i] / l);
    }
}

}  // namespace

void lightning_recurrent(const LightningPrefillParams& p, int dh, cudaStream_t stream) {
    if (p.tokens <= 0) return;
    if (dh > 128 || dh < 1 || !p.state_out) throw std::invalid_argument("lightning_recurrent: bad params");
    lightning_kernel<<<dim3(p.heads, (dh + kCols - 1) / kCols), 128, 0, stream>>>(p, dh);
    M1_LAUNCH_CHECK();
}

void attention_naive(const AttentionPrefillParams& p, int dh, cudaStream_t stream) {
    if (p.q_tokens <= 0) return;
    if (dh > 256 || p.kv_heads <= 0 || p.heads % p.kv_heads != 0)
        throw std::invalid_argument("attention_naive: bad params");
    const int warps = p.q_tokens * p.heads;
    softmax_kernel<<<(warps + 7) / 8, 256, 0, stream>>>(p, dh);
    M1_LAUNCH_CHECK();
}

}  // namespace m1::cuda::dev
