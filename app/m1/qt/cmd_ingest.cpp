// `m1 ingest PATH... [--json]`: reads files, folders and archives and prints one record per document
// (path, kind, pages, files, chars, tokens, status, warnings, title). Exit 1 only when every input was rejected.
#include <unistd.h>

#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>

#include "ingest_args.h"

namespace m1::cli {

std::vector<Flag> ingest_flags() {
    return {{"password", true, "password for encrypted PDFs"},
            {"pdf-timeout", true, "seconds one PDF may take (default 120)"},
            {"keep-headers", false, "keep running headers/footers of PDFs"},
            {"no-gitignore", false, "read ignored files of folders too"},
            {"max-file-mb", true, "largest file taken from a folder or archive (default 64)"},
            {"model", true, "model folder whose tokenizer counts tokens"},
            {"tokenizer", true, "tokenizer.json or its folder (overrides --model)"}};
}

ingest::IngestOptions ingest_options_from(const Args& args) {
    ingest::IngestOptions o;
    o.pdf_password = args.get("password");
    o.pdf_timeout_ms = static_cast<int>(args.get_int("pdf-timeout", 120) * 1000);
    o.drop_running_headers = !args.has("keep-headers");
    o.respect_gitignore = !args.has("no-gitignore");
    o.max_file_bytes = static_cast<uint64_t>(args.get_int("max-file-mb", 64)) << 20;
    if (o.pdf_timeout_ms <= 0) throw UsageError("--pdf-timeout must be positive");
    return o;
}

std::unique_ptr<Tokenizer> tokenizer_from(const Args& args) {
    std::string src = args.has("tokenizer") ? args.get("tokenizer") : args.get("model");
    if (src.empty()) return nullptr;
    return Tokenizer::load(src);  // TokenizerError names the file: reported by the dispatcher
}

static int64_t count_tokens(const ingest::Document& d, const Tokenizer* tok) {
    int64_t n = 0;
    for (const auto& s : d.sections) n += tok ? static_cast<int64_t>(tok->count(s.text)) : static_cast<int64_t>((s.text.size() + 3) / 4);
    return n;
}

static int run_ingest(const Args& args) {
    if (args.positional().empty()) throw UsageError("give at least one PATH");
    auto opts = ingest_options_from(args);
    auto tok = tokenizer_from(args);
    const bool json = args.has("json");
    const bool live = isatty(2) && !json;  // a progress line only on a terminal
    auto docs = ingest::ingest_paths(args.positional(), opts, [&](const ingest::IngestProgress& p) {
        if (live && p.done < p.total) std::fprintf(stderr, "\r[%d/%d] %s\033[K", p.done + 1, p.total, p.current.c_str());
    });
    if (live) std::fprintf(stderr, "\r\033[K");
    int rejected = 0;
    nlohmann::json out = nlohmann::json::array();
    for (const auto& d : docs) {
        rejected += d.status == ingest::DocStatus::Rejected;
        int64_t tokens = count_tokens(d, tok.get());
        int pages = d.kind == ingest::DocKind::Pdf ? d.page_count : 0;
        if (json) {
            out.push_back({{"path", d.path}, {"kind", ingest::kind_name(d.kind)}, {"pages", pages}, {"files", d.files()},
                           {"chars", d.chars()}, {"tokens", tokens}, {"tokens_exact", tok != nullptr},
                           {"status", ingest::status_name(d.status)}, {"warnings", d.warnings}, {"title", d.title},
                           {"author", d.author}, {"date", d.date}, {"bytes", d.source_bytes},
                           {"needs_password", d.needs_password}});
            continue;
        }
        std::cout << ingest::status_name(d.status) << "  " << ingest::kind_name(d.kind) << "  " << d.path << "\n"
                  << "    title: " << d.title << "\n    ";
        if (pages) std::cout << pages << " pages, ";
        if (d.files()) std::cout << d.files() << " files, ";
        std::cout << d.chars() << " chars, " << tokens << (tok ? " tokens" : " tokens (estimate: no --model)") << "\n";
        for (const auto& w : d.warnings) std::cout << "    ! " << w << "\n";
    }
    if (json) std::cout << out.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
    return rejected == static_cast<int>(docs.size()) ? 1 : 0;
}

static Command make_command() {
    auto flags = ingest_flags();
    flags.push_back({"json", false, "one JSON record per document"});
    return {"ingest", "read files, folders, archives and PDFs; print what each yields",
            "PATH... [--json] [--password P] [--model DIR | --tokenizer F]", flags, -1, run_ingest, 40};
}
static Registrar reg(make_command());

}  // namespace m1::cli
