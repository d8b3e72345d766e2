// MoE token permutation: group the (token, expert) pairs by expert so that each expert's rows are one
// contiguous GEMM operand, apply SwiGLU between the two expert GEMMs, and combine the results per token.
#pragma once
#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include <cstdint>

namespace m1::kern {

// From topk_ids [T, k]: counts [E], offsets [E+1] (exclusive prefix sums), and the permutation:
// slot_of [T*k] (row in the grouped buffer of pair t*k+j) and token_of_slot [T*k]. Deterministic:
// inside an expert's group, rows keep token order.
void moe_plan(const int32_t* topk_ids, int T, int k, int E, int32_t* counts, int32_t* offsets, int32_t* slot_of,
              int32_t* token_of_slot, cudaStream_t stream);

// xp[r, :] = x[token_of_slot[r], :] for r < R = T*k.  x: [T, H] bf16, xp: [R, H] bf16.
void moe_gather(const __nv_bfloat16* x, const int32_t* token_of_slot, int R, int H, __nv_bfloat16* xp,
                cudaStream_t stream);

// h[r, i] = bf16( silu(gu[r, i]) * gu[r, I + i] ).  gu: [R, 2I] fp32 (gate half first), h: [R, I] bf16. The gate|up
// GEMM stays fp32: written in bf16 it moved a 2-GPU demo run 7.7e-2 away from one GPU (near-tie routing flips), for
// 2.5% of the MoE block.
void swiglu(const float* gu, int R, int I, __nv_bfloat16* h, cudaStream_t stream);

// out[t, :] = sum over j of topk_w[t, j] * y[slot_of[t*k+j], :], summed in ascending expert id (as transformers
// does). y: [R, H] fp32, out: [T, H] fp32. Only pairs whose expert lies in [e_begin, e_end) count (expert
// parallelism: the other pairs' y rows were never computed on this rank).
void moe_combine(const float* y, const int32_t* slot_of, const int32_t* topk_ids, const float* topk_w, int T, int k,
                 int H, float* out, cudaStream_t stream, int e_begin = 0, int e_end = 1 << 30);

}  // namespace m1::kern
