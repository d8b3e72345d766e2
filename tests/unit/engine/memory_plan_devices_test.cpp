// Which GPUs a run uses (`--device cuda:0,1`, `--gpus N`): the list handed to the planner and the
// NCCL layer, and the messages a user sees for a bad request.
#include <gtest/gtest.h>

#include "m1/memory_plan.h"
#include "m1/parallel.h"

namespace m1 {
namespace {

TEST(SelectGpus, DefaultsAndLists) {
    EXPECT_EQ(select_gpus("", 0, 8), (std::vector<int>{0}));
    EXPECT_EQ(select_gpus("cuda", 0, 8), (std::vector<int>{0}));
    EXPECT_EQ(select_gpus("cuda:3", 0, 8), (std::vector<int>{3}));
    EXPECT_EQ(select_gpus("cuda:0,1", 0, 2), (std::vector<int>{0, 1}));
    EXPECT_EQ(select_gpus("cuda:4,5,6,7", 0, 8), (std::vector<int>{4, 5, 6, 7}));
}

TEST(SelectGpus, GpusFlag) {
    EXPECT_EQ(select_gpus("cuda", 4, 8), (std::vector<int>{0, 1, 2, 3}));
    EXPECT_EQ(select_gpus("", 8, 8).size(), 8u);
    EXPECT_EQ(select_gpus("cuda:6,7,4,5", 2, 8), (std::vector<int>{6, 7}));
}

std::string error_of(std::string_view spec, int gpus, int available) {
    try {
        select_gpus(spec, gpus, available);
    } catch (const std::invalid_argument& e) {
        return e.what();
    }
    return "";
}

TEST(SelectGpus, RejectsWithAReason) {
    EXPECT_NE(error_of("cuda", 2, 1).find("this machine has 1 GPU"), std::string::npos);
    EXPECT_NE(error_of("cuda", 3, 8).find("1, 2, 4 or 8 GPUs"), std::string::npos);
    EXPECT_NE(error_of("cuda:0,0", 0, 8).find("listed twice"), std::string::npos);
    EXPECT_NE(error_of("cuda:0,", 0, 8).find("trailing comma"), std::string::npos);
    EXPECT_NE(error_of("cuda:a", 0, 8).find("not a GPU number"), std::string::npos);
    EXPECT_NE(error_of("cuda:0,1", 4, 8).find("lists only 2"), std::string::npos);
    EXPECT_NE(error_of("cuda0", 0, 8).find("expected cuda:N"), std::string::npos);
    EXPECT_NE(error_of("gpu", 0, 8).find("expected cuda"), std::string::npos);
    EXPECT_NE(error_of("cuda", -1, 8).find("--gpus must be"), std::string::npos);
    EXPECT_NE(error_of("cuda", 0, 0).find("has 0 GPUs"), std::string::npos);
}

TEST(SelectGpus, TpDegrees) {
    for (int n : {1, 2, 4, 8}) EXPECT_TRUE(valid_tp_degree(n));
    for (int n : {0, 3, 5, 6, 7, 16}) EXPECT_FALSE(valid_tp_degree(n));
}

TEST(ResolveDevice, GpusFlagImpliesCuda) {
    EXPECT_EQ(resolve_device("cpu", 0), "cpu");
    EXPECT_EQ(resolve_device("cuda:0,1", 0), "cuda:0,1");
    const int n = present_gpus().count;
    if (n >= 2) {
        EXPECT_EQ(resolve_device("cpu", 2), "cuda:0,1");
        EXPECT_EQ(resolve_device("cuda:1,0", 1), "cuda:1");
    } else {
        EXPECT_THROW(resolve_device("cpu", 2), std::invalid_argument);
    }
    EXPECT_THROW(resolve_device("cuda", 3), std::invalid_argument);
}

TEST(FaultPlan, SetAndClear) {
    set_faults({.stall_rank = 1, .oom_device = 0});
    EXPECT_EQ(faults().stall_rank, 1);
    EXPECT_EQ(faults().oom_device, 0);
    set_faults({});
    EXPECT_EQ(faults().stall_rank, -1);
    EXPECT_EQ(faults().oom_device, -1);
}

}  // namespace
}  // namespace m1
