// Time-bounded, seeded fuzzing of the tokenizer: random and mutated text (invalid UTF-8 included) must
// encode without crashing and decode back to the text with invalid bytes replaced; mutated
// tokenizer.json must load or fail with TokenizerError; the <think> splitter must never lose text.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <random>
#include <sstream>

#include "engine/src/unicode_utf8.h"
#include "m1/reasoning_split.h"
#include "m1/tokenizer.h"

namespace {

double budget_seconds() {
    const char* e = std::getenv("M1_FUZZ_SECONDS");
    return e ? std::atof(e) : 6.0;
}

template <class F>
int64_t run_for(double seconds, F&& one) {
    const auto t0 = std::chrono::steady_clock::now();
    int64_t n = 0;
    while (std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() < seconds) {
        one();
        ++n;
    }
    return n;
}

std::string random_text(std::mt19937_64& rng) {
    static const char* pieces[] = {"a", "Z", " ", "  ", "\n", "\r\n", "\t", "'s", "'LL", "1", "42", "é", "e\xCC\x81",
                                   "\xE4\xBD\xA0", "\xF0\x9F\x98\x80", "\xE2\x80\x8D", "<", "<end_of_sentence>",
                                   "<beginning_of_sentence>", "<end_of", "\xFF", "\xC3", "\xE2\x82", "\xED\xA0\x80",
                                   "\xF4\x90\x80\x80", "\xC0\xAF", ".", "!?", "\x00", "\xEF\xBB\xBF"};
    std::string s;
    const size_t n = rng() % 40;
    for (size_t i = 0; i < n; ++i) {
        if (rng() % 4 == 0) s += static_cast<char>(rng());
        else s += pieces[rng() % (sizeof pieces / sizeof *pieces)];
    }
    return s;
}

std::string demo_json() {
    std::ifstream f(std::string(M1_SOURCE_DIR) + "/resources/demo/tokenizer.json");
    std::stringstream ss;
    ss << f.rdbuf();
    return ss.str();
}

TEST(TokenizerFuzz, RandomTextRoundTrips) {
    const auto tok = m1::Tokenizer::from_json(demo_json());
    std::mt19937_64 rng(7);
    const int64_t n = run_for(budget_seconds() / 2, [&] {
        const std::string text = random_text(rng);
        const auto ids = tok->encode(text);
        for (int32_t id : ids) ASSERT_LT(static_cast<size_t>(id), tok->vocab_size());
        ASSERT_EQ(tok->decode(ids), m1::unicode::sanitize_utf8(text)) << "text of " << text.size() << " bytes";
        m1::StreamDecoder sd(*tok);
        std::string streamed;
        for (int32_t id : ids) streamed += sd.feed(id);
        ASSERT_EQ(streamed + sd.finish(), tok->decode(ids));
    });
    EXPECT_GT(n, 100);
}

TEST(TokenizerFuzz, MutatedTokenizerJson) {
    // A small tokenizer exercising every component type; mutations must never crash.
    const std::string seed = R"J({"normalizer": {"type": "Sequence", "normalizers": [{"type": "NFKC"},
        {"type": "Replace", "pattern": {"Regex": "\\s+"}, "content": " "}]},
      "pre_tokenizer": {"type": "Sequence", "pretokenizers": [{"type": "Digits", "individual_digits": true},
        {"type": "Split", "pattern": {"Regex": "\\p{L}+|\\s+(?!\\S)"}, "behavior": "MergedWithNext", "invert": false},
        {"type": "ByteLevel", "add_prefix_space": true, "use_regex": true}]},
      "decoder": {"type": "Sequence", "decoders": [{"type": "ByteLevel"}, {"type": "Strip", "content": " ", "start": 1, "stop": 0}]},
      "added_tokens": [{"id": 5, "content": "<x>", "special": true, "normalized": false, "lstrip": true, "rstrip": true},
                       {"id": 6, "content": "yo", "special": false, "normalized": true, "single_word": true}],
      "model": {"type": "BPE", "ignore_merges": true, "vocab": {"Ġ": 0, "a": 1, "b": 2, "ab": 3, "Ġab": 4},
                "merges": [["a", "b"], "Ġ ab"]}})J";
    std::mt19937_64 rng(11);
    static const char* inserts[] = {"{", "}", "[", "]", "\"", ",", ":", "null", "-1", "99999999999", "\"Split\"",
                                    "\"Regex\"", "(?<=", "\\", "\"ByteLevel\"", "true", "\"\\uD800\""};
    int64_t loaded = 0;
    const int64_t n = run_for(budget_seconds() / 4, [&] {
        std::string s = seed;
        for (int k = 0, edits = 1 + int(rng() % 3); k < edits; ++k) {
            const size_t pos = rng() % s.size();
            switch (rng() % 3) {
                case 0: s[pos] = static_cast<char>(rng()); break;
                case 1: s.erase(pos, 1 + rng() % 6); break;
                default: s.insert(pos, inserts[rng() % (sizeof inserts / sizeof *inserts)]); break;
            }
        }
        try {
            const auto tok = m1::Tokenizer::from_json(s, "fuzz");
            ++loaded;
            const auto ids = tok->encode(random_text(rng));
            (void)tok->decode(ids);
        } catch (const m1::TokenizerError&) {
        }
    });
    EXPECT_GT(n, 20);
    EXPECT_GT(loaded, 0);
}

TEST(TokenizerFuzz, ReasoningSplitterKeepsAllText) {
    std::mt19937_64 rng(3);
    static const char* parts[] = {"<think>", "</think>", "<", "</", "think", ">", "\n", " ", "a", "<thi", "nk>", "x"};
    run_for(budget_seconds() / 4, [&] {
        std::string text;
        for (size_t i = 0, n = rng() % 12; i < n; ++i) text += parts[rng() % (sizeof parts / sizeof *parts)];
        m1::ReasoningSplitter sp;
        std::string r, a;
        for (size_t i = 0; i < text.size();) {
            const size_t step = 1 + rng() % 5;
            const auto p = sp.feed(std::string_view(text).substr(i, step));
            r += p.reasoning;
            a += p.answer;
            i += step;
        }
        const auto p = sp.finish();
        r += p.reasoning;
        a += p.answer;
        // Nothing but tags and whitespace is dropped.
        size_t non_ws = 0;
        for (char c : r + a) non_ws += !(c == ' ' || c == '\n');
        size_t expected = 0;
        for (char c : text) expected += !(c == ' ' || c == '\n');
        ASSERT_LE(non_ws, expected);
        ASSERT_GE(non_ws + (sp.saw_reasoning() ? 15 : 0), expected) << text;
    });
}

}  // namespace
