// The golden fixtures (tests/data/golden/<name>/: config, weights, ids.txt, logits.npy, greedy.txt made by
// tests/tools/make_golden.py): readers and the greedy-continuation check shared by every backend's golden test.
#pragma once
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "m1/backend.h"
#include "m1/generate.h"
#include "m1/model.h"

namespace m1::test {

namespace fs = std::filesystem;

inline std::vector<int32_t> read_ids(const fs::path& p) {
    std::ifstream f(p);
    std::vector<int32_t> v;
    for (int32_t x; f >> x;) v.push_back(x);
    return v;
}

// float32, C order, 2-D .npy (version 1 or 2 header), as numpy writes it.
inline std::vector<float> read_npy_2d(const fs::path& p, int64_t& rows, int64_t& cols) {
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
    const auto lp = header.find('(');
    if (lp == std::string::npos || std::sscanf(header.c_str() + lp, "(%ld, %ld)", &r, &c) != 2)
        throw std::runtime_error(p.string() + ": shape not 2-D");
    rows = r;
    cols = c;
    std::vector<float> v(std::size_t(r * c));
    f.read(reinterpret_cast<char*>(v.data()), std::streamsize(v.size() * 4));
    if (!f) throw std::runtime_error(p.string() + ": truncated");
    return v;
}

// Fixture folders, sorted; M1_TEST_DATA in the environment wins (the tree sits elsewhere on a GPU host).
inline std::vector<fs::path> golden_fixtures() {
    const char* env = std::getenv("M1_TEST_DATA");
    const fs::path root = fs::path(env && *env ? env : M1_TEST_DATA) / "golden";
    std::vector<fs::path> r;
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(root, ec))
        if (fs::exists(e.path() / "logits.npy")) r.push_back(e.path());
    std::sort(r.begin(), r.end());
    return r;
}

// The stored greedy continuation, token for token, on `device` ("cpu", "cuda", "cuda:0,1").
inline void expect_greedy_continuation(const fs::path& dir, const std::string& device) {
    auto model = m1::Model::load(dir.string());
    auto s = m1::make_backend(model, device)->new_session();
    const auto ids = read_ids(dir / "ids.txt"), want = read_ids(dir / "greedy.txt");
    ASSERT_FALSE(want.empty());
    m1::GenerateOptions o;
    o.sampling.greedy = true;
    o.max_tokens = int64_t(want.size());
    o.prefill_chunk = 32;
    auto r = m1::generate(*s, ids, o);
    EXPECT_EQ(r.ids, want) << dir.filename() << " on " << device;
    EXPECT_EQ(r.reason, m1::StopReason::MaxTokens);
}

}  // namespace m1::test
