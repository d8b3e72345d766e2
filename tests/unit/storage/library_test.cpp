// Library: documents and pages stored once, FTS5 search with ranking, snippets and path:line, and
// sessions with their turns.
#include <gtest/gtest.h>

#include <QTemporaryDir>

#include "storage/library.h"
#include "storage/sessions.h"

using namespace m1::storage;

namespace {
struct LibraryTest : ::testing::Test {
    QTemporaryDir dir;
    Database db{(dir.path() + "/m1.db").toStdString()};
    Library lib{db};

    int64_t add(const std::string& path, const std::string& kind, std::vector<PageText> pages) {
        DocumentRecord d;
        d.contentHash = "hash-" + path;
        d.sourcePath = path;
        d.kind = kind;
        d.title = path;
        return lib.addDocument(d, pages);
    }
};
}  // namespace

TEST_F(LibraryTest, SameDocumentTwiceIsStoredOnce) {
    int64_t a = add("a.txt", "text", {{1, 1, "alpha beta"}});
    int64_t b = add("a.txt", "text", {{1, 1, "alpha beta"}});
    EXPECT_EQ(a, b);
    EXPECT_EQ(lib.documents().size(), 1u);
    EXPECT_EQ(lib.search("alpha").size(), 1u);
}

TEST_F(LibraryTest, SearchRanksFindsPagesAndLines) {
    add("src/main.cpp", "code", {{1, 1, "int main() {\n  // start the engine\n  return run_engine();\n}\n"}});
    add("book.pdf", "pdf",
        {{1, 1, "Chapter one. Nothing here."},
         {2, 1, "The engine engine engine of the story, an engine of change."},
         {3, 1, "Épilogue: the café closes."}});
    auto hits = lib.search("engine");
    ASSERT_EQ(hits.size(), 2u);
    EXPECT_EQ(hits[0].sourcePath, "book.pdf");  // more occurrences in a short page ranks higher
    EXPECT_EQ(hits[0].pageNo, 2);
    EXPECT_EQ(hits[0].pageCount, 3);
    EXPECT_GT(hits[0].score, hits[1].score);
    EXPECT_NE(hits[0].snippet.find("<b>engine</b>"), std::string::npos) << hits[0].snippet;
    EXPECT_EQ(hits[1].sourcePath, "src/main.cpp");
    EXPECT_EQ(hits[1].line, 2);
    // Diacritics fold, FTS5 syntax works, and broken syntax falls back to plain words.
    EXPECT_EQ(lib.search("cafe").size(), 1u);
    EXPECT_EQ(lib.search("epilogue OR chapter").size(), 2u);
    EXPECT_EQ(lib.search("run_engine(").size(), 1u);
    EXPECT_EQ(lib.search("\"engine").size(), 2u);
    EXPECT_TRUE(lib.search("   ").empty());
    EXPECT_TRUE(lib.search("zebra").empty());
    SearchOptions o;
    o.limit = 1;
    o.open = "[";
    o.close = "]";
    auto one = lib.search("engine", o);
    ASSERT_EQ(one.size(), 1u);
    EXPECT_NE(one[0].snippet.find("[engine]"), std::string::npos);
}

TEST_F(LibraryTest, RemovingADocumentRemovesItsIndexEntries) {
    int64_t id = add("gone.txt", "text", {{1, 1, "ephemeral words"}});
    add("stays.txt", "text", {{1, 1, "ephemeral too"}});
    lib.removeDocument(id);
    auto hits = lib.search("ephemeral");
    ASSERT_EQ(hits.size(), 1u);
    EXPECT_EQ(hits[0].sourcePath, "stays.txt");
    Statement st(db, "INSERT INTO pages_fts(pages_fts) VALUES('integrity-check')");
    EXPECT_NO_THROW(st.run());
}

TEST_F(LibraryTest, CorporaAndSessions) {
    int64_t a = add("a.txt", "text", {{1, 1, "a"}});
    int64_t b = add("b.txt", "text", {{1, 1, "b"}});
    CorpusRecord c;
    c.packedHash = "abc";
    c.tokenCount = 42;
    int64_t corpus = lib.addCorpus(c, {b, a});
    EXPECT_EQ(lib.addCorpus(c, {b, a}), corpus);
    EXPECT_EQ(lib.corpusDocuments(corpus), (std::vector<int64_t>{b, a}));
    EXPECT_THROW(lib.removeDocument(a), StorageError);

    Sessions sessions(db);
    SessionRecord s;
    s.corpusId = corpus;
    s.modelFingerprint = "m1fp1-x";
    int64_t sid = sessions.create(s);
    TurnRecord t;
    t.sessionId = sid;
    t.question = "why?";
    t.answer = "because";
    t.contextIds = {1, 2, 3, 200020};
    t.stopReason = "stop_token";
    sessions.addTurn(t);
    t.question = "and then?";
    t.contextIds = {4};
    sessions.addTurn(t);
    auto turns = sessions.turns(sid, true);
    ASSERT_EQ(turns.size(), 2u);
    EXPECT_EQ(turns[0].position, 0);
    EXPECT_EQ(turns[1].position, 1);
    EXPECT_EQ(turns[0].contextIds, (std::vector<int32_t>{1, 2, 3, 200020}));
    EXPECT_TRUE(sessions.turns(sid, false)[0].contextIds.empty());
    auto listed = sessions.list();
    ASSERT_EQ(listed.size(), 1u);
    EXPECT_EQ(listed[0].turnCount, 2);
    EXPECT_EQ(*listed[0].corpusId, corpus);
    sessions.remove(sid);
    EXPECT_TRUE(sessions.list().empty());
    Statement left(db, "SELECT count(*) FROM turns");
    ASSERT_TRUE(left.step());
    EXPECT_EQ(left.int64(0), 0);
}
