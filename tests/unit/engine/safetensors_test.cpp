// safetensors validation (bad headers, overlapping or out-of-range data, unknown dtypes, truncation),
// sharded checkpoints, dtype conversion, and the model loader's one-message tensor mismatch report.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#include "m1/model.h"
#include "m1/safetensors.h"

namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

struct TempDir {
    fs::path p;
    TempDir() {
        char t[] = "/tmp/m1-st-XXXXXX";
        p = mkdtemp(t);
    }
    ~TempDir() { fs::remove_all(p); }
};

void write_st(const fs::path& path, const json& header, size_t data_bytes, size_t cut = 0) {
    std::string h = header.dump();
    uint64_t n = h.size();
    std::ofstream f(path, std::ios::binary);
    f.write(reinterpret_cast<const char*>(&n), 8);
    f.write(h.data(), std::streamsize(h.size()));
    std::string data(data_bytes - std::min(cut, data_bytes), '\0');
    f.write(data.data(), std::streamsize(data.size()));
}

std::string open_error(const fs::path& p) {
    try {
        m1::WeightStore::open(p.string());
    } catch (const m1::WeightsError& e) {
        return e.what();
    }
    return "";
}

TEST(Safetensors, ValidFileAndConversions) {
    TempDir d;
    json h = {{"a", {{"dtype", "BF16"}, {"shape", {2, 3}}, {"data_offsets", {0, 12}}}},
              {"b", {{"dtype", "F32"}, {"shape", {2}}, {"data_offsets", {12, 20}}}},
              {"__metadata__", {{"format", "pt"}}}};
    write_st(d.p / "x.safetensors", h, 20);
    auto ws = m1::WeightStore::open((d.p / "x.safetensors").string());
    ASSERT_NE(ws->find("a"), nullptr);
    EXPECT_EQ(ws->find("a")->shape, (std::vector<int64_t>{2, 3}));
    EXPECT_EQ(ws->total_bytes(), 20u);
    EXPECT_EQ(m1::bf16_to_f32(m1::f32_to_bf16(1.5f)), 1.5f);
    EXPECT_EQ(m1::f16_to_f32(0x3c00), 1.0f);
    EXPECT_EQ(m1::f16_to_f32(0xc000), -2.0f);
    EXPECT_EQ(m1::f16_to_f32(0x0001), std::ldexp(1.0f, -24));  // smallest subnormal
}

TEST(Safetensors, HostileHeadersAreClearErrors) {
    TempDir d;
    auto p = d.p / "x.safetensors";
    auto expect = [&](const json& h, size_t data, const char* needle, size_t cut = 0) {
        write_st(p, h, data, cut);
        std::string e = open_error(p);
        EXPECT_NE(e.find(needle), std::string::npos) << "got: " << e;
    };
    expect({{"a", {{"dtype", "Q4"}, {"shape", {2}}, {"data_offsets", {0, 2}}}}}, 2, "unknown dtype");
    expect({{"a", {{"dtype", "F32"}, {"shape", {3}}, {"data_offsets", {0, 8}}}}}, 8, "shape x dtype");
    expect({{"a", {{"dtype", "F32"}, {"shape", {2}}, {"data_offsets", {0, 8}}}},
            {"b", {{"dtype", "F32"}, {"shape", {2}}, {"data_offsets", {4, 12}}}}}, 12, "overlap");
    expect({{"a", {{"dtype", "F32"}, {"shape", {4}}, {"data_offsets", {0, 16}}}}}, 16, "truncated", 4);
    expect({{"a", {{"dtype", "F32"}, {"shape", {-1}}, {"data_offsets", {0, 16}}}}}, 16, "non-negative");
    expect({{"a", {{"dtype", "F32"}, {"shape", {1u << 30, 1u << 30, 1u << 30}}, {"data_offsets", {0, 16}}}}}, 16,
           "overflow");
    expect({{"a", {{"dtype", "F32"}, {"shape", {2}}}}}, 8, "data_offsets");
    expect(json::array({1, 2}), 0, "not a JSON object");
    {  // header length past the end; short file; invalid UTF-8
        std::ofstream f(p, std::ios::binary);
        uint64_t n = 1000;
        f.write(reinterpret_cast<const char*>(&n), 8);
        f << "{}";
    }
    EXPECT_NE(open_error(p).find("past the end"), std::string::npos);
    {
        std::ofstream f(p, std::ios::binary);
        f << "abc";
    }
    EXPECT_NE(open_error(p).find("too short"), std::string::npos);
    {
        std::ofstream f(p, std::ios::binary);
        std::string h = "{\"\xff\xfe\": 1}";
        uint64_t n = h.size();
        f.write(reinterpret_cast<const char*>(&n), 8);
        f << h;
    }
    EXPECT_NE(open_error(p).find("UTF-8 JSON"), std::string::npos);
    {
        std::ofstream f(p, std::ios::binary);
        uint64_t n = uint64_t(1) << 40;
        f.write(reinterpret_cast<const char*>(&n), 8);
        f << "{}";
    }
    EXPECT_NE(open_error(p).find("100 MB"), std::string::npos);
}

