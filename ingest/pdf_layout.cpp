// Reading order by rows -> line fragments -> blocks -> recursive XY-cut; running headers; hyphenation.
#include "ingest/pdf_layout.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <map>
#include <set>

namespace m1::ingest {

namespace {

struct Rect {
    double x0, y0, x1, y1;
};

struct Block {
    Rect r;
    std::vector<PdfLine> lines;  // top to bottom
};

double median(std::vector<double> v) {
    if (v.empty()) return 10.0;
    std::nth_element(v.begin(), v.begin() + static_cast<long>(v.size() / 2), v.end());
    return v[v.size() / 2];
}

// Words of one row left to right, split where the horizontal gap is wider than a column gutter.
void row_to_fragments(std::vector<PdfWord>& row, double h, std::vector<PdfLine>& out) {
    std::sort(row.begin(), row.end(), [](const PdfWord& a, const PdfWord& b) { return a.x0 < b.x0; });
    PdfLine cur;
    bool open = false;
    const PdfWord* prev = nullptr;
    for (const auto& w : row) {
        double gap = prev ? w.x0 - prev->x1 : 0;
        if (open && gap > 1.2 * h) {
            out.push_back(cur);
            open = false;
        }
        if (!open) {
            cur = PdfLine{w.x0, w.y0, w.x1, w.y1, w.text, 0};
            open = true;
        } else {
            if (prev->space_after || gap > 0.15 * h) cur.text += ' ';
            cur.text += w.text;
            cur.x0 = std::min(cur.x0, w.x0), cur.x1 = std::max(cur.x1, w.x1);
            cur.y0 = std::min(cur.y0, w.y0), cur.y1 = std::max(cur.y1, w.y1);
        }
        prev = &w;
    }
    if (open) out.push_back(cur);
}

// Gaps in the projection of rects onto one axis: returns split positions with their widths.
std::vector<std::pair<double, double>> projection_gaps(const std::vector<Rect>& rs, bool x_axis) {
    std::vector<std::pair<double, double>> iv;
    for (const auto& r : rs) iv.push_back(x_axis ? std::make_pair(r.x0, r.x1) : std::make_pair(r.y0, r.y1));
    std::sort(iv.begin(), iv.end());
    std::vector<std::pair<double, double>> gaps;  // (position, width)
    double end = iv.empty() ? 0 : iv[0].second;
    for (size_t i = 1; i < iv.size(); ++i) {
        if (iv[i].first > end) gaps.push_back({(iv[i].first + end) / 2, iv[i].first - end});
        end = std::max(end, iv[i].second);
    }
    return gaps;
}

void xy_cut(std::vector<Block*> blocks, std::vector<Block*>& order, int depth) {
    if (blocks.size() <= 1 || depth > 64) {
        std::sort(blocks.begin(), blocks.end(), [](const Block* a, const Block* b) {
            return a->r.y0 != b->r.y0 ? a->r.y0 < b->r.y0 : a->r.x0 < b->r.x0;
        });
        order.insert(order.end(), blocks.begin(), blocks.end());
        return;
    }
    std::vector<Rect> rs;
    for (auto* b : blocks) rs.push_back(b->r);
    auto xg = projection_gaps(rs, true);
    if (!xg.empty()) {  // columns: split at every vertical gutter, left to right
        std::vector<double> cuts;
        for (auto& g : xg) cuts.push_back(g.first);
        std::vector<std::vector<Block*>> groups(cuts.size() + 1);
        for (auto* b : blocks) {
            size_t k = static_cast<size_t>(std::upper_bound(cuts.begin(), cuts.end(), b->r.x0) - cuts.begin());
            groups[k].push_back(b);
        }
        for (auto& g : groups) xy_cut(g, order, depth + 1);
        return;
    }
    auto yg = projection_gaps(rs, false);
    if (!yg.empty()) {  // rows: split at the widest horizontal gap only, so columns below stay whole
        auto widest = std::max_element(yg.begin(), yg.end(),
                                       [](const auto& a, const auto& b) { return a.second < b.second; });
        std::vector<Block*> top, bottom;
        for (auto* b : blocks) (b->r.y0 < widest->first ? top : bottom).push_back(b);
        xy_cut(top, order, depth + 1);
        xy_cut(bottom, order, depth + 1);
        return;
    }
    std::sort(blocks.begin(), blocks.end(), [](const Block* a, const Block* b) {
        return a->r.y0 != b->r.y0 ? a->r.y0 < b->r.y0 : a->r.x0 < b->r.x0;
    });
    order.insert(order.end(), blocks.begin(), blocks.end());
}

}  // namespace

PdfPageLayout layout_page(std::vector<PdfWord> words, double page_width, double page_height) {
    PdfPageLayout page{page_width, page_height, {}};
    std::vector<PdfWord> ws;
    std::vector<double> heights;
    for (auto& w : words) {
        if (w.text.empty() || !std::isfinite(w.x0) || !std::isfinite(w.y0) || !std::isfinite(w.x1) ||
            !std::isfinite(w.y1))
            continue;
        if (w.x1 < w.x0) std::swap(w.x0, w.x1);
        if (w.y1 < w.y0) std::swap(w.y0, w.y1);
        heights.push_back(std::max(w.y1 - w.y0, 0.1));
        ws.push_back(std::move(w));
    }
    if (ws.empty()) return page;
    const double h = median(heights);

    // 1. Rows by vertical centre.
    std::stable_sort(ws.begin(), ws.end(), [](const PdfWord& a, const PdfWord& b) {
        return (a.y0 + a.y1) < (b.y0 + b.y1);
    });
    std::vector<PdfLine> frags;
    std::vector<PdfWord> row;
    double row_c = 0;
    for (auto& w : ws) {
        double c = (w.y0 + w.y1) / 2;
        if (!row.empty() && std::abs(c - row_c) > 0.45 * h) {
            row_to_fragments(row, h, frags);
            row.clear();
        }
        if (row.empty()) row_c = c;
        row.push_back(w);
    }
    row_to_fragments(row, h, frags);

    // 2. Fragments into blocks: a fragment continues the block whose last line sits just above it
    //    and overlaps it horizontally.
    std::stable_sort(frags.begin(), frags.end(), [](const PdfLine& a, const PdfLine& b) {
        return a.y0 != b.y0 ? a.y0 < b.y0 : a.x0 < b.x0;
    });
    std::vector<Block> blocks;
    blocks.reserve(frags.size());
    for (auto& f : frags) {
        Block* best = nullptr;
        double best_gap = 1e300;
        // Only recent blocks can sit right above (bounds the work on pages with huge word counts).
        for (size_t bi = blocks.size() > 64 ? blocks.size() - 64 : 0; bi < blocks.size(); ++bi) {
            Block& b = blocks[bi];
            const PdfLine& last = b.lines.back();
            double lh = std::max(last.y1 - last.y0, f.y1 - f.y0);
            double gap = f.y0 - last.y1;
            double overlap = std::min(f.x1, last.x1) - std::max(f.x0, last.x0);
            if (gap < -0.3 * lh || gap > 0.9 * lh || overlap <= 0) continue;
            if (gap < best_gap) best_gap = gap, best = &b;
        }
        if (!best) {
            blocks.push_back(Block{{f.x0, f.y0, f.x1, f.y1}, {f}});
        } else {
            best->lines.push_back(f);
            best->r.x0 = std::min(best->r.x0, f.x0), best->r.x1 = std::max(best->r.x1, f.x1);
            best->r.y1 = std::max(best->r.y1, f.y1);
        }
    }

    // 3. Blocks in reading order.
    //    Blocks wholly inside the top/bottom margin (running heads, page numbers) are read first/last,
    //    so that a centred page number cannot sit between two columns and split them.
    std::vector<Block*> top, body, bottom, order;
    for (auto& b : blocks) {
        if (page_height > 0 && b.r.y1 <= 0.09 * page_height) top.push_back(&b);
        else if (page_height > 0 && b.r.y0 >= 0.91 * page_height) bottom.push_back(&b);
        else body.push_back(&b);
    }
    xy_cut(top, order, 0);
    xy_cut(body, order, 0);
    xy_cut(bottom, order, 0);
    int bi = 0;
    for (auto* b : order) {
        for (auto& l : b->lines) {
            l.block = bi;
            page.lines.push_back(l);
        }
        ++bi;
    }
    return page;
}

static std::string header_key(const std::string& s) {
    std::string k;
    bool digit_run = false;
    for (unsigned char c : s) {
        if (std::isdigit(c)) {
            if (!digit_run) k += '#';
            digit_run = true;
            continue;
        }
        digit_run = false;
        if (std::isspace(c)) {
            if (!k.empty() && k.back() != ' ') k += ' ';
        } else {
            k += static_cast<char>(std::tolower(c));
        }
    }
    while (!k.empty() && k.back() == ' ') k.pop_back();
    // A lone roman numeral is a page number too.
    if (!k.empty() && k.size() <= 6 && k.find_first_not_of("ivxlcdm") == std::string::npos) k = "#";
    return k;
}

std::vector<std::string> drop_running_headers(std::vector<PdfPageLayout>& pages) {
    std::vector<std::string> dropped;
    size_t with_text = 0;
    for (auto& p : pages) with_text += !p.lines.empty();
    if (with_text < 3) return dropped;
    // Candidates: the first or last two lines in reading order that lie in the top or bottom 9% of the
    // page (about 1.1 inch of A4/Letter: the margin where running heads sit, above the first body line).
    auto is_edge = [](const PdfPageLayout& p, const PdfLine& l, size_t idx) {
        bool first_last = idx < 2 || idx + 2 >= p.lines.size();
        if (p.height > 0) return first_last && (l.y1 <= 0.09 * p.height || l.y0 >= 0.91 * p.height);
        return idx == 0 || idx + 1 == p.lines.size();
    };
    std::map<std::string, size_t> count;
    std::map<std::string, std::string> example;
    for (auto& p : pages) {
        std::set<std::string> seen;
        for (size_t i = 0; i < p.lines.size(); ++i)
            if (is_edge(p, p.lines[i], i)) {
                std::string k = header_key(p.lines[i].text);
                if (k.empty() || !seen.insert(k).second) continue;
                ++count[k];
                example.emplace(k, p.lines[i].text);
            }
    }
    size_t need = std::max<size_t>(3, static_cast<size_t>(std::ceil(0.4 * static_cast<double>(with_text))));
    std::set<std::string> drop;
    for (auto& [k, n] : count)
        if (n >= need) {
            drop.insert(k);
            dropped.push_back((k == "#" ? std::string("page numbers") : "\"" + example[k] + "\"") + " (" +
                              std::to_string(n) + " pages)");
        }
    if (drop.empty()) return dropped;
    for (auto& p : pages) {
        std::vector<PdfLine> kept;
        for (size_t i = 0; i < p.lines.size(); ++i)
            if (!(is_edge(p, p.lines[i], i) && drop.count(header_key(p.lines[i].text)))) kept.push_back(p.lines[i]);
        p.lines = std::move(kept);
    }
    return dropped;
}

static bool ends_hyphenated(const std::string& s, size_t* cut) {
    // "exam-" (a letter before '-') or a soft hyphen U+00AD at the end.
    if (s.size() >= 3 && s.compare(s.size() - 2, 2, "\xC2\xAD") == 0) {
        *cut = s.size() - 2;
        return true;
    }
    if (s.size() >= 2 && s.back() == '-' && std::isalpha(static_cast<unsigned char>(s[s.size() - 2]))) {
        *cut = s.size() - 1;
        return true;
    }
    return false;
}

std::string page_text(const PdfPageLayout& page) {
    std::vector<std::string> lines;
    std::vector<int> blocks;
    for (const auto& l : page.lines) lines.push_back(l.text), blocks.push_back(l.block);
    for (size_t i = 0; i + 1 < lines.size(); ++i) {
        size_t cut;
        if (blocks[i] != blocks[i + 1] || !ends_hyphenated(lines[i], &cut)) continue;
        std::string& next = lines[i + 1];
        if (next.empty() || !std::islower(static_cast<unsigned char>(next[0]))) continue;
        size_t sp = next.find(' ');
        std::string word = next.substr(0, sp);
        lines[i] = lines[i].substr(0, cut) + word;
        next = sp == std::string::npos ? std::string() : next.substr(sp + 1);
    }
    std::string out;
    for (size_t i = 0; i < lines.size(); ++i) {
        if (lines[i].empty()) continue;  // emptied by a hyphen join
        if (!out.empty()) out += blocks[i] != blocks[i - 1] ? "\n\n" : "\n";
        out += lines[i];
    }
    return out;
}

}  // namespace m1::ingest
