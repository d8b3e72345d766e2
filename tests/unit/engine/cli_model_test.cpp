// The model commands of the m1 CLI on the demo model: logits as .npy (chunked equals one-shot),
// generate --json (ids, text, timings), clear errors for bad ids and unavailable devices.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "support/run_process.h"

namespace {

using m1::test::m1_binary;
using m1::test::run_process;

std::string write_ids(const std::string& name, const std::string& ids) {
    std::string p = "/tmp/m1-cli-model-" + std::to_string(getpid()) + "-" + name;
    std::ofstream(p) << ids;
    return p;
}

std::string slurp(const std::string& p) {
    std::ifstream f(p, std::ios::binary);
    std::stringstream ss;
    ss << f.rdbuf();
    return ss.str();
}

TEST(CliModel, LogitsNpyChunkedEqualsOneShot) {
    auto ids = write_ids("ids.txt", "5 17 300 2 999\n 64 1 0 12 13 14 15 16 17 18 19 20 21 22 23\n");
    auto a = "/tmp/m1-cli-a-" + std::to_string(getpid()) + ".npy", b = "/tmp/m1-cli-b-" + std::to_string(getpid()) + ".npy";
    auto r = run_process(m1_binary() + " logits --ids " + ids + " --out " + a);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_NE(r.err.find("demo model"), std::string::npos);  // says it uses the demo model
    r = run_process(m1_binary() + " logits --ids " + ids + " --out " + b + " --chunk 3 --device cpu");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    std::string fa = slurp(a), fb = slurp(b);
    ASSERT_EQ(fa.size(), fb.size());
    EXPECT_NE(fa.find("'shape': (20, 1024)"), std::string::npos);
    EXPECT_EQ(fa.size() % 64, (20 * 1024 * 4) % 64);  // header padded to 64 bytes
    const size_t off = fa.size() - 20 * 1024 * 4;
    double mx = 0, d = 0;
    for (size_t i = off; i < fa.size(); i += 4) {
        float x, y;
        std::memcpy(&x, fa.data() + i, 4);
        std::memcpy(&y, fb.data() + i, 4);
        mx = std::max(mx, double(std::fabs(x)));
        d = std::max(d, double(std::fabs(x - y)));
    }
    EXPECT_LT(d, 1e-5 * mx);
}

TEST(CliModel, GenerateJsonLine) {
    auto ids = write_ids("gen.txt", "10 20 30 40");
    auto r = run_process(m1_binary() + " generate --ids " + ids + " --max-tokens 6 --greedy --json");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    std::string last = r.out.substr(r.out.rfind('{'));
    auto j = nlohmann::json::parse(last);
    EXPECT_EQ(j["ids"].size(), 6u);
    EXPECT_TRUE(j.contains("text"));  // the demo model has a tokenizer
    EXPECT_EQ(j["stop_reason"], "max_tokens");
    EXPECT_TRUE(j["decode_tokens_per_second"].is_number());
    EXPECT_EQ(j["demo_model"], true);
    auto r2 = run_process(m1_binary() + " generate --ids " + ids + " --max-tokens 6 --greedy --json");
    auto j2 = nlohmann::json::parse(r2.out.substr(r2.out.rfind('{')));
    EXPECT_EQ(j2["ids"], j["ids"]);  // greedy is deterministic
}

TEST(CliModel, ClearErrors) {
    auto bad = write_ids("bad.txt", "1 2 5000");
    auto r = run_process(m1_binary() + " logits --ids " + bad + " --out /tmp/m1-never.npy");
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_NE(r.err.find("5000"), std::string::npos) << r.err;
    auto ok = write_ids("ok.txt", "1 2 3");
    r = run_process(m1_binary() + " logits --ids " + ok + " --out /tmp/m1-never.npy --device tpu");
    EXPECT_EQ(r.exit_code, 2);  // a usage error, like every bad --device / --gpus
    EXPECT_NE(r.err.find("tpu"), std::string::npos) << r.err;
    r = run_process(m1_binary() + " logits --model /nonexistent --ids " + ok + " --out /tmp/m1-never.npy");
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_NE(r.err.find("config.json"), std::string::npos) << r.err;
    auto junk = write_ids("junk.txt", "1 2 x3");
    r = run_process(m1_binary() + " logits --ids " + junk + " --out /tmp/m1-never.npy");
    EXPECT_EQ(r.exit_code, 2);
    r = run_process(m1_binary() + " info");
    EXPECT_EQ(r.exit_code, 0);
    EXPECT_NE(r.out.find("8 layers (7 lightning + 1 softmax)"), std::string::npos) << r.out;
}

}  // namespace
