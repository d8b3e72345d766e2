// PDFs through the sandboxed worker: text per page, two columns, scanned pages, running headers,
// encryption, labels/outline/metadata, and hostile files that must cost only their own document.
#include <gtest/gtest.h>

#include <QTemporaryDir>

#include "ingest/ingest.h"
#include "ingest/pdf_extract.h"
#include "ingest/pdf_sandbox.h"
#include "tools/make_ingest_fixtures.h"

using namespace m1::ingest;
namespace fx = m1::fixtures;

class Pdf : public ::testing::Test {
protected:
    static void SetUpTestSuite() {
        dir_ = new QTemporaryDir;
        std::vector<fx::PdfPage> pages;
        for (int i = 1; i <= 5; ++i)
            pages.push_back({{"Page " + std::to_string(i) + " starts here.", "Known text number " + std::to_string(i * 7),
                              "An exam-", "ple of a broken word."}, {}, false});
        pages.push_back({{}, {}, true});  // page 6: image only
        pages.push_back({{"Left column line one.", "Left column line two.", "Left column line three."},
                         {"Right column line one.", "Right column line two.", "Right column line three."}, false});
        fx::write_pdf_qt(path("book.pdf"), pages, "Fixture Book");
        fx::write_file(path("handmade.pdf"), fx::manual_pdf({"Preface text", "Intro text", "Chapter one text",
                                                             "Chapter two text"}, 2));
        encrypted_ok_ = fx::qpdf_encrypt(path("book.pdf"), path("locked.pdf"), "s3cret");
    }
    static void TearDownTestSuite() { delete dir_; }
    static std::string path(const std::string& name) { return dir_->path().toStdString() + "/" + name; }
    static bool has_warning(const Document& d, const std::string& part) {
        for (auto& w : d.warnings)
            if (w.find(part) != std::string::npos) return true;
        return false;
    }
    static QTemporaryDir* dir_;
    static bool encrypted_ok_;
};
QTemporaryDir* Pdf::dir_ = nullptr;
bool Pdf::encrypted_ok_ = false;

TEST_F(Pdf, WorkerIsFound) { EXPECT_FALSE(pdf_worker_path().empty()); }

TEST_F(Pdf, KnownTextPerPage) {
    auto d = ingest_path(path("book.pdf"));
    ASSERT_EQ(d.kind, DocKind::Pdf);
    EXPECT_EQ(d.title, "Fixture Book");
    EXPECT_EQ(d.page_count, 7);
    ASSERT_EQ(d.sections.size(), 7u);
    for (int i = 1; i <= 5; ++i) {
        const auto& t = d.sections[static_cast<size_t>(i - 1)].text;
        EXPECT_EQ(d.sections[static_cast<size_t>(i - 1)].page, i);
        EXPECT_EQ(t, "Page " + std::to_string(i) + " starts here.\nKnown text number " + std::to_string(i * 7) +
                         "\nAn example\nof a broken word.");
    }
}

TEST_F(Pdf, RunningHeaderAndPageNumbersDropped) {
    auto d = ingest_path(path("book.pdf"));
    for (auto& s : d.sections) EXPECT_EQ(s.text.find("Journal of Reproducible"), std::string::npos) << s.text;
    EXPECT_TRUE(has_warning(d, "running header/footer dropped"));
    IngestOptions keep;
    keep.drop_running_headers = false;
    auto k = ingest_path(path("book.pdf"), keep);
    EXPECT_NE(k.sections[0].text.find("Journal of Reproducible"), std::string::npos);
}

TEST_F(Pdf, ImageOnlyPageIsReportedScanned) {
    auto d = ingest_path(path("book.pdf"));
    EXPECT_TRUE(d.sections[5].no_text);
    EXPECT_TRUE(has_warning(d, "no text (scanned) on pages 6"));
    EXPECT_EQ(d.status, DocStatus::Partial);
}

TEST_F(Pdf, TwoColumnsDoNotInterleave) {
    auto d = ingest_path(path("book.pdf"));
    EXPECT_EQ(d.sections[6].text,
              "Left column line one.\nLeft column line two.\nLeft column line three.\n\n"
              "Right column line one.\nRight column line two.\nRight column line three.");
}

TEST_F(Pdf, EncryptedNeedsPassword) {
    if (!encrypted_ok_) GTEST_SKIP() << "qpdf not available";
    auto locked = ingest_path(path("locked.pdf"));
    EXPECT_EQ(locked.status, DocStatus::Rejected);
    EXPECT_NE(locked.warnings.at(0).find("password is needed"), std::string::npos);
    EXPECT_TRUE(locked.needs_password);
    IngestOptions wrong;
    wrong.pdf_password = "nope";
    EXPECT_NE(ingest_path(path("locked.pdf"), wrong).warnings.at(0).find("does not open"), std::string::npos);
    IngestOptions right;
    right.pdf_password = "s3cret";
    auto open = ingest_path(path("locked.pdf"), right);
    ASSERT_EQ(open.sections.size(), 7u);
    EXPECT_FALSE(open.needs_password);
    EXPECT_NE(open.sections[2].text.find("Known text number 21"), std::string::npos);
}

