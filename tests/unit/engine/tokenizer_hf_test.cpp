// Exactness against HF tokenizers 0.23: ids, decoded text and special-token skipping on our test texts,
// for the real Qwen3, Llama 3, DeepSeek-V3 and GPT-4o tokenizer.json files (from npm) and the demo
// tokenizer. Expected values were produced by tests/tools/tokenizer_hf_reference.py on the GPU host.
#include <gtest/gtest.h>

#include "m1/tokenizer.h"
#include "tokenizer_test_util.h"

namespace {

using m1::test::case_text;
using m1::test::read_json;

void check_against_hf(const std::string& tokenizer_path, const std::string& name) {
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

TEST(TokenizerHf, Demo) { check_against_hf(std::string(M1_SOURCE_DIR) + "/resources/demo/tokenizer.json", "demo"); }
TEST(TokenizerHf, Qwen3) { check_against_hf(m1::test::real_tokenizer("qwen3"), "qwen3"); }
TEST(TokenizerHf, Llama3) { check_against_hf(m1::test::real_tokenizer("llama3"), "llama3"); }
TEST(TokenizerHf, DeepSeekV3) { check_against_hf(m1::test::real_tokenizer("deepseek_v3"), "deepseek_v3"); }
TEST(TokenizerHf, Gpt4o) { check_against_hf(m1::test::real_tokenizer("gpt4o"), "gpt4o"); }

}  // namespace
