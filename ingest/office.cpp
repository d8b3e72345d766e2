// DOCX (word/document.xml) and ODT (content.xml) text, read with libarchive from memory.
#include "ingest/office.h"

#include <archive.h>
#include <archive_entry.h>

#include <memory>

#include "ingest/text_formats.h"

namespace m1::ingest {

std::string office_xml_to_text(const std::string& xml) {
    std::string out;
    size_t i = 0;
    while (i < xml.size()) {
        if (xml[i] != '<') {
            size_t e = xml.find('<', i);
            if (e == std::string::npos) e = xml.size();
            out.append(xml, i, e - i);
            i = e;
            continue;
        }
        size_t e = xml.find('>', i);
        if (e == std::string::npos) break;
        std::string tag = xml.substr(i + 1, e - i - 1);
        i = e + 1;
        bool closing = !tag.empty() && tag[0] == '/';
        size_t start = closing ? 1 : 0, end = tag.find_first_of(" /\t\n", start);
        std::string name = tag.substr(start, end == std::string::npos ? std::string::npos : end - start);
        std::string local = name.substr(name.find(':') == std::string::npos ? 0 : name.find(':') + 1);
        if (closing && (local == "p" || local == "h")) out += '\n';
        else if (!closing && local == "tab") out += '\t';
        else if (!closing && (local == "br" || local == "line-break" || local == "cr")) out += '\n';
        else if (!closing && name == "text:s") out += ' ';
        else if (!closing && (local == "instrText" || local == "delText")) {  // field codes, deletions
            size_t c = xml.find("</" + name, i);
            i = c == std::string::npos ? xml.size() : c;
        }
    }
    // Entities: the XML ones (the HTML converter knows them) without collapsing the line structure.
    std::string decoded;
    for (size_t p = 0; p < out.size(); ++p) {
        if (out[p] == '&') {
            size_t semi = out.find(';', p);
            if (semi != std::string::npos && semi - p <= 10) {
                std::string ent = out.substr(p, semi - p + 1);
                std::string rep = html_to_text("x" + ent + "x");  // "x&amp;x" -> "x&x"
                if (rep.size() >= 2) {
                    decoded += rep.substr(1, rep.size() - 2);
                    p = semi;
                    continue;
                }
            }
        }
        decoded += out[p];
    }
    return clean_text(decoded);
}

Document office_document(const std::string& bytes, DocKind kind, const IngestOptions& opt) {
    Document d;
    d.kind = kind;
    d.source_bytes = bytes.size();
    const std::string part = kind == DocKind::Docx ? "word/document.xml" : "content.xml";
    std::unique_ptr<archive, int (*)(archive*)> a(archive_read_new(), archive_read_free);
    archive_read_support_format_zip(a.get());
    if (archive_read_open_memory(a.get(), bytes.data(), bytes.size()) != ARCHIVE_OK) {
        d.reject("damaged document (not a readable zip)");
        return d;
    }
    archive_entry* e;
    std::string xml;
    bool found = false;
    for (int n = 0; n < 10000 && archive_read_next_header(a.get(), &e) >= ARCHIVE_WARN; ++n) {
        const char* name = archive_entry_pathname(e);
        if (!name || part != name) continue;
        found = true;
        char buf[1 << 16];
        la_ssize_t r;
        while ((r = archive_read_data(a.get(), buf, sizeof buf)) > 0) {
            xml.append(buf, static_cast<size_t>(r));
            if (xml.size() > opt.max_file_bytes) {
                d.reject("document text larger than the limit of " + std::to_string(opt.max_file_bytes >> 20) + " MiB");
                return d;
            }
        }
        break;
    }
    if (!found) {
        d.reject("damaged document: " + part + " is missing");
        return d;
    }
    d.sections.push_back({"", 0, "", office_xml_to_text(xml), false});
    return d;
}

}  // namespace m1::ingest
