// The ask pipeline (see ask_pipeline.h): context -> restore the longest snapshot (or the live state) ->
// prefill the rest, snapshotting the corpus boundary -> generate -> close the turn -> snapshot -> store.
#include "ui/ask_pipeline.h"

#include <algorithm>
#include <chrono>
#include <nlohmann/json.hpp>

#include "ingest/ingest.h"
#include "m1/reasoning_split.h"
#include "storage/library.h"
#include "storage/prefix_hash.h"
#include "storage/sessions.h"
#include "storage/snapshot_store.h"
#include "storage/snapshot_stream.h"
#include "ui/ask_context.h"

namespace m1::ui {

namespace {

using Clock = std::chrono::steady_clock;
double since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }
bool cancelled(const std::atomic<bool>* c) { return c && c->load(); }

const char* stop_name(m1::StopReason r) {
    switch (r) {
    case m1::StopReason::StopToken: return "end";
    case m1::StopReason::MaxTokens: return "max_tokens";
    case m1::StopReason::RepetitionGuard: return "repetition_guard";
    case m1::StopReason::Cancelled:
    case m1::StopReason::CallbackStop: return "cancelled";
    }
    return "end";
}

// Paths without a password are read together (in parallel); each one with a password is read with its
// own options. The documents come back in the order of `paths`.
std::vector<ingest::Document> ingestWithPasswords(const std::vector<std::string>& paths,
                                                  const std::map<std::string, std::string>& passwords,
                                                  const std::atomic<bool>* cancel) {
    std::vector<std::string> plain;
    for (const auto& p : paths)
        if (!passwords.count(p)) plain.push_back(p);
    std::vector<ingest::Document> read = ingest::ingest_paths(plain, {}, {}, cancel);
    std::vector<ingest::Document> docs;
    size_t next = 0;
    for (const auto& p : paths) {
        if (auto it = passwords.find(p); it != passwords.end()) {
            ingest::IngestOptions io;
            io.pdf_password = it->second;
            docs.push_back(ingest::ingest_path(p, io, cancel));
        } else {
            docs.push_back(std::move(read[next++]));
        }
    }
    return docs;
}

std::vector<int32_t> concat(std::vector<int32_t> a, const std::vector<int32_t>& b) {
    a.insert(a.end(), b.begin(), b.end());
    return a;
}

}  // namespace

std::string AskOutcome::timingsJson() const {
    nlohmann::json j = {{"ingest_s", ingestSeconds},         {"pack_s", packSeconds},
                        {"restore_s", restoreSeconds},       {"prefill_s", prefillSeconds},
                        {"first_token_s", firstTokenSeconds}, {"decode_s", decodeSeconds},
                        {"snapshot_s", snapshotSeconds},     {"total_s", totalSeconds},
                        {"thinking_seconds", reasoningTokens > 0 ? decodeSeconds * double(reasoningTokens) /
                                                                       double(std::max<int64_t>(1, generatedTokens))
                                                                 : 0.0},
                        {"reasoning_tokens", reasoningTokens}, {"answer_tokens", answerTokens}};
    return j.dump();
}

struct AskPipeline::Context {
    std::vector<int32_t> ids;  // the whole context before generation
    int64_t corpusEnd = 0;     // corpus prefix worth a snapshot of its own (new sessions)
    int64_t turnStart = 0;     // ids[turnStart:] belong to this turn
    int64_t sessionId = -1;
};

AskPipeline::AskPipeline(std::unique_ptr<m1::Backend> backend, std::shared_ptr<const m1::Tokenizer> tokenizer)
    : m_backend(std::move(backend)), m_tokenizer(std::move(tokenizer)), m_session(m_backend->new_session()) {}

AskPipeline::~AskPipeline() = default;

std::vector<int32_t> AskPipeline::sessionContext(storage::Database& db, int64_t sessionId, const std::string& database) {
    storage::Sessions sessions(db);
    const std::string fp = m_backend->model().fingerprint();
    const auto s = sessions.get(sessionId);
    if (!s) throw std::invalid_argument("no session " + std::to_string(sessionId) + " in " + database +
                                        " (`m1 sessions` lists them)");
    if (s->modelFingerprint != fp)
        throw std::invalid_argument("session " + std::to_string(sessionId) + " was made with model " +
                                    s->modelFingerprint + ", this is " + fp +
                                    ": pass that model's --model, or start a new session");
    std::vector<int32_t> ids;
    for (const auto& t : sessions.turns(sessionId, true)) ids = concat(std::move(ids), t.contextIds);
    if (ids.empty())
        throw std::invalid_argument("session " + std::to_string(sessionId) + " has no stored context: start a new session");
    return ids;
}

