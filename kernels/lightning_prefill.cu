// Lightning attention prefill in three launches (impl 1: mma.sync walks, impl 3 / 5 / 7: wgmma walks). (1) each CTA
// walks one chunk of one head and keeps its local state in mma accumulators; (2) a scan over chunks turns local
// states into each chunk's incoming state; (3) each CTA walks its chunk again from that state and writes o.
// Also the dispatcher (impl 2, 4, 6, 8 and 9, the single passes, live in their own files).
#include "kernels/lightning_prefill.cuh"

#include "kernels/cuda_check.cuh"
#include "kernels/lightning_prefill_overlap.cuh"
#include "kernels/lightning_prefill_single.cuh"
#include "kernels/lightning_prefill_stream.cuh"
#include "kernels/lightning_prefill_walk.cuh"
#include "kernels/lightning_prefill_wgmma.cuh"

#include <algorithm>
#include <cstdio>
#include <cstdlib>

namespace m1::cuda {
namespace {

using namespace m1::cuda::lightning;

struct Chunk {
    int t0, t1;  // token range [t0, t1)
};

__device__ __forceinline__ Chunk chunk_of(const LightningPrefillParams& p, int c) {
    int t0 = c * p.chunk;
    return {t0, min(p.tokens, t0 + p.chunk)};
}

// kOut = false: pass 1, local state of the chunk from zero -> ws. kOut = true: pass 3, outputs from the
// chunk's incoming state (read from ws).
template <bool kOut>
__global__ void __launch_bounds__(kThreads, kOut ? 1 : 2) chunk_kernel(LightningPrefillParams p, float* ws) {
    extern __shared__ __align__(128) unsigned char smem_raw[];
    const int cidx = blockIdx.x, h = blockIdx.y, nchunks = gridDim.x;
    const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31, g = lane >> 2, c = lane & 3;
    const Chunk ch = chunk_of(p, cidx);
    const float nlog2 = -p.slopes[h] * kLog2e;  // λ^n = exp2(nlog2 * n)
    float* wsl = ws + (int64_t(h) * nchunks + cidx) * kStateElems;

    float S[16][4];
#pragma unroll
    for (int nt = 0; nt < 16; ++nt) {
        int d = warp * 16 + g, e = nt * 8 + 2 * c;
        if (kOut) {
            float2 lo = *reinterpret_cast<const float2*>(wsl + d * kDim + e);
            float2 hi = *reinterpret_cast<const float2*>(wsl + (d + 8) * kDim + e);
            S[nt][0] = lo.x; S[nt][1] = lo.y; S[nt][2] = hi.x; S[nt][3] = hi.y;
        } else {
            S[nt][0] = S[nt][1] = S[nt][2] = S[nt][3] = 0.f;
        }
    }
    walk<kOut>(p, h, ch.t0, ch.t1, S, smem_raw, nlog2);
    if (!kOut) {
#pragma unroll
        for (int nt = 0; nt < 16; ++nt) {
            int d = warp * 16 + g, e = nt * 8 + 2 * c;
            *reinterpret_cast<float2*>(wsl + d * kDim + e) = make_float2(S[nt][0], S[nt][1]);
            *reinterpret_cast<float2*>(wsl + (d + 8) * kDim + e) = make_float2(S[nt][2], S[nt][3]);
        }
    }
}

// impl 3 / 5 / 7: the same passes on the warpgroup walks (lightning_prefill_wgmma.cuh), tiles copied by every
// thread (cp.async) / by bulk copies (kTma, `maps`) / the latter with P's mask overlapping Q·S (kOverlap); the
// state layout is the same.
template <bool kOut, bool kTma, bool kOverlap>
__global__ void __launch_bounds__(lwg::kThreads, kOut ? 1 : 2)
    chunk_kernel_wg(LightningPrefillParams p, float* ws, const __grid_constant__ lwg::Maps maps) {
    extern __shared__ unsigned char smem_raw[];
    const int cidx = blockIdx.x, h = blockIdx.y, nchunks = gridDim.x;
    const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31, g = lane >> 2, c = lane & 3;
    const Chunk ch = chunk_of(p, cidx);
    const float nlog2 = -p.slopes[h] * kLog2e;
    float* wsl = ws + (int64_t(h) * nchunks + cidx) * kStateElems;
    float S[64];
#pragma unroll
    for (int nt = 0; nt < 16; ++nt) {
        const int d = warp * 16 + g, e = nt * 8 + 2 * c;
        if (kOut) {
            const float2 lo = *reinterpret_cast<const float2*>(wsl + d * kDim + e);
            const float2 hi = *reinterpret_cast<const float2*>(wsl + (d + 8) * kDim + e);
            S[4 * nt] = lo.x; S[4 * nt + 1] = lo.y; S[4 * nt + 2] = hi.x; S[4 * nt + 3] = hi.y;
        } else {
            S[4 * nt] = S[4 * nt + 1] = S[4 * nt + 2] = S[4 * nt + 3] = 0.f;
        }
    }
    lwg::walk<kOut, kTma, kOverlap>(p, h, ch.t0, ch.t1, S, lwg::align_smem(smem_raw), nlog2, &maps);
    if (!kOut) {
#pragma unroll
        for (int nt = 0; nt < 16; ++nt) {
            const int d = warp * 16 + g, e = nt * 8 + 2 * c;
            *reinterpret_cast<float2*>(wsl + d * kDim + e) = make_float2(S[4 * nt], S[4 * nt + 1]);
            *reinterpret_cast<float2*>(wsl + (d + 8) * kDim + e) = make_float2(S[4 * nt + 2], S[4 * nt + 3]);
        }
    }
}

// Pass 2: per state element, walk the chunks in order: ws[c] (local state) becomes the state entering
// chunk c; the state after the last chunk goes to state_out. Loads run 8 chunks ahead of the recurrence.
__global__ void __launch_bounds__(256) scan_kernel(LightningPrefillParams p, float* ws, int nchunks) {
    const int64_t idx = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
    if (idx >= int64_t(p.heads) * kStateElems) return;
    const int h = int(idx / kStateElems), el = int(idx % kStateElems);
    const float nlog2 = -p.slopes[h] * kLog2e;
    const float full = exp2f(nlog2 * p.chunk);
    float s = p.state_in ? p.state_in[idx] : 0.f;
    float* col = ws + int64_t(h) * nchunks * kStateElems + el;
    for (int c0 = 0; c0 < nchunks; c0 += 8) {
        float kv[8];
#pragma unroll
        for (int u = 0; u < 8; ++u)
            if (c0 + u < nchunks) kv[u] = col[int64_t(c0 + u) * kStateElems];
#pragma unroll
        for (int u = 0; u < 8; ++u) {
            const int cc = c0 + u;
            if (cc < nchunks) {
                col[int64_t(cc) * kStateElems] = s;
                const int len = min(p.chunk, p.tokens - cc * p.chunk);
                s = fmaf(len == p.chunk ? full : exp2f(nlog2 * len), s, kv[u]);
            }
        }
    }
    if (p.state_out) p.state_out[idx] = s;
}

bool aligned(const void* ptr, unsigned bytes) { return reinterpret_cast<uintptr_t>(ptr) % bytes == 0; }

void check(bool ok, const char* what) {
    if (!ok) {
        std::fprintf(stderr, "lightning_prefill: %s\n", what);
        std::abort();
    }
}

}  // namespace

// `waves` waves of the output pass (one 225 KB CTA per SM), and at least 512 tokens per chunk: each chunk costs
// four 64 KB state transfers (pass 1 write, scan read+write, pass 3 read) besides its q/k/v. One wave (at most
// sm_count CTAs: 16 chunks per head at 8 heads on 132 SMs) is the default: on an H100 at 32K tokens impl 3/5 took
// 213/214 us at two waves' 1024-token chunks, 194 us at 2048 (docs/benchmarks/attention-kernels.md).
// From 512K tokens on, two waves: each chunk is still >= 16K tokens long (its state transfers cost nothing), and the
// second wave brings in the SMs that one wave leaves idle (8 heads x 16 chunks = 128 of 132): at 1M tokens, 4.23 vs
// 4.49-4.54 ms on an H200, 4.72 vs 4.73 ms on an H100; at 128K two waves are 3-5% slower (attention-kernels.md, G).
int lightning_prefill_default_chunk(int tokens, int heads, int sm_count, int waves) {
    if (waves <= 0) waves = tokens >= (1 << 19) ? 2 : 1;
    const int want = waves <= 1 ? std::max(1, sm_count / heads)            // chunks per head, <= one wave
                                : (waves * sm_count + heads - 1) / heads;  // about `waves` waves
    int chunk = (tokens + want - 1) / want;
    chunk = (chunk + kSub - 1) / kSub * kSub;
    return chunk < 8 * kSub ? 8 * kSub : chunk;
}

std::size_t lightning_prefill_workspace_bytes(int tokens, int heads, int chunk, int impl) {
    const std::size_t nchunks = (std::size_t(tokens) + chunk - 1) / chunk;
    const std::size_t three = nchunks * heads * kStateElems * sizeof(float);
    const int which = impl ? impl : kLightningPrefillDefaultImpl;
    // The single passes fall back to a three-pass kernel where their CTAs do not fit at once.
    std::size_t single = 0;
    if (which == 2) single = lightning::single_pass_workspace_bytes(tokens, heads);
    if (which == 4 || which == 6 || which == 8) single = lightning::stream_workspace_bytes(tokens, heads);
    if (which == 9) single = lightning::overlap_workspace_bytes(tokens, heads);
    return three > single ? three : single;
}

namespace {

// The warpgroup kernels (impl 3-8) are built for sm_90a only; elsewhere the mma.sync ones run.
bool has_wgmma() {
    int dev = 0, major = 0, minor = 0;
    M1_CUDA_CHECK(cudaGetDevice(&dev));
    M1_CUDA_CHECK(cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, dev));
    M1_CUDA_CHECK(cudaDeviceGetAttribute(&minor, cudaDevAttrComputeCapabilityMinor, dev));
    return major == 9 && minor == 0;
}

template <class Pass1, class Pass3, class... Extra>
void three_pass(const LightningPrefillParams& p, float* ws, Pass1 pass1, Pass3 pass3, std::size_t smem1,
                std::size_t smem3, cudaStream_t stream, const Extra&... extra) {
    const int nchunks = (p.tokens + p.chunk - 1) / p.chunk;
    M1_CUDA_CHECK(cudaFuncSetAttribute(pass1, cudaFuncAttributeMaxDynamicSharedMemorySize, int(smem1)));
    M1_CUDA_CHECK(cudaFuncSetAttribute(pass3, cudaFuncAttributeMaxDynamicSharedMemorySize, int(smem3)));
    dim3 grid(nchunks, p.heads);
    pass1<<<grid, kThreads, smem1, stream>>>(p, ws, extra...);
    M1_LAUNCH_CHECK();
    const int64_t elems = int64_t(p.heads) * kStateElems;
    scan_kernel<<<unsigned((elems + 255) / 256), 256, 0, stream>>>(p, ws, nchunks);
    M1_LAUNCH_CHECK();
    pass3<<<grid, kThreads, smem3, stream>>>(p, ws, extra...);
    M1_LAUNCH_CHECK();
}

}  // namespace

