// Warp-level tensor-core helpers shared by the attention and lightning kernels (device code only):
// mma.sync m16n8k16 bf16->fp32, ldmatrix, cp.async, and the XOR swizzle of 128-wide bf16 smem tiles.
#pragma once
#include <cuda_bf16.h>
#include <cstdint>

namespace m1::cuda::tile {

// A [rows][128] bf16 tile in shared memory: 16 chunks of 16 bytes per row. Chunk c of row r is stored
// at c ^ (r & 7) so that the 8 row addresses of one ldmatrix hit 8 different bank groups.
__device__ __forceinline__ int swz(int row, int col) {  // col in elements (multiple of 8 for chunks)
    return row * 128 + ((((col >> 3) ^ (row & 7))) << 3) + (col & 7);
}

__device__ __forceinline__ uint32_t smem_u32(const void* p) {
    return static_cast<uint32_t>(__cvta_generic_to_shared(p));
}

__device__ __forceinline__ void cp_async16(void* smem, const void* gmem, bool valid) {
    // Rows past the end are zero-filled (src-size 0) so that masked tiles never hold stale data.
    asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(smem_u32(smem)), "l"(gmem),
                 "r"(valid ? 16 : 0));
}
__device__ __forceinline__ void cp_async_commit() { asm volatile("cp.async.commit_group;\n" ::); }
template <int N>
__device__ __forceinline__ void cp_async_wait() { asm volatile("cp.async.wait_group %0;\n" ::"n"(N)); }

__device__ __forceinline__ void ldsm_x4(uint32_t (&r)[4], const void* p) {
    asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0,%1,%2,%3}, [%4];\n"
                 : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3]) : "r"(smem_u32(p)));
}
__device__ __forceinline__ void ldsm_x4_t(uint32_t (&r)[4], const void* p) {
    asm volatile("ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {%0,%1,%2,%3}, [%4];\n"
                 : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3]) : "r"(smem_u32(p)));
}

// D += A(16x16, row) * B(16x8, col); fragments as in the PTX ISA m16n8k16 layout.
__device__ __forceinline__ void mma(float (&d)[4], const uint32_t (&a)[4], uint32_t b0, uint32_t b1) {
    asm volatile("mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, "
                 "{%8,%9}, {%0,%1,%2,%3};\n"
                 : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
                 : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
}

__device__ __forceinline__ uint32_t pack_bf16(float lo, float hi) {
    __nv_bfloat162 v = __floats2bfloat162_rn(lo, hi);
    return *reinterpret_cast<uint32_t*>(&v);
}

// ldmatrix source addresses for a 16x16 block at (row0, col0) of a swizzled [.][128] tile.
// A operand, tile stored [m][k]:            x4 gives a0..a3.
__device__ __forceinline__ const __nv_bfloat16* a_addr(const __nv_bfloat16* t, int row0, int col0, int lane) {
    return t + swz(row0 + (lane & 15), col0 + ((lane >> 4) << 3));
}
// A operand, tile stored [k][m] (x4.trans): rows are k, columns m.
__device__ __forceinline__ const __nv_bfloat16* at_addr(const __nv_bfloat16* t, int k0, int m0, int lane) {
    int i = lane >> 3;
    return t + swz(k0 + (lane & 7) + ((i >> 1) << 3), m0 + ((i & 1) << 3));
}
// B operand for two n-tiles, tile stored [n][k] (x4): gives {b0,b1} of n-tile n0 and n0+8.
__device__ __forceinline__ const __nv_bfloat16* b_addr(const __nv_bfloat16* t, int n0, int k0, int lane) {
    return t + swz(n0 + (lane & 7) + ((lane >> 4) << 3), k0 + (((lane >> 3) & 1) << 3));
}
// B operand for two n-tiles, tile stored [k][n] (x4.trans): gives {b0,b1} of n-tile n0 and n0+8.
__device__ __forceinline__ const __nv_bfloat16* bt_addr(const __nv_bfloat16* t, int k0, int n0, int lane) {
    return t + swz(k0 + (lane & 7) + (((lane >> 3) & 1) << 3), n0 + ((lane >> 4) << 3));
}

// One online-softmax step over a lane's two fragment rows (gr and gr + 8) for NT 8-key tiles of scores s, already
// in log2 units and masked with -inf: folds the tiles' row maxima (over the lane quad) into m0 / m1, rescales the
// running sums l0 / l1 and the output fragments o by exp2(m_old - m_new), then turns s into exp2(s - m_new) and
// adds it to l. m starts at -inf; each row's first tile must hold a visible key, so m is finite from then on.
template <int NT, int NO>
__device__ __forceinline__ void online_softmax_step(float (&s)[NT][4], float (&o)[NO][4], float& m0, float& m1,
                                                    float& l0, float& l1) {
    float mx0 = m0, mx1 = m1;
#pragma unroll
    for (int nt = 0; nt < NT; ++nt) {
        mx0 = fmaxf(mx0, fmaxf(s[nt][0], s[nt][1]));
        mx1 = fmaxf(mx1, fmaxf(s[nt][2], s[nt][3]));
    }
    mx0 = fmaxf(mx0, __shfl_xor_sync(0xffffffffu, mx0, 1));
    mx0 = fmaxf(mx0, __shfl_xor_sync(0xffffffffu, mx0, 2));
    mx1 = fmaxf(mx1, __shfl_xor_sync(0xffffffffu, mx1, 1));
    mx1 = fmaxf(mx1, __shfl_xor_sync(0xffffffffu, mx1, 2));
    const float a0 = exp2f(m0 - mx0), a1 = exp2f(m1 - mx1);
    m0 = mx0;
    m1 = mx1;
    l0 *= a0;
    l1 *= a1;
#pragma unroll
    for (int nt = 0; nt < NO; ++nt) {
        o[nt][0] *= a0; o[nt][1] *= a0; o[nt][2] *= a1; o[nt][3] *= a1;
    }
#pragma unroll
    for (int nt = 0; nt < NT; ++nt) {
        s[nt][0] = exp2f(s[nt][0] - m0);
        s[nt][1] = exp2f(s[nt][1] - m0);
        s[nt][2] = exp2f(s[nt][2] - m1);
        s[nt][3] = exp2f(s[nt][3] - m1);
        l0 += s[nt][0] + s[nt][1];
        l1 += s[nt][2] + s[nt][3];
    }
}

}  // namespace m1::cuda::tile
