// Partial RoPE + KV append: per token a row of blocks (blockIdx.y) shares the token's work items, rotated pairs
// first, then pass-through dims of q and k, then v: at decode (one token) 31 blocks at M1's shape instead of one
// block walking ~8k items. Angles in double (one per rotated pair: cheap), applied in fp32.
#include <algorithm>

#include "kernels/cuda_check.cuh"
#include "kernels/rope_partial.cuh"

namespace m1::kern {
namespace {

constexpr int kThreads = 256;

__device__ inline __nv_bfloat16* head_dst(const RopeArgs& a, int t, int pos, int h) {  // q heads, then k heads
    return h < a.nh ? a.q_out + (size_t(t) * a.nh + h) * a.dh : a.k_cache + (size_t(pos) * a.nkv + (h - a.nh)) * a.dh;
}

__global__ void __launch_bounds__(kThreads) rope_kernel(RopeArgs a) {
    const int t = blockIdx.x;
    const int pos = a.pos0 + t;
    const float* row = a.qkv + size_t(t) * a.ld;
    const int half = a.rotary_dim / 2, pass = a.dh - a.rotary_dim;
    const int heads = a.nh + a.nkv;  // rotated heads: all q heads, then the k heads
    const int n_rot = heads * half, n_pass = heads * pass, n_v = a.nkv * a.dh;
    for (int idx = blockIdx.y * kThreads + threadIdx.x; idx < n_rot + n_pass + n_v; idx += gridDim.y * kThreads) {
        if (idx < n_rot) {  // a rotated pair
            const int h = idx / half, i = idx % half;
            // The angle in double, as the reference: in fp32, pos * inv_freq loses ~pos * 6e-8 rad (0.06 rad at 1M).
            const double inv_freq = pow(double(a.theta), -2.0 * double(i) / double(a.rotary_dim));
            double snd, csd;
            sincos(double(pos) * inv_freq, &snd, &csd);
            const float sn = float(snd), cs = float(csd);
            const float* x = row + h * a.dh;  // k heads follow q heads contiguously in qkv
            const float x1 = x[i], x2 = x[i + half];
            __nv_bfloat16* dst = head_dst(a, t, pos, h);
            dst[i] = __float2bfloat16(x1 * cs - x2 * sn);
            dst[i + half] = __float2bfloat16(x2 * cs + x1 * sn);
        } else if (idx < n_rot + n_pass) {  // a pass-through dim of q or k
            const int j = idx - n_rot, h = j / pass, i = a.rotary_dim + j % pass;
            head_dst(a, t, pos, h)[i] = __float2bfloat16(row[h * a.dh + i]);
        } else {  // v
            const int j = idx - n_rot - n_pass;
            a.v_cache[size_t(pos) * n_v + j] = __float2bfloat16(row[heads * a.dh + j]);
        }
    }
}

}  // namespace

void rope_qk_cache(const RopeArgs& a, cudaStream_t stream) {
    if (a.T <= 0) return;
    if (a.rotary_dim % 2 != 0 || a.rotary_dim > a.dh) throw std::invalid_argument("rope: bad rotary_dim");
    const int items = (a.nh + a.nkv) * (a.dh - a.rotary_dim / 2) + a.nkv * a.dh;  // per token
    const int per_token = std::min((items + kThreads - 1) / kThreads, a.T >= 64 ? 4 : 64);
    rope_kernel<<<dim3(unsigned(a.T), unsigned(per_token)), kThreads, 0, stream>>>(a);
    M1_LAUNCH_CHECK();
}

}  // namespace m1::kern
