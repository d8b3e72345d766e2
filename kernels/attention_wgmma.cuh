// Warpgroup tensor-core helpers (sm_90a wgmma) for the attention kernels: shared-memory descriptors for
// 128-byte-swizzled tiles and the m64n128k16 bf16 -> fp32 products with A from smem or from registers.
#pragma once
#include <cuda_bf16.h>
#include <cstdint>

namespace m1::cuda::wg {

// A [rows][128] bf16 tile as two 64-column halves, each [rows][64] with 128-byte rows whose 16-byte chunks
// are stored at chunk ^ (row & 7): the layout the hardware's 128B swizzle expects (half bases 1024-aligned).
__device__ __forceinline__ int swz128(int row, int col, int rows) {
    return (col >> 6) * rows * 64 + row * 64 + ((((col >> 3) & 7) ^ (row & 7)) << 3) + (col & 7);
}

// Descriptor fields: start address, leading and stride byte offsets (all >> 4), swizzle mode 1 = 128B.
__device__ __forceinline__ uint64_t desc(const void* smem, uint32_t lbo_bytes, uint32_t sbo_bytes) {
    const uint32_t a = static_cast<uint32_t>(__cvta_generic_to_shared(smem));
    return uint64_t((a >> 4) & 0x3FFF) | (uint64_t((lbo_bytes >> 4) & 0x3FFF) << 16) |
           (uint64_t((sbo_bytes >> 4) & 0x3FFF) << 32) | (uint64_t(1) << 62);
}

__device__ __forceinline__ void fence() {
#if defined(__CUDA_ARCH_FEAT_SM90_ALL)
    asm volatile("wgmma.fence.sync.aligned;\n" ::: "memory");
#endif
}
__device__ __forceinline__ void commit() {
#if defined(__CUDA_ARCH_FEAT_SM90_ALL)
    asm volatile("wgmma.commit_group.sync.aligned;\n" ::: "memory");
#endif
}
template <int N>
__device__ __forceinline__ void wait() {
#if defined(__CUDA_ARCH_FEAT_SM90_ALL)
    asm volatile("wgmma.wait_group.sync.aligned %0;\n" ::"n"(N) : "memory");
#endif
}
// (The compute_90 PTX fallback has no wgmma: there these are empty and the products trap.)
// Orders generic-proxy smem writes (cp.async, st.shared) before async-proxy reads (wgmma).
__device__ __forceinline__ void fence_proxy() { asm volatile("fence.proxy.async.shared::cta;\n" ::: "memory"); }

// The 64 fp32 accumulators d[0..63] of an m64n128 product as the asm operands %0..%63 (read and written).
#define M1_WG_ACC64(d)                                                                                             \
    "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3]), "+f"(d[4]), "+f"(d[5]), "+f"(d[6]), "+f"(d[7]), "+f"(d[8]),    \
        "+f"(d[9]), "+f"(d[10]), "+f"(d[11]), "+f"(d[12]), "+f"(d[13]), "+f"(d[14]), "+f"(d[15]), "+f"(d[16]),     \
        "+f"(d[17]), "+f"(d[18]), "+f"(d[19]), "+f"(d[20]), "+f"(d[21]), "+f"(d[22]), "+f"(d[23]), "+f"(d[24]),    \
        "+f"(d[25]), "+f"(d[26]), "+f"(d[27]), "+f"(d[28]), "+f"(d[29]), "+f"(d[30]), "+f"(d[31]), "+f"(d[32]),    \
        "+f"(d[33]), "+f"(d[34]), "+f"(d[35]), "+f"(d[36]), "+f"(d[37]), "+f"(d[38]), "+f"(d[39]), "+f"(d[40]),    \
        "+f"(d[41]), "+f"(d[42]), "+f"(d[43]), "+f"(d[44]), "+f"(d[45]), "+f"(d[46]), "+f"(d[47]), "+f"(d[48]),    \
        "+f"(d[49]), "+f"(d[50]), "+f"(d[51]), "+f"(d[52]), "+f"(d[53]), "+f"(d[54]), "+f"(d[55]), "+f"(d[56]),    \
        "+f"(d[57]), "+f"(d[58]), "+f"(d[59]), "+f"(d[60]), "+f"(d[61]), "+f"(d[62]), "+f"(d[63])

// d(64x128) = (scale_d ? d : 0) + A(64x16, K-major smem) * B(16x128, K-major smem: stored [n][k]).
__device__ __forceinline__ void mma_ss(float (&d)[64], uint64_t da, uint64_t db, int scale_d) {
#if defined(__CUDA_ARCH_FEAT_SM90_ALL)
    asm volatile(
        "{\n.reg .pred p;\nsetp.ne.b32 p, %66, 0;\n"
        "wgmma.mma_async.sync.aligned.m64n128k16.f32.bf16.bf16 {%0, %1, %2, %3, %4, %5, %6, %7, %8, %9, %10, %11, %12, %13, %14, %15, %16, %17, %18, %19, %20, %21, %22, %23, %24, %25, %26, %27, %28, %29, %30, %31, %32, %33, %34, %35, %36, %37, %38, %39, %40, %41, %42, %43, %44, %45, %46, %47, %48, %49, %50, %51, %52, %53, %54, %55, %56, %57, %58, %59, %60, %61, %62, %63}, %64, %65, p, 1, 1, 0, 0;\n}\n"
        : M1_WG_ACC64(d)
        : "l"(da), "l"(db), "r"(scale_d));
#else
    (void)d; (void)da; (void)db; (void)scale_d;
    __trap();
#endif
}

// d(64x128) += A(64x16, MN-major smem: stored [k][m]) * B(16x128, MN-major smem: stored [k][n]), both transposed by
// the instruction (the lightning state update K̃ᵀ V with K̃ and V as loaded: lightning_prefill_overlap.cu).
__device__ __forceinline__ void mma_ss_tt(float (&d)[64], uint64_t da, uint64_t db) {
#if defined(__CUDA_ARCH_FEAT_SM90_ALL)
    asm volatile(
        "{\n.reg .pred p;\nsetp.ne.b32 p, 1, 0;\n"
        "wgmma.mma_async.sync.aligned.m64n128k16.f32.bf16.bf16 {%0, %1, %2, %3, %4, %5, %6, %7, %8, %9, %10, %11, %12, %13, %14, %15, %16, %17, %18, %19, %20, %21, %22, %23, %24, %25, %26, %27, %28, %29, %30, %31, %32, %33, %34, %35, %36, %37, %38, %39, %40, %41, %42, %43, %44, %45, %46, %47, %48, %49, %50, %51, %52, %53, %54, %55, %56, %57, %58, %59, %60, %61, %62, %63}, %64, %65, p, 1, 1, 1, 1;\n}\n"
        : M1_WG_ACC64(d)
        : "l"(da), "l"(db));
#else
    (void)d; (void)da; (void)db;
    __trap();
#endif
}

// d(64x128) += A(64x16, registers in the mma.sync A-fragment layout per warp) * B(16x128, MN-major smem:
// stored [k][n], transposed by the instruction).
__device__ __forceinline__ void mma_rs(float (&d)[64], const uint32_t (&a)[4], uint64_t db) {
#if defined(__CUDA_ARCH_FEAT_SM90_ALL)
    asm volatile(
        "{\n.reg .pred p;\nsetp.ne.b32 p, 1, 0;\n"
        "wgmma.mma_async.sync.aligned.m64n128k16.f32.bf16.bf16 {%0, %1, %2, %3, %4, %5, %6, %7, %8, %9, %10, %11, %12, %13, %14, %15, %16, %17, %18, %19, %20, %21, %22, %23, %24, %25, %26, %27, %28, %29, %30, %31, %32, %33, %34, %35, %36, %37, %38, %39, %40, %41, %42, %43, %44, %45, %46, %47, %48, %49, %50, %51, %52, %53, %54, %55, %56, %57, %58, %59, %60, %61, %62, %63}, {%64, %65, %66, %67}, %68, p, 1, 1, 1;\n}\n"
        : M1_WG_ACC64(d)
        : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "l"(db));
#else
    (void)d; (void)a; (void)db;
    __trap();
#endif
}

// The two products of one attention tile, on [128][128] bf16 tiles stored as two swizzled 64-column halves
// (swz128). s(64x128) = Q(rows 64*wgi .. +63 of the Q tile) · K(tile)ᵀ, accumulators overwritten; issued
// asynchronously (the caller fences, commits and waits).
__device__ __forceinline__ void qk_tile(float (&s)[64], const __nv_bfloat16* q, const __nv_bfloat16* k, int wgi) {
#pragma unroll
    for (int kk = 0; kk < 8; ++kk) {
        const int half = (kk >> 2) * 128 * 64, koff = (kk & 3) * 16;
        mma_ss(s, desc(q + half + wgi * 64 * 64 + koff, 16, 1024), desc(k + half + koff, 16, 1024), kk > 0);
    }
}
// o(64x128) += P · V(tile): P from registers (k-step j = keys 16j..16j+15), V stored [key][d].
__device__ __forceinline__ void pv_tile(float (&o)[64], const uint32_t (&pa)[8][4], const __nv_bfloat16* v) {
#pragma unroll
    for (int j = 0; j < 8; ++j) mma_rs(o, pa[j], desc(v + j * 16 * 64, 128 * 64 * 2, 1024));
}

}  // namespace m1::cuda::wg
