// Lightning attention prefill (chunk-parallel): o_t = q_t·S_t with S_t = λ·S_{t-1} + k_tᵀv_t per head,
// starting from an optional fp32 state and returning the final one. bf16 inputs, tensor cores, fp32 state.
#pragma once
#include <cuda_bf16.h>
#include <cuda_runtime.h>
#include <cstddef>
#include <cstdint>

namespace m1::cuda {

struct LightningPrefillParams {
    // Activated q, k, v of T tokens: element (t, h, d) at ptr[t*tok_stride + h*head_stride + d].
    // M1's fused projection [T, nh, 384]: tok_stride nh*384, head_stride 384, k = q + 128, v = q + 256.
    // Rows must be 16-byte aligned (strides multiples of 8 elements).
    const __nv_bfloat16* q = nullptr;
    const __nv_bfloat16* k = nullptr;
    const __nv_bfloat16* v = nullptr;
    int64_t tok_stride = 0;
    int64_t head_stride = 0;
    // Output o[t][h*128 + e] at out[t*out_tok_stride + h*128 + e] (bf16; nh*128 when packed).
    __nv_bfloat16* out = nullptr;
    int64_t out_tok_stride = 0;
    const float* slopes = nullptr;     // [nh] device; λ_h = exp(-slopes[h])
    const float* state_in = nullptr;   // [nh][128 d][128 e] fp32 state before token 0; nullptr = zeros
    float* state_out = nullptr;        // [nh][128][128] fp32 state after the last token; nullptr = not wanted.
                                       // May equal state_in (continuing a snapshot in place).
    int tokens = 0;                    // T >= 1
    int heads = 8;                     // 8 for M1 at TP-8
    int chunk = 0;                     // three-pass: tokens per parallel chunk, a multiple of 64 (set it)
    // Which kernel: 0 = the default (kLightningPrefillDefaultImpl); 1 = three passes on mma.sync walks (k/v read
    // twice); 2 = single pass on mma.sync walks; 3 = three passes on warpgroup (wgmma) walks; 4 = single pass on
    // wgmma walks, k/v re-read from L2; 5 / 6 = 3 / 4 with tiles loaded by bulk tensor copies (TMA) from one
    // thread; 7 / 8 = 5 / 6 with the output walk's scalar work overlapping its Q·S products. The single passes
    // fall back to the three passes where the GPU cannot hold their CTAs at once; 3-8 need sm_90 (elsewhere 1
    // and 2 run). 9 = single pass with the two walks at once: per SM the state-update walk of round r+1 beside the
    // output walk of round r (lightning_prefill_overlap.cu; falls back to 5).
    int impl = 0;
    int sp_chunk = 0;                  // single pass: tokens per chunk, a multiple of 64; 0 = default
    int sp_l2_hints = 1;               // single pass: keep k/v in L2 between the two walks (eviction hints)
    int sp_lead = 0;                   // impl 9: rounds the update walk may run ahead of the output walk (1 or
                                       // 2; 0 = the default, 2)
};

// The kernel used when impl = 0 (docs/benchmarks/attention-kernels.md has the measurements behind it).
constexpr int kLightningPrefillDefaultImpl = 5;

// Tokens per chunk (a multiple of 64, at least 512) for the three passes: heads x chunks fills `sm_count` SMs once
// (at most) or about `waves` times; waves = 0: one wave below 512K tokens, two from there on.
int lightning_prefill_default_chunk(int tokens, int heads, int sm_count, int waves = 0);
// Device workspace the launch of kernel `impl` needs (as LightningPrefillParams::impl; three-pass: one fp32
// 128x128 state per head and chunk; single-pass: chunk-state slots for the resident CTAs, at most ~3 MB per head).
std::size_t lightning_prefill_workspace_bytes(int tokens, int heads, int chunk, int impl = 0);
// Three-pass (impl 1, 3): three launches on `stream`: per-chunk local states, a scan, per-chunk outputs.
// Single-pass (impl 2, 4, 6, 8, 9): a memset of its flags and one cooperative launch.
// `p.chunk` must be set (use the default function); workspace must hold workspace_bytes().
void lightning_prefill(const LightningPrefillParams& p, void* workspace, std::size_t workspace_bytes,
                       cudaStream_t stream);

}  // namespace m1::cuda
