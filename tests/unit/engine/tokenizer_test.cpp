// Tokenizer behaviour that needs no network: Unicode normalization, the streaming decoder, parallel
// chunked encoding, linear time on pathological inputs, vocab.json + merges.txt, and load errors.
#include <gtest/gtest.h>

#include <chrono>
#include <ctime>
#include <functional>
#include <filesystem>

#include "engine/src/unicode_norm.h"
#include "m1/tokenizer.h"
#include "tokenizer_test_util.h"

namespace {

namespace fs = std::filesystem;
using m1::test::read_json;

std::string demo_path() { return std::string(M1_SOURCE_DIR) + "/resources/demo/tokenizer.json"; }

bool valid_utf8(const std::string& s) {
    size_t i = 0;
    while (i < s.size()) {
        const unsigned char c = static_cast<unsigned char>(s[i]);
        const size_t n = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
        if (n == 0 || i + n > s.size()) return false;
        for (size_t k = 1; k < n; ++k)
            if ((static_cast<unsigned char>(s[i + k]) & 0xC0) != 0x80) return false;
        i += n;
    }
    return true;
}

TEST(Unicode, NormalizationMatchesPython) {
    using m1::unicode::NormalForm;
    const auto data = read_json(std::string(M1_TEST_DATA) + "/tokenizer/normalization.json");
    for (const auto& c : data["cases"]) {
        const std::string src = c[0];
        SCOPED_TRACE(src);
        EXPECT_EQ(m1::unicode::normalize(src, NormalForm::NFC), c[1].get<std::string>());
        EXPECT_EQ(m1::unicode::normalize(src, NormalForm::NFD), c[2].get<std::string>());
        EXPECT_EQ(m1::unicode::normalize(src, NormalForm::NFKC), c[3].get<std::string>());
        EXPECT_EQ(m1::unicode::normalize(src, NormalForm::NFKD), c[4].get<std::string>());
    }
}

// The demo tokenizer against HF tokenizers (the same check as the real files in tokenizer_hf_test.cpp).
TEST(Tokenizer, DemoEqualsHf) { m1::test::check_against_hf(demo_path(), "demo"); }

TEST(Tokenizer, DemoHasTheAgreedLayout) {
    const auto tok = m1::Tokenizer::load(demo_path());
    EXPECT_EQ(tok->vocab_size(), 1024u);
    EXPECT_EQ(tok->id_to_token(33), "!");  // ids 0..255 are the bytes, in GPT-2's byte-to-character map
    EXPECT_EQ(tok->token_id("Ġ"), 32);
    EXPECT_EQ(tok->token_id("<beginning_of_sentence>"), 1000);
    EXPECT_EQ(tok->token_id("<end_of_sentence>"), 1001);
    EXPECT_EQ(tok->token_id("<begin_of_document>"), 1002);
    EXPECT_EQ(tok->token_id("<end_of_document>"), 1003);
    for (int id = 0; id < 1024; ++id) EXPECT_FALSE(tok->id_to_token(id).empty()) << id;
    EXPECT_TRUE(tok->is_special(1001));
    EXPECT_FALSE(tok->is_special(300));
    EXPECT_EQ(tok->decode(tok->encode("a<end_of_sentence>b"), true), "ab");
}

TEST(Tokenizer, StreamDecoderEmitsCompleteUtf8) {
    const auto tok = m1::Tokenizer::load(demo_path());
    const auto texts = read_json(std::string(M1_TEST_DATA) + "/tokenizer/texts.json");
    for (const auto& c : texts) {
        const std::string text = m1::test::case_text(c);
        if (text.size() > 3000) continue;
        SCOPED_TRACE(c["name"].get<std::string>());
        const auto ids = tok->encode(text);
        for (bool skip : {false, true}) {
            m1::StreamDecoder sd(*tok, skip);
            std::string all;
            for (int32_t id : ids) {
                const std::string piece = sd.feed(id);
                EXPECT_TRUE(valid_utf8(piece));
                all += piece;
            }
            all += sd.finish();
            EXPECT_EQ(all, tok->decode(ids, skip));
        }
    }
    // An incomplete character at the end comes out as U+FFFD on finish().
    m1::StreamDecoder sd(*tok);
    const auto ids = tok->encode("\xF0\x9F\x98\x80");  // one emoji = 4 byte tokens in the demo vocabulary
    ASSERT_GT(ids.size(), 1u);
    EXPECT_EQ(sd.feed(ids[0]), "");
    EXPECT_EQ(sd.finish(), "\xEF\xBF\xBD");
}

std::string mixed_text(size_t min_bytes) {
    const auto texts = read_json(std::string(M1_TEST_DATA) + "/tokenizer/texts.json");
    std::string out;
    for (size_t k = 0; out.size() < min_bytes; ++k) {
        const auto& c = texts[k % texts.size()];
        if (c.contains("text")) out += c["text"].get<std::string>() + (k % 3 ? " and then some words\n" : "\n");
    }
    return out;
}

TEST(Tokenizer, ChunkedParallelEqualsSerial) {
    const auto tok = m1::Tokenizer::load(demo_path());
    const std::string text = mixed_text(1 << 20);
    tok->set_threads(1);
    const auto serial = tok->encode(text);
    tok->set_threads(4);
    EXPECT_EQ(tok->encode(text), serial);
    EXPECT_EQ(tok->decode(serial), text);
}

// CPU time of this thread (robust against other processes on a busy CI machine); best of 3 runs.
double seconds(const std::function<void()>& f) {
    double best = 1e30;
    for (int r = 0; r < 3; ++r) {
        timespec a{}, b{};
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &a);
        f();
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &b);
        best = std::min(best, double(b.tv_sec - a.tv_sec) + 1e-9 * double(b.tv_nsec - a.tv_nsec));
    }
    return best;
}

