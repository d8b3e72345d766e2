// Mutation fuzzing (time-bounded, seeded) of the safetensors header parser, the config parser and the
// state importer: hostile input must give a clean typed error, never a crash or a huge allocation.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <random>

#include "m1/backend.h"
#include "m1/config.h"
#include "m1/safetensors.h"

namespace {

double budget_seconds() {
    const char* e = std::getenv("M1_FUZZ_SECONDS");
    return e ? std::atof(e) : 4.0;
}

std::string mutate(std::string s, std::mt19937_64& rng) {
    static const char* tokens[] = {"\"dtype\"", "\"F32\"", "\"BF16\"", "[", "]", "{", "}", ",", ":", "0", "-1",
                                   "18446744073709551615", "1e300", "\"shape\"", "\"data_offsets\"", "null", "\"\\u0000\"",
                                   "\xff", "\"__metadata__\"", "4294967296"};
    int edits = 1 + int(rng() % 4);
    for (int i = 0; i < edits && !s.empty(); ++i) {
        size_t pos = rng() % s.size();
        switch (rng() % 5) {
            case 0: s[pos] = char(rng()); break;
            case 1: s.erase(pos, 1 + rng() % 8); break;
            case 2: s.insert(pos, tokens[rng() % (sizeof tokens / sizeof *tokens)]); break;
            case 3: s.insert(pos, s.substr(rng() % s.size(), rng() % 16)); break;
            default: s.resize(pos); break;
        }
    }
    return s;
}

template <class F>
int64_t run_for(double seconds, F&& one) {
    auto t0 = std::chrono::steady_clock::now();
    int64_t n = 0;
    while (std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() < seconds) {
        one();
        ++n;
    }
    return n;
}

TEST(Fuzz, SafetensorsHeader) {
    const std::string seed =
        R"({"__metadata__":{"format":"pt"},"a":{"dtype":"BF16","shape":[2,3],"data_offsets":[0,12]},)"
        R"("b":{"dtype":"F32","shape":[4],"data_offsets":[12,28]},"c":{"dtype":"F16","shape":[],"data_offsets":[28,30]}})";
    std::mt19937_64 rng(12345);
    int64_t ok = 0, rejected = 0;
    int64_t n = run_for(budget_seconds() / 2, [&] {
        std::string h = mutate(seed, rng);
        size_t data = rng() % 64;
        try {
            auto t = m1::parse_safetensors_header(h.data(), h.size(), data, "fuzz");
            for (const auto& x : t) ASSERT_LE(uintptr_t(x.data) + x.nbytes, data);  // every range inside the data
            ++ok;
        } catch (const m1::WeightsError&) {
            ++rejected;
        }
    });
    std::printf("safetensors header: %lld inputs, %lld accepted, %lld rejected\n", (long long)n, (long long)ok,
                (long long)rejected);
    EXPECT_GT(rejected, 0);
}

TEST(Fuzz, ConfigJson) {
    const std::string seed = R"({"architectures":["MiniMaxM1ForCausalLM"],"hidden_size":64,"num_hidden_layers":2,)"
                             R"("num_attention_heads":4,"num_key_value_heads":2,"head_dim":16,"intermediate_size":32,)"
                             R"("num_local_experts":4,"num_experts_per_tok":2,"vocab_size":100,"rotary_dim":8,)"
                             R"("attn_type_list":[0,1],"rope_theta":10000})";
    std::mt19937_64 rng(777);
    int64_t n = run_for(budget_seconds() / 4, [&] {
        try {
            auto c = m1::ModelConfig::from_json(mutate(seed, rng), "fuzz");
            ASSERT_EQ(int64_t(c.layer_kinds.size()), c.num_layers);
            ASSERT_LE(c.rotary_dim, c.head_dim);
            ASSERT_EQ(c.num_heads % c.num_kv_heads, 0);
        } catch (const m1::ConfigError&) {
        }
    });
    std::printf("config: %lld inputs\n", (long long)n);
}

TEST(Fuzz, StateImport) {
    auto be = m1::make_backend(m1::Model::load(std::string(M1_SOURCE_DIR) + "/resources/demo"), "cpu");
    auto s = be->new_session();
    std::vector<int32_t> ids = {1, 2, 3, 4, 5};
    s->forward(ids);
    m1::VectorSink sink;
    s->export_state(sink);
    std::mt19937_64 rng(99);
    auto target = be->new_session();
    int64_t accepted = 0;
    int64_t n = run_for(budget_seconds() / 4, [&] {
        std::vector<uint8_t> b = sink.bytes;
        // Header fields (first ~60 bytes) get most of the edits: position, counts, lengths.
        int edits = 1 + int(rng() % 3);
        for (int i = 0; i < edits; ++i) {
            size_t pos = rng() % 2 ? rng() % std::min<size_t>(64, b.size()) : rng() % b.size();
            b[pos] = uint8_t(rng());
        }
        if (rng() % 4 == 0) b.resize(rng() % b.size());
        try {
            m1::SpanSource src(b);
            target->import_state(src);
            ++accepted;  // only possible if the edit hit nothing (same byte written back)
        } catch (const m1::StateFormatError&) {
        }
    });
    std::printf("state import: %lld inputs, %lld accepted\n", (long long)n, (long long)accepted);
}

}  // namespace
