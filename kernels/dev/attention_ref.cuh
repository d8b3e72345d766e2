// Simple, correct attention kernels for any head dim (the tuned kernels in kernels/ take head dim 128 only):
// the lightning recurrence token by token, and softmax attention with one warp per (query, head). The CUDA
// backend uses them for models whose head dim is not 128 (the demo and golden models) and as the check.
#pragma once
#include <cuda_runtime.h>

#include "kernels/attention_prefill.cuh"
#include "kernels/lightning_prefill.cuh"

namespace m1::cuda::dev {

// Same parameters as lightning_prefill (p.chunk ignored; state_out required, may equal state_in), any head
// dim dh <= 128; output o[t][h*dh + e].
void lightning_recurrent(const LightningPrefillParams& p, int dh, cudaStream_t stream);

// Same parameters as attention_prefill, any head dim dh <= 256; output o[t][h*dh + e].
void attention_naive(const AttentionPrefillParams& p, int dh, cudaStream_t stream);

}  // namespace m1::cuda::dev
