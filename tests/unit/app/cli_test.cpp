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

// ---------------------------------------------------------------- --device / --gpus on every model command

#include <fstream>
#include <sstream>

#include "device_args.h"
#include "progress_line.h"

namespace {

using m1::cli::DeviceFlags;
using m1::cli::Machine;
using m1::cli::resolve_device_flags;

std::string ids_file() {
    const std::string path = testing::TempDir() + "m1-cli-ids.txt";
    std::ofstream(path) << "1 2 3\n";
    return path;
}

// Each command that runs or plans a model, with the other arguments it needs to get to the device.
std::vector<std::string> model_commands() {
    std::vector<std::string> cmds = {"info", "logits --ids " + ids_file() + " --out /tmp/m1-cli-never.npy",
                                     "generate --ids " + ids_file() + " --max-tokens 1"};
    if (run_process(m1_binary() + " --help").out.find("  ask ") != std::string::npos)  // builds with Qt
        cmds.push_back("ask " + ids_file() + " --question q --db /tmp/m1-cli-never.db");
    return cmds;
}

// The error a flag set gets, or "" when it resolves.
std::string error_of(const DeviceFlags& f, const Machine& m, bool require_present = true) {
    try {
        resolve_device_flags(f, m, require_present);
        return "";
    } catch (const m1::cli::UsageError& e) {
        return e.what();
    }
}

}  // namespace

TEST(CliDevice, EveryModelCommandTakesTheSameFlags) {
    std::string first_device, first_gpus;
    for (const std::string& cmd : model_commands()) {
        const std::string name = cmd.substr(0, cmd.find(' '));
        auto r = run_process(m1_binary() + " " + name + " --help");
        ASSERT_EQ(r.exit_code, 0) << name;
        const auto line = [&](const std::string& flag) {
            const size_t at = r.out.find("  --" + flag + " ");
            return at == std::string::npos ? std::string() : r.out.substr(at, r.out.find('\n', at) - at);
        };
        EXPECT_NE(r.out.find("[--device cpu|cuda|cuda:N|cuda:0,1] [--gpus N]"), std::string::npos) << name << r.out;
        ASSERT_FALSE(line("device").empty()) << name << " has no --device:\n" << r.out;
        ASSERT_FALSE(line("gpus").empty()) << name << " has no --gpus:\n" << r.out;
        if (first_device.empty()) first_device = line("device"), first_gpus = line("gpus");
        EXPECT_EQ(line("device"), first_device) << name;  // one help text everywhere
        EXPECT_EQ(line("gpus"), first_gpus) << name;
    }
}

TEST(CliDevice, BadFlagsAreUsageErrorsOnEveryCommand) {
    const struct {
        std::string flags, says;
    } cases[] = {
        {"--gpus 3", "1, 2, 4 or 8"},
        {"--device cuda:0,1,2", "1, 2, 4 or 8"},
        {"--gpus 16", "1, 2, 4 or 8"},
        {"--gpus 0", "--gpus must be"},
        {"--gpus two", "--gpus expects an integer"},
        {"--device tpu", "expected cpu, cuda"},
        {"--device cuda:x", "not a GPU number"},
        {"--device cuda:0,0", "listed twice"},
        {"--device cuda:0,1 --gpus 4", "lists only 2"},
        {"--device cpu --gpus 2", "--device cpu runs on no GPU"},
    };
    for (const std::string& cmd : model_commands())
        for (const auto& c : cases) {
            auto r = run_process(m1_binary() + " " + cmd + " " + c.flags);
            EXPECT_EQ(r.exit_code, 2) << cmd << " " << c.flags << "\n" << r.err;
            EXPECT_NE(r.err.find(c.says), std::string::npos) << cmd << " " << c.flags << "\n" << r.err;
            EXPECT_NE(r.err.find("usage: m1 "), std::string::npos) << r.err;
        }
}

