// The real implementations behind ui/backend.h: ingest (m1_ingest + the model's tokenizer for exact
// counts), the session store (m1_storage: sessions, turns, FTS5 search), and the engine through the
// ask pipeline. m1-studio calls makeStudioServices(); tests use them too.
#pragma once
#include <QString>

#include "ui/backend.h"

namespace m1::ui {

// Reads documents with m1::ingest and counts their tokens with the tokenizer found in
// tokenizerDir (a model folder, or the demo model's when empty).
std::unique_ptr<IngestBackend> makeIngestBackend(const QString& tokenizerDir = {});
// The store over one SQLite database file (opened on the calling thread, used on it only).
std::unique_ptr<SessionStore> openSessionStore(const QString& database);
std::unique_ptr<AskBackend> makeAskBackend();

Services makeStudioServices(const QString& modelFolder);

}  // namespace m1::ui
