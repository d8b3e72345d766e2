// Members of folders and archives: dispatch by content, budgets, skip summaries and the tree.
#include "ingest/container.h"

#include <algorithm>

#include "ingest/office.h"
#include "ingest/pdf_sandbox.h"
#include "ingest/text_formats.h"

namespace m1::ingest {

static std::string human_bytes(uint64_t b) {
    if (b >= (1ull << 30)) return std::to_string(b >> 30) + " GiB";
    if (b >= (1ull << 20)) return std::to_string(b >> 20) + " MiB";
    return std::to_string(b >> 10) + " KiB";
}

void ContainerBuilder::add_file(const std::string& rel, const std::string& bytes, int depth) {
    if (stopped()) return;
    if (bytes.size() > opt_.max_file_bytes) return skip("larger than " + human_bytes(opt_.max_file_bytes), rel);
    std::string_view head(bytes.data(), std::min<size_t>(bytes.size(), 8192));
    DocKind kind = detect_kind(rel, std::string(head));
    if (kind == DocKind::Docx || kind == DocKind::Odt) {  // zips, but documents: their text, not their parts
        Document office = office_document(bytes, kind, opt_);
        if (office.status == DocStatus::Rejected) return doc_.warn(rel + ": " + office.warnings.front());
        Section s = std::move(office.sections.front());
        s.file = rel;
        taken_ += bytes.size();
        taken_files_.push_back(rel);
        doc_.sections.push_back(std::move(s));
        return;
    }
    if (is_archive_magic(head) && !is_pdf_magic(head)) {
        if (depth + 1 > opt_.max_archive_depth)
            return doc_.warn(rel + ": archive nested deeper than " + std::to_string(opt_.max_archive_depth) +
                             " levels, not opened");
        read_archive(*this, "", bytes, rel, depth + 1);
        return;
    }
    if (taken_ + bytes.size() > opt_.max_total_bytes) {
        stop("total size limit of " + human_bytes(opt_.max_total_bytes) + " reached at " + rel +
             "; the remaining files were left out");
        return;
    }
    if (is_pdf_magic(head)) {
        Document pdf = parse_pdf(bytes, opt_, cancel_);
        for (auto& w : pdf.warnings) doc_.warnings.push_back(rel + ": " + w);
        if (pdf.status == DocStatus::Rejected) {
            if (doc_.status == DocStatus::Ok) doc_.status = DocStatus::Partial;
            return;
        }
        if (pdf.status == DocStatus::Partial && doc_.status == DocStatus::Ok) doc_.status = DocStatus::Partial;
        for (auto& s : pdf.sections) {
            s.file = rel;
            doc_.sections.push_back(std::move(s));
        }
        taken_ += bytes.size();
        taken_files_.push_back(rel);
        return;
    }
    if (looks_binary(head)) return skip("binary", rel);
    Section s;
    s.file = rel;
    bool lossy = false;
    s.text = bytes_to_text(bytes, nullptr, &lossy);
    if (text_kind_for_name(rel) == DocKind::Html) s.text = html_to_text(s.text);
    if (lossy) doc_.warnings.push_back(rel + ": some bytes were not valid text and were replaced");
    taken_ += bytes.size();
    taken_files_.push_back(rel);
    doc_.sections.push_back(std::move(s));
}

void ContainerBuilder::skip(const std::string& reason, const std::string& rel) { skipped_[reason].push_back(rel); }

void ContainerBuilder::finish() {
    std::stable_sort(doc_.sections.begin(), doc_.sections.end(),
                     [](const Section& a, const Section& b) { return a.file < b.file; });
    std::sort(taken_files_.begin(), taken_files_.end());
    taken_files_.erase(std::unique(taken_files_.begin(), taken_files_.end()), taken_files_.end());
    doc_.tree = tree_listing(taken_files_);
    for (auto& [reason, paths] : skipped_) {
        std::string msg = "skipped " + std::to_string(paths.size()) + (paths.size() == 1 ? " file" : " files") +
                          " (" + reason + "): ";
        for (size_t i = 0; i < paths.size() && i < 5; ++i) msg += (i ? ", " : "") + paths[i];
        if (paths.size() > 5) msg += ", ...";
        // Ignored files, binaries and links are expected in codebases: informational, the status stays ok.
        if (reason == "ignored" || reason == "binary" || reason.find("link") != std::string::npos)
            doc_.warnings.push_back(msg);
        else doc_.warn(msg);
    }
    if (doc_.sections.empty() && doc_.status != DocStatus::Rejected) doc_.reject("no readable text inside");
}

std::string sanitize_member_path(const std::string& name) {
    std::string s = name;
    std::replace(s.begin(), s.end(), '\\', '/');
    if (s.size() >= 2 && s[1] == ':' && std::isalpha(static_cast<unsigned char>(s[0]))) s.erase(0, 2);  // C:
    std::vector<std::string> parts;
    size_t p = 0;
    while (p <= s.size()) {
        size_t e = s.find('/', p);
        if (e == std::string::npos) e = s.size();
        std::string part = s.substr(p, e - p);
        if (part == "..") {
            if (!parts.empty()) parts.pop_back();
        } else if (!part.empty() && part != ".") {
            parts.push_back(part);
        }
        p = e + 1;
    }
    std::string out;
    for (auto& part : parts) out += (out.empty() ? "" : "/") + part;
    return out.empty() ? "_" : out;
}

std::string tree_listing(const std::vector<std::string>& paths) {
    std::string out;
    std::vector<std::string> prev;
    for (const auto& path : paths) {
        std::vector<std::string> parts;
        size_t p = 0;
        while (true) {
            size_t e = path.find('/', p);
            parts.push_back(path.substr(p, e == std::string::npos ? std::string::npos : e - p));
            if (e == std::string::npos) break;
            p = e + 1;
        }
        size_t common = 0;
        while (common + 1 < parts.size() && common + 1 < prev.size() && parts[common] == prev[common]) ++common;
        for (size_t i = common; i < parts.size(); ++i)
            out += std::string(2 * i, ' ') + parts[i] + (i + 1 < parts.size() ? "/" : "") + "\n";
        prev = parts;
    }
    return out;
}

}  // namespace m1::ingest
