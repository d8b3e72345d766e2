// Device memory owned by a multi-GPU run (weight shards, activations, workspaces): one allocation on
// one GPU, freed by the destructor, so that any error path releases every GPU's memory by unwinding.
// Allocation failures (real or injected with FaultPlan::oom_device) throw GpuError naming the GPU.
#pragma once
#include <cstddef>
#include <string>

#include "m1/parallel.h"

namespace m1 {

class DeviceBuffer {
public:
    DeviceBuffer() = default;
    DeviceBuffer(int device, std::size_t bytes, const std::string& what);
    ~DeviceBuffer();
    DeviceBuffer(DeviceBuffer&& o) noexcept;
    DeviceBuffer& operator=(DeviceBuffer&& o) noexcept;
    DeviceBuffer(const DeviceBuffer&) = delete;
    DeviceBuffer& operator=(const DeviceBuffer&) = delete;

    void* data() const { return ptr_; }
    template <class T>
    T* as() const { return static_cast<T*>(ptr_); }
    std::size_t bytes() const { return bytes_; }
    int device() const { return device_; }
    void reset();  // frees now

private:
    void* ptr_ = nullptr;
    std::size_t bytes_ = 0;
    int device_ = -1;
};

// Free and total memory of one GPU as the driver reports it (bytes); throws GpuError.
struct GpuMemory {
    std::size_t free = 0, total = 0;
};
GpuMemory gpu_memory(int device);

// Throws GpuError when `rc` (a cudaError_t) is not success; `what` says what was being done.
void check_cuda(int rc, int device, const char* what);

}  // namespace m1
