// Router: one warp per token; lane l holds the probabilities of experts l, l+32, ... in registers.
#include "kernels/cuda_check.cuh"
#include "kernels/moe_router.cuh"

namespace m1::kern {
namespace {

constexpr int kMaxPerLane = 8;  // E <= 256

__global__ void route_kernel(const float* __restrict__ logits, int T, int E, int k, int32_t* __restrict__ ids,
                             float* __restrict__ w) {
    const int warp = (blockIdx.x * blockDim.x + threadIdx.x) >> 5, lane = threadIdx.x & 31;
    if (warp >= T) return;
    const float* row = logits + size_t(warp) * E;
    float p[kMaxPerLane];
    float m = -INFINITY;
#pragma unroll
    for (int i = 0; i < kMaxPerLane; ++i) {
        const int e = lane + 32 * i;
        p[i] = e < E ? row[e] : -INFINITY;
        m = fmaxf(m, p[i]);
    }
    for (int o = 16; o > 0; o >>= 1) m = fmaxf(m, __shfl_xor_sync(0xffffffffu, m, o));
    float s = 0.f;
#pragma unroll
    for (int i = 0; i < kMaxPerLane; ++i) {
        p[i] = lane + 32 * i < E ? expf(p[i] - m) : -1.f;  // -1 marks "no expert": below any probability
        s += p[i] > 0.f ? p[i] : 0.f;
    }
    for (int o = 16; o > 0; o >>= 1) s += __shfl_xor_sync(0xffffffffu, s, o);
    float chosen_w[kMaxPerLane];
    int chosen_id[kMaxPerLane];
    float sel = 0.f;
    for (int j = 0; j < k; ++j) {
        // Warp argmax: larger probability wins, ties go to the lower expert id.
        float bv = -2.f;
        int bi = 1 << 30;
#pragma unroll
        for (int i = 0; i < kMaxPerLane; ++i)
            if (p[i] > bv) { bv = p[i]; bi = lane + 32 * i; }
        for (int o = 16; o > 0; o >>= 1) {
            const float ov = __shfl_xor_sync(0xffffffffu, bv, o);
            const int oi = __shfl_xor_sync(0xffffffffu, bi, o);
            if (ov > bv || (ov == bv && oi < bi)) { bv = ov; bi = oi; }
        }
        chosen_w[j] = bv / s;
        chosen_id[j] = bi;
        sel += bv / s;
#pragma unroll
        for (int i = 0; i < kMaxPerLane; ++i)
            if (lane + 32 * i == bi) p[i] = -2.f;
    }
    if (lane < k) {
        float v = 0.f;
        int id = 0;
        for (int j = 0; j < k; ++j)
            if (j == lane) { v = chosen_w[j]; id = chosen_id[j]; }
        ids[size_t(warp) * k + lane] = id;
        w[size_t(warp) * k + lane] = v / sel;
    }
}

}  // namespace

void moe_route(const float* logits, int T, int E, int k, int32_t* topk_ids, float* topk_w, cudaStream_t stream) {
    if (T <= 0) return;
    if (E > 32 * kMaxPerLane || k > kMaxPerLane || k > E || k < 1)
        throw std::invalid_argument("moe_route: needs 1 <= k <= 8, k <= E <= 256");
    const int warps_per_block = 8;
    route_kernel<<<(T + warps_per_block - 1) / warps_per_block, 32 * warps_per_block, 0, stream>>>(
        logits, T, E, k, topk_ids, topk_w);
    M1_LAUNCH_CHECK();
}

}  // namespace m1::kern
