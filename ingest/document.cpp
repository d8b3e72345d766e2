// Names of kinds and statuses, and the small helpers of Document.
#include "ingest/document.h"

#include <set>

namespace m1::ingest {

const char* kind_name(DocKind k) {
    switch (k) {
        case DocKind::Text: return "text";
        case DocKind::Markdown: return "markdown";
        case DocKind::Code: return "code";
        case DocKind::Csv: return "csv";
        case DocKind::Html: return "html";
        case DocKind::Pdf: return "pdf";
        case DocKind::Docx: return "docx";
        case DocKind::Odt: return "odt";
        case DocKind::Folder: return "folder";
        case DocKind::Archive: return "archive";
        case DocKind::Unknown: break;
    }
    return "unknown";
}

const char* status_name(DocStatus s) {
    switch (s) {
        case DocStatus::Ok: return "ok";
        case DocStatus::Partial: return "partial";
        case DocStatus::Rejected: return "rejected";
    }
    return "rejected";
}

size_t Document::chars() const {
    size_t n = 0;
    for (const auto& s : sections)
        for (unsigned char c : s.text) n += (c & 0xC0) != 0x80;  // count UTF-8 lead bytes
    return n;
}

int Document::files() const {
    std::set<std::string> names;
    for (const auto& s : sections)
        if (!s.file.empty()) names.insert(s.file);
    return static_cast<int>(names.size());
}

void Document::warn(std::string message) {
    warnings.push_back(std::move(message));
    if (status == DocStatus::Ok) status = DocStatus::Partial;
}

void Document::reject(std::string reason) {
    warnings.insert(warnings.begin(), std::move(reason));
    status = DocStatus::Rejected;
}

}  // namespace m1::ingest