TEST(CliDevice, MissingGpusAreUsageErrors) {
    // Whatever this machine has, GPU 99 is not here: a CPU-only build, no visible GPU, or too few.
    for (const std::string& cmd : model_commands()) {
        if (cmd == "info") continue;  // plans for GPUs that need not be here (next test)
        auto r = run_process(m1_binary() + " " + cmd + " --device cuda:99");
        EXPECT_EQ(r.exit_code, 2) << cmd << "\n" << r.err;
        EXPECT_TRUE(r.err.find("CUDA") != std::string::npos || r.err.find("GPU 99 does not exist") != std::string::npos)
            << r.err;
        r = run_process(m1_binary() + " " + cmd + " --gpus 8");
        if (r.exit_code != 0) {  // an 8-GPU machine runs it (or fails for memory: exit 1)
            EXPECT_TRUE(r.exit_code == 2 || r.exit_code == 1) << r.err;
        }
    }
}

TEST(CliDevice, InfoPlansForTheGpusAsked) {
    auto r = run_process(m1_binary() + " info --gpus 2");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_NE(r.out.find("cuda:0,1 (2 GPUs of "), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("  bf16: fits"), std::string::npos) << r.out;  // the demo model fits anywhere
    r = run_process(m1_binary() + " info --device cuda:4,5,6,7");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_NE(r.out.find("cuda:4,5,6,7 (4 GPUs of "), std::string::npos) << r.out;
    r = run_process(m1_binary() + " info --gpus 3");
    EXPECT_EQ(r.exit_code, 2);
}

TEST(CliDevice, CpuPathRunsWithCleanJson) {
    auto r = run_process(m1_binary() + " generate --ids " + ids_file() + " --max-tokens 3 --greedy --json --device cpu");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    // stdout: the streamed text, then one JSON line; progress never goes there.
    EXPECT_EQ(r.out.find('\r'), std::string::npos);
    EXPECT_EQ(r.out.find("loading"), std::string::npos);
    EXPECT_NE(r.out.find("\"device\":\"cpu\""), std::string::npos) << r.out;
    r = run_process(m1_binary() + " logits --ids " + ids_file() + " --out " + testing::TempDir() + "m1-cli.npy");
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_NE(r.err.find("(cpu)"), std::string::npos) << r.err;
}

TEST(CliDevice, Rule) {
    const Machine two{true, 2}, none{true, 0}, cpu_build{false, 0};
    EXPECT_EQ(resolve_device_flags({}, two, true), "cpu");
    EXPECT_EQ(resolve_device_flags({std::string("cpu"), {}}, cpu_build, true), "cpu");
    EXPECT_EQ(resolve_device_flags({std::string("cuda"), {}}, two, true), "cuda:0");
    EXPECT_EQ(resolve_device_flags({std::string("cuda:1"), {}}, two, true), "cuda:1");
    EXPECT_EQ(resolve_device_flags({std::string("cuda:1,0"), {}}, two, true), "cuda:1,0");
    EXPECT_EQ(resolve_device_flags({{}, 2}, two, true), "cuda:0,1");            // --gpus implies CUDA
    EXPECT_EQ(resolve_device_flags({std::string("cuda:1,0"), 1}, two, true), "cuda:1");  // first N of the list
    EXPECT_EQ(resolve_device_flags({{}, 8}, cpu_build, false), "cuda:0,1,2,3,4,5,6,7");  // a plan
    // A GPU index that does not exist, more GPUs than present, none present, no CUDA in the build.
    EXPECT_EQ(error_of({std::string("cuda:2"), {}}, two),
              "--device cuda:2: GPU 2 does not exist; this machine has 2 GPUs, numbered 0..1");
    EXPECT_EQ(error_of({std::string("cuda:0,5"), {}}, two),
              "--device cuda:0,5: GPU 5 does not exist; this machine has 2 GPUs, numbered 0..1");
    EXPECT_EQ(error_of({{}, 4}, two), "--gpus 4: this machine has 2 GPUs");
    EXPECT_EQ(error_of({std::string("cuda"), 4}, two), "--device cuda --gpus 4: this machine has 2 GPUs");
    EXPECT_EQ(error_of({{}, 1}, none), "--gpus 1: no CUDA GPU is visible to this process");
    EXPECT_NE(error_of({std::string("cuda"), {}}, cpu_build).find("this build of m1 has no CUDA support"),
              std::string::npos);
    EXPECT_EQ(error_of({{}, 4}, two, false), "");  // planning: not checked against the machine
    // Counts M1 cannot split over, whatever the machine.
    for (const Machine& m : {two, none, cpu_build}) {
        EXPECT_NE(error_of({{}, 3}, m).find("over 1, 2, 4 or 8 GPUs"), std::string::npos);
        EXPECT_NE(error_of({std::string("cuda:0,1,2,3,4,5"), {}}, m, false).find("1, 2, 4 or 8"), std::string::npos);
    }
}

