// Text formats: kinds, binary sniffing, HTML to text, titles, DOCX, encodings through ingest_bytes.
#include <gtest/gtest.h>

#include "ingest/ingest.h"
#include "ingest/office.h"
#include "ingest/text_formats.h"
#include "tools/make_ingest_fixtures.h"

using namespace m1::ingest;

TEST(TextFormats, KindsByMagicAndName) {
    EXPECT_EQ(detect_kind("x.bin", "%PDF-1.7\n"), DocKind::Pdf);
    EXPECT_EQ(detect_kind("a.zip", std::string("PK\x03\x04", 4)), DocKind::Archive);
    EXPECT_EQ(detect_kind("a.docx", std::string("PK\x03\x04", 4)), DocKind::Docx);
    EXPECT_EQ(detect_kind("notes.md", "# hi"), DocKind::Markdown);
    EXPECT_EQ(detect_kind("main.rs", "fn main(){}"), DocKind::Code);
    EXPECT_EQ(detect_kind("Makefile", "all:"), DocKind::Code);
    EXPECT_EQ(detect_kind("t.csv", "a,b"), DocKind::Csv);
    EXPECT_EQ(detect_kind("p.html", "<p>"), DocKind::Html);
    EXPECT_EQ(detect_kind("x.dat", std::string("ab\0cd", 5)), DocKind::Unknown);
    // Source that mentions the PDF header stays code; a real .pdf may have junk before its header.
    EXPECT_EQ(detect_kind("pdf.cpp", "// starts with \"%PDF-\"\n"), DocKind::Code);
    EXPECT_EQ(detect_kind("scan.pdf", "\r\n%PDF-1.4\n"), DocKind::Pdf);
}

TEST(TextFormats, HtmlToText) {
    std::string html =
        "<html><head><title>T</title><style>p{color:red}</style><script>var x = '<p>';</script></head>"
        "<body><h1>Head&amp;line</h1><p>One  two\nthree &#233;&#x41;</p><!-- hidden --><ul><li>a</li><li>b</li></ul>"
        "<pre>  keep   spaces</pre></body></html>";
    std::string t = html_to_text(html);
    EXPECT_NE(t.find("Head&line"), std::string::npos) << t;
    EXPECT_NE(t.find("One two three \xC3\xA9" "A"), std::string::npos) << t;
    EXPECT_EQ(t.find("color"), std::string::npos);
    EXPECT_EQ(t.find("var x"), std::string::npos);
    EXPECT_EQ(t.find("hidden"), std::string::npos);
    EXPECT_NE(t.find("a\nb"), std::string::npos) << t;
    EXPECT_NE(t.find("keep   spaces"), std::string::npos) << t;
}

TEST(TextFormats, CleanTextNormalizesLineEnds) {
    EXPECT_EQ(clean_text("a \r\nb\t\rc\x01" "d\n"), "a\nb\nc" "d\n");
}

TEST(TextFormats, IngestBytesMarkdownTitleAndUtf16) {
    auto md = ingest_bytes("notes.md", "intro\n# The Title\nbody\n");
    EXPECT_EQ(md.kind, DocKind::Markdown);
    EXPECT_EQ(md.title, "The Title");
    EXPECT_EQ(md.status, DocStatus::Ok);
    std::string u16("\xFF\xFE", 2);
    for (char c : std::string("caf\xE9 ok")) u16 += c, u16 += '\0';
    auto d = ingest_bytes("latin.txt", u16);
    EXPECT_EQ(d.encoding, "UTF-16LE");
    EXPECT_EQ(d.sections.at(0).text, "caf\xC3\xA9 ok");
    auto bin = ingest_bytes("x.bin", std::string("\x7F" "ELF\0\0\0", 7));
    EXPECT_EQ(bin.status, DocStatus::Rejected);
}

TEST(TextFormats, DocxParagraphs) {
    using m1::fixtures::Entry;
    std::string xml =
        "<?xml version=\"1.0\"?><w:document xmlns:w=\"x\"><w:body><w:p><w:r><w:t>First &amp; one</w:t></w:r></w:p>"
        "<w:p><w:r><w:t>Second</w:t><w:tab/><w:t>tabbed</w:t></w:r></w:p></w:body></w:document>";
    std::string zip = m1::fixtures::make_archive({{Entry::File, "[Content_Types].xml", "<Types/>", ""},
                                                   {Entry::File, "word/document.xml", xml, ""}});
    auto d = ingest_bytes("letter.docx", zip);
    ASSERT_EQ(d.status, DocStatus::Ok) << (d.warnings.empty() ? "" : d.warnings[0]);
    EXPECT_EQ(d.kind, DocKind::Docx);
    EXPECT_EQ(d.sections.at(0).text, "First & one\nSecond\ttabbed\n");
    // Inside an archive a .docx is a document, not a nested archive of XML parts.
    auto bundle = ingest_bytes("bundle.zip", m1::fixtures::make_archive({{Entry::File, "letters/l.docx", zip, ""}}));
    ASSERT_EQ(bundle.sections.size(), 1u);
    EXPECT_EQ(bundle.sections[0].file, "letters/l.docx");
    EXPECT_EQ(bundle.sections[0].text, "First & one\nSecond\ttabbed\n");
    auto broken = ingest_bytes("bad.docx", std::string("PK\x03\x04garbage", 11));
    EXPECT_EQ(broken.status, DocStatus::Rejected);
}
