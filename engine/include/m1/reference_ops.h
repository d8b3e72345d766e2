// The CPU reference of every M1 operation, fp32, dense row-major buffers, callable on their own: the
// CPU backend is built from them and the CUDA op tests compare their kernels against them.
#pragma once
#include <cstdint>

namespace m1::ref {

// y[t] = w * x[t] / sqrt(mean(x[t]^2) + eps), rows of width n. y may alias x.
void rmsnorm(const float* x, const float* w, float* y, int64_t rows, int64_t n, float eps);

// RoPE in place on x[T, heads, head_dim]: for each head, dims [0, rotary_dim) rotate NeoX style
// (dim i pairs with i + rotary_dim/2, inv_freq_j = theta^(-2j/rotary_dim)); the rest pass through.
// Token t sits at position pos0 + t. Angles in double, applied in fp32.
void rope(float* x, int64_t T, int64_t heads, int64_t head_dim, int64_t rotary_dim, double theta, int64_t pos0);

// Per-head decay rates of a lightning layer (original/vLLM formula):
// s_h = 2^(-8(h+1)/nh) * (1 - layer/(num_layers-1) + 1e-5); decay per token exp(-s_h).
void lightning_slopes(int64_t nh, int64_t layer, int64_t num_layers, double* s);

// Lightning attention over T tokens, blocked with block_size (the state carries across calls):
//   S_t = exp(-s_h) S_{t-1} + k_t^T v_t ;  o_t = q_t S_t
// q, k, v, o: [T, nh, dh] (q/k/v already through SiLU); state: [nh, dh, dh] fp32, updated in place.
void lightning_prefill(const float* q, const float* k, const float* v, float* state, float* o, int64_t T,
                       int64_t nh, int64_t dh, const double* slopes, int64_t block_size);
// The per-token recurrence (same math as above; used for decode and as the check of the blocked form).
void lightning_decode(const float* q, const float* k, const float* v, float* state, float* o, int64_t T,
                      int64_t nh, int64_t dh, const double* slopes);

// Causal GQA softmax attention for T new queries at positions past..past+T-1.
// q: [T, nh, dh] (after RoPE); k, v: [past + T, nkv, dh] (the cache, new rows included, keys after
// RoPE); out: [T, nh, dh]. Query head h uses KV head h / (nh / nkv). Scale 1/sqrt(dh), fp32 softmax.
void softmax_attention(const float* q, const float* k, const float* v, float* out, int64_t T, int64_t past,
                       int64_t nh, int64_t nkv, int64_t dh);

// Router: logits [T, E] -> per token top_k expert ids (descending weight, lower id first on a tie) and
// weights = softmax(logits) over all E, top-k, renormalized to sum 1. ids/weights: [T, top_k].
void router_topk(const float* logits, int64_t T, int64_t E, int64_t top_k, int32_t* ids, float* weights);

// One SwiGLU expert: y[T, H] = (silu(x W1^T) * (x W3^T)) W2^T, W1/W3: [I, H], W2: [H, I].
void swiglu_expert(const float* x, int64_t T, int64_t H, int64_t I, const float* w1, const float* w3,
                   const float* w2, float* y);

// The MoE block: router gate [E, H] (fp32), experts' weights per expert e: w1[e], w3[e], w2[e].
// out[T, H] = sum_k weight_k * expert_{id_k}(x), summed in ascending expert id order.
void moe(const float* x, int64_t T, int64_t H, int64_t I, int64_t E, int64_t top_k, const float* gate,
         const float* const* w1, const float* const* w3, const float* const* w2, float* out);

// y[M, N] = x[M, K] * w[N, K]^T (nn.Linear without bias), through the BLAS when there is one.
void linear(const float* x, const float* w, float* y, int64_t M, int64_t N, int64_t K);

}  // namespace m1::ref