void lightning_prefill(const LightningPrefillParams& p, void* workspace, std::size_t workspace_bytes,
                       cudaStream_t stream) {
    check(p.q && p.k && p.v && p.out && p.slopes, "null pointer");
    check(p.tokens >= 1 && p.heads >= 1 && p.heads <= 65535, "bad tokens/heads");
    check(p.chunk >= kSub && p.chunk % kSub == 0, "chunk must be a positive multiple of 64");
    check(p.tok_stride % 8 == 0 && p.head_stride % 8 == 0 && p.out_tok_stride % 2 == 0, "unaligned strides");
    check(aligned(p.q, 16) && aligned(p.k, 16) && aligned(p.v, 16) && aligned(p.out, 4) && aligned(p.state_in, 4) &&
              aligned(p.state_out, 4),
          "unaligned pointers (q/k/v rows are copied 16 bytes at a time)");
    check(workspace && workspace_bytes >= lightning_prefill_workspace_bytes(p.tokens, p.heads, p.chunk, p.impl),
          "workspace too small");
    int impl = p.impl ? p.impl : kLightningPrefillDefaultImpl;
    check(impl >= 1 && impl <= 9, "impl must be 0..9");
    check(p.sp_chunk >= 0 && p.sp_chunk % kSub == 0, "sp_chunk must be a multiple of 64");
    check(p.sp_lead >= 0 && p.sp_lead <= 2, "sp_lead must be 0..2");
    if (impl >= 3 && !has_wgmma()) impl = impl == 9 ? 1 : impl % 2 ? 1 : 2;
    if (impl == 9 && lightning::overlap_prefill(p, workspace, workspace_bytes, stream)) return;
    if (impl == 9) impl = 5;  // its three-pass fallback
    if (impl == 2 && lightning::single_pass_prefill(p, workspace, workspace_bytes, stream)) return;
    if ((impl == 4 || impl == 6 || impl == 8) &&
        lightning::stream_prefill(p, workspace, workspace_bytes, stream, impl >= 6, impl == 8))
        return;
    float* ws = static_cast<float*>(workspace);
    if (impl >= 4 && impl % 2 == 0) --impl;  // the single passes' three-pass fallbacks
    if (impl == 3)
        three_pass(p, ws, chunk_kernel_wg<false, false, false>, chunk_kernel_wg<true, false, false>,
                   lwg::smem_bytes(false), lwg::smem_bytes(true), stream, lwg::Maps{});
    else if (impl == 5)
        three_pass(p, ws, chunk_kernel_wg<false, true, false>, chunk_kernel_wg<true, true, false>,
                   lwg::smem_bytes(false), lwg::smem_bytes(true), stream, lwg::lightning_maps(p));
    else if (impl == 7)  // pass 1 has no outputs: the same kernel as impl 5's
        three_pass(p, ws, chunk_kernel_wg<false, true, false>, chunk_kernel_wg<true, true, true>,
                   lwg::smem_bytes(false), lwg::smem_bytes(true), stream, lwg::lightning_maps(p));
    else
        three_pass(p, ws, chunk_kernel<false>, chunk_kernel<true>, smem_bytes(false), smem_bytes(true), stream);
}

}  // namespace m1::cuda
