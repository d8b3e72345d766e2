// The GPU host's devices are visible and Hopper-class as the kernels assume.
#include <gtest/gtest.h>

#include "kernels/device_info.cuh"

TEST(Device, ListsAtLeastOneUsableGpu) {
    auto devs = m1::cuda::list_devices();
    ASSERT_FALSE(devs.empty());
    for (auto& d : devs) {
        EXPECT_GT(d.total_bytes, 0u);
        EXPECT_GT(d.sm_count, 0);
        EXPECT_FALSE(d.name.empty());
    }
    EXPECT_FALSE(m1::cuda::runtime_version().empty());
}
