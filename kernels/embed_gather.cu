// Embedding gather: one block per token (a memory copy that widens bf16 to fp32).
#include "kernels/cuda_check.cuh"
#include "kernels/embed_gather.cuh"

namespace m1::kern {
namespace {

__global__ void embed_kernel(const int32_t* __restrict__ ids, const __nv_bfloat16* __restrict__ table, int H,
                             float* __restrict__ out) {
    const size_t t = blockIdx.x;
    const __nv_bfloat16* src = table + size_t(ids[t]) * H;
    float* dst = out + t * H;
    for (int i = threadIdx.x; i < H; i += blockDim.x) dst[i] = __bfloat162float(src[i]);
}

}  // namespace

void embed_gather(const int32_t* ids, int T, const __nv_bfloat16* table, int H, float* out, cudaStream_t stream) {
    if (T <= 0) return;
    embed_kernel<<<T, 256, 0, stream>>>(ids, table, H, out);
    M1_LAUNCH_CHECK();
}

}  // namespace m1::kern