int64_t AskPipeline::restoreLongest(storage::Database& db, std::span<const int32_t> ids, int64_t maxTokens,
                                    const std::function<void(const std::string&)>& notice) {
    storage::SnapshotStore store(db);
    const std::string fp = m_backend->model().fingerprint();
    for (;;) {
        m_session->reset();
        const auto snap = store.findLongestPrefix(fp, ids, maxTokens);
        if (!snap) return 0;
        try {
            storage::SnapshotReader reader(db, snap->id);
            m_session->import_state(reader);
            if (m_session->position() != snap->key.tokenCount)
                throw m1::StateFormatError("state is at token " + std::to_string(m_session->position()) +
                                           ", its snapshot says " + std::to_string(snap->key.tokenCount));
        } catch (const m1::StateFormatError& e) {
            m_session->reset();
            store.remove(snap->id);
            notice("a stored snapshot of " + std::to_string(snap->key.tokenCount) + " tokens was damaged (" + e.what() +
                   ") and was dropped; prefilling again");
            continue;
        }
        store.touch(snap->id);
        return snap->key.tokenCount;
    }
}

AskOutcome AskPipeline::ask(const AskOptions& o, const AskCallbacks& cb, const std::atomic<bool>* cancel) {
    const auto t0 = Clock::now();
    AskOutcome out;
    auto stage = [&](const char* s) {
        if (cb.stage) cb.stage(s);
    };
    auto notice = [&](const std::string& s) {
        out.notices.push_back(s);
        if (cb.notice) cb.notice(s);
    };
    if (o.question.empty()) throw std::invalid_argument("the question is empty");
    storage::Database db(o.database);
    storage::Library lib(db);
    storage::Sessions sessions(db);
    storage::SnapshotStore store(db);
    const std::string fp = m_backend->model().fingerprint();
    const m1::Tokenizer& tok = *m_tokenizer;

    // 1. The exact token context of this question.
    Context ctx;
    if (o.sessionId < 0) {
        if (o.paths.empty()) throw std::invalid_argument("a new session needs at least one PATH (file, folder or archive)");
        stage("ingesting");
        auto t = Clock::now();
        const auto docs = ingestWithPasswords(o.paths, o.pdfPasswords, cancel);
        const auto docIds = detail::storeDocuments(lib, docs);
        out.ingestSeconds = since(t);
        for (const auto& d : docs)
            if (d.status == ingest::DocStatus::Rejected)
                notice("not included: " + d.path + (d.warnings.empty() ? "" : ": " + d.warnings.front()));
        stage("packing");
        t = Clock::now();
        ingest::PackOptions po;
        po.budget_tokens = o.budgetTokens;
        po.reserved_output = o.reservedOutput < 0 ? o.maxTokens : o.reservedOutput;
        po.policy = o.policy;
        const ingest::PackResult pack = ingest::pack(docs, o.question, po, &tok);
        for (const auto& line : pack.report) notice(line);
        if (!pack.ok || pack.ranges.empty()) {
            std::string why;
            for (const auto& line : pack.report) why += (why.empty() ? "" : "; ") + line;
            throw std::runtime_error("cannot pack the documents: " + (why.empty() ? "nothing to pack" : why));
        }
        const detail::ChatFrame frame = detail::userFrame(o.systemPrompt);
        const std::vector<int32_t> before = tok.encode(frame.before), after = tok.encode(frame.after);
        ctx.ids = concat(concat(before, pack.token_ids), after);
        // The question is the packer's last segment: everything before it is the same for any question.
        ctx.corpusEnd = static_cast<int64_t>(before.size()) + pack.ranges.back().token_begin;
        out.packSeconds = since(t);
        storage::CorpusRecord corpus;
        corpus.packedHash = storage::tokenPrefixHash(std::span(ctx.ids).first(size_t(ctx.corpusEnd)));
        corpus.tokenCount = ctx.corpusEnd;
        corpus.title = o.paths.front() + (o.paths.size() > 1 ? " +" + std::to_string(o.paths.size() - 1) : "");
        corpus.packSettingsJson = nlohmann::json{{"budget_tokens", po.budget_tokens},
                                                 {"reserved_output", po.reserved_output},
                                                 {"policy", ingest::policy_name(po.policy)}}
                                      .dump();
        storage::SessionRecord s;
        s.corpusId = lib.addCorpus(corpus, docIds);
        s.modelFingerprint = fp;
        s.samplingJson = nlohmann::json{{"temperature", o.sampling.temperature}, {"top_p", o.sampling.top_p},
                                        {"top_k", o.sampling.top_k},             {"seed", o.sampling.seed},
                                        {"greedy", o.sampling.greedy},           {"max_tokens", o.maxTokens}}
                             .dump();
        s.title = o.question.substr(0, 80);
        ctx.sessionId = sessions.create(s);
    } else {
        ctx.ids = sessionContext(db, o.sessionId, o.database);
        if (!o.paths.empty()) notice("a follow-up continues its session's documents; the paths given were not read again");
        ctx.turnStart = static_cast<int64_t>(ctx.ids.size());
        ctx.ids = concat(std::move(ctx.ids), tok.encode(detail::followUpText(o.question)));
        ctx.sessionId = o.sessionId;
    }
    out.sessionId = ctx.sessionId;
    out.promptTokens = static_cast<int64_t>(ctx.ids.size());
    if (cancelled(cancel)) {  // stopped while ingesting or packing
        out.stopReason = "cancelled";
        out.totalSeconds = since(t0);
        return out;
    }
    const std::span<const int32_t> ids(ctx.ids);

    // 2. Start from the longest prefix we have: the live engine state or a stored snapshot.
    stage("restoring");
    auto t = Clock::now();
    int64_t have = 0;
    int64_t live = 0;
    if (m_liveValid && m_live.size() < ctx.ids.size() && std::equal(m_live.begin(), m_live.end(), ctx.ids.begin()))
        live = static_cast<int64_t>(m_live.size());
    m_liveValid = false;  // the state is about to change
    const auto snap = store.findLongestPrefix(fp, ids, out.promptTokens - 1);
    if (live > 0 && (!snap || live >= snap->key.tokenCount)) have = live;  // the session already holds it
    else have = restoreLongest(db, ids, out.promptTokens - 1, notice);
    out.restoredTokens = have;
    out.restoreSeconds = since(t);
    if (have > 0 && cb.restored) cb.restored(have, out.restoreSeconds);

    auto save_snapshot = [&](storage::SnapshotKind kind, std::span<const int32_t> prefix) {
        if (!o.snapshots) return;
        const auto ts = Clock::now();
        try {
            storage::SnapshotWriter w(db, {fp, storage::tokenPrefixHash(prefix), int64_t(prefix.size())}, kind,
                                      {o.snapshotChunkBytes});
            m_session->export_state(w);
            const auto info = w.commit();
            const auto evicted = store.enforceQuota(info.id);
            if (evicted.evicted > 0)
                notice("snapshot quota: dropped " + std::to_string(evicted.evicted) + " least recently used snapshot(s)");
        } catch (const storage::StorageError& e) {
            notice(std::string("could not save the engine state (the answer is kept): ") + e.what());
        }
        out.snapshotSeconds += since(ts);
    };

    // 3. Prefill to the corpus boundary and keep that state for every later question on this corpus.
    stage("prefilling");
    const int64_t toPrefill = out.promptTokens - have;
    auto progress = [&](int64_t base) {
        return [&cb, base, toPrefill](int64_t done, int64_t) {
            if (cb.prefill) cb.prefill(base + done, toPrefill);
        };
    };
    t = Clock::now();
    if (ctx.corpusEnd > have) {
        const bool done = m_session->prefill(ids.subspan(size_t(have), size_t(ctx.corpusEnd - have)), o.prefillChunk,
                                             progress(0), cancel);
        out.prefillSeconds += since(t);
        if (!done) {
            m_live.assign(ctx.ids.begin(), ctx.ids.begin() + m_session->position());
            m_liveValid = true;
            out.prefilledTokens = m_session->position() - have;
            out.stopReason = "cancelled";
            out.totalSeconds = since(t0);
            return out;
        }
        save_snapshot(storage::SnapshotKind::Corpus, ids.first(size_t(ctx.corpusEnd)));
    }

    // 4. Prefill the rest and generate.
    stage("generating");
    m1::GenerateOptions g;
    g.sampling = o.sampling;
    g.max_tokens = o.maxTokens;
    g.prefill_chunk = o.prefillChunk;
    g.stop_ids = m_backend->model().config().eos_token_ids;
    if (auto eos = tok.token_id("<end_of_sentence>")) g.stop_ids.push_back(*eos);
    m1::StreamDecoder decoder(tok, true);
    m1::ReasoningSplitter splitter;
    const auto genStart = Clock::now();
    auto emit = [&](const m1::ReasoningSplitter::Piece& p) {
        out.reasoning += p.reasoning;
        out.answer += p.answer;
        if (!p.reasoning.empty() && cb.reasoning) cb.reasoning(p.reasoning);
        if (!p.answer.empty() && cb.answer) cb.answer(p.answer);
    };
    auto onToken = [&](int32_t id) {
        if (out.generatedTokens++ == 0) out.firstTokenSeconds = since(genStart);
        (splitter.in_reasoning() ? out.reasoningTokens : out.answerTokens)++;
        emit(splitter.feed(decoder.feed(id)));
        return true;
    };
    const int64_t base = std::max(have, ctx.corpusEnd);
    const m1::GenerateResult r = m1::generate(*m_session, ids.subspan(size_t(base)), g, onToken, cancel, progress(base - have));
    emit(splitter.feed(decoder.finish()));
    emit(splitter.finish());
    out.prefillSeconds += r.prefill_seconds;
    out.decodeSeconds = r.decode_seconds;
    out.prefilledTokens = out.promptTokens - have;
    out.stopReason = stop_name(r.reason);
    if (r.ids.empty()) {  // cancelled before the first token: keep what the engine holds, store no turn
        m_live.assign(ctx.ids.begin(), ctx.ids.begin() + m_session->position());
        m_liveValid = m_session->position() <= out.promptTokens;
        if (out.stopReason != "cancelled") out.stopReason = "cancelled";
        out.prefilledTokens = m_session->position() - have;
        out.totalSeconds = since(t0);
        return out;
    }

    // 5. Close the assistant turn so the state ends where the next user turn begins, then keep it.
    std::vector<int32_t> close = tok.encode(detail::closeTurnText());
    if (r.reason == m1::StopReason::StopToken && !close.empty() && close.front() == r.ids.back()) close.erase(close.begin());
    std::vector<int32_t> tail = {r.ids.back()};
    tail.insert(tail.end(), close.begin(), close.end());
    m_session->forward(tail);
    std::vector<int32_t> full = concat(ctx.ids, r.ids);
    full.insert(full.end(), close.begin(), close.end());
    save_snapshot(storage::SnapshotKind::Turn, full);
    m_live = full;
    m_liveValid = m_session->position() == static_cast<int64_t>(full.size());

    storage::TurnRecord turn;
    turn.sessionId = ctx.sessionId;
    turn.question = o.question;
    turn.reasoning = out.reasoning;
    turn.answer = out.answer;
    turn.contextIds.assign(full.begin() + ctx.turnStart, full.end());
    turn.promptTokens = out.promptTokens;
    turn.prefilledTokens = out.prefilledTokens;
    turn.restoredTokens = out.restoredTokens;
    turn.generatedTokens = out.generatedTokens;
    turn.stopReason = out.stopReason;
    out.totalSeconds = since(t0);
    turn.timingsJson = out.timingsJson();
    out.turnId = sessions.addTurn(turn);
    return out;
}

