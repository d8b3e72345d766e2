// The packer: builds segments (header, per-document delimiters, page/file markers, chunks of at most
// N lines, the question), tokenizes each segment on its own (in parallel), applies the budget policy
// and concatenates. Same documents + question + options + tokenizer -> the same bytes and ids.
#include "ingest/packer.h"

#include <algorithm>
#include <atomic>
#include <thread>

#include "m1/tokenizer.h"

namespace m1::ingest {

namespace {

struct Seg {
    std::string text;
    int doc = -1;
    int section = -1;  // index into the document's sections; -1 for delimiters
    std::string file, label;
    int page = 0, line_begin = 0, line_end = 0;
    std::vector<int32_t> ids;
    int64_t tokens = 0;
};

struct DocPlan {
    const Document* doc = nullptr;
    int index = 0;
    Seg open, close;
    std::vector<Seg> body;  // markers and chunks in order
    int64_t full = 0;       // open + body + close
};

void measure(std::vector<Seg*>& segs, const m1::Tokenizer* tok) {
    if (!tok) {
        for (auto* s : segs) s->tokens = static_cast<int64_t>((s->text.size() + 3) / 4);
        return;
    }
    std::atomic<size_t> next{0};
    auto work = [&] {
        for (size_t i; (i = next.fetch_add(1)) < segs.size();) {
            segs[i]->ids = tok->encode(segs[i]->text);
            segs[i]->tokens = static_cast<int64_t>(segs[i]->ids.size());
        }
    };
    size_t n = std::min<size_t>(std::max(1u, std::thread::hardware_concurrency()), 16);
    n = std::min(n, segs.size() / 8 + 1);
    std::vector<std::thread> pool;
    for (size_t t = 1; t < n; ++t) pool.emplace_back(work);
    work();
    for (auto& t : pool) t.join();
}

std::string doc_summary(const Document& d) {
    std::string s = kind_name(d.kind);
    if (d.kind == DocKind::Pdf) s += ", " + std::to_string(d.sections.size()) + " pages";
    else if (d.kind == DocKind::Folder || d.kind == DocKind::Archive) s += ", " + std::to_string(d.files()) + " files";
    return s;
}

std::string page_marker(const Section& s) {
    std::string m = "[page " + std::to_string(s.page);
    if (!s.page_label.empty()) m += " (printed " + s.page_label + ")";
    if (s.no_text) m += ": no text (scanned)";
    return m + "]\n";
}

// Delimiters, markers and chunks of one document.
DocPlan plan_document(const Document& d, int index, int ndocs, int chunk_lines) {
    DocPlan p;
    p.doc = &d;
    p.index = index;
    std::string n = std::to_string(index + 1);
    p.open.text = "=== DOCUMENT " + n + " of " + std::to_string(ndocs) + ": " + d.path + " ===\n";
    if (!d.title.empty()) p.open.text += "Title: " + d.title + "\n";
    if (!d.author.empty()) p.open.text += "Author: " + d.author + "\n";
    if (!d.date.empty()) p.open.text += "Date: " + d.date + "\n";
    if (!d.tree.empty()) p.open.text += "Files:\n" + d.tree;
    p.open.doc = index;
    p.close.text = "=== END OF DOCUMENT " + n + " ===\n\n";
    p.close.doc = index;
    std::string last_file;
    for (size_t si = 0; si < d.sections.size(); ++si) {
        const Section& s = d.sections[si];
        Seg marker;
        marker.doc = index, marker.section = static_cast<int>(si), marker.file = s.file, marker.page = s.page,
        marker.label = s.page_label;
        if (!s.file.empty() && s.file != last_file) marker.text += "== " + s.file + " ==\n";
        last_file = s.file;
        if (s.page > 0) marker.text += page_marker(s);
        if (!marker.text.empty()) p.body.push_back(marker);
        // Chunks of at most chunk_lines lines, each ending with '\n'.
        size_t pos = 0;
        int line = 1;
        while (pos < s.text.size()) {
            Seg c = marker;
            c.text.clear();
            c.line_begin = line;
            for (int k = 0; k < chunk_lines && pos < s.text.size(); ++k, ++line) {
                size_t e = s.text.find('\n', pos);
                if (e == std::string::npos) e = s.text.size();
                c.text.append(s.text, pos, e - pos);
                c.text += '\n';
                pos = e + 1;
            }
            c.line_end = line - 1;
            p.body.push_back(std::move(c));
        }
    }
    return p;
}

std::string header_text(const std::vector<DocPlan>& plans, const std::vector<PackedDoc>& packed,
                        const std::vector<const Document*>& rejected) {
    std::string h = "=== CORPUS: " + std::to_string(plans.size()) + " documents ===\n";
    for (size_t i = 0; i < plans.size(); ++i) {
        const Document& d = *plans[i].doc;
        std::string size = packed[i].fate == "dropped" ? std::string("left out: over the token budget")
                                                       : std::to_string(packed[i].tokens_kept) + " tokens";
        if (packed[i].fate == "trimmed") size += ", trimmed from " + std::to_string(packed[i].tokens_full);
        // Appended piece by piece: GCC 12 warns falsely (-Wrestrict) on long temporary chains here.
        h += "[";
        h += std::to_string(i + 1);
        h += "] \"";
        h += d.title;
        h += "\" (";
        h += doc_summary(d);
        h += ", ";
        h += size;
        h += ") ";
        h += d.path;
        h += "\n";
    }
    for (const Document* d : rejected)
        h += "[not included] " + d->path + ": " + (d->warnings.empty() ? "rejected" : d->warnings.front()) + "\n";
    return h + "\n";
}

}  // namespace

PackResult pack(const std::vector<Document>& docs, const std::string& question, const PackOptions& opt,
                const m1::Tokenizer* tok) {
    PackResult res;
    res.tokens_exact = tok != nullptr;
    res.tokenizer_label = tok ? "tokenizer (vocab " + std::to_string(tok->vocab_size()) + ")"
                              : "estimate (UTF-8 bytes / 4; no tokenizer given)";
    res.budget_tokens = opt.budget_tokens - opt.reserved_output;

    std::vector<const Document*> usable, rejected;
    for (const auto& d : docs) (d.status == DocStatus::Rejected ? rejected : usable).push_back(&d);
    std::vector<DocPlan> plans;
    for (size_t i = 0; i < usable.size(); ++i)
        plans.push_back(plan_document(*usable[i], static_cast<int>(i), static_cast<int>(usable.size()),
                                      std::max(1, opt.segment_lines)));
    Seg q;
    q.text = "=== QUESTION ===\n" + question + "\n";
    std::vector<Seg*> all{&q};
    for (auto& p : plans) {
        all.push_back(&p.open), all.push_back(&p.close);
        for (auto& s : p.body) all.push_back(&s);
    }
    measure(all, tok);
    for (auto& p : plans) {
        p.full = p.open.tokens + p.close.tokens;
        for (auto& s : p.body) p.full += s.tokens;
    }
    for (const Document* d : rejected) res.report.push_back("not included (rejected at ingest): " + d->path);

    // Decide what is kept: `keep[i]` body segments of document i (-1: dropped).
    std::vector<PackedDoc> packed(plans.size());
    std::vector<long> keep(plans.size());
    for (size_t i = 0; i < plans.size(); ++i) {
        packed[i] = {plans[i].doc->path, plans[i].doc->title, kind_name(plans[i].doc->kind), 0, 0, plans[i].full,
                     plans[i].full, "kept"};
        keep[i] = static_cast<long>(plans[i].body.size());
    }
    auto header_tokens = [&] {
        Seg h;
        h.text = header_text(plans, packed, rejected);
        std::vector<Seg*> v{&h};
        measure(v, tok);
        return h.tokens;
    };
    int64_t body_total = 0;
    for (auto& p : plans) body_total += p.full;
    int64_t fixed = q.tokens + header_tokens() + 16 * static_cast<int64_t>(plans.size());  // room for fate notes
    int64_t avail = res.budget_tokens - fixed;
    if (body_total > avail) {
        std::string need = "the corpus needs " + std::to_string(body_total + fixed) + " tokens with the question, " +
                           "the budget is " + std::to_string(res.budget_tokens) + " (" +
                           std::to_string(opt.budget_tokens) + " minus " + std::to_string(opt.reserved_output) +
                           " reserved for the answer)";
        res.report.push_back("over budget: " + need);
        int64_t acc = 0;
        size_t first_out = plans.size();
        for (size_t i = 0; i < plans.size(); ++i) {
            acc += plans[i].full;
            if (acc > avail && first_out == plans.size()) first_out = i;
        }
        if (opt.policy == OverflowPolicy::Refuse) {
            for (size_t i = first_out; i < plans.size(); ++i)
                res.report.push_back("does not fit: " + plans[i].doc->path + " (" + std::to_string(plans[i].full) +
                                     " tokens)");
            res.report.push_back("refused (policy refuse): choose --policy drop or trim, a larger budget, or fewer documents");
            res.documents = packed;
            res.total_tokens = body_total + fixed;
            return res;
        }
        if (opt.policy == OverflowPolicy::Drop) {
            for (size_t i = first_out; i < plans.size(); ++i) {
                keep[i] = -1;
                packed[i].fate = "dropped", packed[i].tokens_kept = 0;
                res.report.push_back("left out (policy drop): " + plans[i].doc->path + " (" +
                                     std::to_string(plans[i].full) + " tokens)");
            }
        } else {  // Trim: water-filling, small documents whole, the others an equal share each
            std::vector<size_t> idx(plans.size());
            for (size_t i = 0; i < idx.size(); ++i) idx[i] = i;
            std::stable_sort(idx.begin(), idx.end(), [&](size_t a, size_t b) { return plans[a].full < plans[b].full; });
            int64_t left = avail;
            for (size_t k = 0; k < idx.size(); ++k) {
                size_t i = idx[k];
                int64_t share = left / static_cast<int64_t>(idx.size() - k);
                if (plans[i].full <= share) {
                    left -= plans[i].full;
                    continue;
                }
                // Keep body segments in order while they fit in the share (minus the delimiters and a note).
                int64_t room = share - plans[i].open.tokens - plans[i].close.tokens - 48;
                long n = 0;
                int64_t used = 0;
                while (n < static_cast<long>(plans[i].body.size()) && used + plans[i].body[n].tokens <= room)
                    used += plans[i].body[static_cast<size_t>(n++)].tokens;
                keep[i] = room > 0 ? n : -1;
                packed[i].fate = keep[i] < 0 ? "dropped" : "trimmed";
                left -= keep[i] < 0 ? 0 : share;
            }
        }
    }

    // Trim notes name what was cut.
    std::vector<Seg> notes(plans.size());
    for (size_t i = 0; i < plans.size(); ++i) {
        if (packed[i].fate != "trimmed" && !(packed[i].fate == "dropped" && opt.policy == OverflowPolicy::Trim)) continue;
        if (packed[i].fate == "dropped") {
            res.report.push_back("left out (policy trim, no room even for a part): " + plans[i].doc->path);
            continue;
        }
        const auto& body = plans[i].body;
        size_t cut = static_cast<size_t>(keep[i]);
        std::string what;
        if (cut < body.size()) {
            const Seg& first = body[cut];
            if (first.page) what = "from page " + std::to_string(first.page) + (first.line_begin > 1 ? " line " + std::to_string(first.line_begin) : "");
            else if (!first.file.empty()) what = "from " + first.file + (first.line_begin > 1 ? " line " + std::to_string(first.line_begin) : "");
            else what = "from line " + std::to_string(first.line_begin);
        }
        int64_t cut_tokens = 0;
        for (size_t k = cut; k < body.size(); ++k) cut_tokens += body[k].tokens;
        notes[i].text = "[... trimmed to fit the token budget: the rest of this document, " + what + " on (" +
                        std::to_string(cut_tokens) + " tokens), is left out ...]\n";
        notes[i].doc = static_cast<int>(i);
        res.report.push_back("trimmed (policy trim): " + plans[i].doc->path + ": left out " + what + " on (" +
                             std::to_string(cut_tokens) + " of " + std::to_string(plans[i].full) + " tokens)");
    }
    std::vector<Seg*> note_ptrs;
    for (auto& n : notes)
        if (!n.text.empty()) note_ptrs.push_back(&n);
    measure(note_ptrs, tok);
    for (size_t i = 0; i < plans.size(); ++i) {
        if (keep[i] < 0) continue;
        int64_t t = plans[i].open.tokens + plans[i].close.tokens + notes[i].tokens;
        for (long k = 0; k < keep[i]; ++k) t += plans[i].body[static_cast<size_t>(k)].tokens;
        packed[i].tokens_kept = t;
    }

    // Assemble: header, documents, question.
    Seg header;
    header.text = header_text(plans, packed, rejected);
    std::vector<Seg*> hv{&header};
    measure(hv, tok);
    std::vector<Seg*> order{&header};
    for (size_t i = 0; i < plans.size(); ++i) {
        if (keep[i] < 0) continue;
        order.push_back(&plans[i].open);
        for (long k = 0; k < keep[i]; ++k) order.push_back(&plans[i].body[static_cast<size_t>(k)]);
        if (!notes[i].text.empty()) order.push_back(&notes[i]);
        order.push_back(&plans[i].close);
    }
    order.push_back(&q);
    int64_t tokens = 0;
    for (Seg* s : order) {
        MapRange r;
        r.token_begin = tokens, r.byte_begin = static_cast<int64_t>(res.text.size());
        res.text += s->text;
        res.token_ids.insert(res.token_ids.end(), s->ids.begin(), s->ids.end());
        tokens += s->tokens;
        r.token_end = tokens, r.byte_end = static_cast<int64_t>(res.text.size());
        r.doc = s->doc, r.file = s->file, r.page = s->page, r.page_label = s->label;
        r.line_begin = s->line_begin, r.line_end = s->line_end;
        if (s->doc >= 0 && (s == &plans[static_cast<size_t>(s->doc)].open)) packed[static_cast<size_t>(s->doc)].token_begin = r.token_begin;
        if (s->doc >= 0 && (s == &plans[static_cast<size_t>(s->doc)].close)) packed[static_cast<size_t>(s->doc)].token_end = r.token_end;
        res.ranges.push_back(std::move(r));
    }
    res.total_tokens = tokens;
    res.documents = packed;
    res.ok = !plans.empty() && tokens <= res.budget_tokens;
    if (plans.empty()) res.report.push_back("nothing to pack: no readable document");
    if (!plans.empty() && tokens > res.budget_tokens)
        res.report.push_back("still over budget after the policy (" + std::to_string(tokens) + " tokens)");
    return res;
}

}  // namespace m1::ingest
