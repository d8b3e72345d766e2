// Documents, pages, corpora and FTS5 search (see library.h).
#include "storage/library.h"

#include <algorithm>

namespace m1::storage {

static const char* kSqlFindDocument = "SELECT id FROM documents WHERE content_hash=?1 AND source_path=?2";
static const char* kSqlInsertDocument =
    "INSERT INTO documents(content_hash, source_path, kind, title, metadata, warnings, added) "
    "VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7)";
static const char* kSqlInsertPage =
    "INSERT INTO document_pages(document_id, page_no, first_line, text) VALUES(?1, ?2, ?3, ?4)";
#define M1_DOCUMENT_COLUMNS "id, content_hash, source_path, kind, title, metadata, warnings, added"
static const char* kSqlDocument = "SELECT " M1_DOCUMENT_COLUMNS " FROM documents WHERE id=?1";
static const char* kSqlDocuments = "SELECT " M1_DOCUMENT_COLUMNS " FROM documents ORDER BY added DESC, id DESC";
#undef M1_DOCUMENT_COLUMNS
static const char* kSqlPages =
    "SELECT page_no, first_line, text FROM document_pages WHERE document_id=?1 ORDER BY page_no";
static const char* kSqlDocumentInCorpus = "SELECT 1 FROM corpus_documents WHERE document_id=?1 LIMIT 1";
static const char* kSqlRemoveDocument = "DELETE FROM documents WHERE id=?1";
static const char* kSqlFindCorpus = "SELECT id FROM corpora WHERE packed_hash=?1";
static const char* kSqlInsertCorpus =
    "INSERT INTO corpora(title, pack_settings, packed_hash, token_count, created) VALUES(?1, ?2, ?3, ?4, ?5)";
static const char* kSqlInsertCorpusDocument =
    "INSERT INTO corpus_documents(corpus_id, position, document_id) VALUES(?1, ?2, ?3)";
static const char* kSqlCorpus =
    "SELECT id, title, pack_settings, packed_hash, token_count, created FROM corpora WHERE id=?1";
static const char* kSqlCorpusDocuments =
    "SELECT document_id FROM corpus_documents WHERE corpus_id=?1 ORDER BY position";
// highlight() with control characters locates the first match, from which the line number follows.
static const char* kSqlSearch =
    "SELECT d.id, d.source_path, d.title, d.kind, p.page_no, p.first_line, -bm25(pages_fts), "
    "snippet(pages_fts, 0, ?3, ?4, ?5, ?6), highlight(pages_fts, 0, char(1), char(2)), "
    "(SELECT COUNT(*) FROM document_pages q WHERE q.document_id=d.id) "
    "FROM pages_fts JOIN document_pages p ON p.id=pages_fts.rowid JOIN documents d ON d.id=p.document_id "
    "WHERE pages_fts MATCH ?1 ORDER BY bm25(pages_fts) LIMIT ?2";

static DocumentRecord read_document(const Statement& st) {
    DocumentRecord d;
    d.id = st.int64(0);
    d.contentHash = st.text(1);
    d.sourcePath = st.text(2);
    d.kind = st.text(3);
    d.title = st.text(4);
    d.metadataJson = st.text(5);
    d.warningsJson = st.text(6);
    d.added = st.int64(7);
    return d;
}

int64_t Library::addDocument(const DocumentRecord& doc, const std::vector<PageText>& pages) {
    Transaction tx(m_db);
    {
        Statement find(m_db, kSqlFindDocument);
        find.bind(1, doc.contentHash).bind(2, doc.sourcePath);
        if (find.step()) return find.int64(0);
    }
    Statement ins(m_db, kSqlInsertDocument);
    ins.bind(1, doc.contentHash).bind(2, doc.sourcePath).bind(3, doc.kind).bind(4, doc.title);
    ins.bind(5, doc.metadataJson).bind(6, doc.warningsJson).bind(7, doc.added ? doc.added : nowMs()).run();
    const int64_t id = sqlite3_last_insert_rowid(m_db.handle());
    Statement page(m_db, kSqlInsertPage);
    for (const PageText& p : pages) {
        page.reset();
        page.bind(1, id).bind(2, p.pageNo).bind(3, p.firstLine).bind(4, p.text).run();
    }
    tx.commit();
    return id;
}

std::optional<DocumentRecord> Library::document(int64_t id) const {
    return Statement(m_db, kSqlDocument).bind(1, id).one(read_document);
}

std::vector<DocumentRecord> Library::documents() const {
    return Statement(m_db, kSqlDocuments).all(read_document);
}

std::vector<PageText> Library::pages(int64_t documentId) const {
    return Statement(m_db, kSqlPages).bind(1, documentId).all([](const Statement& st) {
        return PageText{st.int64(0), st.int64(1), st.text(2)};
    });
}

void Library::removeDocument(int64_t id) {
    Transaction tx(m_db);
    {
        Statement used(m_db, kSqlDocumentInCorpus);
        used.bind(1, id);
        if (used.step()) throw StorageError("document " + std::to_string(id) + " is part of a corpus; remove the corpus first");
    }
    Statement(m_db, kSqlRemoveDocument).bind(1, id).run();
    tx.commit();
}

int64_t Library::addCorpus(const CorpusRecord& c, const std::vector<int64_t>& documentIds) {
    Transaction tx(m_db);
    {
        Statement find(m_db, kSqlFindCorpus);
        find.bind(1, c.packedHash);
        if (find.step()) return find.int64(0);
    }
    Statement ins(m_db, kSqlInsertCorpus);
    ins.bind(1, c.title).bind(2, c.packSettingsJson).bind(3, c.packedHash).bind(4, c.tokenCount);
    ins.bind(5, c.created ? c.created : nowMs()).run();
    const int64_t id = sqlite3_last_insert_rowid(m_db.handle());
    Statement link(m_db, kSqlInsertCorpusDocument);
    for (size_t i = 0; i < documentIds.size(); ++i) {
        link.reset();
        link.bind(1, id).bind(2, static_cast<int64_t>(i)).bind(3, documentIds[i]).run();
    }
    tx.commit();
    return id;
}

std::optional<CorpusRecord> Library::corpus(int64_t id) const {
    return Statement(m_db, kSqlCorpus).bind(1, id).one([](const Statement& st) {
        return CorpusRecord{st.int64(0), st.text(1), st.text(2), st.text(3), st.int64(4), st.int64(5)};
    });
}

std::vector<int64_t> Library::corpusDocuments(int64_t corpusId) const {
    return Statement(m_db, kSqlCorpusDocuments).bind(1, corpusId).all([](const Statement& st) { return st.int64(0); });
}

// Every whitespace-separated word as a quoted FTS5 string: no operator can be misread.
static std::string as_plain_words(const std::string& q) {
    std::string out, word;
    auto flush = [&] {
        if (word.empty()) return;
        std::string quoted = "\"";
        for (char c : word) quoted += c == '"' ? std::string("\"\"") : std::string(1, c);
        out += (out.empty() ? "" : " ") + quoted + "\"";
        word.clear();
    };
    for (char c : q) {
        if (c == ' ' || c == '\t' || c == '\n' || c == '\r') flush();
        else word += c;
    }
    flush();
    return out;
}

std::vector<SearchHit> Library::search(const std::string& query, const SearchOptions& options) const {
    const std::string plain = as_plain_words(query);
    if (plain.empty()) return {};
    try {
        return runSearch(query, options);
    } catch (const StorageError&) {
        // Not valid FTS5 syntax ("don't", "a-b", a stray quote): search the words themselves.
        return runSearch(plain, options);
    }
}

std::vector<SearchHit> Library::runSearch(const std::string& fts, const SearchOptions& o) const {
    std::vector<SearchHit> out;
    Statement st(m_db, kSqlSearch);
    st.bind(1, fts).bind(2, static_cast<int64_t>(o.limit)).bind(3, o.open).bind(4, o.close).bind(5, o.ellipsis);
    st.bind(6, static_cast<int64_t>(std::clamp(o.snippetTokens, 1, 64)));
    while (st.step()) {
        SearchHit h;
        h.documentId = st.int64(0);
        h.sourcePath = st.text(1);
        h.title = st.text(2);
        h.kind = st.text(3);
        h.pageNo = st.int64(4);
        h.score = st.real(6);
        h.snippet = st.text(7);
        const std::string marked = st.text(8);
        const size_t first = marked.find('\x01');
        h.line = st.int64(5) + (first == std::string::npos
                                    ? 0
                                    : std::count(marked.begin(), marked.begin() + static_cast<long>(first), '\n'));
        h.pageCount = st.int64(9);
        out.push_back(std::move(h));
    }
    return out;
}

}  // namespace m1::storage
