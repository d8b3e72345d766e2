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

namespace {

namespace fs = std::filesystem;
using m1::test::rel_err;

std::vector<int32_t> read_ids(const fs::path& p) {
    std::ifstream f(p);
    std::vector<int32_t> v;
    int32_t x;
    while (f >> x) v.push_back(x);
    return v;
}

// float32, C order, 2-D: what make_golden.py writes.
std::vector<float> read_npy(const fs::path& p, int64_t& rows, int64_t& cols) {
    std::ifstream f(p, std::ios::binary);
    char magic[8] = {};
    f.read(magic, 8);
    if (!f || std::memcmp(magic, "\x93NUMPY", 6) != 0) throw std::runtime_error(p.string() + ": not .npy");
    uint32_t hl = 0;
    if (magic[6] == 1) {
        uint16_t h16 = 0;
        f.read(reinterpret_cast<char*>(&h16), 2);
        hl = h16;
    } else {
        f.read(reinterpret_cast<char*>(&hl), 4);
    }
    std::string header(hl, '\0');
    f.read(header.data(), hl);
    if (header.find("'<f4'") == std::string::npos || header.find("False") == std::string::npos)
        throw std::runtime_error(p.string() + ": expected float32 C order, header " + header);
    long r = 0, c = 0;
    if (std::sscanf(header.c_str() + header.find('('), "(%ld, %ld)", &r, &c) != 2)
        throw std::runtime_error(p.string() + ": shape not 2-D");
    rows = r;
    cols = c;
    std::vector<float> v(std::size_t(r * c));
    f.read(reinterpret_cast<char*>(v.data()), std::streamsize(v.size() * 4));
    if (!f) throw std::runtime_error(p.string() + ": truncated");
    return v;
}

std::vector<fs::path> fixtures() {
    std::vector<fs::path> r;
    std::error_code ec;
    const char* env = std::getenv("M1_TEST_DATA");  // the tree may sit elsewhere on a GPU host
    for (const auto& e : fs::directory_iterator(fs::path(env && *env ? env : M1_TEST_DATA) / "golden", ec))
        if (fs::exists(e.path() / "logits.npy")) r.push_back(e.path());
    std::sort(r.begin(), r.end());
    return r;
}

class CudaGolden : public ::testing::TestWithParam<fs::path> {};

TEST_P(CudaGolden, LogitsMatchCpuAndReference) {
    const fs::path dir = GetParam();
    auto model = m1::Model::load(dir.string());
    const auto ids = read_ids(dir / "ids.txt");
    int64_t T = 0, V = 0;
    const auto ref = read_npy(dir / "logits.npy", T, V);
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

TEST_P(CudaGolden, GreedyContinuation) {
    const fs::path dir = GetParam();
    auto model = m1::Model::load(dir.string());
    auto s = m1::make_backend(model, "cuda")->new_session();
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

INSTANTIATE_TEST_SUITE_P(Fixtures, CudaGolden, ::testing::ValuesIn(fixtures()),
                         [](const auto& info) { return info.param.filename().string(); });

TEST(CudaGoldenData, Present) { EXPECT_GE(fixtures().size(), 3u); }

}  // namespace
