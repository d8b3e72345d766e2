// Folders: .gitignore rules, default ignores, binaries, symlinks out, the tree; glob matching.
#include <gtest/gtest.h>

#include <QTemporaryDir>

#include "ingest/gitignore.h"
#include "ingest/ingest.h"
#include "tools/make_ingest_fixtures.h"

using namespace m1::ingest;

TEST(Gitignore, GlobMatching) {
    EXPECT_TRUE(glob_match("*.log", "debug.log"));
    EXPECT_FALSE(glob_match("*.log", "a/debug.log"));
    EXPECT_TRUE(glob_match("**/x", "a/b/x"));
    EXPECT_TRUE(glob_match("**/x", "x"));
    EXPECT_TRUE(glob_match("a/**", "a/b/c"));
    EXPECT_TRUE(glob_match("a/**/z", "a/z"));
    EXPECT_TRUE(glob_match("a/**/z", "a/b/c/z"));
    EXPECT_TRUE(glob_match("[a-c]?.txt", "b1.txt"));
    EXPECT_FALSE(glob_match("[!a-c]?.txt", "b1.txt"));
    EXPECT_TRUE(glob_match("\\*.txt", "*.txt"));
    EXPECT_FALSE(glob_match("\\*.txt", "a.txt"));
    // A pattern that backtracks badly must still answer quickly.
    EXPECT_FALSE(glob_match("*a*a*a*a*a*a*a*a*a*a*b", std::string(200, 'a')));
}

TEST(Gitignore, RulesAnchoringNegationDirs) {
    IgnoreRules r;
    r.add_file("", "*.log\n!keep.log\n/top.txt\nbuild/\n# comment\n\\#hash\n");
    r.add_file("sub", "*.tmp\n");
    EXPECT_TRUE(r.ignored("x.log", false));
    EXPECT_TRUE(r.ignored("deep/x.log", false));
    EXPECT_FALSE(r.ignored("keep.log", false));
    EXPECT_TRUE(r.ignored("top.txt", false));
    EXPECT_FALSE(r.ignored("a/top.txt", false));
    EXPECT_TRUE(r.ignored("a/build", true));
    EXPECT_FALSE(r.ignored("a/build", false));
    EXPECT_TRUE(r.ignored("#hash", false));
    EXPECT_TRUE(r.ignored("sub/a.tmp", false));
    EXPECT_FALSE(r.ignored("a.tmp", false));
}

TEST(Folder, CodebaseHonoursIgnoresAndSkipsBinaries) {
    QTemporaryDir tmp;
    std::string root = tmp.path().toStdString() + "/proj";
    m1::fixtures::make_codebase(root);
    auto d = ingest_path(root);
    EXPECT_EQ(d.kind, DocKind::Folder);
    EXPECT_EQ(d.status, DocStatus::Ok) << (d.warnings.empty() ? "" : d.warnings[0]);
    std::vector<std::string> f;
    for (auto& s : d.sections) f.push_back(s.file);
    EXPECT_EQ(f, (std::vector<std::string>{".gitignore", "README.md", "docs/generated.txt", "keep.log",
                                           "src/.gitignore", "src/main.cpp", "src/util.h"}));
    EXPECT_EQ(d.tree.substr(0, 21), ".gitignore\nREADME.md\n");
    EXPECT_NE(d.tree.find("src/\n  .gitignore\n  main.cpp\n  util.h\n"), std::string::npos) << d.tree;
    bool binary = false, link = false;
    for (auto& w : d.warnings) {
        binary |= w.find("binary") != std::string::npos && w.find("logo.png") != std::string::npos;
        link |= w.find("outside") != std::string::npos;
    }
    EXPECT_TRUE(binary);
    EXPECT_TRUE(link);
}

TEST(Folder, SizeLimitsAndMissingPath) {
    QTemporaryDir tmp;
    std::string root = tmp.path().toStdString();
    m1::fixtures::write_file(root + "/big.txt", std::string(3000, 'x'));
    m1::fixtures::write_file(root + "/small.txt", "ok\n");
    IngestOptions o;
    o.max_file_bytes = 1000;
    auto d = ingest_path(root, o);
    ASSERT_EQ(d.sections.size(), 1u);
    EXPECT_EQ(d.status, DocStatus::Partial);
    EXPECT_EQ(ingest_path(root + "/nope").status, DocStatus::Rejected);
}

TEST(Folder, BatchKeepsOrderAndReportsProgress) {
    QTemporaryDir tmp;
    std::vector<std::string> paths;
    for (int i = 0; i < 6; ++i) {
        paths.push_back(tmp.path().toStdString() + "/f" + std::to_string(i) + ".txt");
        m1::fixtures::write_file(paths.back(), "file " + std::to_string(i) + "\n");
    }
    paths.push_back(tmp.path().toStdString() + "/missing.txt");
    int last_done = 0, calls = 0;
    auto docs = ingest_paths(paths, {}, [&](const IngestProgress& p) {
        ++calls;
        last_done = p.done;
    });
    ASSERT_EQ(docs.size(), paths.size());
    for (int i = 0; i < 6; ++i) EXPECT_EQ(docs[static_cast<size_t>(i)].sections.at(0).text, "file " + std::to_string(i) + "\n");
    EXPECT_EQ(docs.back().status, DocStatus::Rejected);
    EXPECT_EQ(last_done, 7);
    EXPECT_GE(calls, 7);
    std::atomic<bool> cancel{true};
    auto none = ingest_paths(paths, {}, {}, &cancel);
    for (auto& d : none) EXPECT_EQ(d.status, DocStatus::Rejected);
}
