// The GPU-resident weights of one model on one device (internal to the CUDA backend).
#pragma once
#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include <vector>

#include "cuda/cuda_backend.h"
#include "kernels/lm_head.cuh"
#include "kernels/moe_small.cuh"
#include "m1/parallel_tp.h"

namespace m1 {

struct CudaLayer {
    __nv_bfloat16* in_norm = nullptr;    // [H]
    __nv_bfloat16* post_norm = nullptr;  // [H]
    float* router = nullptr;             // [E, H] fp32
    kern::ExpertWeights experts{};       // w13 [E, 2I, H] | q13 + s13; w2 [E, H, I] | q2 + s2
    // Lightning layers
    __nv_bfloat16* lin_qkv = nullptr;    // [3*nh*dh, H], head-major interleaved q|k|v
    __nv_bfloat16* lin_gate = nullptr;   // [nh*dh, H]
    __nv_bfloat16* lin_out = nullptr;    // [H, nh*dh]
    __nv_bfloat16* lin_norm = nullptr;   // [nh*dh]
    float* slopes = nullptr;             // [nh] decay rates s (decay exp(-s))
    // Softmax layers
    __nv_bfloat16* attn_qkv = nullptr;   // [(nh + 2*nkv)*dh, H] = q_proj | k_proj | v_proj
    __nv_bfloat16* attn_o = nullptr;     // [H, nh*dh]
};

struct CudaModel {
    ModelConfig cfg;
    std::string fingerprint;
    int device = 0;
    CudaOptions opts;
    __nv_bfloat16* embed = nullptr;      // [V, H]
    __nv_bfloat16* final_norm = nullptr; // [H]
    kern::RowWeights lm_head{};          // [V, H] bf16 as M1 stores it (fp32 when the checkpoint's is not bf16);
                                         // the logits are computed in fp32 from it (kern::lm_head)
    std::vector<CudaLayer> layers;
    std::vector<void*> allocations;      // freed by the destructor
    std::size_t bytes = 0;
    std::shared_ptr<TpLink> tp;          // set when this model is one rank of several GPUs (multi-GPU backend)

    CudaModel() = default;
    CudaModel(const CudaModel&) = delete;
    CudaModel& operator=(const CudaModel&) = delete;
    ~CudaModel();
    void* alloc(std::size_t n);  // cudaMalloc tracked in allocations; throws CudaError
};

// Maps a CudaError (or any exception from the CUDA path) to DeviceError; rethrows others unchanged.
[[noreturn]] void rethrow_as_device_error(int device);

}  // namespace m1
