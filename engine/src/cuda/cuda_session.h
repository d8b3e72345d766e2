// Internal: the per-session device buffers of the CUDA backend (activations sized for one chunk, KV cache,
// lightning states) and the layer functions of the forward pass.
#pragma once
#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include <memory>
#include <vector>

#include "cuda/cuda_model.h"
#include "kernels/gemm_cublas.cuh"
#include "kernels/moe_block.cuh"

namespace m1 {

// Device buffer that frees itself.
struct DevBuf {
    void* p = nullptr;
    std::size_t n = 0;
    DevBuf() = default;
    DevBuf(const DevBuf&) = delete;
    DevBuf& operator=(const DevBuf&) = delete;
    DevBuf(DevBuf&& o) noexcept : p(o.p), n(o.n) { o.p = nullptr; o.n = 0; }
    ~DevBuf() { release(); }
    void release() {
        if (p) cudaFree(p);
        p = nullptr;
        n = 0;
    }
    void ensure(std::size_t bytes);  // reallocates (contents lost) when smaller; throws CudaError
    template <typename T> T* as() const { return static_cast<T*>(p); }
};

// Activations for up to Tc tokens.
struct Workspace {
    int Tc = 0;
    DevBuf x;       // [Tc, H] fp32: the normalised residual u
    DevBuf xb;      // [Tc, H] bf16 copy of x for the GEMMs
    DevBuf a;       // [Tc, H] fp32 sub-layer output
    DevBuf big;     // [Tc, max(3*Wd, Wd + 2*kvw)] fp32 projection output
    DevBuf g;       // [Tc, Wd] fp32 lightning gate logits
    DevBuf qkvb;    // [Tc, 3*Wd] bf16 activated q|k|v (lightning) or rotated q (softmax)
    DevBuf ob;      // [Tc, Wd] bf16 attention output
    DevBuf gb;      // [Tc, Wd] bf16 gated, normalised attention output
    DevBuf ids;     // [Tc] int32
    DevBuf logits;  // [rows, V] fp32, rows = kLogitRows
    DevBuf head_tile;  // [kLmHeadTileRows, H] fp32: bf16 LM-head rows widened for the all-position logits
    DevBuf moe;     // MoE scratch for Tc tokens
    DevBuf lin_ws;  // lightning prefill workspace (tuned kernel)
    kern::MoeScratch moe_s{};
    void release() {  // gives every buffer back (after an allocation failure)
        for (DevBuf* b : {&x, &xb, &a, &big, &g, &qkvb, &ob, &gb, &ids, &logits, &head_tile, &moe, &lin_ws}) b->release();
        Tc = 0;
    }
};

}  // namespace m1
