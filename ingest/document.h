// The document model every ingest path produces: one Document per input path (file, folder or archive),
// its text split into sections (a PDF page, a file of a folder/archive, or the whole body of a text file).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace m1::ingest {

enum class DocKind { Text, Markdown, Code, Csv, Html, Pdf, Docx, Odt, Folder, Archive, Unknown };
enum class DocStatus { Ok, Partial, Rejected };  // partial: some text, with warnings of what is missing

const char* kind_name(DocKind k);      // "text", "markdown", "code", "csv", "html", "pdf", ..., "folder", "archive"
const char* status_name(DocStatus s);  // "ok", "partial", "rejected"

// One unit of text: a page of a PDF, or a file inside a folder/archive (a PDF inside a folder gives one
// section per page, all with the same `file`).
struct Section {
    std::string file;        // path inside the folder/archive ("src/main.cpp", "a.zip/b/c.txt"); empty for a single file
    int page = 0;            // 1-based physical page number for PDF pages; 0 otherwise
    std::string page_label;  // printed page label ("xii"); empty when none, or when it is just the page number
    std::string text;        // UTF-8, NFC, '\n' line ends, no trailing spaces on lines
    bool no_text = false;    // a PDF page without a text layer ("no text (scanned)")
};

struct OutlineItem {
    std::string title;
    int page = 0;   // 1-based, 0 when the destination is unknown
    int level = 0;  // 0 = top level
};

struct Document {
    std::string path;  // the input path as given
    DocKind kind = DocKind::Unknown;
    std::string title, author, date;  // date as ISO 8601 when known
    std::string encoding;             // detected text encoding of a single text file ("UTF-8", "UTF-16LE", ...)
    std::vector<Section> sections;
    std::vector<OutlineItem> outline;
    std::string tree;                   // folders/archives: an indented listing of the files taken in
    std::vector<std::string> warnings;  // human-readable, each names the file/entry/page it is about
    DocStatus status = DocStatus::Ok;
    uint64_t source_bytes = 0;  // bytes read from disk (or from the archive entry)
    int page_count = 0;         // PDFs: pages in the file (sections may hold fewer if some failed)
    bool needs_password = false;  // an encrypted PDF that the given password (if any) does not open

    size_t chars() const;  // Unicode code points over all sections
    int files() const;     // distinct `file` values (folders/archives), else 0
    // Adds a warning and lowers the status from ok to partial.
    void warn(std::string message);
    // Marks the whole document rejected with one reason (kept as the first warning).
    void reject(std::string reason);
};

}  // namespace m1::ingest
