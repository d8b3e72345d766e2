// Partial RoPE + KV append: one block per token, one thread per (head, dim pair or pass-through dim).
// Angles in double (a few hundred per token: cheap), applied in fp32.
#include "kernels/cuda_check.cuh"
#include "kernels/rope_partial.cuh"

namespace m1::kern {
namespace {

__global__ void rope_kernel(RopeArgs a) {
    const int t = blockIdx.x;
    const int pos = a.pos0 + t;
    const float* row = a.qkv + size_t(t) * a.ld;
    const int half = a.rotary_dim / 2;
    const int heads = a.nh + a.nkv;  // rotated heads: all q heads, then the k heads
    // Rotated pairs.
    for (int idx = threadIdx.x; idx < heads * half; idx += blockDim.x) {
        const int h = idx / half, i = idx % half;
        // The angle in double, as the reference: in fp32, pos * inv_freq loses ~pos * 6e-8 rad (0.06 rad at 1M).
        const double inv_freq = pow(double(a.theta), -2.0 * double(i) / double(a.rotary_dim));
        double snd, csd;
        sincos(double(pos) * inv_freq, &snd, &csd);
        const float sn = float(snd), cs = float(csd);
        const float* x = row + h * a.dh;  // k heads follow q heads contiguously in qkv
        const float x1 = x[i], x2 = x[i + half];
        const float y1 = x1 * cs - x2 * sn, y2 = x2 * cs + x1 * sn;
        __nv_bfloat16* dst = h < a.nh ? a.q_out + (size_t(t) * a.nh + h) * a.dh
                                      : a.k_cache + (size_t(pos) * a.nkv + (h - a.nh)) * a.dh;
        dst[i] = __float2bfloat16(y1);
        dst[i + half] = __float2bfloat16(y2);
    }
    // Pass-through dims of q and k, and all of v.
    const int pass = a.dh - a.rotary_dim;
    for (int idx = threadIdx.x; idx < heads * pass; idx += blockDim.x) {
        const int h = idx / pass, i = a.rotary_dim + idx % pass;
        __nv_bfloat16* dst = h < a.nh ? a.q_out + (size_t(t) * a.nh + h) * a.dh
                                      : a.k_cache + (size_t(pos) * a.nkv + (h - a.nh)) * a.dh;
        dst[i] = __float2bfloat16(row[h * a.dh + i]);
    }
    const float* v = row + heads * a.dh;
    for (int idx = threadIdx.x; idx < a.nkv * a.dh; idx += blockDim.x) {
        const int h = idx / a.dh, i = idx % a.dh;
        a.v_cache[(size_t(pos) * a.nkv + h) * a.dh + i] = __float2bfloat16(v[idx]);
    }
}

}  // namespace

void rope_qk_cache(const RopeArgs& a, cudaStream_t stream) {
    if (a.T <= 0) return;
    if (a.rotary_dim % 2 != 0 || a.rotary_dim > a.dh) throw std::invalid_argument("rope: bad rotary_dim");
    rope_kernel<<<a.T, 256, 0, stream>>>(a);
    M1_LAUNCH_CHECK();
}

}  // namespace m1::kern
