// The whole MoE block on the GPU: fp32 router GEMM, routing, then either the decode path (moe_small) or the
// grouped path: permute, one cuBLAS GEMM per expert for gate|up, SwiGLU, one per expert for down, combine.
#pragma once
#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include <cstddef>
#include <cstdint>

#include "kernels/gemm_cublas.cuh"
#include "kernels/moe_small.cuh"

namespace m1::kern {

struct MoeScratch {
    float* logits;            // [T, E]
    int32_t* topk_ids;        // [T, k]
    float* topk_w;            // [T, k]
    int32_t* counts;          // [E]
    int32_t* offsets;         // [E+1]
    int32_t* slot_of;         // [T*k]
    int32_t* token_of_slot;   // [T*k]
    __nv_bfloat16* xp;        // [T*k, H]   permuted inputs
    float* gu;                // [T*k, 2I]  gate|up outputs
    __nv_bfloat16* h;         // [T*k, I]   SwiGLU outputs
    float* y;                 // [T*k, H]   down outputs
    __nv_bfloat16* deq;       // [2I, H]    one expert dequantised (int8 experts only)
};

// Token counts up to which the decode path is used (no host sync, graph-capturable).
constexpr int kMoeSmallMaxPairs = 16;

// Bytes of scratch for up to T tokens; carve() lays the buffers out in that many bytes (256-byte aligned).
std::size_t moe_scratch_bytes(int T, int k, const ExpertWeights& w);
MoeScratch moe_carve(void* base, int T, int k, const ExpertWeights& w);

// The expert stage of the grouped path, after moe_plan and moe_gather (s.xp holds the permuted rows, host_counts
// the rows of each of all E experts): gate|up GEMM, SwiGLU and down GEMM per held expert into s.y. bf16 experts run on the
// Blas side lanes, several at once; int8 experts one at a time through the dequantisation buffer.
void moe_experts_grouped(Blas& blas, const ExpertWeights& w, const MoeScratch& s, const int32_t* host_counts);

// out[T, H] fp32 = MoE(x). x_f32 feeds the fp32 router (gate: [E, H] fp32), x_bf16 the experts.
// host_counts: pinned host memory of E ints; used (with one stream sync) only on the grouped path.
void moe_forward(Blas& blas, const float* gate, const ExpertWeights& w, const float* x_f32,
                 const __nv_bfloat16* x_bf16, int T, int k, const MoeScratch& s, int32_t* host_counts, float* out);

}  // namespace m1::kern
