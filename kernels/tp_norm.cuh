// Tensor-parallel pieces of the lightning output norm: one RMSNorm spans all nh*dh features, but under
// tensor parallelism each GPU holds only its heads' columns. Each rank sums its squares per token,
// the ranks all-reduce those sums, then each applies the norm and the sigmoid gate to its columns.
#pragma once
#include <cuda_bf16.h>
#include <cuda_runtime.h>

namespace m1::kern {

// ss[t] = sum over this rank's D columns of o[t, :]^2 (fp32). o: [T, D] bf16.
void tp_row_sumsq(const __nv_bfloat16* o, int T, int D, float* ss, cudaStream_t stream);

// out = bf16( w * o * rsqrt(ss[t] / D_total + eps) * sigmoid(g) ) on this rank's D columns, where ss holds
// the all-reduced sums of squares. o: [T, D] bf16; g: [T, ldg] fp32 gate logits; w: [D] (this rank's slice).
void tp_rmsnorm_gate_apply(const __nv_bfloat16* o, const float* g, int ldg, const __nv_bfloat16* w, const float* ss,
                           int D_total, float eps, int T, int D, __nv_bfloat16* out, cudaStream_t stream);

}  // namespace m1::kern
