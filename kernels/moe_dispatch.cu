// Permutation kernels. The plan uses one block per expert that scans all pairs in order: O(E * T * k) reads
// of int32, a few microseconds even at 16K tokens, and the result never depends on scheduling.
#include "kernels/cuda_check.cuh"
#include "kernels/moe_dispatch.cuh"

namespace m1::kern {
namespace {

constexpr int kPlanThreads = 256;

__global__ void count_kernel(const int32_t* __restrict__ ids, int n, int32_t* __restrict__ counts) {
    const int e = blockIdx.x;
    int c = 0;
    for (int i = threadIdx.x; i < n; i += blockDim.x) c += ids[i] == e;
    for (int o = 16; o > 0; o >>= 1) c += __shfl_xor_sync(0xffffffffu, c, o);
    __shared__ int part[kPlanThreads / 32];
    if ((threadIdx.x & 31) == 0) part[threadIdx.x >> 5] = c;
    __syncthreads();
    if (threadIdx.x == 0) {
        int s = 0;
        for (int i = 0; i < kPlanThreads / 32; ++i) s += part[i];
        counts[e] = s;
    }
}

__global__ void assign_kernel(const int32_t* __restrict__ ids, int n, int k, int E, const int32_t* __restrict__ counts,
                              int32_t* __restrict__ offsets, int32_t* __restrict__ slot_of,
                              int32_t* __restrict__ token_of_slot) {
    const int e = blockIdx.x;
    __shared__ int base;
    __shared__ int warp_tot[kPlanThreads / 32];
    if (threadIdx.x == 0) {
        int s = 0;
        for (int i = 0; i < e; ++i) s += counts[i];
        base = s;
        offsets[e] = s;
        if (e == E - 1) offsets[E] = s + counts[e];
    }
    __syncthreads();
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    for (int start = 0; start < n; start += kPlanThreads) {
        const int i = start + threadIdx.x;
        const bool hit = i < n && ids[i] == e;
        const unsigned mask = __ballot_sync(0xffffffffu, hit);
        if (lane == 0) warp_tot[warp] = __popc(mask);
        __syncthreads();
        int before = base;
        for (int w = 0; w < warp; ++w) before += warp_tot[w];
        if (hit) {
            const int slot = before + __popc(mask & ((1u << lane) - 1u));
            slot_of[i] = slot;
            token_of_slot[slot] = i / k;
        }
        __syncthreads();
        if (threadIdx.x == 0)
            for (int w = 0; w < kPlanThreads / 32; ++w) base += warp_tot[w];
        __syncthreads();
    }
}

__global__ void gather_kernel(const uint4* __restrict__ x, const int32_t* __restrict__ tok, int vecs,
                              uint4* __restrict__ xp) {
    const size_t r = blockIdx.x;
    const uint4* src = x + size_t(tok[r]) * vecs;
    for (int i = threadIdx.x; i < vecs; i += blockDim.x) xp[r * vecs + i] = src[i];
}

__global__ void gather_scalar_kernel(const __nv_bfloat16* __restrict__ x, const int32_t* __restrict__ tok, int H,
                                     __nv_bfloat16* __restrict__ xp) {
    const size_t r = blockIdx.x;
    for (int i = threadIdx.x; i < H; i += blockDim.x) xp[r * H + i] = x[size_t(tok[r]) * H + i];
}

__device__ __forceinline__ float swiglu_one(float g, float u) { return g / (1.f + __expf(-g)) * u; }

__global__ void swiglu_kernel(const float* __restrict__ gu, int I, __nv_bfloat16* __restrict__ h) {
    const size_t r = blockIdx.x;  // rows on x: R can pass grid.y's 65535 limit
    for (int i = blockIdx.y * blockDim.x + threadIdx.x; i < I; i += gridDim.y * blockDim.x)
        h[r * I + i] = __float2bfloat16(swiglu_one(gu[r * 2 * I + i], gu[r * 2 * I + I + i]));
}

// I a multiple of 4: 16-byte loads of 4 gate and 4 up values, one 8-byte store.
__global__ void swiglu_vec4_kernel(const float* __restrict__ gu, int I, __nv_bfloat16* __restrict__ h) {
    const size_t r = blockIdx.x;
    const int groups = I / 4;
    for (int j = blockIdx.y * blockDim.x + threadIdx.x; j < groups; j += gridDim.y * blockDim.x) {
        const float4 g = *reinterpret_cast<const float4*>(gu + r * 2 * I + j * 4);
        const float4 u = *reinterpret_cast<const float4*>(gu + r * 2 * I + I + j * 4);
        uint2 out;
        __nv_bfloat162* o2 = reinterpret_cast<__nv_bfloat162*>(&out);
        o2[0] = __floats2bfloat162_rn(swiglu_one(g.x, u.x), swiglu_one(g.y, u.y));
        o2[1] = __floats2bfloat162_rn(swiglu_one(g.z, u.z), swiglu_one(g.w, u.w));
        *reinterpret_cast<uint2*>(h + r * I + j * 4) = out;
    }
}

constexpr int kMaxK = 8;

__global__ void combine_kernel(const float* __restrict__ y, const int32_t* __restrict__ slot_of,
                               const int32_t* __restrict__ ids, const float* __restrict__ w, int k, int H, int e0,
                               int e1, float* __restrict__ out) {
    const size_t t = blockIdx.x;
    int order[kMaxK];  // pair indices j sorted by expert id
    int n = 0;  // held pairs only
    for (int j = 0; j < k; ++j)
        if (ids[t * k + j] >= e0 && ids[t * k + j] < e1) order[n++] = j;
    for (int a = 1; a < n; ++a)
        for (int b = a; b > 0 && ids[t * k + order[b]] < ids[t * k + order[b - 1]]; --b) {
            const int tmp = order[b];
            order[b] = order[b - 1];
            order[b - 1] = tmp;
        }
    for (int c = threadIdx.x; c < H; c += blockDim.x) {
        float acc = 0.f;
        for (int j = 0; j < n; ++j) {
            const int p = order[j];
            acc += w[t * k + p] * y[size_t(slot_of[t * k + p]) * H + c];
        }
        out[t * H + c] = acc;
    }
}

}  // namespace

void moe_plan(const int32_t* topk_ids, int T, int k, int E, int32_t* counts, int32_t* offsets, int32_t* slot_of,
              int32_t* token_of_slot, cudaStream_t stream) {
    if (T <= 0) return;
    count_kernel<<<E, kPlanThreads, 0, stream>>>(topk_ids, T * k, counts);
    M1_LAUNCH_CHECK();
    assign_kernel<<<E, kPlanThreads, 0, stream>>>(topk_ids, T * k, k, E, counts, offsets, slot_of, token_of_slot);
    M1_LAUNCH_CHECK();
}

void moe_gather(const __nv_bfloat16* x, const int32_t* token_of_slot, int R, int H, __nv_bfloat16* xp,
                cudaStream_t stream) {
    if (R <= 0) return;
    if (H % 8 == 0 && reinterpret_cast<uintptr_t>(x) % 16 == 0 && reinterpret_cast<uintptr_t>(xp) % 16 == 0)
        gather_kernel<<<R, 128, 0, stream>>>(reinterpret_cast<const uint4*>(x), token_of_slot, H / 8,
                                             reinterpret_cast<uint4*>(xp));
    else
        gather_scalar_kernel<<<R, 128, 0, stream>>>(x, token_of_slot, H, xp);
    M1_LAUNCH_CHECK();
}

void swiglu(const float* gu, int R, int I, __nv_bfloat16* h, cudaStream_t stream) {
    if (R <= 0) return;
    const bool vec = I % 4 == 0 && reinterpret_cast<uintptr_t>(gu) % 16 == 0 && reinterpret_cast<uintptr_t>(h) % 8 == 0;
    const int per_row = vec ? I / 4 : I;
    const dim3 grid(R, (per_row + 255) / 256 < 16 ? (per_row + 255) / 256 : 16);
    if (vec)
        swiglu_vec4_kernel<<<grid, 256, 0, stream>>>(gu, I, h);
    else
        swiglu_kernel<<<grid, 256, 0, stream>>>(gu, I, h);
    M1_LAUNCH_CHECK();
}

void moe_combine(const float* y, const int32_t* slot_of, const int32_t* topk_ids, const float* topk_w, int T, int k,
                 int H, float* out, cudaStream_t stream, int e_begin, int e_end) {
    if (T <= 0) return;
    if (k > kMaxK) throw std::invalid_argument("moe_combine: k > 8");
    combine_kernel<<<T, 256, 0, stream>>>(y, slot_of, topk_ids, topk_w, k, H, e_begin, e_end, out);
    M1_LAUNCH_CHECK();
}

}  // namespace m1::kern
