// The build reports what it was built with.
#include <gtest/gtest.h>

#include "m1/build_info.h"

TEST(BuildInfo, ReportsVersionAndOptions) {
    auto b = m1::build_info();
    EXPECT_FALSE(b.version.empty());
    EXPECT_FALSE(b.commit.empty());
    EXPECT_FALSE(b.blas.empty());
#ifdef M1_HAVE_CUDA
    EXPECT_TRUE(b.cuda);
    EXPECT_FALSE(b.cuda_version.empty());
#else
    EXPECT_FALSE(b.cuda);
#endif
    bool saw_cuda = false;
    for (auto& [k, v] : m1::build_info_lines()) saw_cuda |= (k == "cuda" && !v.empty());
    EXPECT_TRUE(saw_cuda);
}
