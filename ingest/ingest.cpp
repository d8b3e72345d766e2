// Entry points: one path (file, folder, archive) or bytes -> Document; many paths on a thread pool.
#include "ingest/ingest.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <thread>

#include "ingest/container.h"
#include "ingest/office.h"
#include "ingest/pdf_sandbox.h"
#include "ingest/text_formats.h"

namespace m1::ingest {

namespace fs = std::filesystem;

namespace {

std::string base_name(const std::string& path) {
    std::string p = path;
    while (p.size() > 1 && p.back() == '/') p.pop_back();
    auto s = p.find_last_of('/');
    return s == std::string::npos ? p : p.substr(s + 1);
}

std::string lower(std::string s) {
    std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
    return s;
}

bool read_file(const std::string& path, uint64_t limit, std::string& out) {
    std::ifstream f(path, std::ios::binary);
    if (!f) return false;
    out.assign(static_cast<size_t>(limit), '\0');
    f.read(out.data(), static_cast<std::streamsize>(limit));
    out.resize(static_cast<size_t>(f.gcount()));
    return true;
}

// A title from the text itself: the first Markdown heading or the HTML <title>.
std::string guess_title(DocKind kind, const std::string& raw, const std::string& text) {
    if (kind == DocKind::Html) {
        std::string low = lower(raw.substr(0, 65536));
        auto a = low.find("<title");
        auto b = a == std::string::npos ? a : low.find('>', a);
        auto c = b == std::string::npos ? b : low.find("</title", b);
        if (c != std::string::npos) return html_to_text(raw.substr(b + 1, c - b - 1)).substr(0, 200);
    }
    if (kind == DocKind::Markdown) {
        size_t p = 0;
        for (int i = 0; i < 40 && p < text.size(); ++i) {
            size_t e = text.find('\n', p);
            std::string line = text.substr(p, e == std::string::npos ? std::string::npos : e - p);
            if (line.rfind("# ", 0) == 0) return line.substr(2, 200);
            if (e == std::string::npos) break;
            p = e + 1;
        }
    }
    return {};
}

Document text_document(const std::string& name, const std::string& bytes, DocKind kind) {
    Document d;
    d.kind = kind;
    d.source_bytes = bytes.size();
    Section s;
    bool lossy = false;
    s.text = bytes_to_text(bytes, &d.encoding, &lossy);
    if (kind == DocKind::Html) s.text = html_to_text(s.text);
    if (lossy) d.warn("some bytes were not valid " + d.encoding + " and were replaced");
    d.title = guess_title(kind, bytes, s.text);
    if (d.title.empty()) d.title = base_name(name);
    d.sections.push_back(std::move(s));
    return d;
}

Document container_document(const std::string& path, DocKind kind, const std::string& bytes,
                            const IngestOptions& opt, const std::atomic<bool>* cancel) {
    Document d;
    d.kind = kind;
    d.title = base_name(path);
    ContainerBuilder b(d, opt, cancel);
    if (kind == DocKind::Folder) read_folder(b, path);
    else read_archive(b, bytes.empty() ? path : std::string(), bytes, "", 0);
    if (kind == DocKind::Archive) d.source_bytes = bytes.empty() ? fs::file_size(path) : bytes.size();
    b.finish();
    if (b.cancelled()) d.reject("cancelled");
    return d;
}

}  // namespace

DocKind detect_kind(const std::string& name, const std::string& head) {
    std::string ext = lower(name.substr(name.find_last_of('.') == std::string::npos ? name.size() : name.find_last_of('.')));
    if (is_pdf_magic(head) || (ext == ".pdf" && head.substr(0, 1024).find("%PDF-") != std::string::npos))
        return DocKind::Pdf;
    if (head.rfind("PK\x03\x04", 0) == 0 && (ext == ".docx" || ext == ".odt"))
        return ext == ".docx" ? DocKind::Docx : DocKind::Odt;
    if (is_archive_magic(head)) return DocKind::Archive;
    if (looks_binary(head)) return DocKind::Unknown;
    return text_kind_for_name(name);
}

Document ingest_bytes(const std::string& name, const std::string& bytes, const IngestOptions& opt) {
    Document d;
    DocKind kind = detect_kind(name, bytes.substr(0, 8192));
    switch (kind) {
        case DocKind::Pdf:
            d = parse_pdf(bytes, opt, nullptr);
            if (d.title.empty()) d.title = base_name(name);
            break;
        case DocKind::Archive: d = container_document(name, kind, bytes, opt, nullptr); break;
        case DocKind::Docx:
        case DocKind::Odt: d = office_document(bytes, kind, opt); break;
        case DocKind::Unknown:
            d.kind = kind;
            d.source_bytes = bytes.size();
            d.reject("binary file: not text, PDF, DOCX/ODT or an archive");
            break;
        default:
            if (bytes.size() > opt.max_file_bytes) {
                d.kind = kind;
                d.reject("text file larger than the limit of " + std::to_string(opt.max_file_bytes >> 20) + " MiB");
            } else {
                d = text_document(name, bytes, kind);
            }
    }
    if (d.title.empty()) d.title = base_name(name);
    d.path = name;
    return d;
}

Document ingest_path(const std::string& path, const IngestOptions& opt, const std::atomic<bool>* cancel) {
    Document d;
    d.path = path;
    d.title = base_name(path);
    std::error_code ec;
    auto st = fs::status(path, ec);
    if (ec || !fs::exists(st)) {
        d.reject("not found: " + path);
        return d;
    }
    try {
        if (fs::is_directory(st)) {
            d = container_document(path, DocKind::Folder, "", opt, cancel);
        } else if (!fs::is_regular_file(st)) {
            d.reject("not a regular file or folder");
        } else {
            std::string head;
            if (!read_file(path, 8192, head)) {
                d.reject("cannot be read (permissions?)");
                return d;
            }
            DocKind kind = detect_kind(path, head);
            if (kind == DocKind::Archive) {
                d = container_document(path, kind, "", opt, cancel);  // streamed from disk, not loaded
            } else {
                uint64_t size = fs::file_size(path, ec);
                uint64_t limit = kind == DocKind::Pdf ? opt.max_total_bytes : opt.max_file_bytes;
                if (size > limit) {
                    d.kind = kind;
                    d.reject("file larger than the limit of " + std::to_string(limit >> 20) + " MiB");
                    return d;
                }
                std::string bytes;
                read_file(path, size, bytes);
                d = kind == DocKind::Pdf ? parse_pdf(bytes, opt, cancel) : ingest_bytes(path, bytes, opt);
                if (d.title.empty()) d.title = base_name(path);
            }
        }
    } catch (const std::exception& e) {  // filesystem races, allocation failures: this document only
        d.reject(std::string("could not be read: ") + e.what());
    }
    d.path = path;
    return d;
}

std::vector<Document> ingest_paths(const std::vector<std::string>& paths, const IngestOptions& opt,
                                   IngestProgressFn progress, const std::atomic<bool>* cancel) {
    std::vector<Document> docs(paths.size());
    std::atomic<size_t> next{0};
    std::mutex progress_mutex;
    int done = 0;
    auto work = [&] {
        for (size_t i; (i = next.fetch_add(1)) < paths.size();) {
            if (progress) {
                std::lock_guard lock(progress_mutex);
                progress({done, static_cast<int>(paths.size()), paths[i]});
            }
            if (cancel && cancel->load()) {
                docs[i].path = paths[i];
                docs[i].reject("cancelled");
            } else {
                docs[i] = ingest_path(paths[i], opt, cancel);
            }
            std::lock_guard lock(progress_mutex);
            ++done;
            if (progress) progress({done, static_cast<int>(paths.size()), paths[i]});
        }
    };
    unsigned hw = std::max(1u, std::thread::hardware_concurrency());
    size_t n = std::min<size_t>(paths.size(), opt.threads > 0 ? static_cast<size_t>(opt.threads) : std::min(hw, 8u));
    std::vector<std::thread> pool;
    for (size_t t = 1; t < n; ++t) pool.emplace_back(work);
    work();
    for (auto& t : pool) t.join();
    return docs;
}

}  // namespace m1::ingest
