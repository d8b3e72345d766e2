// Host side shared by the single-pass lightning kernels (impl 2, 4, 6, 8, 9): one cooperative launch whose CTAs
// all stay resident and wait on each other; per head, G CTAs take rounds of G consecutive chunks of C tokens.
#pragma once
#include "kernels/cuda_check.cuh"
#include "kernels/lightning_prefill.cuh"

#include <algorithm>
#include <cstdint>

namespace m1::cuda::lightning {

// CTAs per head at most: bounds the workspace (and impl 9 polls their read flags with one warp).
constexpr int kMaxPerHead = 32;

// Chunk-state slots per head: never more CTAs than `sub`-token sub-blocks.
inline int per_head_slots(int tokens, int sub) { return std::min(kMaxPerHead, (tokens + sub - 1) / sub); }

struct Rounds {
    int G, C, rounds;  // CTAs per head, tokens per chunk, rounds of G chunks
};
// The rounds of `fn` (`threads` per CTA, `smem` bytes of dynamic shared memory) over p.tokens: as many CTAs per
// head as the GPU holds at once, chunks of p.sp_chunk (or `chunk`) tokens in whole `sub`-token sub-blocks, smaller
// for short inputs so that every resident CTA has one. G < 1: the GPU cannot hold one CTA per head at once.
template <class Kernel>
Rounds plan_rounds(Kernel fn, int threads, int smem, const LightningPrefillParams& p, int chunk, int sub) {
    M1_CUDA_CHECK(cudaFuncSetAttribute(fn, cudaFuncAttributeMaxDynamicSharedMemorySize, smem));
    int dev = 0, sms = 0, per_sm = 0;
    M1_CUDA_CHECK(cudaGetDevice(&dev));
    M1_CUDA_CHECK(cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, dev));
    M1_CUDA_CHECK(cudaOccupancyMaxActiveBlocksPerMultiprocessor(&per_sm, fn, threads, smem));
    const int g0 = std::min(kMaxPerHead, per_sm * sms / p.heads);
    if (g0 < 1) return {0, 0, 0};
    const int tokens = p.tokens;
    int C = p.sp_chunk ? p.sp_chunk : chunk;
    if ((tokens + C - 1) / C < g0) C = std::max(sub, ((tokens + g0 - 1) / g0 + sub - 1) / sub * sub);
    const int G = std::min(g0, (tokens + C - 1) / C);  // <= per_head_slots since C >= sub
    return {G, C, int((int64_t(tokens) + int64_t(G) * C - 1) / (int64_t(G) * C))};
}

// Launches `ctas` CTAs of `fn` at once: all resident, since they wait on each other.
template <class... Params, class... Args>
void launch_cooperative(void (*fn)(Params...), int ctas, int threads, int smem, cudaStream_t stream,
                        const Args&... args) {
    cudaLaunchConfig_t cfg{};
    cfg.gridDim = dim3(unsigned(ctas));
    cfg.blockDim = dim3(unsigned(threads));
    cfg.dynamicSmemBytes = std::size_t(smem);
    cfg.stream = stream;
    cudaLaunchAttribute attr[1];
    attr[0].id = cudaLaunchAttributeCooperative;
    attr[0].val.cooperative = 1;
    cfg.attrs = attr;
    cfg.numAttrs = 1;
    M1_CUDA_CHECK(cudaLaunchKernelEx(&cfg, fn, args...));
}

}  // namespace m1::cuda::lightning
