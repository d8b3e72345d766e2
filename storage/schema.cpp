// Schema versions 1..4. Times are Unix milliseconds; hashes are lowercase hex; JSON columns hold
// objects or arrays as text. Applied cumulatively inside one transaction by Database::migrate.
#include "storage/schema.h"

namespace m1::storage {

// v1: key/value facts about the database itself.
static const char* kSchemaV1 = R"sql(
CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
)sql";

// v2: the library. A document is one ingested file (or archive member) with its text by page;
// pages_fts indexes every page (external content: the text is stored once, in document_pages).
static const char* kSchemaV2 = R"sql(
CREATE TABLE documents(
  id INTEGER PRIMARY KEY,
  content_hash TEXT NOT NULL,
  source_path TEXT NOT NULL,
  kind TEXT NOT NULL,
  title TEXT NOT NULL DEFAULT '',
  metadata TEXT NOT NULL DEFAULT '{}',
  warnings TEXT NOT NULL DEFAULT '[]',
  added INTEGER NOT NULL,
  UNIQUE(content_hash, source_path)
);
CREATE TABLE document_pages(
  id INTEGER PRIMARY KEY,
  document_id INTEGER NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
  page_no INTEGER NOT NULL,
  first_line INTEGER NOT NULL DEFAULT 1,
  text TEXT NOT NULL,
  UNIQUE(document_id, page_no)
);
CREATE VIRTUAL TABLE pages_fts USING fts5(text, content='document_pages', content_rowid='id',
  tokenize='unicode61 remove_diacritics 2');
CREATE TRIGGER document_pages_ai AFTER INSERT ON document_pages BEGIN
  INSERT INTO pages_fts(rowid, text) VALUES(new.id, new.text);
END;
CREATE TRIGGER document_pages_ad AFTER DELETE ON document_pages BEGIN
  INSERT INTO pages_fts(pages_fts, rowid, text) VALUES('delete', old.id, old.text);
END;
CREATE TRIGGER document_pages_au AFTER UPDATE ON document_pages BEGIN
  INSERT INTO pages_fts(pages_fts, rowid, text) VALUES('delete', old.id, old.text);
  INSERT INTO pages_fts(rowid, text) VALUES(new.id, new.text);
END;
)sql";

// v3: corpora (ordered documents packed into one prompt), sessions on a corpus, and their turns.
// turns.context_ids holds the token ids the turn appended to the engine context (int32 little-endian),
// so a follow-up can rebuild the exact token sequence its snapshot was keyed by.
static const char* kSchemaV3 = R"sql(
CREATE TABLE corpora(
  id INTEGER PRIMARY KEY,
  title TEXT NOT NULL DEFAULT '',
  pack_settings TEXT NOT NULL DEFAULT '{}',
  packed_hash TEXT NOT NULL UNIQUE,
  token_count INTEGER NOT NULL,
  created INTEGER NOT NULL
);
CREATE TABLE corpus_documents(
  corpus_id INTEGER NOT NULL REFERENCES corpora(id) ON DELETE CASCADE,
  position INTEGER NOT NULL,
  document_id INTEGER NOT NULL REFERENCES documents(id),
  PRIMARY KEY(corpus_id, position)
);
CREATE TABLE sessions(
  id INTEGER PRIMARY KEY,
  corpus_id INTEGER REFERENCES corpora(id) ON DELETE SET NULL,
  model_fingerprint TEXT NOT NULL,
  sampling TEXT NOT NULL DEFAULT '{}',
  title TEXT NOT NULL DEFAULT '',
  created INTEGER NOT NULL,
  updated INTEGER NOT NULL
);
CREATE TABLE turns(
  id INTEGER PRIMARY KEY,
  session_id INTEGER NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
  position INTEGER NOT NULL,
  question TEXT NOT NULL,
  reasoning TEXT NOT NULL DEFAULT '',
  answer TEXT NOT NULL DEFAULT '',
  context_ids BLOB,
  prompt_tokens INTEGER NOT NULL DEFAULT 0,
  prefilled_tokens INTEGER NOT NULL DEFAULT 0,
  restored_tokens INTEGER NOT NULL DEFAULT 0,
  generated_tokens INTEGER NOT NULL DEFAULT 0,
  timings TEXT NOT NULL DEFAULT '{}',
  stop_reason TEXT NOT NULL DEFAULT '',
  created INTEGER NOT NULL,
  UNIQUE(session_id, position)
);
)sql";

// v4: engine-state snapshots. A write owns its chunks; the snapshots row (the manifest) is inserted
// last, in its own transaction, so chunks without a manifest are an interrupted write (gc removes them).
// Deleting a write cascades to its chunks and its manifest.
static const char* kSchemaV4 = R"sql(
CREATE TABLE snapshot_writes(
  id INTEGER PRIMARY KEY,
  writer_pid INTEGER NOT NULL,
  started INTEGER NOT NULL
);
CREATE TABLE snapshot_chunks(
  id INTEGER PRIMARY KEY,
  write_id INTEGER NOT NULL REFERENCES snapshot_writes(id) ON DELETE CASCADE,
  seq INTEGER NOT NULL,
  size INTEGER NOT NULL,
  checksum INTEGER NOT NULL,
  data BLOB NOT NULL,
  UNIQUE(write_id, seq)
);
CREATE TABLE snapshots(
  id INTEGER PRIMARY KEY,
  write_id INTEGER NOT NULL UNIQUE REFERENCES snapshot_writes(id) ON DELETE CASCADE,
  model_fingerprint TEXT NOT NULL,
  prefix_hash TEXT NOT NULL,
  token_count INTEGER NOT NULL,
  kind TEXT NOT NULL CHECK(kind IN ('corpus', 'turn')),
  size_bytes INTEGER NOT NULL,
  chunk_count INTEGER NOT NULL,
  created INTEGER NOT NULL,
  last_used INTEGER NOT NULL,
  UNIQUE(model_fingerprint, prefix_hash)
);
CREATE INDEX snapshots_by_length ON snapshots(model_fingerprint, token_count);
CREATE INDEX snapshots_by_use ON snapshots(last_used);
)sql";

const std::vector<const char*>& schemaMigrations() {
    static const std::vector<const char*> all = {kSchemaV1, kSchemaV2, kSchemaV3, kSchemaV4};
    return all;
}

}  // namespace m1::storage
