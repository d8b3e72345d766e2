// The packer: layout, determinism, budget policies (never a silent cut), the map, exact tokens.
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "ingest/packer.h"
#include "m1/tokenizer.h"

using namespace m1::ingest;

static Document text_doc(const std::string& path, int lines, const std::string& word = "line") {
    Document d;
    d.path = path;
    d.title = path;
    d.kind = DocKind::Text;
    Section s;
    for (int i = 1; i <= lines; ++i) s.text += word + " " + std::to_string(i) + " of " + path + "\n";
    d.sections.push_back(s);
    return d;
}

static Document pdf_doc() {
    Document d;
    d.path = "paper.pdf";
    d.title = "A Paper";
    d.author = "Someone";
    d.kind = DocKind::Pdf;
    for (int p = 1; p <= 3; ++p) d.sections.push_back({"", p, p == 1 ? "i" : "", "text of page " + std::to_string(p), false});
    return d;
}

TEST(Packer, LayoutHasHeaderDelimitersMarkersAndQuestion) {
    Document folder;
    folder.path = "proj";
    folder.title = "proj";
    folder.kind = DocKind::Folder;
    folder.tree = "src/\n  a.cpp\n";
    folder.sections.push_back({"src/a.cpp", 0, "", "int a;\n", false});
    auto r = pack({pdf_doc(), folder}, "What is in page 2?");
    ASSERT_TRUE(r.ok);
    const std::string& t = r.text;
    EXPECT_EQ(t.rfind("=== CORPUS: 2 documents ===\n[1] \"A Paper\" (pdf, 3 pages, ", 0), 0u) << t;
    for (const char* part : {"=== DOCUMENT 1 of 2: paper.pdf ===\nTitle: A Paper\nAuthor: Someone\n",
                             "[page 1 (printed i)]\ntext of page 1\n", "[page 2]\ntext of page 2\n",
                             "=== END OF DOCUMENT 1 ===", "Files:\nsrc/\n  a.cpp\n== src/a.cpp ==\nint a;\n",
                             "=== QUESTION ===\nWhat is in page 2?\n"})
        EXPECT_NE(t.find(part), std::string::npos) << part << "\n---\n" << t;
    EXPECT_FALSE(r.tokens_exact);
    EXPECT_NE(r.tokenizer_label.find("estimate"), std::string::npos);
}

TEST(Packer, DeterministicAndMapCoversEverything) {
    std::vector<Document> docs{text_doc("a.txt", 100), pdf_doc(), text_doc("b.txt", 7)};
    auto r1 = pack(docs, "Q?");
    auto r2 = pack(docs, "Q?");
    EXPECT_EQ(r1.text, r2.text);
    EXPECT_EQ(r1.map_json(), r2.map_json());
    int64_t t = 0, b = 0;
    for (auto& m : r1.ranges) {
        EXPECT_EQ(m.token_begin, t);
        EXPECT_EQ(m.byte_begin, b);
        t = m.token_end, b = m.byte_end;
    }
    EXPECT_EQ(t, r1.total_tokens);
    EXPECT_EQ(b, static_cast<int64_t>(r1.text.size()));
    // Lines of a.txt in chunks of 40: a token in the second chunk points at lines 41-80.
    const MapRange* hit = nullptr;
    for (auto& m : r1.ranges)
        if (m.doc == 0 && m.line_begin == 41) hit = &m;
    ASSERT_NE(hit, nullptr);
    EXPECT_EQ(hit->line_end, 80);
    EXPECT_EQ(r1.range_at_token(hit->token_begin), hit);
    EXPECT_EQ(r1.text.substr(static_cast<size_t>(hit->byte_begin), 20), "line 41 of a.txt\nlin");
    EXPECT_EQ(r1.range_at_token(r1.total_tokens), nullptr);
    auto j = nlohmann::json::parse(r1.map_json());
    EXPECT_EQ(j["documents"].size(), 3u);
    EXPECT_EQ(j["ranges"].size(), r1.ranges.size());
}

