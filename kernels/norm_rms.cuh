// RMSNorm launch functions: the decoder norms with M1's alpha/beta residual fused in, and the lightning
// output norm fused with its sigmoid gate. Activations between ops are fp32; bf16 copies feed the GEMMs.
#pragma once
#include <cuda_bf16.h>
#include <cuda_runtime.h>

namespace m1::kern {

// y = w * x * rsqrt(mean(x^2) + eps) per row; x, y_f32: [T, H] fp32 (y_f32 may alias x), y_bf16: [T, H] or null.
void rmsnorm(const float* x, const __nv_bfloat16* w, float eps, int T, int H, float* y_f32,
             __nv_bfloat16* y_bf16, cudaStream_t stream);

// M1's post-norm residual then the next norm, in one pass:
//   s = alpha * res + beta * a;  res = w * s * rsqrt(mean(s^2) + eps);  y_bf16 = bf16(res)
// res: [T, H] fp32, in/out (the normalised tensor is the next residual); a: [T, H] fp32 sub-layer output.
void add_rmsnorm(float* res, const float* a, float alpha, float beta, const __nv_bfloat16* w, float eps, int T,
                 int H, __nv_bfloat16* y_bf16, cudaStream_t stream);

// Lightning output: out = bf16( w * o * rsqrt(mean(o^2) + eps) * sigmoid(g) ), one norm over all D features.
// o: [T, D] bf16 attention output (heads concatenated, 8192 for M1); g: [T, ldg] fp32 gate logits (first D columns used).
void rmsnorm_gate(const __nv_bfloat16* o, const float* g, int ldg, const __nv_bfloat16* w, float eps, int T, int D,
                  __nv_bfloat16* out, cudaStream_t stream);

}  // namespace m1::kern
