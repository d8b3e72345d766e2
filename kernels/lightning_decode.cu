// Lightning attention decode kernel: each CTA owns 32 value columns of one (sequence, head) state,
// reads them once, writes them once, and reduces o over the 128 key rows in registers and smem.
#include "kernels/lightning_decode.cuh"

#include "kernels/cuda_check.cuh"

#include <cstdio>
#include <cstdlib>

namespace m1::cuda {
namespace {

constexpr int kDim = 128;
constexpr int kColsPerCta = 32;   // 4 CTAs per head: batch 1 at 8 heads still spreads over 32 SMs
constexpr int kThreads = 256;     // 8 warps x 16 key rows; a lane holds 4 rows x 4 columns

__global__ void __launch_bounds__(kThreads) lightning_decode_kernel(LightningDecodeParams p) {
    const int quarter = blockIdx.x, h = blockIdx.y, b = blockIdx.z;
    const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
    const int e0 = quarter * kColsPerCta + (lane & 7) * 4;
    const int64_t tok = b * p.qkv_batch_stride + h * p.qkv_head_stride;
    float* S = p.state + b * p.state_batch_stride + int64_t(h) * kDim * kDim;
    const float lambda = expf(-p.slopes[h]);

    float4 s[4];
    int rows[4];
#pragma unroll
    for (int i = 0; i < 4; ++i) {  // all four loads in flight before the first use
        rows[i] = warp * 16 + (lane >> 3) + 4 * i;
        s[i] = *reinterpret_cast<const float4*>(S + rows[i] * kDim + e0);
    }
    float vv[4], acc[4] = {0.f, 0.f, 0.f, 0.f};
#pragma unroll
    for (int j = 0; j < 4; ++j) vv[j] = __bfloat162float(p.v[tok + e0 + j]);
#pragma unroll
    for (int i = 0; i < 4; ++i) {
        const float kd = __bfloat162float(p.k[tok + rows[i]]);
        const float qd = __bfloat162float(p.q[tok + rows[i]]);
        s[i].x = fmaf(lambda, s[i].x, kd * vv[0]);
        s[i].y = fmaf(lambda, s[i].y, kd * vv[1]);
        s[i].z = fmaf(lambda, s[i].z, kd * vv[2]);
        s[i].w = fmaf(lambda, s[i].w, kd * vv[3]);
        acc[0] = fmaf(qd, s[i].x, acc[0]);
        acc[1] = fmaf(qd, s[i].y, acc[1]);
        acc[2] = fmaf(qd, s[i].z, acc[2]);
        acc[3] = fmaf(qd, s[i].w, acc[3]);
        *reinterpret_cast<float4*>(S + rows[i] * kDim + e0) = s[i];
    }
    // Lanes l, l^8, l^16, l^24 hold the same columns for different rows.
#pragma unroll
    for (int j = 0; j < 4; ++j) {
        acc[j] += __shfl_xor_sync(0xffffffffu, acc[j], 8);
        acc[j] += __shfl_xor_sync(0xffffffffu, acc[j], 16);
    }
    __shared__ float part[8][kColsPerCta];
    if (lane < 8) {
#pragma unroll
        for (int j = 0; j < 4; ++j) part[warp][lane * 4 + j] = acc[j];
    }
    __syncthreads();
    if (threadIdx.x < kColsPerCta) {
        float o = 0.f;
#pragma unroll
        for (int w = 0; w < 8; ++w) o += part[w][threadIdx.x];
        p.out[b * p.out_batch_stride + h * kDim + quarter * kColsPerCta + threadIdx.x] = __float2bfloat16(o);
    }
}

}  // namespace

void lightning_decode(const LightningDecodeParams& p, cudaStream_t stream) {
    if (!p.q || !p.k || !p.v || !p.state || !p.out || !p.slopes || p.batch < 1 || p.batch > 65535 ||
        p.heads < 1 || p.heads > 65535 || reinterpret_cast<uintptr_t>(p.state) % 16 != 0 ||
        p.state_batch_stride % 4 != 0) {  // the state moves as float4
        std::fprintf(stderr, "lightning_decode: bad parameters (batch %d, heads %d)\n", p.batch, p.heads);
        std::abort();
    }
    dim3 grid(kDim / kColsPerCta, p.heads, p.batch);
    lightning_decode_kernel<<<grid, kThreads, 0, stream>>>(p);
    M1_LAUNCH_CHECK();
}

}  // namespace m1::cuda
