// main() for GPU test programs: without a usable CUDA device they print why and exit 77 (skipped).
#include <gtest/gtest.h>

#include <cstdio>

#ifdef M1_HAVE_CUDA
#include "kernels/device_info.cuh"
#endif

int main(int argc, char** argv) {
#ifdef M1_HAVE_CUDA
    if (m1::cuda::list_devices().empty()) {
        std::printf("SKIP: no CUDA GPU on this machine; GPU tests run on the GPU host\n");
        return 77;
    }
#else
    std::printf("SKIP: built without CUDA\n");
    return 77;
#endif
    ::testing::InitGoogleTest(&argc, argv);
    return RUN_ALL_TESTS();
}
