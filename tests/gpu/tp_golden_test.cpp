// Two GPUs on the golden fixtures (tests/data/golden: tiny MiniMax models with transformers' logits, one of
// them with a single KV head that both GPUs keep a copy of): every position's logits within 1e-2 of the
// reference and of one GPU, whole and chunked; the stored greedy continuation token for token; and a state
// exported halfway on 2 GPUs continues on the CPU with the reference's logits.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "gpu/nccl_test_support.h"

#ifdef M1_HAVE_NCCL
#include "m1/backend.h"
#include "m1/generate.h"
#include "m1/model.h"
#include "support/golden_fixtures.h"

namespace m1 {
namespace {

namespace fs = std::filesystem;
using test::golden_fixtures;
using test::read_ids;

// Logits of the fixture, checked to be [rows, cols].
std::vector<float> read_logits(const fs::path& p, int64_t rows, int64_t cols) {
    int64_t r = 0, c = 0;
    auto v = test::read_npy_2d(p, r, c);
    if (r != rows || c != cols) throw std::runtime_error(p.string() + ": unexpected shape");
    return v;
}

::testing::Environment* const kEnv = ::testing::AddGlobalTestEnvironment(new test::NeedTwoGpus);

double rel_err(std::span<const float> a, std::span<const float> ref) {
    double num = 0, den = 0;
    for (size_t i = 0; i < a.size(); ++i) {
        num += double(a[i] - ref[i]) * (a[i] - ref[i]);
        den += double(ref[i]) * ref[i];
    }
    return std::sqrt(num / (den + 1e-30));
}

class TpGolden : public ::testing::TestWithParam<fs::path> {
protected:
    void SetUp() override { setenv("M1_NCCL_TIMEOUT_MS", "20000", 1); }
};

TEST_P(TpGolden, LogitsMatchReferenceAndOneGpu) {
    const fs::path dir = GetParam();
    auto model = Model::load(dir.string());
    const auto ids = read_ids(dir / "ids.txt");
    const int64_t T = int64_t(ids.size()), V = model->config().vocab_size;
    const auto ref = read_logits(dir / "logits.npy", T, V);
    std::vector<float> one(ref.size()), two(ref.size());
    ASSERT_TRUE(make_backend(model, "cuda:0")->new_session()->prefill(ids, T, {}, nullptr, one.data()));
    auto b2 = make_backend(model, "cuda:0,1");
    for (int64_t chunk : {T, int64_t(32), int64_t(7)}) {
        ASSERT_TRUE(b2->new_session()->prefill(ids, chunk, {}, nullptr, two.data()));
        const double er = rel_err(two, ref), e1 = rel_err(two, one);
        std::printf("[tp golden] %s chunk %lld: 2 GPUs vs reference %.3e, vs 1 GPU %.3e (1 GPU vs reference %.3e)\n",
                    dir.filename().c_str(), (long long)chunk, er, e1, rel_err(one, ref));
        EXPECT_LT(er, 1e-2) << dir.filename() << " chunk " << chunk;
        EXPECT_LT(e1, 1e-2) << dir.filename() << " chunk " << chunk;
    }
}

TEST_P(TpGolden, GreedyContinuation) { test::expect_greedy_continuation(GetParam(), "cuda:0,1"); }

TEST_P(TpGolden, StateMovesToTheCpuHalfway) {
    const fs::path dir = GetParam();
    auto model = Model::load(dir.string());
    const auto ids = read_ids(dir / "ids.txt");
    const int64_t T = int64_t(ids.size()), V = model->config().vocab_size, half = T / 2;
    const auto ref = read_logits(dir / "logits.npy", T, V);
    auto s2 = make_backend(model, "cuda:0,1")->new_session();
    s2->prefill(std::span(ids).first(size_t(half)), 16);
    VectorSink state;
    s2->export_state(state);
    auto sc = make_backend(model, "cpu")->new_session();
    SpanSource in(state.bytes);
    sc->import_state(in);
    std::vector<float> rest(size_t((T - half) * V));
    sc->forward(std::span(ids).subspan(size_t(half)), rest.data());
    const double e = rel_err(rest, std::span(ref).subspan(size_t(half * V)));
    std::printf("[tp golden] %s: exported on 2 GPUs at %lld of %lld tokens, continued on the CPU: vs reference %.3e\n",
                dir.filename().c_str(), (long long)half, (long long)T, e);
    EXPECT_LT(e, 1e-2);
}

INSTANTIATE_TEST_SUITE_P(Fixtures, TpGolden, ::testing::ValuesIn(golden_fixtures()),
                         [](const auto& info) { return info.param.filename().string(); });

TEST(TpGoldenData, Present) { EXPECT_GE(golden_fixtures().size(), 3u); }

}  // namespace
}  // namespace m1

#else
TEST(TpGolden, NeedsNccl) { GTEST_SKIP() << "built without NCCL"; }
#endif
