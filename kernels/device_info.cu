// Device discovery through the CUDA runtime; failures (no driver, no GPU) yield an empty list.
#include "kernels/device_info.cuh"

#include <cuda_runtime.h>

namespace m1::cuda {

static std::string version_string(int v) {
    return std::to_string(v / 1000) + "." + std::to_string((v % 1000) / 10);
}

std::vector<DeviceInfo> list_devices() {
    std::vector<DeviceInfo> out;
    int n = 0;
    if (cudaGetDeviceCount(&n) != cudaSuccess) {
        cudaGetLastError();  // clear the sticky "no device" error
        return out;
    }
    for (int i = 0; i < n; ++i) {
        cudaDeviceProp p{};
        if (cudaGetDeviceProperties(&p, i) != cudaSuccess) continue;
        DeviceInfo d;
        d.index = i;
        d.name = p.name;
        d.cc_major = p.major;
        d.cc_minor = p.minor;
        d.sm_count = p.multiProcessorCount;
        d.total_bytes = p.totalGlobalMem;
        int prev = 0;
        cudaGetDevice(&prev);
        if (cudaSetDevice(i) == cudaSuccess) {
            size_t f = 0, t = 0;
            if (cudaMemGetInfo(&f, &t) == cudaSuccess) d.free_bytes = f;
            cudaSetDevice(prev);
        }
        out.push_back(d);
    }
    return out;
}

std::string runtime_version() {
    int v = 0;
    return cudaRuntimeGetVersion(&v) == cudaSuccess ? version_string(v) : std::string();
}

std::string driver_version() {
    int v = 0;
    if (cudaDriverGetVersion(&v) != cudaSuccess || v == 0) return {};
    return version_string(v);
}

}  // namespace m1::cuda