TEST(Packer, RefuseReportsWhatDoesNotFit) {
    PackOptions o;
    o.budget_tokens = 3000;
    o.reserved_output = 500;
    auto r = pack({text_doc("small.txt", 10), text_doc("huge.txt", 2000)}, "Q", o);
    EXPECT_FALSE(r.ok);
    EXPECT_TRUE(r.text.empty());
    std::string rep;
    for (auto& l : r.report) rep += l + "\n";
    EXPECT_NE(rep.find("does not fit: huge.txt"), std::string::npos) << rep;
    EXPECT_EQ(rep.find("does not fit: small.txt"), std::string::npos) << rep;
}

TEST(Packer, DropLeavesOutTheLastDocuments) {
    PackOptions o;
    o.budget_tokens = 3000;
    o.reserved_output = 500;
    o.policy = OverflowPolicy::Drop;
    auto r = pack({text_doc("small.txt", 10), text_doc("huge.txt", 2000), text_doc("after.txt", 5)}, "Q", o);
    ASSERT_TRUE(r.ok);
    EXPECT_LE(r.total_tokens, 2500);
    EXPECT_EQ(r.documents[1].fate, "dropped");
    EXPECT_EQ(r.documents[2].fate, "dropped");
    EXPECT_NE(r.text.find("line 10 of small.txt"), std::string::npos);
    EXPECT_EQ(r.text.find("of huge.txt\n"), std::string::npos);
    EXPECT_NE(r.text.find("left out: over the token budget"), std::string::npos);
    EXPECT_EQ(r.report.size(), 3u);
}

TEST(Packer, TrimCutsEvenlyAndSaysSo) {
    PackOptions o;
    o.budget_tokens = 6000;
    o.reserved_output = 1000;
    o.policy = OverflowPolicy::Trim;
    auto r = pack({text_doc("small.txt", 10), text_doc("big1.txt", 1000), text_doc("big2.txt", 1000)}, "Q", o);
    ASSERT_TRUE(r.ok);
    EXPECT_LE(r.total_tokens, 5000);
    EXPECT_EQ(r.documents[0].fate, "kept");
    EXPECT_EQ(r.documents[1].fate, "trimmed");
    EXPECT_EQ(r.documents[2].fate, "trimmed");
    EXPECT_NEAR(static_cast<double>(r.documents[1].tokens_kept), static_cast<double>(r.documents[2].tokens_kept), 150);
    EXPECT_NE(r.text.find("[... trimmed to fit the token budget"), std::string::npos);
    EXPECT_GE(r.report.size(), 3u);
}

TEST(Packer, RejectedDocumentsAreListedNotPacked) {
    Document bad;
    bad.path = "locked.pdf";
    bad.reject("encrypted PDF: a password is needed");
    auto r = pack({bad, text_doc("a.txt", 2)}, "Q");
    ASSERT_TRUE(r.ok);
    EXPECT_NE(r.text.find("[not included] locked.pdf: encrypted PDF"), std::string::npos);
    EXPECT_EQ(r.documents.size(), 1u);
}

TEST(Packer, ExactTokensWithTheDemoTokenizer) {
    std::string dir = M1_DEMO_DIR;
    if (!std::filesystem::exists(dir + "/tokenizer.json")) GTEST_SKIP() << "no demo tokenizer";
    auto tok = m1::Tokenizer::load(dir);
    std::vector<Document> docs{text_doc("a.txt", 120), pdf_doc()};
    auto r = pack(docs, "Which page?", {}, tok.get());
    ASSERT_TRUE(r.ok);
    EXPECT_TRUE(r.tokens_exact);
    EXPECT_EQ(static_cast<int64_t>(r.token_ids.size()), r.total_tokens);
    EXPECT_EQ(tok->decode(r.token_ids), r.text);  // the ids spell exactly the text
    for (auto& m : r.ranges) {
        std::vector<int32_t> part(r.token_ids.begin() + m.token_begin, r.token_ids.begin() + m.token_end);
        EXPECT_EQ(tok->decode(part), r.text.substr(static_cast<size_t>(m.byte_begin),
                                                   static_cast<size_t>(m.byte_end - m.byte_begin)));
    }
    auto again = pack(docs, "Which page?", {}, tok.get());
    EXPECT_EQ(again.token_ids, r.token_ids);
}
