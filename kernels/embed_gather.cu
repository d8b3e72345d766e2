// Embedding gather: a memory copy that widens bf16 to fp32. Per token a row of blocks (blockIdx.y), each thread
// 8 elements through one 16-byte load when the rows allow it, so that a decode step's single token is spread
// over several SMs with every load in flight at once instead of one block looping.
#include "kernels/cuda_check.cuh"
#include "kernels/embed_gather.cuh"

namespace m1::kern {
namespace {

constexpr int kThreads = 256;
constexpr int kPerThread = 8;  // bf16 elements per 16-byte load

template <bool kVector>
__global__ void __launch_bounds__(kThreads) embed_kernel(const int32_t* __restrict__ ids,
                                                         const __nv_bfloat16* __restrict__ table, int H,
                                                         float* __restrict__ out) {
    const size_t t = blockIdx.x;
    const __nv_bfloat16* src = table + size_t(ids[t]) * H;
    float* dst = out + t * H;
    const int i0 = (blockIdx.y * kThreads + threadIdx.x) * kPerThread;
    if (kVector) {  // H % 8 == 0 and 16-byte aligned rows
        if (i0 >= H) return;
        const uint4 raw = __ldg(reinterpret_cast<const uint4*>(src + i0));
        const __nv_bfloat162* p = reinterpret_cast<const __nv_bfloat162*>(&raw);
        float f[kPerThread];
#pragma unroll
        for (int j = 0; j < kPerThread / 2; ++j) {
            const float2 v = __bfloat1622float2(p[j]);
            f[2 * j] = v.x;
            f[2 * j + 1] = v.y;
        }
        reinterpret_cast<float4*>(dst + i0)[0] = make_float4(f[0], f[1], f[2], f[3]);
        reinterpret_cast<float4*>(dst + i0)[1] = make_float4(f[4], f[5], f[6], f[7]);
    } else {
#pragma unroll
        for (int j = 0; j < kPerThread; ++j)
            if (i0 + j < H) dst[i0 + j] = __bfloat162float(src[i0 + j]);
    }
}

}  // namespace

void embed_gather(const int32_t* ids, int T, const __nv_bfloat16* table, int H, float* out, cudaStream_t stream) {
    if (T <= 0) return;
    const dim3 grid(unsigned(T), unsigned((H + kThreads * kPerThread - 1) / (kThreads * kPerThread)));
    const bool vec = H % kPerThread == 0 && reinterpret_cast<uintptr_t>(table) % 16 == 0 &&
                     reinterpret_cast<uintptr_t>(out) % 16 == 0;
    if (vec)
        embed_kernel<true><<<grid, kThreads, 0, stream>>>(ids, table, H, out);
    else
        embed_kernel<false><<<grid, kThreads, 0, stream>>>(ids, table, H, out);
    M1_LAUNCH_CHECK();
}

}  // namespace m1::kern
