// Host side of the bulk tensor copies (TMA): tensor maps over [tokens][heads][128] bf16 activations, read in
// boxes of 64 dims x 1 head x box_rows tokens with the 128-byte swizzle the wgmma tiles expect. Shared by the
// softmax prefill (attention_prefill_ws.cu) and the lightning walks (lightning_prefill_tma.cuh).
#pragma once
#include <cuda.h>
#include <cudaTypedefs.h>  // PFN_cuTensorMapEncodeTiled
#include <cuda_bf16.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>

#include "kernels/cuda_check.cuh"

namespace m1::cuda {

// cuTensorMapEncodeTiled from the driver, found through the runtime (no link against libcuda).
inline PFN_cuTensorMapEncodeTiled_v12000 tensor_map_encoder() {
    static const PFN_cuTensorMapEncodeTiled_v12000 fn = [] {
        void* f = nullptr;
        cudaDriverEntryPointQueryResult found{};
        M1_CUDA_CHECK(cudaGetDriverEntryPointByVersion("cuTensorMapEncodeTiled", &f, 12000, cudaEnableDefault, &found));
        if (found != cudaDriverEntryPointSuccess || !f) {
            std::fprintf(stderr, "m1 kernels: the driver has no cuTensorMapEncodeTiled\n");
            std::abort();
        }
        return reinterpret_cast<PFN_cuTensorMapEncodeTiled_v12000>(f);
    }();
    return fn;
}

// Element strides; heads == 1 uses 128 as the head stride (any value is legal then). Tokens past `tokens`
// read as zeros. `who` names the caller in the (programming-error) abort message.
inline CUtensorMap head_dim128_map(const __nv_bfloat16* base, int heads, int64_t head_stride, int64_t tokens,
                                   int64_t tok_stride, uint32_t box_rows, const char* who) {
    CUtensorMap m;
    const cuuint64_t dims[3] = {128, cuuint64_t(heads), cuuint64_t(tokens)};
    const cuuint64_t strides[2] = {cuuint64_t(heads > 1 ? head_stride : 128) * sizeof(__nv_bfloat16),
                                   cuuint64_t(tok_stride) * sizeof(__nv_bfloat16)};
    const cuuint32_t box[3] = {64, 1, box_rows};
    const cuuint32_t unit[3] = {1, 1, 1};
    const CUresult r = tensor_map_encoder()(&m, CU_TENSOR_MAP_DATA_TYPE_BFLOAT16, 3, const_cast<__nv_bfloat16*>(base),
                                            dims, strides, box, unit, CU_TENSOR_MAP_INTERLEAVE_NONE,
                                            CU_TENSOR_MAP_SWIZZLE_128B, CU_TENSOR_MAP_L2_PROMOTION_L2_256B,
                                            CU_TENSOR_MAP_FLOAT_OOB_FILL_NONE);
    if (r != CUDA_SUCCESS) {
        std::fprintf(stderr, "%s: cuTensorMapEncodeTiled failed (%d)\n", who, int(r));
        std::abort();
    }
    return m;
}

}  // namespace m1::cuda
