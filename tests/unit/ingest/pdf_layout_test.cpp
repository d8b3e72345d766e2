// Reading order on synthetic word boxes: columns, blocks, hyphenation, running headers.
#include <gtest/gtest.h>

#include <cmath>

#include "ingest/pdf_layout.h"

using namespace m1::ingest;

// Words of one line starting at (x, y), 6 pt per character, 10 pt high.
static void line(std::vector<PdfWord>& out, double x, double y, const std::string& text) {
    size_t p = 0;
    while (p < text.size()) {
        size_t e = text.find(' ', p);
        if (e == std::string::npos) e = text.size();
        std::string w = text.substr(p, e - p);
        double x0 = x + 6.0 * static_cast<double>(p);
        out.push_back({x0, y, x0 + 6.0 * static_cast<double>(w.size()), y + 10, w, true});
        p = e + 1;
    }
}

TEST(PdfLayout, TwoColumnsReadColumnByColumn) {
    std::vector<PdfWord> w;
    line(w, 60, 40, "A Title Across Both Columns Of The Page Here");
    for (int i = 0; i < 5; ++i) {
        line(w, 60, 80 + 12.0 * i, "left line " + std::to_string(i));
        line(w, 320, 80 + 12.0 * i, "right line " + std::to_string(i));
    }
    auto page = layout_page(w, 595, 842);
    std::string text = page_text(page);
    size_t l4 = text.find("left line 4"), r0 = text.find("right line 0"), title = text.find("A Title");
    ASSERT_NE(l4, std::string::npos);
    ASSERT_NE(r0, std::string::npos);
    EXPECT_LT(title, text.find("left line 0"));
    EXPECT_LT(l4, r0) << text;  // whole left column before the right column
}

TEST(PdfLayout, HyphenatedWordIsJoined) {
    std::vector<PdfWord> w;
    line(w, 60, 80, "this is an exam-");
    line(w, 60, 92, "ple of joining");
    auto text = page_text(layout_page(w, 595, 842));
    EXPECT_EQ(text, "this is an example\nof joining");
}

TEST(PdfLayout, CapitalAfterHyphenIsKept) {
    std::vector<PdfWord> w;
    line(w, 60, 80, "see Hewlett-");
    line(w, 60, 92, "Packard today");
    EXPECT_EQ(page_text(layout_page(w, 595, 842)), "see Hewlett-\nPackard today");
}

TEST(PdfLayout, RunningHeadersAndPageNumbersDropped) {
    std::vector<PdfPageLayout> pages;
    for (int i = 0; i < 6; ++i) {
        std::vector<PdfWord> w;
        line(w, 60, 20, "Proceedings of Things 2024");
        line(w, 60, 100, "body text of page " + std::to_string(i + 1));
        line(w, 290, 820, std::to_string(i + 1));
        pages.push_back(layout_page(w, 595, 842));
    }
    auto dropped = drop_running_headers(pages);
    EXPECT_EQ(dropped.size(), 2u);
    for (int i = 0; i < 6; ++i) EXPECT_EQ(page_text(pages[static_cast<size_t>(i)]), "body text of page " + std::to_string(i + 1));
}

TEST(PdfLayout, FewPagesKeepEverything) {
    std::vector<PdfPageLayout> pages;
    for (int i = 0; i < 2; ++i) {
        std::vector<PdfWord> w;
        line(w, 60, 20, "Header");
        pages.push_back(layout_page(w, 595, 842));
    }
    EXPECT_TRUE(drop_running_headers(pages).empty());
    EXPECT_EQ(page_text(pages[0]), "Header");
}

TEST(PdfLayout, DegenerateBoxesDoNotCrash) {
    std::vector<PdfWord> w{{1e308, -1e308, 0, 0, "x", true}, {0, 0, 0, 0, "", false},
                           {std::nan(""), 0, 1, 1, "y", true}, {5, 5, 1, 1, "z", false}};
    auto page = layout_page(w, 0, 0);
    EXPECT_LE(page.lines.size(), 2u);
}
