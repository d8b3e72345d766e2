// What the GUI needs from the layers below (ingest, storage, the ask pipeline), as small interfaces
// with Qt-side value types. m1-studio wires the real implementations (ui/pipeline_backend.h); GUI
// tests can also drive the window with scripted ones to hit exact moments (Stop during prefill).
#pragma once
#include <QDateTime>
#include <QHash>
#include <QString>
#include <QStringList>
#include <QVector>

#include <atomic>
#include <functional>
#include <memory>

namespace m1::ui {

// ---------------------------------------------------------------- ingest
enum class DocStatus { Queued, Ingesting, Ok, Partial, Rejected };

struct DocumentInfo {
    QString path;           // what the person dropped (file or folder)
    QString title;          // PDF title, archive or folder name
    QString kind;           // "pdf", "archive", "folder", "text"
    int pages = 0;          // PDFs
    int files = 0;          // archives and folders
    qint64 tokens = 0;      // exact with a tokenizer, else an estimate
    bool tokensEstimated = false;
    DocStatus status = DocStatus::Queued;
    QStringList warnings;   // "page 3: no text (scanned)", "entry ../x skipped"
    QString error;          // when Rejected: what is wrong and what to do
    bool needsPassword = false;  // an encrypted PDF that the password given (if any) does not open
};

class IngestBackend {
public:
    virtual ~IngestBackend() = default;
    // Runs on a pool thread; never throws (a failure is a Rejected DocumentInfo with its error).
    // progress gets values in [0, 1]; cancel is polled between pages/entries. password (may be
    // empty) opens an encrypted PDF, or the encrypted PDFs inside a folder or archive.
    virtual DocumentInfo ingest(const QString& path, const QString& password,
                                const std::function<void(double)>& progress, const std::atomic<bool>& cancel) = 0;
};

// ---------------------------------------------------------------- sessions, turns, search
struct SessionSummary {
    qint64 id = -1;
    QString title;
    QStringList corpus;     // document paths in order
    QString lastQuestion;
    QDateTime updated;
};

struct TurnRecord {
    QString question, reasoning, answer;
    qint64 reasoningTokens = 0, answerTokens = 0;
    double thinkingSeconds = 0;
    QString stopReason;     // "end", "max_tokens", "cancelled", "error"
};

struct SearchHit {
    qint64 documentId = 0;  // in the store
    QString document;       // title or file name
    QString path;           // document path (a PDF, or the archive/folder holding the file)
    QString location;       // "page 12" or "src/a.cpp:40"
    QString snippet;        // HTML with <b>…</b> around the matches
    int page = 0;           // 1-based; 0 when the hit is in a text file
    QString file;           // path inside an archive/folder
    int line = 0;
};

// A page or file excerpt, ready to show: PDFs are rendered from path+page, text is shown as is.
struct Excerpt {
    QString path;
    int page = 0;
    QString file;
    int line = 0;           // the cited line (1-based in its file), 0 = none
    QString text;           // the excerpt: extracted page text, or lines of the file
    int textFirstLine = 1;  // which line of the file text starts with
    QString error;          // when it cannot be found: why
};

class SessionStore {
public:
    virtual ~SessionStore() = default;
    // All of these run on the store thread (never the GUI thread) and may throw std::exception.
    virtual QVector<SessionSummary> sessions() = 0;
    virtual QVector<TurnRecord> turns(qint64 sessionId) = 0;
    virtual void rename(qint64 sessionId, const QString& title) = 0;
    virtual void remove(qint64 sessionId) = 0;
    virtual QVector<SearchHit> search(const QString& query, int limit) = 0;
    // Resolves a citation ("page 12", "src/a.cpp:40") in a session's answer via the packer's map.
    virtual Excerpt excerpt(qint64 sessionId, const QString& citation) = 0;
    // The page or file text behind a search hit.
    virtual Excerpt excerpt(const SearchHit& hit) = 0;
};

// ---------------------------------------------------------------- the engine
struct Sampling {
    double temperature = 1.0;   // MiniMax's recommendation for M1
    double topP = 0.95;
    int topK = 0;               // 0 = off
    int maxTokens = 8192;       // up to 80,000 (M1-80k)
    qint64 seed = -1;           // -1 = random
};

struct ModelChoice {
    QString folder;             // empty = the embedded demo model
    QString device = "cpu";     // "cpu", "cuda", "cuda:N", "cuda:0,1"
    QString precision = "bf16"; // GPU weights: "bf16" or "int8-experts" (the CPU computes in fp32)
};

struct DeviceInfo {
    QString name;               // "CPU", "NVIDIA H100 80GB HBM3"
    qint64 memoryUsed = 0, memoryTotal = 0;  // bytes; 0 total = unknown
};

struct ModelInfo {
    QString name;               // "MiniMax-M1-80k" or "demo model"
    QString precision;
    bool demo = false;          // the embedded demo model: answers are meaningless
    QVector<DeviceInfo> devices;
    QString error;              // load failed: why and what to do
    bool cancelled = false;     // the person stopped the load (error says so too)
};

// Model loading progress: fraction 0..1 and the loader's text ("weights to cuda:0: 12.1 GB of 48.0 GB,
// 9.80 GB/s, ETA 4 s"). Called on the engine thread.
using LoadProgressFn = std::function<void(double fraction, const QString& text)>;

struct AskRequest {
    QString database;           // the SQLite file sessions and snapshots live in
    qint64 sessionId = -1;      // -1 = new session
    QStringList documents;      // paths in library order
    QHash<QString, QString> passwords;  // encrypted PDFs (or folders/archives holding them): path -> password
    QString question;
    QString systemPrompt;
    Sampling sampling;
    qint64 budget = 1'000'000;  // corpus token budget
    QString policy = "drop";    // over budget: "refuse", "drop", "trim"
};

// Called on the engine thread while one question runs.
class AskEvents {
public:
    virtual ~AskEvents() = default;
    virtual void stage(const QString& what) = 0;                 // "packing", "restoring", ...
    virtual void restored(qint64 tokens, double seconds) = 0;    // a snapshot covered a prefix
    virtual void prefill(qint64 done, qint64 total) = 0;         // after each chunk
    virtual void reasoning(const QString& delta) = 0;
    virtual void answer(const QString& delta) = 0;
};

struct AskResult {
    qint64 sessionId = -1;
    qint64 prefilledTokens = 0, restoredTokens = 0;
    qint64 reasoningTokens = 0, answerTokens = 0;
    double restoreSeconds = 0, prefillSeconds = 0, firstTokenSeconds = 0, decodeSeconds = 0;
    QString stopReason;         // "end", "max_tokens", "cancelled", "error"; resume: also "no_snapshot"
    QString error;              // what went wrong and what to do
    QStringList notices;        // things the person should know ("a damaged snapshot was dropped")
};

class AskBackend {
public:
    virtual ~AskBackend() = default;
    // These run on the engine thread and must not throw.
    // Loads the model, reporting progress; once cancel is set it stops (between tensors or GPU layers),
    // releases what it took and returns cancelled = true.
    virtual ModelInfo load(const ModelChoice& choice, const LoadProgressFn& progress, const std::atomic<bool>& cancel) = 0;
    // Stops within one prefill chunk or one token once cancel is set (stopReason "cancelled").
    virtual AskResult ask(const AskRequest& request, AskEvents& events, const std::atomic<bool>& cancel) = 0;
    // Restores session request.sessionId's latest stored snapshot into the engine, prefilling nothing,
    // so the next question prefills only itself; request.question is empty. With no usable snapshot:
    // stopReason "no_snapshot" and a notice (the next question prefills what is missing).
    virtual AskResult resume(const AskRequest& request, AskEvents& events, const std::atomic<bool>& cancel) = 0;
};

// What m1-studio hands the window: the engine, the document reader and a way to open the store.
struct Services {
    std::unique_ptr<AskBackend> ask;
    std::unique_ptr<IngestBackend> ingest;
    // Opens (creating if needed) the store in a database file; runs on the store thread; may throw.
    std::function<std::unique_ptr<SessionStore>(const QString& database)> openStore;
};

}  // namespace m1::ui
