// The ask pipeline shared by `m1 ask` and the GUI's EngineWorker: ingest -> pack -> restore the longest
// stored snapshot (or prefill) -> generate -> store the turn and snapshots. No widgets, no QObject: it
// runs on whatever thread calls ask() (the engine thread in the GUI) and opens its own connection.
#pragma once
#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "ingest/packer.h"
#include "m1/backend.h"
#include "m1/generate.h"
#include "m1/tokenizer.h"

namespace m1::storage {
class Database;
}

namespace m1::ui {

struct AskOptions {
    std::string database;            // SQLite file (created if missing)
    int64_t sessionId = -1;          // -1: a new session on `paths`; else a follow-up in that session
    std::vector<std::string> paths;  // files, folders, archives (new sessions only)
    // Passwords of encrypted PDFs, by the path given in `paths` (a folder's or archive's password is
    // tried on the PDFs inside it). Paths without one are read with none.
    std::map<std::string, std::string> pdfPasswords;
    std::string question;
    std::string systemPrompt;        // empty: no system turn
    m1::SamplingOptions sampling;
    int64_t maxTokens = 1024;
    int64_t budgetTokens = 1000000;  // corpus + question + answer
    int64_t reservedOutput = -1;     // -1: maxTokens
    ingest::OverflowPolicy policy = ingest::OverflowPolicy::Drop;
    int64_t prefillChunk = 2048;
    bool snapshots = true;           // write corpus and turn snapshots
    int64_t snapshotChunkBytes = 32LL << 20;
};

// Called on the thread running ask(); any may be empty.
struct AskCallbacks {
    std::function<void(const std::string&)> stage;           // "ingesting", "packing", "restoring", ...
    std::function<void(const std::string&)> notice;          // something the person should know
    std::function<void(int64_t tokens, double seconds)> restored;
    std::function<void(int64_t done, int64_t total)> prefill;
    std::function<void(const std::string&)> reasoning;        // streamed deltas
    std::function<void(const std::string&)> answer;
};

struct AskOutcome {
    int64_t sessionId = -1, turnId = -1;
    int64_t promptTokens = 0;     // tokens of the whole context before generation
    int64_t restoredTokens = 0;   // of those, taken from a snapshot (or the live engine state)
    int64_t prefilledTokens = 0;  // of those, computed now
    int64_t generatedTokens = 0, reasoningTokens = 0, answerTokens = 0;
    std::string reasoning, answer;
    std::string stopReason;       // "end", "max_tokens", "cancelled", "repetition_guard"
    std::vector<std::string> notices;
    // Seconds: ingest, pack, restore, prefill, first_token, decode, snapshot, total.
    double ingestSeconds = 0, packSeconds = 0, restoreSeconds = 0, prefillSeconds = 0;
    double firstTokenSeconds = 0, decodeSeconds = 0, snapshotSeconds = 0, totalSeconds = 0;
    std::string timingsJson() const;
};

// What resume() did: the engine now holds restoredTokens of the session's contextTokens.
struct ResumeOutcome {
    int64_t sessionId = -1;
    int64_t contextTokens = 0;   // the session's whole stored context
    int64_t restoredTokens = 0;  // taken from a snapshot (0: none usable; the next question prefills)
    double restoreSeconds = 0;
    std::vector<std::string> notices;
};

class AskPipeline {
public:
    // The tokenizer must be the model's. The pipeline keeps one engine session alive between asks, so a
    // follow-up in the same process continues from memory when that is the longer prefix.
    AskPipeline(std::unique_ptr<m1::Backend> backend, std::shared_ptr<const m1::Tokenizer> tokenizer);
    ~AskPipeline();

    // Throws std::runtime_error subclasses with what to do (no documents, unknown session, disk full...).
    // A damaged snapshot is not an error: it is dropped, the prompt prefilled, and a notice says so.
    AskOutcome ask(const AskOptions& options, const AskCallbacks& callbacks = {},
                   const std::atomic<bool>* cancel = nullptr);

    // Restore only: brings the engine to the longest stored snapshot of session `sessionId`'s context
    // (its latest turn, else its corpus) and prefills nothing, so the next ask() on the session prefills
    // only its question. A missing or damaged snapshot is not an error: a notice says so, and the next
    // question prefills what is missing. Throws for an unknown session or one of another model.
    ResumeOutcome resume(const std::string& database, int64_t sessionId, const AskCallbacks& callbacks = {},
                         const std::atomic<bool>* cancel = nullptr);

    const m1::Backend& backend() const { return *m_backend; }

private:
    struct Context;
    // Imports the longest usable snapshot of a prefix of `ids` (at most maxTokens long) into m_session,
    // dropping damaged ones with a notice; returns its length (0: none, the session is reset).
    int64_t restoreLongest(storage::Database& db, std::span<const int32_t> ids, int64_t maxTokens,
                           const std::function<void(const std::string&)>& notice);
    // The session's stored context (every turn's tokens), checked against this model.
    std::vector<int32_t> sessionContext(storage::Database& db, int64_t sessionId, const std::string& database);
    std::unique_ptr<m1::Backend> m_backend;
    std::shared_ptr<const m1::Tokenizer> m_tokenizer;
    std::unique_ptr<m1::Session> m_session;
    std::vector<int32_t> m_live;  // the tokens m_session has consumed (valid when m_liveValid)
    bool m_liveValid = false;
};

}  // namespace m1::ui
