// Document <-> JSON: how the PDF worker hands its result to the parent process.
#include <nlohmann/json.hpp>
#include <stdexcept>

#include "ingest/pdf_extract.h"

namespace m1::ingest {

using nlohmann::json;

std::string document_to_json(const Document& d) {
    json j;
    j["kind"] = kind_name(d.kind);
    j["title"] = d.title, j["author"] = d.author, j["date"] = d.date;
    j["status"] = status_name(d.status);
    j["warnings"] = d.warnings;
    j["page_count"] = d.page_count;
    j["needs_password"] = d.needs_password;
    j["source_bytes"] = d.source_bytes;
    json secs = json::array();
    for (const auto& s : d.sections)
        secs.push_back({{"file", s.file}, {"page", s.page}, {"label", s.page_label}, {"text", s.text},
                        {"no_text", s.no_text}});
    j["sections"] = std::move(secs);
    json out = json::array();
    for (const auto& o : d.outline) out.push_back({{"title", o.title}, {"page", o.page}, {"level", o.level}});
    j["outline"] = std::move(out);
    // Invalid UTF-8 from a hostile file must not make the dump throw.
    return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

Document document_from_json(const std::string& text) {
    json j = json::parse(text);  // throws json::parse_error (a std::exception) on bad input
    Document d;
    d.kind = DocKind::Pdf;
    d.title = j.at("title").get<std::string>();
    d.author = j.at("author").get<std::string>();
    d.date = j.at("date").get<std::string>();
    std::string st = j.at("status").get<std::string>();
    d.status = st == "ok" ? DocStatus::Ok : st == "partial" ? DocStatus::Partial : DocStatus::Rejected;
    d.warnings = j.at("warnings").get<std::vector<std::string>>();
    d.page_count = j.at("page_count").get<int>();
    d.needs_password = j.at("needs_password").get<bool>();
    d.source_bytes = j.at("source_bytes").get<uint64_t>();
    for (const auto& s : j.at("sections"))
        d.sections.push_back({s.at("file").get<std::string>(), s.at("page").get<int>(),
                              s.at("label").get<std::string>(), s.at("text").get<std::string>(),
                              s.at("no_text").get<bool>()});
    for (const auto& o : j.at("outline"))
        d.outline.push_back({o.at("title").get<std::string>(), o.at("page").get<int>(), o.at("level").get<int>()});
    return d;
}

}  // namespace m1::ingest
