// `m1 search QUERY`: full-text search over every ingested page and file, no model needed. Prints ranked
// hits with their place (path:line or path, page N) and a snippet with the matches marked.
#include <unistd.h>

#include <iostream>
#include <nlohmann/json.hpp>

#include "m1/cli.h"
#include "storage/library.h"
#include "storage/paths.h"

namespace m1::cli {

// "book.pdf, page 12" for paged documents, "src/main.cpp:40" for files.
static std::string location(const storage::SearchHit& h) {
    if (h.kind == "pdf" || h.pageCount > 1) return h.sourcePath + ", page " + std::to_string(h.pageNo);
    return h.sourcePath + ":" + std::to_string(h.line);
}

static int run_search(const Args& args) {
    std::string query;
    for (const auto& p : args.positional()) query += (query.empty() ? "" : " ") + p;
    if (query.empty()) throw UsageError("search needs a QUERY");
    const int64_t limit = args.get_int("limit", 20);
    if (limit < 1 || limit > 1000) throw UsageError("--limit must be between 1 and 1000");
    storage::Database db(storage::resolveDatabasePath(args.get("db"), true));
    storage::Library lib(db);
    storage::SearchOptions o;
    o.limit = static_cast<int>(limit);
    const bool json = args.has("json");
    const bool tty = !json && isatty(STDOUT_FILENO);
    o.open = json ? "<b>" : tty ? "\033[1m" : "**";
    o.close = json ? "</b>" : tty ? "\033[0m" : "**";
    const auto hits = lib.search(query, o);
    if (json) {
        nlohmann::json out = {{"query", query}, {"hits", nlohmann::json::array()}};
        for (size_t i = 0; i < hits.size(); ++i) {
            const auto& h = hits[i];
            out["hits"].push_back({{"rank", i + 1}, {"document_id", h.documentId}, {"path", h.sourcePath},
                                   {"title", h.title}, {"kind", h.kind}, {"page", h.pageNo}, {"pages", h.pageCount},
                                   {"line", h.line}, {"location", location(h)}, {"score", h.score},
                                   {"snippet", h.snippet}});
        }
        std::cout << out.dump() << "\n";
        return 0;
    }
    if (hits.empty()) {
        std::cout << "no matches for \"" << query << "\"\n";
        return 0;
    }
    for (size_t i = 0; i < hits.size(); ++i) {
        std::string snippet = hits[i].snippet;
        for (char& c : snippet)
            if (c == '\n') c = ' ';
        std::cout << (i + 1) << ". " << location(hits[i]) << "\n   " << snippet << "\n";
    }
    return 0;
}

static Registrar reg({"search",
                      "full-text search of every ingested page and file (no model needed)",
                      "QUERY... [--db FILE] [--limit N] [--json]",
                      {{"db", true, "database file (default: the user's data directory)"},
                       {"limit", true, "at most N hits (default 20)"},
                       {"json", false, "print one JSON object with the hits"}},
                      -1,
                      run_search,
                      60});

}  // namespace m1::cli