// Doubling a pathological input must not much more than double the time.
TEST(Tokenizer, PathologicalInputsTakeLinearTime) {
    const auto tok = m1::Tokenizer::load(demo_path());
    tok->set_threads(1);  // so that thread CPU time is all the work
    for (const std::string unit : {"a", "1", " ", "\n", "\xF0\x9F\x98\x80", "a ", ".!"}) {
        SCOPED_TRACE("run of \"" + unit + "\"");
        std::string small, large;
        while (small.size() < (256u << 10)) small += unit;
        large = small + small;
        size_t n_small = 0, n_large = 0;
        const double t_small = seconds([&] { n_small = tok->encode(small).size(); });
        const double t_large = seconds([&] { n_large = tok->encode(large).size(); });
        EXPECT_GT(n_large, n_small);
        EXPECT_LT(t_large, 3.0 * t_small + 0.05) << t_small << " s for 256 KiB, " << t_large << " s for 512 KiB";
    }
    // A 10 MB run of one character and a 1 MB line of digits finish in bounded time.
    const auto t0 = std::chrono::steady_clock::now();
    tok->encode(std::string(10u << 20, 'a'));
    tok->encode(std::string(1u << 20, '7'));
    EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(), 30.0);
}

TEST(Tokenizer, VocabJsonAndMergesTxt) {
    const auto j = read_json(demo_path());
    const fs::path dir = fs::temp_directory_path() / ("m1_tok_test_" + std::to_string(::getpid()));
    fs::create_directories(dir);
    std::ofstream(dir / "vocab.json") << j["model"]["vocab"].dump();
    {
        std::ofstream m(dir / "merges.txt");
        m << "#version: 0.2\n";
        for (const auto& p : j["model"]["merges"]) m << p[0].get<std::string>() << " " << p[1].get<std::string>() << "\n";
    }
    nlohmann::json config = {{"add_prefix_space", false}, {"added_tokens_decoder", nlohmann::json::object()}};
    for (const auto& a : j["added_tokens"]) config["added_tokens_decoder"][std::to_string(a["id"].get<int>())] = a;
    std::ofstream(dir / "tokenizer_config.json") << config.dump();
    // The same files as tokenizer.json with GPT-2's pre-tokenizer must give the same ids.
    nlohmann::json same = j;
    same["pre_tokenizer"] = {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"use_regex", true}};
    const auto a = m1::Tokenizer::load(dir.string());
    const auto b = m1::Tokenizer::from_json(same.dump());
    const std::string text = mixed_text(20000) + "<end_of_sentence>x";
    EXPECT_EQ(a->encode(text), b->encode(text));
    EXPECT_EQ(a->vocab_size(), 1024u);
    fs::remove_all(dir);
}

