// The CPU engine against transformers' MiniMax (float64, eager) on tiny random models: full and
// chunked logits within 1e-4 of max|ref|, and the same greedy continuation. Data: tests/data/golden/.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "m1/backend.h"
#include "m1/generate.h"
#include "support/golden_fixtures.h"

namespace {

namespace fs = std::filesystem;
using m1::test::read_ids;
using m1::test::golden_fixtures;

double rel_diff(const std::vector<float>& got, const std::vector<float>& ref) {
    double mx = 0, scale = 0;
    for (size_t i = 0; i < ref.size(); ++i) {
        mx = std::max(mx, std::fabs(double(got[i]) - double(ref[i])));
        scale = std::max(scale, std::fabs(double(ref[i])));
    }
    return mx / scale;
}

class Golden : public ::testing::TestWithParam<fs::path> {};

TEST_P(Golden, LogitsFullChunkedAndStepped) {
    const fs::path dir = GetParam();
    auto model = m1::Model::load(dir.string());
    auto be = m1::make_backend(model, "cpu");
    const auto ids = read_ids(dir / "ids.txt");
    int64_t T = 0, V = 0;
    const auto ref = m1::test::read_npy_2d(dir / "logits.npy", T, V);
    ASSERT_EQ(T, int64_t(ids.size()));
    ASSERT_EQ(V, model->config().vocab_size);
    std::vector<float> got(ref.size());
    for (int64_t chunk : {T, int64_t(97), int64_t(7), int64_t(1)}) {
        auto s = be->new_session();
        ASSERT_TRUE(s->prefill(ids, chunk, {}, nullptr, got.data()));
        double d = rel_diff(got, ref);
        EXPECT_LT(d, 1e-4) << dir.filename() << " chunk " << chunk;
        char buf[32];
        std::snprintf(buf, sizeof buf, "%.3e", d);
        RecordProperty("rel_diff_chunk_" + std::to_string(chunk), buf);
    }
}

TEST_P(Golden, GreedyContinuation) { m1::test::expect_greedy_continuation(GetParam(), "cpu"); }

INSTANTIATE_TEST_SUITE_P(Fixtures, Golden, ::testing::ValuesIn(golden_fixtures()),
                         [](const auto& info) { return info.param.filename().string(); });
GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(Golden);

TEST(GoldenData, Present) {
    // At least three fixtures, one of them in the original config layout and one with partial RoPE.
    auto f = golden_fixtures();
    EXPECT_GE(f.size(), 3u);
    bool orig = false, partial = false;
    for (const auto& d : f) {
        auto c = m1::ModelConfig::load(d.string());
        orig |= c.original_layout;
        partial |= c.rotary_dim < c.head_dim;
    }
    EXPECT_TRUE(orig);
    EXPECT_TRUE(partial);
}

}  // namespace
