// Embedding lookup: rows of the bf16 table for each token id, widened to fp32 (the residual stream).
#pragma once
#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include <cstdint>

namespace m1::kern {

// out[t, :] = table[ids[t], :]; ids are device memory and must lie in [0, V) (the engine checks on the host).
void embed_gather(const int32_t* ids, int T, const __nv_bfloat16* table, int H, float* out, cudaStream_t stream);

}  // namespace m1::kern
