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

namespace m1 {
namespace {

namespace fs = std::filesystem;
::testing::Environment* const kEnv = ::testing::AddGlobalTestEnvironment(new test::NeedTwoGpus);

double rel_err(std::span<const float> a, std::span<const float> ref) {
    double num = 0, den = 0;
    for (size_t i = 0; i < a.size(); ++i) {
        num += double(a[i] - ref[i]) * (a[i] - ref[i]);
        den += double(ref[i]) * ref[i];
    }
    return std::sqrt(num / (den + 1e-30));
}

std::vector<int32_t> read_ids(const fs::path& p) {
    std::ifstream f(p);
    std::vector<int32_t> v;
    for (int32_t x; f >> x;) v.push_back(x);
    return v;
}

// The fixtures' logits.npy: a version 1 header, little-endian float32 [T, V] in C order.
std::vector<float> read_logits(const fs::path& p, int64_t rows, int64_t cols) {
    std::ifstream f(p, std::ios::binary);
    char pre[10] = {};
    f.read(pre, 10);
    if (!f || std::memcmp(pre, "\x93NUMPY\x01", 7) != 0) throw std::runtime_error(p.string() + ": not a version 1 .npy");
    const uint16_t header = uint16_t(uint8_t(pre[8]) | uint8_t(pre[9]) << 8);
    std::string h(header, '\0');
    f.read(h.data(), header);
    char shape[64];
    std::snprintf(shape, sizeof shape, "(%lld, %lld)", (long long)rows, (long long)cols);
    if (h.find("<f4") == std::string::npos || h.find(shape) == std::string::npos)
        throw std::runtime_error(p.string() + ": expected float32 " + std::string(shape) + ", header " + h);
    std::vector<float> v(size_t(rows * cols));
    f.read(reinterpret_cast<char*>(v.data()), std::streamsize(v.size() * 4));
    if (!f) throw std::runtime_error(p.string() + ": truncated");
    return v;
}

std::vector<fs::path> fixtures() {
    std::vector<fs::path> r;
    std::error_code ec;
    const char* env = std::getenv("M1_TEST_DATA");
    for (const auto& e : fs::directory_iterator(fs::path(env && *env ? env : M1_TEST_DATA) / "golden", ec))
        if (fs::exists(e.path() / "logits.npy")) r.push_back(e.path());
    std::sort(r.begin(), r.end());
    return r;
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

TEST_P(TpGolden, GreedyContinuation) {
    const fs::path dir = GetParam();
    auto model = Model::load(dir.string());
    auto s = make_backend(model, "cuda:0,1")->new_session();
    const auto ids = read_ids(dir / "ids.txt"), want = read_ids(dir / "greedy.txt");
    ASSERT_FALSE(want.empty());
    GenerateOptions o;
    o.sampling.greedy = true;
    o.max_tokens = int64_t(want.size());
    o.prefill_chunk = 32;
    auto r = generate(*s, ids, o);
    EXPECT_EQ(r.ids, want) << dir.filename();
}

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

INSTANTIATE_TEST_SUITE_P(Fixtures, TpGolden, ::testing::ValuesIn(fixtures()),
                         [](const auto& info) { return info.param.filename().string(); });

TEST(TpGoldenData, Present) { EXPECT_GE(fixtures().size(), 3u); }

}  // namespace
}  // namespace m1

#else
TEST(TpGolden, NeedsNccl) { GTEST_SKIP() << "built without NCCL"; }
#endif
