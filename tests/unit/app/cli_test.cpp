// The m1 command line contract: help, version, usage errors exit 2.
#include <gtest/gtest.h>

#include "support/run_process.h"

using m1::test::m1_binary;
using m1::test::run_process;

TEST(Cli, HelpListsCommands) {
    auto r = run_process(m1_binary() + " --help");
    EXPECT_EQ(r.exit_code, 0);
    EXPECT_NE(r.out.find("version"), std::string::npos);
}

TEST(Cli, VersionReportsBuildOptions) {
    auto r = run_process(m1_binary() + " version");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    for (const char* key : {"version:", "commit:", "cuda:", "nccl:", "blas:", "qt:"})
        EXPECT_NE(r.out.find(key), std::string::npos) << key << " missing in:\n" << r.out;
}

TEST(Cli, UnknownCommandIsUsageError) {
    auto r = run_process(m1_binary() + " frobnicate");
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_NE(r.err.find("unknown command"), std::string::npos);
}

TEST(Cli, UnknownFlagIsUsageError) {
    auto r = run_process(m1_binary() + " version --bogus");
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_NE(r.err.find("--bogus"), std::string::npos);
}
