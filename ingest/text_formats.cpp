// Plain-text formats: magic bytes, binary sniffing, text cleanup and a small HTML-to-text converter.
#include "ingest/text_formats.h"

#include <QString>
#include <algorithm>
#include <cctype>
#include <map>
#include <set>

#include "ingest/text_decode.h"

namespace m1::ingest {

static bool starts(std::string_view s, std::string_view p) { return s.substr(0, p.size()) == p; }

bool is_pdf_magic(std::string_view head) {
    // At the very start only: source files that mention "%PDF-" must stay text. (Readers accept junk
    // before the header; detect_kind allows that for files named *.pdf.)
    return starts(head, "%PDF-");
}

bool is_archive_magic(std::string_view head) {
    using namespace std::string_view_literals;
    if (starts(head, "PK\x03\x04"sv) || starts(head, "PK\x05\x06"sv)) return true;  // zip (also empty zip)
    if (starts(head, "\x1f\x8b"sv) || starts(head, "BZh"sv)) return true;           // gzip, bzip2
    if (starts(head, "\xFD" "7zXZ\x00"sv) || starts(head, "\x28\xB5\x2F\xFD"sv)) return true;  // xz, zstd
    if (starts(head, "7z\xBC\xAF\x27\x1C"sv) || starts(head, "Rar!\x1a\x07"sv)) return true;  // 7z, rar
    if (head.size() >= 262 && head.substr(257, 5) == "ustar") return true;                   // tar
    return false;
}

bool looks_binary(std::string_view head) {
    head = head.substr(0, 8192);
    if (starts(head, "\xFF\xFE") || starts(head, "\xFE\xFF")) return false;  // UTF-16 with BOM
    size_t control = 0;
    for (unsigned char c : head) {
        if (c == 0) return true;
        if (c < 32 && c != '\n' && c != '\r' && c != '\t' && c != '\f' && c != 27) ++control;
    }
    return control * 20 > head.size();  // over 5% control bytes
}

static std::string lower_ext(const std::string& name) {
    auto slash = name.find_last_of('/');
    std::string base = slash == std::string::npos ? name : name.substr(slash + 1);
    auto dot = base.find_last_of('.');
    std::string ext = (dot == std::string::npos || dot == 0) ? "" : base.substr(dot + 1);
    std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return std::tolower(c); });
    return ext;
}

DocKind text_kind_for_name(const std::string& name) {
    static const std::set<std::string> code = {
        "c", "h", "cc", "cpp", "cxx", "hpp", "hh", "hxx", "cu", "cuh", "m", "mm", "java", "kt", "kts", "scala",
        "go", "rs", "py", "pyi", "rb", "pl", "pm", "php", "js", "mjs", "cjs", "jsx", "ts", "tsx", "swift", "cs",
        "fs", "vb", "lua", "r", "jl", "hs", "ml", "mli", "ex", "exs", "erl", "clj", "el", "lisp", "scm", "sh",
        "bash", "zsh", "fish", "ps1", "bat", "cmake", "mk", "make", "sql", "proto", "thrift", "graphql", "json",
        "jsonc", "yaml", "yml", "toml", "ini", "cfg", "conf", "xml", "xsl", "svg", "css", "scss", "less",
        "vue", "svelte", "dart", "zig", "nim", "v", "sv", "vhd", "vhdl", "asm", "s", "f", "f90", "tex", "gradle",
        "qml", "ui", "glsl", "hlsl", "metal", "wgsl", "dockerfile", "nix", "tf", "hcl"};
    static const std::set<std::string> code_names = {"Makefile", "CMakeLists.txt", "Dockerfile", "BUILD",
                                                      "WORKSPACE", "Rakefile", "Gemfile", "Jenkinsfile"};
    auto slash = name.find_last_of('/');
    std::string base = slash == std::string::npos ? name : name.substr(slash + 1);
    if (code_names.count(base)) return DocKind::Code;
    std::string ext = lower_ext(name);
    if (ext == "md" || ext == "markdown" || ext == "mdown" || ext == "rst") return DocKind::Markdown;
    if (ext == "csv" || ext == "tsv") return DocKind::Csv;
    if (ext == "html" || ext == "htm" || ext == "xhtml") return DocKind::Html;
    if (code.count(ext)) return DocKind::Code;
    return DocKind::Text;
}

