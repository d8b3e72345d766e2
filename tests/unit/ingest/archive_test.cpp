// Archives: hostile names, links, bombs (streamed, >= 1 GiB), deep nesting, entry limits, encodings, formats.
#include <gtest/gtest.h>

#include <chrono>

#include "ingest/container.h"
#include "ingest/ingest.h"
#include "tools/make_ingest_fixtures.h"

using namespace m1::ingest;
using m1::fixtures::Entry;

static bool has_warning(const Document& d, const std::string& part) {
    for (auto& w : d.warnings)
        if (w.find(part) != std::string::npos) return true;
    return false;
}

static std::vector<std::string> files(const Document& d) {
    std::vector<std::string> f;
    for (auto& s : d.sections) f.push_back(s.file);
    return f;
}

TEST(Archive, TraversalAndAbsoluteNamesStayInside) {
    std::string zip = m1::fixtures::make_archive({{Entry::File, "../../evil.txt", "up\n", ""},
                                                  {Entry::File, "/etc/abs.txt", "abs\n", ""},
                                                  {Entry::File, "C:\\win\\drive.txt", "drive\n", ""},
                                                  {Entry::File, "a/./b/../c.txt", "dots\n", ""}});
    auto d = ingest_bytes("t.zip", zip);
    ASSERT_NE(d.status, DocStatus::Rejected);
    auto f = files(d);
    std::sort(f.begin(), f.end());
    EXPECT_EQ(f, (std::vector<std::string>{"a/c.txt", "etc/abs.txt", "evil.txt", "win/drive.txt"}));
    for (auto& name : f) {
        EXPECT_EQ(name.find(".."), std::string::npos);
        EXPECT_NE(name[0], '/');
    }
    EXPECT_EQ(sanitize_member_path("../../../"), "_");
}

TEST(Archive, LinksAreNeverFollowed) {
    std::string tar = m1::fixtures::make_archive({{Entry::File, "real.txt", "real\n", ""},
                                                  {Entry::Symlink, "passwd", "", "/etc/passwd"},
                                                  {Entry::Symlink, "up", "", "../../.."},
                                                  {Entry::Hardlink, "hard", "", "/etc/shadow"}},
                                                 "tar", "gzip");
    auto d = ingest_bytes("l.tar.gz", tar);
    EXPECT_EQ(files(d), std::vector<std::string>{"real.txt"});
    EXPECT_TRUE(has_warning(d, "symbolic link"));
    EXPECT_TRUE(has_warning(d, "hard link"));
    for (auto& s : d.sections) EXPECT_EQ(s.text.find("root:"), std::string::npos);
}

// 1 GiB of zeros, about 1 MB compressed; written once per run (deflating 1 GiB takes a few seconds).
static const std::string& bomb_zip() {
    static const std::string bomb = m1::fixtures::zip_bomb(1ull << 30);
    return bomb;
}

TEST(Archive, BombStopsAtRatioNamingTheEntry) {
    const std::string& bomb = bomb_zip();
    EXPECT_LT(bomb.size(), 8u << 20);
    auto t0 = std::chrono::steady_clock::now();
    auto d = ingest_bytes("bomb.zip", bomb);
    double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    EXPECT_TRUE(has_warning(d, "ratio")) << (d.warnings.empty() ? "" : d.warnings[0]);
    EXPECT_TRUE(has_warning(d, "zeros.bin"));
    EXPECT_EQ(files(d), std::vector<std::string>{"readme.txt"});
    EXPECT_LT(s, 5.0);
}

TEST(Archive, BombStopsAtByteBudget) {
    const std::string& bomb = bomb_zip();
    IngestOptions o;
    o.max_archive_ratio = 0;  // ratio check off: the byte budget must stop it
    o.max_archive_bytes = 128ull << 20;
    auto d = ingest_bytes("bomb.zip", bomb, o);
    EXPECT_TRUE(has_warning(d, "budget")) << (d.warnings.empty() ? "" : d.warnings[0]);
    EXPECT_TRUE(has_warning(d, "zeros.bin"));
    EXPECT_EQ(d.status, DocStatus::Partial);
}

TEST(Archive, NestedThirtyDeepStopsAtDepthLimit) {
    std::string z = m1::fixtures::nested_zip(30, "deep secret text\n");
    auto d = ingest_bytes("deep.zip", z);
    EXPECT_TRUE(has_warning(d, "nested deeper than 8"));
    EXPECT_NE(d.status, DocStatus::Ok);
    IngestOptions o;
    o.max_archive_depth = 40;
    auto all = ingest_bytes("deep.zip", z, o);
    ASSERT_EQ(all.sections.size(), 1u);
    EXPECT_EQ(all.sections[0].text, "deep secret text\n");
    EXPECT_EQ(all.sections[0].file.substr(0, 11), "level29.zip");
}

TEST(Archive, EntryCountLimit) {
    std::vector<Entry> many;
    for (int i = 0; i < 300; ++i) many.push_back({Entry::File, "f" + std::to_string(i) + ".txt", "x\n", ""});
    IngestOptions o;
    o.max_archive_entries = 100;
    auto d = ingest_bytes("many.zip", m1::fixtures::make_archive(many), o);
    EXPECT_TRUE(has_warning(d, "more than 100 entries"));
    EXPECT_EQ(d.sections.size(), 100u);
}

TEST(Archive, NonUtf8NamesBecomeValidUtf8) {
    auto d = ingest_bytes("names.tar", m1::fixtures::make_archive({{Entry::File, "caf\xE9-\x81\x82.txt", "x\n", ""},
                                                                   {Entry::File, "ctl\x01name.txt", "y\n", ""}},
                                                                  "tar"));
    ASSERT_EQ(d.sections.size(), 2u);
    for (auto& s : d.sections) {
        QByteArray b = QByteArray::fromStdString(s.file);
        EXPECT_EQ(QString::fromUtf8(b).toUtf8(), b) << s.file;
        for (char c : s.file) EXPECT_GE(static_cast<unsigned char>(c), 32u);
    }
}

TEST(Archive, FormatsAndFilters) {
    std::vector<Entry> e{{Entry::File, "doc/a.txt", "alpha\n", ""}, {Entry::File, "b.md", "# Bee\n", ""}};
    for (auto [fmt, filt] : std::vector<std::pair<std::string, std::string>>{
             {"zip", "none"}, {"tar", "none"}, {"tar", "gzip"}, {"tar", "bzip2"}, {"tar", "xz"}, {"tar", "zstd"},
             {"7z", "none"}}) {
        auto d = ingest_bytes("x." + fmt, m1::fixtures::make_archive(e, fmt, filt));
        EXPECT_EQ(d.kind, DocKind::Archive) << fmt << "+" << filt;
        EXPECT_EQ(d.status, DocStatus::Ok) << fmt << "+" << filt << ": " << (d.warnings.empty() ? "" : d.warnings[0]);
        ASSERT_EQ(d.sections.size(), 2u) << fmt << "+" << filt;
        EXPECT_EQ(d.sections[0].file, "b.md");
        EXPECT_EQ(d.sections[1].text, "alpha\n");
        EXPECT_EQ(d.tree, "b.md\ndoc/\n  a.txt\n");
    }
}

TEST(Archive, DamagedArchiveIsRejectedNotCrashed) {
    std::string zip = m1::fixtures::make_archive({{Entry::File, "a.txt", std::string(5000, 'a'), ""}});
    for (size_t cut : {10u, 40u, 100u}) {
        auto d = ingest_bytes("cut.zip", zip.substr(0, cut));
        EXPECT_NE(d.status, DocStatus::Ok);
    }
}