TEST(Tokenizer, LoadErrorsSayWhatIsWrong) {
    EXPECT_THROW(m1::Tokenizer::load("/nonexistent/tokenizer.json"), m1::TokenizerError);
    EXPECT_THROW(m1::Tokenizer::load(fs::temp_directory_path().string()), m1::TokenizerError);
    try {
        m1::Tokenizer::from_json("{not json", "bad.json");
        FAIL();
    } catch (const m1::TokenizerError& e) {
        EXPECT_NE(std::string(e.what()).find("bad.json"), std::string::npos);
    }
    try {
        m1::Tokenizer::from_json(R"({"model": {"type": "Unigram", "vocab": []}})", "u.json");
        FAIL();
    } catch (const m1::TokenizerError& e) {
        EXPECT_NE(std::string(e.what()).find("Unigram"), std::string::npos);
    }
    EXPECT_THROW(m1::Tokenizer::from_json(R"({"model": {"type": "BPE", "vocab": {"a": 0}, "merges": ["a b"]}})"),
                 m1::TokenizerError);
    EXPECT_THROW(m1::Tokenizer::from_json(R"({"pre_tokenizer": {"type": "Split", "pattern": {"Regex": "(("},
        "behavior": "Isolated"}, "model": {"type": "BPE", "vocab": {"a": 0}, "merges": []}})"), m1::TokenizerError);
}

TEST(Tokenizer, ComponentsBeyondTheByteLevelFiles) {
    // SentencePiece-style BPE: Prepend/Replace normalizers, byte fallback, unk fusing, and the decoder
    // chain Replace + ByteFallback + Fuse + Strip, with no pre-tokenizer.
    const char* json = R"({
      "normalizer": {"type": "Sequence", "normalizers": [{"type": "Prepend", "prepend": "▁"},
                     {"type": "Replace", "pattern": {"String": " "}, "content": "▁"}]},
      "pre_tokenizer": null,
      "decoder": {"type": "Sequence", "decoders": [{"type": "Replace", "pattern": {"String": "▁"}, "content": " "},
                  {"type": "ByteFallback"}, {"type": "Fuse"}, {"type": "Strip", "content": " ", "start": 1, "stop": 0}]},
      "added_tokens": [{"id": 9, "content": "<s>", "special": true, "normalized": false}],
      "model": {"type": "BPE", "byte_fallback": true, "unk_token": "<unk>", "fuse_unk": true,
                "vocab": {"<unk>": 0, "▁": 1, "h": 2, "i": 3, "hi": 4, "▁hi": 5, "<0xC3>": 6, "<0xA9>": 7, "x": 8},
                "merges": ["h i", "▁ hi"]}})";
    const auto tok = m1::Tokenizer::from_json(json);
    EXPECT_EQ(tok->encode("hi hi"), (std::vector<int32_t>{5, 5}));
    EXPECT_EQ(tok->encode("hé"), (std::vector<int32_t>{1, 2, 6, 7}));       // é by byte fallback
    EXPECT_EQ(tok->encode("hi<s>x"), (std::vector<int32_t>{5, 9, 1, 8}));   // each text piece gets "▁"
    EXPECT_EQ(tok->decode(std::vector<int32_t>{5, 5, 1, 2, 6, 7}), "hi hi hé");
    EXPECT_EQ(tok->decode(std::vector<int32_t>{6, 8}), "\xEF\xBF\xBDx");  // lone byte -> U+FFFD
    // Unknown characters without byte tokens: one fused <unk>.
    const auto tok2 = m1::Tokenizer::from_json(
        R"({"model": {"type": "BPE", "unk_token": "<unk>", "fuse_unk": true, "vocab": {"<unk>": 0, "a": 1}, "merges": []}})");
    EXPECT_EQ(tok2->encode("aqqa"), (std::vector<int32_t>{1, 0, 1}));
}

