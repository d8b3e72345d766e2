// MoE router tail: fp32 softmax over all experts, top-k, renormalise the k weights to sum to one.
#pragma once
#include <cuda_runtime.h>

#include <cstdint>

namespace m1::kern {

// logits: [T, E] fp32 (E <= 256, k <= 8). topk_ids/topk_w: [T, k], ordered by weight (descending; ties: lower id).
void moe_route(const float* logits, int T, int E, int k, int32_t* topk_ids, float* topk_w, cudaStream_t stream);

}  // namespace m1::kern
