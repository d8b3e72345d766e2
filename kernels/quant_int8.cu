// Row-wise int8 quantisation: one block per row for the amax, then a grid-stride dequantisation.
#include "kernels/cuda_check.cuh"
#include "kernels/quant_int8.cuh"

#include <algorithm>

namespace m1::kern {
namespace {

__global__ void quant_kernel(const __nv_bfloat16* __restrict__ w, int K, int8_t* __restrict__ q,
                             float* __restrict__ scale) {
    const size_t row = blockIdx.x;
    const __nv_bfloat16* wr = w + row * K;
    float amax = 0.f;
    for (int i = threadIdx.x; i < K; i += blockDim.x) amax = fmaxf(amax, fabsf(__bfloat162float(wr[i])));
    __shared__ float part[32];
    for (int o = 16; o > 0; o >>= 1) amax = fmaxf(amax, __shfl_xor_sync(0xffffffffu, amax, o));
    if ((threadIdx.x & 31) == 0) part[threadIdx.x >> 5] = amax;
    __syncthreads();
    float m = 0.f;
    for (int i = 0; i < int(blockDim.x >> 5); ++i) m = fmaxf(m, part[i]);
    const float s = m / 127.f;
    const float inv = m > 0.f ? 127.f / m : 0.f;
    if (threadIdx.x == 0) scale[row] = s;
    for (int i = threadIdx.x; i < K; i += blockDim.x) {
        const float v = rintf(__bfloat162float(wr[i]) * inv);
        q[row * K + i] = int8_t(fminf(127.f, fmaxf(-127.f, v)));
    }
}

__global__ void dequant_kernel(const int8_t* __restrict__ q, const float* __restrict__ scale, int N, int K,
                               __nv_bfloat16* __restrict__ w) {
    for (int row = blockIdx.x; row < N; row += gridDim.x) {
        const float s = scale[row];
        const int8_t* qr = q + size_t(row) * K;
        __nv_bfloat16* wr = w + size_t(row) * K;
        for (int i = threadIdx.x; i < K; i += blockDim.x) wr[i] = __float2bfloat16(float(qr[i]) * s);
    }
}

}  // namespace

void quantize_rows_int8(const __nv_bfloat16* w, int N, int K, int8_t* q, float* scale, cudaStream_t stream) {
    if (N <= 0) return;
    quant_kernel<<<N, 256, 0, stream>>>(w, K, q, scale);
    M1_LAUNCH_CHECK();
}

void dequantize_rows_int8(const int8_t* q, const float* scale, int N, int K, __nv_bfloat16* w, cudaStream_t stream) {
    if (N <= 0) return;
    dequant_kernel<<<std::min(N, 132 * 16), 256, 0, stream>>>(q, scale, N, K, w);
    M1_LAUNCH_CHECK();
}

}  // namespace m1::kern
