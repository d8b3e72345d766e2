// Partial rotary embedding for the softmax layers, fused with the KV-cache append: rotates the first
// rotary_dim dims of each q and k head (NeoX half-split pairs i, i+rotary_dim/2), the rest pass through.
#pragma once
#include <cuda_bf16.h>
#include <cuda_runtime.h>

namespace m1::kern {

struct RopeArgs {
    const float* qkv;  // [T, ld] fp32: q (nh*dh) | k (nkv*dh) | v (nkv*dh) at columns 0, nh*dh, (nh+nkv)*dh
    int ld;            // row stride of qkv in elements (10240 for M1)
    int T;             // tokens in this chunk
    int nh, nkv, dh;   // 64, 8, 128 for M1
    int rotary_dim;    // 64 for M1 (the trained model); dh reproduces transformers' full rotation
    float theta;       // 1e7 for M1
    int pos0;          // position of the chunk's first token
    __nv_bfloat16* q_out;    // [T, nh, dh] rotated queries
    __nv_bfloat16* k_cache;  // [cap, nkv, dh]; positions pos0..pos0+T-1 are written (keys after rotation)
    __nv_bfloat16* v_cache;  // [cap, nkv, dh]
    int cap;                 // cache capacity in tokens
};

// inv_freq_i = theta^(-2i/rotary_dim), angle = pos * inv_freq_i, both in double as in m1::ref::rope (in fp32
// the angle is off by up to pos * 6e-8 rad), then the rotation in fp32.
void rope_qk_cache(const RopeArgs& a, cudaStream_t stream);

}  // namespace m1::kern
