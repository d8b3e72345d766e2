// The M1 chat template: byte-for-byte equal to jinja2's rendering of the checkpoint's template
// (tests/data/tokenizer/chat_expected.json), and the special-token ids read from a tokenizer.
#include <gtest/gtest.h>

#include "m1/chat.h"
#include "m1/tokenizer.h"
#include "tokenizer_test_util.h"

namespace {

TEST(Chat, MatchesJinjaRendering) {
    const auto cases = m1::test::read_json(std::string(M1_TEST_DATA) + "/tokenizer/chat_expected.json");
    ASSERT_GE(cases.size(), 5u);
    for (const auto& c : cases) {
        SCOPED_TRACE(c["name"].get<std::string>());
        std::vector<m1::ChatMessage> msgs;
        for (const auto& m : c["messages"])
            msgs.push_back({m["role"].get<std::string>(), m["content"].get<std::string>(), m["name"].get<std::string>()});
        const auto tools = c["tools"].get<std::vector<std::string>>();
        const bool gen = c["add_generation_prompt"].get<bool>();
        EXPECT_EQ(m1::render_m1_chat(msgs, tools, gen), c["rendered"].get<std::string>());
        if (tools.empty()) {
            EXPECT_EQ(m1::render_m1_chat(msgs, gen), c["rendered"].get<std::string>());
        }
    }
}

TEST(Chat, GenerationPromptAndStop) {
    const std::string s = m1::render_m1_chat({{"user", "Hi", ""}}, true);
    EXPECT_EQ(s, "<begin_of_document><beginning_of_sentence>user name=user\nHi<end_of_sentence>\n"
                 "<beginning_of_sentence>ai name=assistant\n");
}

TEST(Chat, SpecialTokensFromTheDemoTokenizer) {
    const auto tok = m1::Tokenizer::load(std::string(M1_SOURCE_DIR) + "/resources/demo/tokenizer.json");
    const auto sp = m1::M1SpecialTokens::from(*tok);
    EXPECT_EQ(tok->id_to_token(sp.end_of_sentence), "<end_of_sentence>");
    EXPECT_EQ(tok->id_to_token(sp.beginning_of_sentence), "<beginning_of_sentence>");
    EXPECT_EQ(tok->id_to_token(sp.begin_of_document), "<begin_of_document>");
    EXPECT_EQ(tok->id_to_token(sp.end_of_document), "<end_of_document>");
    // A rendered conversation tokenizes with each special token as one id.
    const auto ids = tok->encode(m1::render_m1_chat({{"system", "S", ""}, {"user", "U", ""}}, true));
    EXPECT_EQ(ids.front(), sp.begin_of_document);
    EXPECT_EQ(ids[1], sp.beginning_of_sentence);
    EXPECT_EQ(std::count(ids.begin(), ids.end(), sp.end_of_sentence), 2);
    EXPECT_EQ(std::count(ids.begin(), ids.end(), sp.beginning_of_sentence), 3);
}

TEST(Chat, NonM1TokenizerIsRejected) {
    const auto tok = m1::Tokenizer::from_json(R"({"model": {"type": "BPE", "vocab": {"a": 0}, "merges": []}})");
    EXPECT_THROW(m1::M1SpecialTokens::from(*tok), m1::TokenizerError);
}

}  // namespace
