// The library: ingested documents with their text by page, corpora (ordered documents packed into one
// prompt) and full-text search over every page with SQLite FTS5 (works with no model at all).
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "storage/database.h"

namespace m1::storage {

struct DocumentRecord {
    int64_t id = 0;
    std::string contentHash;   // of the source bytes (ingest computes it)
    std::string sourcePath;    // file path, or "archive.zip/inner/path"
    std::string kind;          // "pdf", "text", "code", ... as ingest names it
    std::string title;
    std::string metadataJson = "{}";
    std::string warningsJson = "[]";
    int64_t added = 0;         // Unix ms
};

struct PageText {
    int64_t pageNo = 1;     // 1-based; a plain file is one page
    int64_t firstLine = 1;  // line number of the page's first line within the file
    std::string text;
};

struct CorpusRecord {
    int64_t id = 0;
    std::string title;
    std::string packSettingsJson = "{}";
    std::string packedHash;  // tokenPrefixHash of the packed corpus tokens
    int64_t tokenCount = 0;
    int64_t created = 0;
};

struct SearchOptions {
    int limit = 20;
    std::string open = "<b>", close = "</b>", ellipsis = "…";  // marks around matches in the snippet
    int snippetTokens = 16;
};

struct SearchHit {
    int64_t documentId = 0;
    std::string sourcePath, title, kind;
    int64_t pageNo = 1, pageCount = 1;
    int64_t line = 1;    // line of the first match within the file
    double score = 0;    // BM25; higher is better
    std::string snippet;
};

class Library {
public:
    explicit Library(Database& db) : m_db(db) {}

    // Stores a document and its pages in one transaction; the same (content hash, path) again returns the
    // stored id without a second copy.
    int64_t addDocument(const DocumentRecord& doc, const std::vector<PageText>& pages);
    std::optional<DocumentRecord> document(int64_t id) const;
    std::vector<DocumentRecord> documents() const;  // newest first
    std::vector<PageText> pages(int64_t documentId) const;
    void removeDocument(int64_t id);  // refused while a corpus uses it

    // Stores a corpus; the same packed hash again returns the stored id.
    int64_t addCorpus(const CorpusRecord& corpus, const std::vector<int64_t>& documentIds);
    std::optional<CorpusRecord> corpus(int64_t id) const;
    std::vector<int64_t> corpusDocuments(int64_t corpusId) const;

    // Ranked hits for a query. Plain words match all of them; FTS5 syntax (OR, NEAR, "a phrase", pre*)
    // works too, and a query that is not valid FTS5 syntax is searched as plain words.
    std::vector<SearchHit> search(const std::string& query, const SearchOptions& options = {}) const;

private:
    std::vector<SearchHit> runSearch(const std::string& ftsQuery, const SearchOptions& options) const;
    Database& m_db;
};

}  // namespace m1::storage