TEST_F(Pdf, LabelsOutlineMetadata) {
    auto d = ingest_path(path("handmade.pdf"));
    ASSERT_EQ(d.sections.size(), 4u) << (d.warnings.empty() ? "" : d.warnings[0]);
    EXPECT_EQ(d.title, "Handmade Fixture");
    EXPECT_EQ(d.author, "Ada Tester");
    EXPECT_EQ(d.date, "2024-01-02T03:04:05Z");
    EXPECT_EQ(d.sections[0].page_label, "i");
    EXPECT_EQ(d.sections[1].page_label, "ii");
    EXPECT_EQ(d.sections[2].page_label, "1");  // decimal labels restart after the roman front matter
    EXPECT_EQ(d.sections[3].page_label, "2");
    EXPECT_EQ(d.sections[2].text, "Chapter one text");
    ASSERT_EQ(d.outline.size(), 4u);
    EXPECT_EQ(d.outline[2].title, "Chapter 3");
    EXPECT_EQ(d.outline[2].page, 3);
}

TEST_F(Pdf, HostileFilesCostOnlyTheirDocument) {
    fx::write_file(path("garbage.pdf"), "%PDF-1.7\n" + std::string(4000, '\x9c') + "\n%%EOF");
    std::string hand = fx::manual_pdf({"a", "b"}, 0);
    fx::write_file(path("truncated.pdf"), hand.substr(0, hand.size() / 2));
    auto docs = ingest_paths({path("garbage.pdf"), path("truncated.pdf"), path("handmade.pdf")});
    EXPECT_EQ(docs[0].status, DocStatus::Rejected);
    EXPECT_EQ(docs[2].status, DocStatus::Ok);
}

TEST_F(Pdf, DeadlineAndMemoryLimitKillTheWorker) {
    IngestOptions slow;
    slow.pdf_timeout_ms = 1;  // far below process start-up: the child is killed
    auto d = ingest_path(path("book.pdf"), slow);
    EXPECT_EQ(d.status, DocStatus::Rejected);
    EXPECT_NE(d.warnings.at(0).find("too long"), std::string::npos) << d.warnings.at(0);
    IngestOptions tiny;
    tiny.pdf_memory_mb = 24;  // Qt and Poppler cannot even load
    auto m = ingest_path(path("book.pdf"), tiny);
    EXPECT_EQ(m.status, DocStatus::Rejected);
    auto fine = ingest_path(path("book.pdf"));  // and the next file works again
    EXPECT_EQ(fine.sections.size(), 7u);
}

TEST_F(Pdf, InProcessMatchesWorker) {
    IngestOptions inproc;
    inproc.pdf_in_process = true;
    auto a = ingest_path(path("book.pdf"), inproc);
    auto b = ingest_path(path("book.pdf"));
    ASSERT_EQ(a.sections.size(), b.sections.size());
    for (size_t i = 0; i < a.sections.size(); ++i) EXPECT_EQ(a.sections[i].text, b.sections[i].text);
    EXPECT_EQ(document_to_json(a), document_to_json(b));
}

TEST_F(Pdf, PdfInsideAnArchiveKeepsPages) {
    using fx::Entry;
    std::string zip = fx::make_archive({{Entry::File, "papers/book.pdf", fx::read_file(path("book.pdf")), ""},
                                        {Entry::File, "notes.txt", "notes\n", ""}});
    auto d = ingest_bytes("bundle.zip", zip);
    ASSERT_EQ(d.sections.size(), 8u);
    EXPECT_EQ(d.sections[1].file, "papers/book.pdf");
    EXPECT_EQ(d.sections[1].page, 1);
    EXPECT_EQ(d.files(), 2);
}

// Real PDFs from Debian documentation packages, when installed (libtasn1-doc, shared-mime-info, ...).
TEST_F(Pdf, RealDebianDocumentationPdfs) {
    std::vector<std::string> found;
    std::error_code ec;
    for (auto it = std::filesystem::recursive_directory_iterator("/usr/share/doc", ec);
         !ec && it != std::filesystem::recursive_directory_iterator() && found.size() < 4; it.increment(ec))
        if (it->path().extension() == ".pdf" && it->file_size(ec) < (16u << 20)) found.push_back(it->path().string());
    if (found.empty()) GTEST_SKIP() << "no PDFs under /usr/share/doc";
    auto docs = ingest_paths(found);
    for (size_t i = 0; i < docs.size(); ++i) {
        const auto& d = docs[i];
        EXPECT_NE(d.status, DocStatus::Rejected) << found[i] << ": " << (d.warnings.empty() ? "" : d.warnings[0]);
        EXPECT_GT(d.page_count, 0) << found[i];
        EXPECT_GT(d.chars(), 100u * static_cast<size_t>(d.page_count) / 2) << found[i];
        for (const auto& s : d.sections) EXPECT_EQ(s.text.find('\r'), std::string::npos);
    }
}
