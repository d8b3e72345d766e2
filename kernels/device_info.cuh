// Which CUDA devices this process can use, for `m1 version`, `m1 info` and the memory planner.
#pragma once
#include <cstddef>
#include <string>
#include <vector>

namespace m1::cuda {

struct DeviceInfo {
    int index = 0;
    std::string name;          // "NVIDIA H100 80GB HBM3"
    int cc_major = 0, cc_minor = 0;  // 9, 0 for Hopper
    int sm_count = 0;          // 132 on H100 SXM
    std::size_t total_bytes = 0, free_bytes = 0;
};

// Empty when there is no driver or no device; never throws.
std::vector<DeviceInfo> list_devices();
// "13.0" style runtime and driver versions; empty when unavailable.
std::string runtime_version();
std::string driver_version();

}  // namespace m1::cuda
