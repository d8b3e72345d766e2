// Bulk tensor copies (TMA) for the warpgroup lightning walks (impl 5: three passes, impl 6: single pass). One
// thread copies a sub-block's k, v (and q) tiles with 4 (6) bulk copies completing on the stage's mbarrier,
// instead of 12 (18) cp.async per thread: the walks are issue-bound, and the thread copies filled the LSU queue.
// The boxes are 64 dims x 1 head x 64 tokens in the 128-byte swizzle, so a [64][128] tile lands in the same
// two-half swz128 layout the thread copies made. Tokens past the end read as zeros (the cp.async zero-fill);
// chunks are multiples of 64 tokens, so a tile never reaches past its chunk except at the end of the input.
#pragma once
#include "kernels/attention_sm90.cuh"
#include "kernels/cuda_check.cuh"
#include "kernels/lightning_prefill.cuh"
#include "kernels/tensor_map.cuh"

#include <cuda.h>
#include <cudaTypedefs.h>  // PFN_cuTensorMapEncodeTiled

#include <cstdio>
#include <cstdlib>

namespace m1::cuda::lwg {

constexpr int kTmaRows = 64;                // tokens per tile (the walks' sub-block)
constexpr int kTmaTile = kTmaRows * 128;    // elements per [64][128] tile

struct Maps {
    CUtensorMap q, k, v;  // (d, head, token) maps, boxes 64 x 1 x 64
};

// Copy of box (c0, c1, c2) completing on `bar`, with an L2 eviction policy from createpolicy.
__device__ __forceinline__ void tma_load_3d_hint(void* dst, const CUtensorMap* map, int c0, int c1, int c2,
                                                 uint64_t* bar, uint64_t pol) {
    asm volatile(
        "cp.async.bulk.tensor.3d.shared::cluster.global.mbarrier::complete_tx::bytes.L2::cache_hint [%0], [%1, {%2, "
        "%3, %4}], [%5], %6;\n" ::"r"(sm90::smem_addr(dst)),
        "l"(reinterpret_cast<uint64_t>(map)), "r"(c0), "r"(c1), "r"(c2), "r"(sm90::smem_addr(bar)), "l"(pol)
        : "memory");
}

// Thread-0 side of one stage: tokens [t, t+64) of head h's k, v (and q) into ks, vs (qs), completing on `full`.
// pol_* = 0: no eviction hint.
template <bool kWithQ>
__device__ __forceinline__ void tma_tiles(const Maps& m, int h, int t, __nv_bfloat16* ks, __nv_bfloat16* vs,
                                          __nv_bfloat16* qs, uint64_t* full, uint64_t pol_q, uint64_t pol_kv) {
    constexpr uint32_t kBytes = (kWithQ ? 3 : 2) * kTmaTile * sizeof(__nv_bfloat16);
    sm90::mbar_arrive_expect(full, kBytes);
    auto one = [&](const CUtensorMap* map, __nv_bfloat16* dst, uint64_t pol) {
#pragma unroll
        for (int half = 0; half < 2; ++half) {
            if (pol) tma_load_3d_hint(dst + half * kTmaRows * 64, map, half * 64, h, t, full, pol);
            else sm90::tma_load_3d(dst + half * kTmaRows * 64, map, half * 64, h, t, full);
        }
    };
    one(&m.k, ks, pol_kv);
    one(&m.v, vs, pol_kv);
    if (kWithQ) one(&m.q, qs, pol_q);
}

inline CUtensorMap lightning_map(const __nv_bfloat16* base, const LightningPrefillParams& p) {
    return head_dim128_map(base, p.heads, p.head_stride, p.tokens, p.tok_stride, kTmaRows, "lightning_prefill");
}

inline Maps lightning_maps(const LightningPrefillParams& p) {
    return {lightning_map(p.q, p), lightning_map(p.k, p), lightning_map(p.v, p)};
}

}  // namespace m1::cuda::lwg