ResumeOutcome AskPipeline::resume(const std::string& database, int64_t sessionId, const AskCallbacks& cb,
                                  const std::atomic<bool>* cancel) {
    const auto t0 = Clock::now();
    ResumeOutcome out;
    out.sessionId = sessionId;
    auto notice = [&](const std::string& s) {
        out.notices.push_back(s);
        if (cb.notice) cb.notice(s);
    };
    storage::Database db(database);
    const std::vector<int32_t> ids = sessionContext(db, sessionId, database);
    out.contextTokens = static_cast<int64_t>(ids.size());
    if (cancelled(cancel)) return out;
    if (cb.stage) cb.stage("restoring");
    // The engine may already hold this session (it answered here a moment ago): keep that state when
    // no stored snapshot reaches further.
    const std::string fp = m_backend->model().fingerprint();
    int64_t live = 0;
    if (m_liveValid && m_live.size() <= ids.size() && std::equal(m_live.begin(), m_live.end(), ids.begin()))
        live = static_cast<int64_t>(m_live.size());
    const auto snap = storage::SnapshotStore(db).findLongestPrefix(fp, ids, out.contextTokens);
    int64_t have = live;
    if (live == 0 || (snap && snap->key.tokenCount > live)) {
        m_liveValid = false;
        have = restoreLongest(db, ids, out.contextTokens, notice);
    }
    m_live.assign(ids.begin(), ids.begin() + have);
    m_liveValid = have > 0;
    out.restoredTokens = have;
    out.restoreSeconds = since(t0);
    if (have == 0)
        notice("no stored engine state for this session (snapshots were off, dropped by the quota, or damaged): "
               "the next question prefills its " + std::to_string(out.contextTokens) + " tokens again");
    else if (have < out.contextTokens)
        notice("the stored engine state covers " + std::to_string(have) + " of the session's " +
               std::to_string(out.contextTokens) + " tokens: the next question prefills the rest");
    if (have > 0 && cb.restored) cb.restored(have, out.restoreSeconds);
    return out;
}

}  // namespace m1::ui
