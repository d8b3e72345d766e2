// `m1 tokenize` / `m1 detokenize`: output formats, the demo-tokenizer default (said on stderr), file input,
// usage errors (exit 2) and bad files (exit 1).
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>

#include "m1/tokenizer.h"
#include "support/run_process.h"

namespace {

using m1::test::m1_binary;
using m1::test::run_process;

std::string demo() { return std::string(M1_SOURCE_DIR) + "/resources/demo/tokenizer.json"; }

TEST(TokenizerCli, JsonIdsEqualTheLibrary) {
    const auto tok = m1::Tokenizer::load(demo());
    const auto ids = tok->encode("Hello <end_of_sentence> world");
    std::string expect = "{\"ids\": [";
    for (size_t i = 0; i < ids.size(); ++i) {
        if (i) expect += ", ";
        expect += std::to_string(ids[i]);
    }
    expect += "], \"count\": " + std::to_string(ids.size()) + "}\n";
    const auto r = run_process(m1_binary() + " tokenize --tokenizer " + demo() + " --text 'Hello <end_of_sentence> world' --json");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(r.out, expect);
    EXPECT_EQ(r.err, "");
}

TEST(TokenizerCli, DefaultsToTheDemoTokenizerAndSaysSo) {
    const auto r = run_process(m1_binary() + " tokenize --text 'abc def'");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_NE(r.err.find("demo"), std::string::npos);
    const auto ids = m1::Tokenizer::load(demo())->encode("abc def");
    std::string expect;
    for (size_t i = 0; i < ids.size(); ++i) {
        if (i) expect += " ";
        expect += std::to_string(ids[i]);
    }
    EXPECT_EQ(r.out, expect + "\n");
}

TEST(TokenizerCli, TextFileAndDetokenizeRoundTrip) {
    const std::string text = "line one\r\n\ttabbed 😀 <beginning_of_sentence>end";
    const std::string path = "/tmp/m1_tok_cli_" + std::to_string(::getpid()) + ".txt";
    std::ofstream(path, std::ios::binary) << text;
    const auto r = run_process(m1_binary() + " tokenize --tokenizer " + demo() + " --text-file " + path);
    std::remove(path.c_str());
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const auto back = run_process(m1_binary() + " detokenize --tokenizer " + demo() + " --no-newline --ids '" + r.out + "'");
    ASSERT_EQ(back.exit_code, 0) << back.err;
    EXPECT_EQ(back.out, text);
    const auto skip = run_process(m1_binary() + " detokenize --tokenizer " + demo() + " --skip-special --ids '" + r.out + "'");
    EXPECT_EQ(skip.out, "line one\r\n\ttabbed 😀 end\n");
}

TEST(TokenizerCli, Errors) {
    EXPECT_EQ(run_process(m1_binary() + " tokenize --text a --text-file b").exit_code, 2);
    EXPECT_EQ(run_process(m1_binary() + " tokenize").exit_code, 2);
    EXPECT_EQ(run_process(m1_binary() + " detokenize --ids '1 x'").exit_code, 2);
    const auto bad = run_process(m1_binary() + " tokenize --tokenizer /nonexistent.json --text a");
    EXPECT_EQ(bad.exit_code, 1);
    EXPECT_NE(bad.err.find("/nonexistent.json"), std::string::npos);
    const auto out_of_range = run_process(m1_binary() + " detokenize --tokenizer " + demo() + " --ids 5000");
    EXPECT_EQ(out_of_range.exit_code, 1);
    EXPECT_NE(out_of_range.err.find("outside the vocabulary"), std::string::npos);
}

}  // namespace
