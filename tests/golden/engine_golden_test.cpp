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

namespace {

namespace fs = std::filesystem;

std::vector<int32_t> read_ids(const fs::path& p) {
    std::ifstream f(p);
    std::vector<int32_t> v;
    int32_t x;
    while (f >> x) v.push_back(x);
    return v;
}

// Minimal reader for the float32 C-order 2-D .npy files numpy writes.
std::vector<float> read_npy(const fs::path& p, int64_t* rows, int64_t* cols) {
    std::ifstream f(p, std::ios::binary);
    char magic[8];
    f.read(magic, 8);
    if (!f || std::memcmp(magic, "\x93NUMPY", 6) != 0) throw std::runtime_error(p.string() + ": not .npy");
    uint32_t hl = 0;
    if (magic[6] == 1) {
        uint16_t h16;
        f.read(reinterpret_cast<char*>(&h16), 2);
        hl = h16;
    } else {
        f.read(reinterpret_cast<char*>(&hl), 4);
    }
    std::string header(hl, '\0');
    f.read(header.data(), hl);
    if (header.find("'<f4'") == std::string::npos || header.find("False") == std::string::npos)
        throw std::runtime_error(p.string() + ": expected float32 C order, header " + header);
    auto lp = header.find('(');
    std::sscanf(header.c_str() + lp, "(%ld, %ld)", rows, cols);
    std::vector<float> v(size_t(*rows * *cols));
    f.read(reinterpret_cast<char*>(v.data()), std::streamsize(v.size() * 4));
    if (!f) throw std::runtime_error(p.string() + ": truncated");
    return v;
}

double rel_diff(const std::vector<float>& got, const std::vector<float>& ref) {
    double mx = 0, scale = 0;
    for (size_t i = 0; i < ref.size(); ++i) {
        mx = std::max(mx, std::fabs(double(got[i]) - double(ref[i])));
        scale = std::max(scale, std::fabs(double(ref[i])));
    }
    return mx / scale;
}

std::vector<fs::path> fixtures() {
    std::vector<fs::path> r;
    fs::path root = fs::path(M1_TEST_DATA) / "golden";
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(root, ec))
        if (fs::exists(e.path() / "logits.npy")) r.push_back(e.path());
    std::sort(r.begin(), r.end());
    return r;
}

class Golden : public ::testing::TestWithParam<fs::path> {};

TEST_P(Golden, LogitsFullChunkedAndStepped) {
    const fs::path dir = GetParam();
    auto model = m1::Model::load(dir.string());
    auto be = m1::make_backend(model, "cpu");
    const auto ids = read_ids(dir / "ids.txt");
    int64_t T = 0, V = 0;
    const auto ref = read_npy(dir / "logits.npy", &T, &V);
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

TEST_P(Golden, GreedyContinuation) {
    const fs::path dir = GetParam();
    auto model = m1::Model::load(dir.string());
    auto s = m1::make_backend(model, "cpu")->new_session();
    const auto ids = read_ids(dir / "ids.txt"), want = read_ids(dir / "greedy.txt");
    ASSERT_FALSE(want.empty());
    m1::GenerateOptions o;
    o.sampling.greedy = true;
    o.max_tokens = int64_t(want.size());
    o.prefill_chunk = 32;
    auto r = m1::generate(*s, ids, o);
    EXPECT_EQ(r.ids, want) << dir.filename();
    EXPECT_EQ(r.reason, m1::StopReason::MaxTokens);
}

INSTANTIATE_TEST_SUITE_P(Fixtures, Golden, ::testing::ValuesIn(fixtures()),
                         [](const auto& info) { return info.param.filename().string(); });
GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(Golden);

TEST(GoldenData, Present) {
    // At least three fixtures, one of them in the original config layout and one with partial RoPE.
    auto f = fixtures();
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
