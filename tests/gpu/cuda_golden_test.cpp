// The CUDA backend on the golden fixtures (tests/data/golden: tiny MiniMax models with transformers' float64
// logits): all logits within 1e-2 (||d||/||ref||) of the CPU engine and of the stored reference, whole and
// chunked, and the stored greedy continuation token for token (decode steps through the CUDA graph).
#include <gtest/gtest.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "cuda_test_support.h"
#include "m1/backend.h"
#include "m1/generate.h"
#include "support/golden_fixtures.h"

namespace {

namespace fs = std::filesystem;
using m1::test::rel_err;
using m1::test::read_ids;
using m1::test::golden_fixtures;

class CudaGolden : public ::testing::TestWithParam<fs::path> {};

TEST_P(CudaGolden, LogitsMatchCpuAndReference) {
    const fs::path dir = GetParam();
    auto model = m1::Model::load(dir.string());
    const auto ids = read_ids(dir / "ids.txt");
    int64_t T = 0, V = 0;
    const auto ref = m1::test::read_npy_2d(dir / "logits.npy", T, V);
    ASSERT_EQ(T, int64_t(ids.size()));
    ASSERT_EQ(V, model->config().vocab_size);
    std::vector<float> cpu(ref.size()), gpu(ref.size());
    auto cs = m1::make_backend(model, "cpu")->new_session();
    ASSERT_TRUE(cs->prefill(ids, T, {}, nullptr, cpu.data()));
    auto gb = m1::make_backend(model, "cuda");
    for (int64_t chunk : {T, int64_t(32), int64_t(7)}) {
        auto gs = gb->new_session();
        ASSERT_TRUE(gs->prefill(ids, chunk, {}, nullptr, gpu.data()));
        const double ec = rel_err(gpu, cpu), er = rel_err(gpu, ref);
        std::printf("%s chunk %lld: gpu vs cpu %.3e, gpu vs reference %.3e (cpu vs reference %.3e)\n",
                    dir.filename().c_str(), (long long)chunk, ec, er, rel_err(cpu, ref));
        EXPECT_LT(ec, 1e-2) << dir.filename() << " chunk " << chunk;
        EXPECT_LT(er, 1e-2) << dir.filename() << " chunk " << chunk;
    }
}

TEST_P(CudaGolden, GreedyContinuation) { m1::test::expect_greedy_continuation(GetParam(), "cuda"); }

INSTANTIATE_TEST_SUITE_P(Fixtures, CudaGolden, ::testing::ValuesIn(golden_fixtures()),
                         [](const auto& info) { return info.param.filename().string(); });

TEST(CudaGoldenData, Present) { EXPECT_GE(golden_fixtures().size(), 3u); }

}  // namespace
