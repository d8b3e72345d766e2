// Flags between resident CTAs of the single-pass lightning kernels (impl 2, 4): gpu-scope acquire/release on
// global counters. Thread 0 waits or signals; a CTA barrier orders the other threads around it.
#pragma once
#include <cuda_runtime.h>

namespace m1::cuda::lightning {

__device__ __forceinline__ int ld_acquire(const int* f) {
    int v;
    asm volatile("ld.acquire.gpu.global.b32 %0, [%1];\n" : "=r"(v) : "l"(f) : "memory");
    return v;
}
__device__ __forceinline__ void st_release(int* f, int v) {
    asm volatile("st.release.gpu.global.b32 [%0], %1;\n" ::"l"(f), "r"(v) : "memory");
}
__device__ __forceinline__ void add_release(int* f, int v) {
    asm volatile("red.release.gpu.global.add.s32 [%0], %1;\n" ::"l"(f), "r"(v) : "memory");
}
// Thread 0 waits until *f >= v; the barrier then orders every thread's later accesses after it.
__device__ __forceinline__ void wait_at_least(const int* f, int v) {
    if (threadIdx.x == 0)
        while (ld_acquire(f) < v) {
        }
    __syncthreads();
}
// Every thread's earlier writes, then *f = v (release).
__device__ __forceinline__ void publish(int* f, int v) {
    __syncthreads();
    if (threadIdx.x == 0) {
        __threadfence();
        st_release(f, v);
    }
}
// Every thread's earlier writes, then *f += 1 (release).
__device__ __forceinline__ void arrive(int* f) {
    __syncthreads();
    if (threadIdx.x == 0) {
        __threadfence();
        add_release(f, 1);
    }
}

}  // namespace m1::cuda::lightning
