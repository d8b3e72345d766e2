// Reading order for PDF text: words (boxes from the text layer) become lines, lines become blocks,
// blocks are ordered by recursive XY-cuts so that two-column pages read column by column. Also joins
// words hyphenated at line ends and drops running headers/footers repeated over pages. No Poppler here:
// these functions work on plain boxes so they can be tested on their own.
#pragma once
#include <string>
#include <vector>

namespace m1::ingest {

struct PdfWord {
    double x0 = 0, y0 = 0, x1 = 0, y1 = 0;  // points, origin top-left, y grows down
    std::string text;                       // UTF-8
    bool space_after = true;
};

struct PdfLine {
    double x0 = 0, y0 = 0, x1 = 0, y1 = 0;
    std::string text;
    int block = 0;  // lines of one block form a paragraph-like unit; blocks are numbered in reading order
};

struct PdfPageLayout {
    double width = 0, height = 0;
    std::vector<PdfLine> lines;  // reading order
};

// Lines of one page in reading order.
PdfPageLayout layout_page(std::vector<PdfWord> words, double page_width, double page_height);

// Removes lines near the top/bottom edge that repeat (digits ignored) on many pages; returns one
// description per distinct dropped line ("Journal of Things, 2024 (38 pages)").
std::vector<std::string> drop_running_headers(std::vector<PdfPageLayout>& pages);

// Page text: lines joined with '\n', a blank line between blocks, "hyphen-\nated" joined to "hyphenated".
std::string page_text(const PdfPageLayout& page);

}  // namespace m1::ingest