TEST(Tokenizer, SplitBehaviorsAndDigits) {
    auto make = [](const std::string& pre) {
        std::string vocab = "{";
        for (int c = 32; c < 127; ++c) {
            if (c == '"' || c == '\\') continue;
            vocab += (c == 32 ? "\"" : ",\"") + std::string(1, char(c)) + "\":" + std::to_string(c);
        }
        vocab += ",\"ab\":200,\"12\":201,\"a-\":202,\"-b\":203}";
        return m1::Tokenizer::from_json(R"({"pre_tokenizer": )" + pre + R"(, "model": {"type": "BPE", "vocab": )" + vocab +
                                        R"(, "merges": ["a b", "1 2", "a -", "- b"]}})");
    };
    auto split = [&](const std::string& behavior, bool invert) {
        return make(R"({"type": "Split", "pattern": {"String": "-"}, "behavior": ")" + behavior +
                    R"(", "invert": )" + (invert ? "true" : "false") + "}");
    };
    EXPECT_EQ(split("Isolated", false)->encode("ab-ab"), (std::vector<int32_t>{200, '-', 200}));
    EXPECT_EQ(split("Removed", false)->encode("ab-ab"), (std::vector<int32_t>{200, 200}));
    EXPECT_EQ(split("MergedWithPrevious", false)->encode("a-b"), (std::vector<int32_t>{202, 'b'}));
    EXPECT_EQ(split("MergedWithNext", false)->encode("a-b"), (std::vector<int32_t>{'a', 203}));
    EXPECT_EQ(split("Contiguous", false)->encode("a--b"), (std::vector<int32_t>{'a', '-', '-', 'b'}));
    EXPECT_EQ(split("Removed", true)->encode("ab-ab"), (std::vector<int32_t>{'-'}));
    EXPECT_EQ(make(R"({"type": "Digits", "individual_digits": true})")->encode("a1212"),
              (std::vector<int32_t>{'a', '1', '2', '1', '2'}));
    EXPECT_EQ(make(R"({"type": "Digits", "individual_digits": false})")->encode("a1212"),
              (std::vector<int32_t>{'a', 201, 201}));
}

}  // namespace

namespace {

// Pre-tokenizers that do not split at spaces and newlines must not be cut into chunks: a long text
// still gives the ids of one piece (here, one BPE word over the whole text).
TEST(Tokenizer, NoChunkingWithoutSplittingPreTokenizer) {
    auto j = read_json(demo_path());
    for (const char* pre : {R"({"type": "ByteLevel", "add_prefix_space": false, "use_regex": false})",
                            R"({"type": "Sequence", "pretokenizers": [{"type": "Digits", "individual_digits": true},
                                {"type": "ByteLevel", "add_prefix_space": false, "use_regex": false}]})"}) {
        j["pre_tokenizer"] = nlohmann::json::parse(pre);
        const auto tok = m1::Tokenizer::from_json(j.dump());
        const std::string text = mixed_text(400 << 10);
        tok->set_threads(1);
        const auto serial = tok->encode(text);
        tok->set_threads(4);
        EXPECT_EQ(tok->encode(text), serial) << pre;
    }
}

}  // namespace