// ---------------------------------------------------------------- the loading progress line

namespace {
struct FakeClock {
    double t = 0;
    m1::cli::ProgressLine::Clock fn() {
        return [this] { return t; };
    }
};
}  // namespace

TEST(CliProgress, QuickLoadsPrintNothing) {
    std::ostringstream os;
    FakeClock c;
    {
        m1::cli::ProgressLine line(os, true, c.fn(), 0.5);
        c.t = 0.2;
        line.update("loading demo", 0.5, "x");
        c.t = 0.4;
        line.update("loading demo", 1.0, "done");
    }
    EXPECT_EQ(os.str(), "");
}

TEST(CliProgress, TerminalRewritesOneLine) {
    std::ostringstream os;
    FakeClock c;
    m1::cli::ProgressLine line(os, true, c.fn(), 0.5, 40);
    c.t = 0.6;
    line.update("loading M1", 0.25, "1.0 GB of 4.0 GB, 2.0 GB/s, ETA 2 s");
    c.t = 0.65;  // within 100 ms of the last: not shown
    line.update("loading M1", 0.30, "hidden");
    c.t = 0.8;
    line.update("loading M1", 0.50, "2.0 GB of 4.0 GB, 2.0 GB/s, ETA 1 s");
    c.t = 0.85;
    line.update("loading M1", 1.00, "4.0 GB of 4.0 GB, 2.0 GB/s, ETA 0 s");
    line.finish();
    const std::string s = os.str();
    EXPECT_EQ(s.find('\n'), s.size() - 1) << s;  // one line, ended once
    EXPECT_EQ(s.find("hidden"), std::string::npos);
    EXPECT_NE(s.find("\rm1: loading M1  25%  1.0 GB of 4.0 GB"), std::string::npos) << s;
    EXPECT_NE(s.find("\rm1: loading M1 100%"), std::string::npos) << s;  // the last report is always shown
    for (size_t at = s.find('\r'); at != std::string::npos; at = s.find('\r', at + 1))
        EXPECT_LE(s.find("\033[K", at) - at - 1, 39u) << "cut to the terminal width";
}

TEST(CliProgress, PipesGetPlainLines) {
    std::ostringstream os;
    FakeClock c;
    m1::cli::ProgressLine line(os, false, c.fn(), 0.5);
    for (int i = 1; i <= 50; ++i) {  // 5 s of reports every 100 ms
        c.t = 0.1 * i;
        line.update("loading onto cuda:0,1", i / 50.0, "rank slices: " + std::to_string(i));
    }
    line.finish();
    const std::string s = os.str();
    EXPECT_EQ(s.find('\r'), std::string::npos);
    EXPECT_EQ(s.find('\033'), std::string::npos);
    const auto lines = std::count(s.begin(), s.end(), '\n');
    EXPECT_GE(lines, 3);  // at 0.5 s, 2.5 s, 4.5 s, and the last
    EXPECT_LE(lines, 4);
    EXPECT_NE(s.find("m1: loading onto cuda:0,1 100%  rank slices: 50\n"), std::string::npos) << s;
}

TEST(CliProgress, EachPhaseKeepsItsLine) {
    std::ostringstream os;
    FakeClock c;
    m1::cli::ProgressLine line(os, true, c.fn(), 0.0);
    c.t = 1;
    line.update("loading M1", 1.0, "checked");
    c.t = 2;
    line.update("loading onto cuda:0", 0.5, "uploading");
    line.finish();
    const std::string s = os.str();
    EXPECT_EQ(std::count(s.begin(), s.end(), '\n'), 2) << s;
}