std::string clean_text(std::string_view in) {
    std::string out;
    out.reserve(in.size());
    size_t line_start = 0;
    auto end_line = [&] {
        while (out.size() > line_start && (out.back() == ' ' || out.back() == '\t')) out.pop_back();
    };
    for (size_t i = 0; i < in.size(); ++i) {
        unsigned char c = static_cast<unsigned char>(in[i]);
        if (c == '\r' || c == '\n') {
            if (c == '\r' && i + 1 < in.size() && in[i + 1] == '\n') ++i;
            end_line();
            out.push_back('\n');
            line_start = out.size();
        } else if (c == '\t' || c >= 32) {
            if (c == 0x7F) continue;
            out.push_back(static_cast<char>(c));
        } else if (c == '\f') {
            out.push_back('\n');
            line_start = out.size();
        }
    }
    end_line();
    return out;
}

std::string bytes_to_text(const std::string& bytes, std::string* encoding, bool* lossy) {
    // Fast path for pure ASCII (most source code): already UTF-8 and NFC, no detour through QString.
    bool ascii = std::all_of(bytes.begin(), bytes.end(), [](char c) { return static_cast<unsigned char>(c) < 0x80; });
    if (ascii) {
        if (encoding) *encoding = "UTF-8";
        if (lossy) *lossy = false;
        return clean_text(bytes);
    }
    DecodedText d = decode_text(QByteArray::fromRawData(bytes.data(), static_cast<qsizetype>(bytes.size())));
    if (encoding) *encoding = d.encoding.toStdString();
    if (lossy) *lossy = d.lossy;
    return clean_text(d.text.toStdString());
}

std::string to_valid_utf8(std::string_view bytes) {
    QByteArray b(bytes.data(), static_cast<qsizetype>(bytes.size()));
    QString s = decode_text(b).text;
    std::string out;
    for (QChar ch : s) {  // control characters in names would break the tree and delimiters
        if (ch.unicode() < 32 || ch.unicode() == 0x7F) ch = QChar(u'_');
        out += QString(ch).toStdString();
    }
    return QString::fromStdString(out).normalized(QString::NormalizationForm_C).toStdString();
}

// --- HTML to text ---------------------------------------------------------------------------------

