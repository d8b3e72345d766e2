// DeviceBuffer: cudaMalloc/cudaFree on a named GPU with typed errors and the injected-OOM hook.
#include <cuda_runtime.h>

#include <cstdio>
#include <utility>

#include "m1/parallel_buffer.h"

namespace m1 {

namespace {
// Restores the caller's current device on scope exit: the engine thread drives several GPUs.
struct DeviceGuard {
    int prev = 0;
    DeviceGuard() { cudaGetDevice(&prev); }
    ~DeviceGuard() { cudaSetDevice(prev); }
};

std::string gib(std::size_t b) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.2f GiB", static_cast<double>(b) / (1024.0 * 1024 * 1024));
    return buf;
}
}  // namespace

void check_cuda(int rc, int device, const char* what) {
    if (rc == cudaSuccess) return;
    auto e = static_cast<cudaError_t>(rc);
    throw GpuError(device, std::string(what) + " on GPU " + std::to_string(device) + ": " + cudaGetErrorName(e) +
                               " (" + cudaGetErrorString(e) + ")");
}

GpuMemory gpu_memory(int device) {
    DeviceGuard g;
    check_cuda(cudaSetDevice(device), device, "selecting the GPU");
    GpuMemory m;
    check_cuda(cudaMemGetInfo(&m.free, &m.total), device, "reading free memory");
    return m;
}

DeviceBuffer::DeviceBuffer(int device, std::size_t bytes, const std::string& what) {
    if (bytes == 0) {
        device_ = device;
        return;
    }
    DeviceGuard g;
    check_cuda(cudaSetDevice(device), device, "selecting the GPU");
    bool injected = faults().oom_device == device;
    cudaError_t rc = injected ? cudaErrorMemoryAllocation : cudaMalloc(&ptr_, bytes);
    if (rc != cudaSuccess) {
        ptr_ = nullptr;
        if (!injected) cudaGetLastError();  // out of memory is not sticky: clear it for later calls
        std::size_t free = 0, total = 0;
        cudaMemGetInfo(&free, &total);
        throw GpuError(device, "out of memory on GPU " + std::to_string(device) + " allocating " + gib(bytes) +
                                   " for " + what + " (" + gib(free) + " free of " + gib(total) + ")" +
                                   (injected ? " [injected by M1_FAULT_OOM_DEVICE]" : "") +
                                   ": use more GPUs, int8 experts or a shorter context");
    }
    bytes_ = bytes;
    device_ = device;
}

DeviceBuffer::~DeviceBuffer() { reset(); }

void DeviceBuffer::reset() {
    if (ptr_) {
        DeviceGuard g;
        cudaSetDevice(device_);
        cudaFree(ptr_);  // errors here mean a dead context; nothing useful to do in a destructor
    }
    ptr_ = nullptr;
    bytes_ = 0;
}

DeviceBuffer::DeviceBuffer(DeviceBuffer&& o) noexcept
    : ptr_(std::exchange(o.ptr_, nullptr)), bytes_(std::exchange(o.bytes_, 0)), device_(o.device_) {}

DeviceBuffer& DeviceBuffer::operator=(DeviceBuffer&& o) noexcept {
    if (this != &o) {
        reset();
        ptr_ = std::exchange(o.ptr_, nullptr);
        bytes_ = std::exchange(o.bytes_, 0);
        device_ = o.device_;
    }
    return *this;
}

}  // namespace m1
