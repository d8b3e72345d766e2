// Test fixtures for ingest, built at test time (nothing binary is committed): PDFs drawn with QPdfWriter
// or written by hand (labels, outline, metadata), encrypted copies via qpdf, archives via libarchive's
// writer (traversal names, links, bombs streamed, deep nesting, non-UTF-8 names) and a small codebase.
#pragma once
#include <archive.h>
#include <archive_entry.h>

#include <QFont>
#include <QGuiApplication>
#include <QImage>
#include <QPainter>
#include <QPdfWriter>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

namespace m1::fixtures {

inline void ensure_gui_app() {
    if (QCoreApplication::instance()) return;
    static int argc = 1;
    static char name[] = "ingest-tests";
    static char* argv[] = {name, nullptr};
    qputenv("QT_QPA_PLATFORM", "offscreen");
    static QGuiApplication app(argc, argv);
}

inline void write_file(const std::string& path, const std::string& bytes) {
    std::filesystem::create_directories(std::filesystem::path(path).parent_path());
    std::ofstream f(path, std::ios::binary);
    f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

inline std::string read_file(const std::string& path) {
    std::ifstream f(path, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(f), {});
}

struct PdfPage {
    std::vector<std::string> left;   // lines of the (left) column
    std::vector<std::string> right;  // lines of the right column (two-column page when not empty)
    bool image_only = false;         // a picture and no text layer
};

// Pages on A4 at 72 dpi (painter units are points). With `running`, every page gets the same header
// line and a page number footer.
inline void write_pdf_qt(const std::string& path, const std::vector<PdfPage>& pages, const std::string& title,
                         bool running = true) {
    ensure_gui_app();
    QPdfWriter w(QString::fromStdString(path));
    w.setResolution(72);
    w.setPageSize(QPageSize(QPageSize::A4));
    w.setPageMargins(QMarginsF(0, 0, 0, 0));
    w.setTitle(QString::fromStdString(title));
    QPainter p(&w);
    QFont f("DejaVu Sans");
    f.setPixelSize(10);
    p.setFont(f);
    for (size_t i = 0; i < pages.size(); ++i) {
        if (i) w.newPage();
        const PdfPage& pg = pages[i];
        if (pg.image_only) {
            QImage img(200, 100, QImage::Format_RGB32);
            img.fill(Qt::gray);
            p.drawImage(QRectF(100, 200, 300, 150), img);
            continue;
        }
        if (running) {
            p.drawText(QPointF(60, 30), "The Journal of Reproducible Fixtures");
            p.drawText(QPointF(290, 820), QString::number(i + 1));
        }
        double col_x[2] = {60, 320};
        const std::vector<std::string>* cols[2] = {&pg.left, &pg.right};
        for (int c = 0; c < 2; ++c)
            for (size_t l = 0; l < cols[c]->size(); ++l)
                p.drawText(QPointF(col_x[c], 100 + 14.0 * static_cast<double>(l)),
                           QString::fromStdString((*cols[c])[l]));
    }
    p.end();
}

// A PDF written by hand (Helvetica, one text line per entry): page labels roman for the first
// `roman_pages` pages, an outline with one entry per page, Title/Author/CreationDate.
inline std::string manual_pdf(const std::vector<std::string>& page_texts, int roman_pages) {
    std::vector<std::string> objs;  // object i+1
    const int n = static_cast<int>(page_texts.size());
    // 1 catalog, 2 pages, 3 font, 4 info, 5 outlines root, then per page: page, content, outline item
    auto page_obj = [&](int i) { return 6 + 3 * i; };
    std::string kids;
    for (int i = 0; i < n; ++i) kids += std::to_string(page_obj(i)) + " 0 R ";
    std::string labels = "/PageLabels << /Nums [ 0 << /S /r >> " + std::to_string(roman_pages) + " << /S /D >> ] >>";
    objs.push_back("<< /Type /Catalog /Pages 2 0 R /Outlines 5 0 R " + labels + " >>");
    objs.push_back("<< /Type /Pages /Kids [ " + kids + "] /Count " + std::to_string(n) + " >>");
    objs.push_back("<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>");
    objs.push_back("<< /Title (Handmade Fixture) /Author (Ada Tester) /CreationDate (D:20240102030405Z) >>");
    objs.push_back("<< /Type /Outlines /First " + std::to_string(page_obj(0) + 2) + " 0 R /Last " +
                   std::to_string(page_obj(n - 1) + 2) + " 0 R /Count " + std::to_string(n) + " >>");
    for (int i = 0; i < n; ++i) {
        std::string content = "BT /F1 12 Tf 72 720 Td (" + page_texts[static_cast<size_t>(i)] + ") Tj ET";
        objs.push_back("<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 3 0 R >> >> "
                       "/Contents " + std::to_string(page_obj(i) + 1) + " 0 R >>");
        objs.push_back("<< /Length " + std::to_string(content.size()) + " >>\nstream\n" + content + "\nendstream");
        std::string item = "<< /Title (Chapter " + std::to_string(i + 1) + ") /Parent 5 0 R /Dest [" +
                           std::to_string(page_obj(i)) + " 0 R /Fit]";
        if (i > 0) item += " /Prev " + std::to_string(page_obj(i - 1) + 2) + " 0 R";
        if (i + 1 < n) item += " /Next " + std::to_string(page_obj(i + 1) + 2) + " 0 R";
        objs.push_back(item + " >>");
    }
    std::string out = "%PDF-1.4\n";
    std::vector<size_t> offsets;
    for (size_t i = 0; i < objs.size(); ++i) {
        offsets.push_back(out.size());
        out += std::to_string(i + 1) + " 0 obj\n" + objs[i] + "\nendobj\n";
    }
    size_t xref = out.size();
    out += "xref\n0 " + std::to_string(objs.size() + 1) + "\n0000000000 65535 f \n";
    for (size_t off : offsets) {
        char line[32];
        std::snprintf(line, sizeof line, "%010zu 00000 n \n", off);
        out += line;
    }
    out += "trailer\n<< /Size " + std::to_string(objs.size() + 1) + " /Root 1 0 R /Info 4 0 R >>\nstartxref\n" +
           std::to_string(xref) + "\n%%EOF\n";
    return out;
}

inline bool qpdf_encrypt(const std::string& in, const std::string& out, const std::string& user_pw) {
    std::string cmd = "qpdf --encrypt " + user_pw + " owner-" + user_pw + " 256 -- '" + in + "' '" + out + "' 2>/dev/null";
    return std::system(cmd.c_str()) == 0;
}

// --- archives ---

struct Entry {
    enum Type { File, Symlink, Hardlink, Dir } type = File;
    std::string name, data, link;
};

struct ArchiveWriter {
    archive* a = archive_write_new();
    std::string* out;
    explicit ArchiveWriter(std::string* o, const std::string& format, const std::string& filter) : out(o) {
        if (format == "zip") archive_write_set_format_zip(a);
        else if (format == "7z") archive_write_set_format_7zip(a);
        else archive_write_set_format_pax_restricted(a);
        if (filter == "gzip") archive_write_add_filter_gzip(a);
        else if (filter == "bzip2") archive_write_add_filter_bzip2(a);
        else if (filter == "xz") archive_write_add_filter_xz(a);
        else if (filter == "zstd") archive_write_add_filter_zstd(a);
        archive_write_set_bytes_in_last_block(a, 1);
        archive_write_open(a, this, nullptr, &ArchiveWriter::write_cb, nullptr);
    }
    static la_ssize_t write_cb(archive*, void* self, const void* buf, size_t n) {
        static_cast<ArchiveWriter*>(self)->out->append(static_cast<const char*>(buf), n);
        return static_cast<la_ssize_t>(n);
    }
    void add(const Entry& e) {
        archive_entry* en = archive_entry_new();
        archive_entry_copy_pathname(en, e.name.c_str());
        archive_entry_set_perm(en, 0644);
        if (e.type == Entry::Symlink) {
            archive_entry_set_filetype(en, AE_IFLNK);
            archive_entry_copy_symlink(en, e.link.c_str());
        } else if (e.type == Entry::Hardlink) {
            archive_entry_set_filetype(en, AE_IFREG);
            archive_entry_copy_hardlink(en, e.link.c_str());
        } else if (e.type == Entry::Dir) {
            archive_entry_set_filetype(en, AE_IFDIR);
        } else {
            archive_entry_set_filetype(en, AE_IFREG);
            archive_entry_set_size(en, static_cast<la_int64_t>(e.data.size()));
        }
        archive_write_header(a, en);
        if (e.type == Entry::File && !e.data.empty()) archive_write_data(a, e.data.data(), e.data.size());
        archive_entry_free(en);
    }
    // One entry of `bytes` zeros written in 1 MiB pieces (never held in memory at once).
    void add_zeros(const std::string& name, uint64_t bytes) {
        archive_entry* en = archive_entry_new();
        archive_entry_copy_pathname(en, name.c_str());
        archive_entry_set_filetype(en, AE_IFREG);
        archive_entry_set_perm(en, 0644);
        archive_entry_set_size(en, static_cast<la_int64_t>(bytes));
        archive_write_header(a, en);
        std::string zeros(1 << 20, '\0');
        for (uint64_t done = 0; done < bytes; done += zeros.size()) archive_write_data(a, zeros.data(), zeros.size());
        archive_entry_free(en);
    }
    ~ArchiveWriter() {
        archive_write_close(a);
        archive_write_free(a);
    }
};

inline std::string make_archive(const std::vector<Entry>& entries, const std::string& format = "zip",
                                const std::string& filter = "none") {
    std::string out;
    {
        ArchiveWriter w(&out, format, filter);
        for (const auto& e : entries) w.add(e);
    }
    return out;
}

// A zip whose one entry expands to `bytes` zeros (1 GiB -> about 1 MB on disk).
inline std::string zip_bomb(uint64_t bytes) {
    std::string out;
    {
        ArchiveWriter w(&out, "zip", "none");
        w.add({Entry::File, "readme.txt", "not a bomb, just the first entry\n", ""});
        w.add_zeros("zeros.bin", bytes);
    }
    return out;
}

// Zips nested `depth` deep; the innermost holds inner.txt with `text`.
inline std::string nested_zip(int depth, const std::string& text) {
    std::string cur = make_archive({{Entry::File, "inner.txt", text, ""}});
    for (int d = 1; d < depth; ++d) cur = make_archive({{Entry::File, "level" + std::to_string(d) + ".zip", cur, ""}});
    return cur;
}

// A small codebase: .gitignore rules (root and nested), ignored folders, a binary, a symlink out.
inline void make_codebase(const std::string& root) {
    namespace fs = std::filesystem;
    write_file(root + "/.gitignore", "*.log\nsecret/\n!keep.log\n/generated.txt\n");
    write_file(root + "/README.md", "# Demo Codebase\n\nA tiny project.\n");
    write_file(root + "/src/main.cpp", "int main() {\n    return 0;\n}\n");
    write_file(root + "/src/util.h", "#pragma once\nint util();\n");
    write_file(root + "/src/.gitignore", "*.tmp\n");
    write_file(root + "/src/scratch.tmp", "temporary\n");
    write_file(root + "/debug.log", "noise\n");
    write_file(root + "/keep.log", "kept log line\n");
    write_file(root + "/generated.txt", "generated\n");
    write_file(root + "/docs/generated.txt", "not anchored: kept\n");
    write_file(root + "/secret/key.txt", "hunter2\n");
    write_file(root + "/node_modules/pkg/index.js", "module.exports = 1;\n");
    write_file(root + "/package-lock.json", "{}\n");
    write_file(root + "/logo.png", std::string("\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01", 20));
    std::error_code ec;
    fs::create_symlink("/etc/hostname", root + "/outside_link", ec);
}

}  // namespace m1::fixtures