static std::string decode_entity(std::string_view name) {
    static const std::map<std::string_view, const char*> named = {
        {"amp", "&"}, {"lt", "<"}, {"gt", ">"}, {"quot", "\""}, {"apos", "'"}, {"nbsp", "\xC2\xA0"},
        {"copy", "\xC2\xA9"}, {"reg", "\xC2\xAE"}, {"mdash", "\xE2\x80\x94"}, {"ndash", "\xE2\x80\x93"},
        {"hellip", "\xE2\x80\xA6"}, {"laquo", "\xC2\xAB"}, {"raquo", "\xC2\xBB"}, {"eacute", "\xC3\xA9"},
        {"rsquo", "\xE2\x80\x99"}, {"lsquo", "\xE2\x80\x98"}, {"ldquo", "\xE2\x80\x9C"}, {"rdquo", "\xE2\x80\x9D"}};
    if (!name.empty() && name[0] == '#') {
        uint32_t cp = 0;
        bool hex = name.size() > 1 && (name[1] == 'x' || name[1] == 'X');
        for (char c : name.substr(hex ? 2 : 1)) {
            int v = std::isdigit(static_cast<unsigned char>(c)) ? c - '0'
                    : hex && std::isxdigit(static_cast<unsigned char>(c)) ? (std::tolower(c) - 'a' + 10) : -1;
            if (v < 0 || cp > 0x10FFFF) return {};
            cp = cp * (hex ? 16 : 10) + static_cast<uint32_t>(v);
        }
        if (cp == 0 || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return "\xEF\xBF\xBD";
        char32_t c32 = cp;
        return QString::fromUcs4(&c32, 1).toStdString();
    }
    auto it = named.find(name);
    return it == named.end() ? std::string{} : it->second;
}

static bool is_block_tag(std::string_view t) {
    static const std::set<std::string_view> blocks = {
        "p", "div", "br", "li", "ul", "ol", "tr", "table", "h1", "h2", "h3", "h4", "h5", "h6", "pre",
        "blockquote", "section", "article", "header", "footer", "nav", "hr", "dt", "dd", "title", "figcaption"};
    return blocks.count(t) > 0;
}

std::string html_to_text(std::string_view h) {
    std::string out;
    size_t i = 0;
    int pre = 0;
    auto newline = [&] {
        while (!out.empty() && out.back() == ' ') out.pop_back();
        if (out.empty() || out.back() != '\n') out.push_back('\n');
    };
    while (i < h.size()) {
        char c = h[i];
        if (c == '<') {
            if (h.substr(i, 4) == "<!--") {  // comment
                size_t e = h.find("-->", i + 4);
                i = e == std::string_view::npos ? h.size() : e + 3;
                continue;
            }
            size_t e = h.find('>', i);
            if (e == std::string_view::npos) break;
            std::string_view tag = h.substr(i + 1, e - i - 1);
            bool closing = !tag.empty() && tag[0] == '/';
            if (closing) tag.remove_prefix(1);
            size_t n = 0;
            while (n < tag.size() && std::isalnum(static_cast<unsigned char>(tag[n]))) ++n;
            std::string name(tag.substr(0, n));
            std::transform(name.begin(), name.end(), name.begin(), [](unsigned char x) { return std::tolower(x); });
            i = e + 1;
            if (!closing && (name == "script" || name == "style")) {
                std::string close = "</" + name;
                size_t j = i;
                while (j < h.size()) {  // case-insensitive search for the closing tag
                    j = h.find("</", j);
                    if (j == std::string_view::npos) break;
                    std::string cand(h.substr(j, close.size()));
                    std::transform(cand.begin(), cand.end(), cand.begin(), [](unsigned char x) { return std::tolower(x); });
                    if (cand == close) break;
                    j += 2;
                }
                if (j == std::string_view::npos) { i = h.size(); continue; }
                size_t k = h.find('>', j);
                i = k == std::string_view::npos ? h.size() : k + 1;
                continue;
            }
            if (name == "pre") pre += closing ? -1 : 1;
            if (pre < 0) pre = 0;
            if (is_block_tag(name)) newline();
            if (name == "td" || name == "th") out.push_back('\t');
            continue;
        }
        if (c == '&') {
            size_t e = h.find(';', i);
            if (e != std::string_view::npos && e - i <= 10) {
                std::string rep = decode_entity(h.substr(i + 1, e - i - 1));
                if (!rep.empty()) {
                    out += rep;
                    i = e + 1;
                    continue;
                }
            }
        }
        if (!pre && (c == ' ' || c == '\n' || c == '\r' || c == '\t')) {  // collapse whitespace
            if (!out.empty() && out.back() != ' ' && out.back() != '\n') out.push_back(' ');
        } else {
            out.push_back(c);
        }
        ++i;
    }
    std::string cleaned = clean_text(out);
    // Collapse runs of blank lines to one.
    std::string res;
    int blank = 0;
    size_t p = 0;
    while (p <= cleaned.size()) {
        size_t e = cleaned.find('\n', p);
        if (e == std::string::npos) e = cleaned.size();
        std::string_view line(cleaned.data() + p, e - p);
        size_t s = line.find_first_not_of(" \t");
        line = s == std::string_view::npos ? std::string_view{} : line.substr(s);
        if (line.empty()) {
            if (++blank == 1 && !res.empty()) res += "\n";
        } else {
            blank = 0;
            res += line;
            res += "\n";
        }
        p = e + 1;
    }
    while (!res.empty() && res.back() == '\n') res.pop_back();
    return res;
}

}  // namespace m1::ingest
