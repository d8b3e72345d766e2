// Sessions and turns (see sessions.h).
#include "storage/sessions.h"

#include <cstring>

namespace m1::storage {

static const char* kSqlInsertSession =
    "INSERT INTO sessions(corpus_id, model_fingerprint, sampling, title, created, updated) "
    "VALUES(?1, ?2, ?3, ?4, ?5, ?5)";
#define M1_SESSION_SELECT                                                                         \
    "SELECT s.id, s.corpus_id, s.model_fingerprint, s.sampling, s.title, s.created, s.updated, " \
    "(SELECT COUNT(*) FROM turns t WHERE t.session_id=s.id) FROM sessions s "
static const char* kSqlSession = M1_SESSION_SELECT "WHERE s.id=?1";
static const char* kSqlSessions = M1_SESSION_SELECT "ORDER BY s.updated DESC, s.id DESC";
#undef M1_SESSION_SELECT
static const char* kSqlSetTitle = "UPDATE sessions SET title=?2 WHERE id=?1";
static const char* kSqlRemoveSession = "DELETE FROM sessions WHERE id=?1";
static const char* kSqlNextPosition = "SELECT COALESCE(MAX(position) + 1, 0) FROM turns WHERE session_id=?1";
static const char* kSqlInsertTurn =
    "INSERT INTO turns(session_id, position, question, reasoning, answer, context_ids, prompt_tokens, "
    "prefilled_tokens, restored_tokens, generated_tokens, timings, stop_reason, created) "
    "VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)";
static const char* kSqlTouchSession = "UPDATE sessions SET updated=?2 WHERE id=?1";
static const char* kSqlTurns =
    "SELECT id, session_id, position, question, reasoning, answer, CASE WHEN ?2 THEN context_ids END, "
    "prompt_tokens, prefilled_tokens, restored_tokens, generated_tokens, timings, stop_reason, created "
    "FROM turns WHERE session_id=?1 ORDER BY position";

static SessionRecord read_session(const Statement& st) {
    SessionRecord s;
    s.id = st.int64(0);
    if (!st.isNull(1)) s.corpusId = st.int64(1);
    s.modelFingerprint = st.text(2);
    s.samplingJson = st.text(3);
    s.title = st.text(4);
    s.created = st.int64(5);
    s.updated = st.int64(6);
    s.turnCount = st.int64(7);
    return s;
}

int64_t Sessions::create(const SessionRecord& s) {
    Statement st(m_db, kSqlInsertSession);
    if (s.corpusId)
        st.bind(1, *s.corpusId);
    else
        st.bindNull(1);
    st.bind(2, s.modelFingerprint).bind(3, s.samplingJson).bind(4, s.title).bind(5, s.created ? s.created : nowMs());
    st.run();
    return sqlite3_last_insert_rowid(m_db.handle());
}

std::optional<SessionRecord> Sessions::get(int64_t id) const {
    return Statement(m_db, kSqlSession).bind(1, id).one(read_session);
}

std::vector<SessionRecord> Sessions::list() const {
    return Statement(m_db, kSqlSessions).all(read_session);
}

void Sessions::setTitle(int64_t id, const std::string& title) { Statement(m_db, kSqlSetTitle).bind(1, id).bind(2, title).run(); }

void Sessions::remove(int64_t id) { Statement(m_db, kSqlRemoveSession).bind(1, id).run(); }

int64_t Sessions::addTurn(const TurnRecord& t) {
    Transaction tx(m_db);
    int64_t position = 0;
    {
        Statement next(m_db, kSqlNextPosition);
        next.bind(1, t.sessionId);
        if (next.step()) position = next.int64(0);
    }
    const int64_t now = t.created ? t.created : nowMs();
    Statement st(m_db, kSqlInsertTurn);
    st.bind(1, t.sessionId).bind(2, position).bind(3, t.question).bind(4, t.reasoning).bind(5, t.answer);
    st.bindBlob(6, t.contextIds.data(), t.contextIds.size() * sizeof(int32_t));
    st.bind(7, t.promptTokens).bind(8, t.prefilledTokens).bind(9, t.restoredTokens).bind(10, t.generatedTokens);
    st.bind(11, t.timingsJson).bind(12, t.stopReason).bind(13, now).run();
    const int64_t id = sqlite3_last_insert_rowid(m_db.handle());
    Statement(m_db, kSqlTouchSession).bind(1, t.sessionId).bind(2, now).run();
    tx.commit();
    return id;
}

std::vector<TurnRecord> Sessions::turns(int64_t sessionId, bool withContextIds) const {
    std::vector<TurnRecord> out;
    Statement st(m_db, kSqlTurns);
    st.bind(1, sessionId).bind(2, static_cast<int64_t>(withContextIds));
    while (st.step()) {
        TurnRecord t;
        t.id = st.int64(0);
        t.sessionId = st.int64(1);
        t.position = st.int64(2);
        t.question = st.text(3);
        t.reasoning = st.text(4);
        t.answer = st.text(5);
        const std::vector<uint8_t> ids = st.blob(6);  // int32 little-endian
        t.contextIds.resize(ids.size() / sizeof(int32_t));
        if (!t.contextIds.empty()) std::memcpy(t.contextIds.data(), ids.data(), t.contextIds.size() * sizeof(int32_t));
        t.promptTokens = st.int64(7);
        t.prefilledTokens = st.int64(8);
        t.restoredTokens = st.int64(9);
        t.generatedTokens = st.int64(10);
        t.timingsJson = st.text(11);
        t.stopReason = st.text(12);
        t.created = st.int64(13);
        out.push_back(std::move(t));
    }
    return out;
}

}  // namespace m1::storage