TEST(Safetensors, ShardedIndex) {
    TempDir d;
    write_st(d.p / "s1.safetensors", {{"a", {{"dtype", "F32"}, {"shape", {2}}, {"data_offsets", {0, 8}}}}}, 8);
    write_st(d.p / "s2.safetensors", {{"b", {{"dtype", "F16"}, {"shape", {2}}, {"data_offsets", {0, 4}}}}}, 4);
    json idx = {{"metadata", {{"total_size", 12}}}, {"weight_map", {{"a", "s1.safetensors"}, {"b", "s2.safetensors"}}}};
    std::ofstream(d.p / "model.safetensors.index.json") << idx.dump();
    auto ws = m1::WeightStore::open(d.p.string());
    EXPECT_EQ(ws->files().size(), 2u);
    EXPECT_EQ(ws->find("b")->dtype, m1::DType::F16);
    idx["weight_map"]["c"] = "s2.safetensors";  // listed but absent
    std::ofstream(d.p / "model.safetensors.index.json") << idx.dump();
    EXPECT_NE(open_error(d.p).find("'c'"), std::string::npos);
    idx["weight_map"] = {{"a", "../s1.safetensors"}};
    std::ofstream(d.p / "model.safetensors.index.json") << idx.dump();
    EXPECT_NE(open_error(d.p).find("plain file name"), std::string::npos);
}

TEST(ModelLoad, MismatchListsMissingExtraAndMisShaped) {
    TempDir d;
    fs::path demo = fs::path(M1_SOURCE_DIR) / "resources" / "demo";
    fs::copy_file(demo / "config.json", d.p / "config.json");
    // A checkpoint with one right tensor, one of the wrong shape and one unknown.
    json h = {{"model.norm.weight", {{"dtype", "BF16"}, {"shape", {128}}, {"data_offsets", {0, 256}}}},
              {"lm_head.weight", {{"dtype", "BF16"}, {"shape", {2, 128}}, {"data_offsets", {256, 768}}}},
              {"model.layers.0.self_attn.slope_rate", {{"dtype", "F32"}, {"shape", {4, 1, 1}}, {"data_offsets", {768, 784}}}},
              {"something.else", {{"dtype", "F32"}, {"shape", {1}}, {"data_offsets", {784, 788}}}}};
    write_st(d.p / "model.safetensors", h, 788);
    try {
        m1::Model::load(d.p.string());
        FAIL();
    } catch (const m1::WeightsError& e) {
        std::string m = e.what();
        EXPECT_NE(m.find("missing"), std::string::npos) << m;
        EXPECT_NE(m.find("model.embed_tokens.weight"), std::string::npos) << m;
        EXPECT_NE(m.find("lm_head.weight is [2, 128], expected [1024, 128]"), std::string::npos) << m;
        EXPECT_NE(m.find("1 extra"), std::string::npos) << m;  // the decay table is ignored, not extra
        EXPECT_NE(m.find("something.else"), std::string::npos) << m;
    }
}

TEST(ModelLoad, DemoModel) {
    auto m = m1::Model::load(std::string(M1_SOURCE_DIR) + "/resources/demo");
    EXPECT_EQ(m->config().vocab_size, 1024);
    EXPECT_EQ(m->config().num_layers, 8);
    EXPECT_EQ(m->fingerprint().rfind("m1fp1-", 0), 0u);
    EXPECT_EQ(m->fingerprint(), m1::Model::load(std::string(M1_SOURCE_DIR) + "/resources/demo")->fingerprint());
    EXPECT_EQ(m->tensor(m1::TensorRole::Router, 3).dtype, m1::DType::F32);
    EXPECT_THROW(m->embed_row(1024, nullptr), std::out_of_range);
}

}  // namespace
