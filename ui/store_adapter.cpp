// SessionStore over m1::storage: sessions and turns, FTS5 search hits, and excerpts for hits and
// citations (a page of a PDF, or the lines of a file around the cited one).
#include <QFileInfo>
#include <QJsonDocument>
#include <QJsonObject>
#include <QRegularExpression>

#include "storage/database.h"
#include "storage/library.h"
#include "storage/sessions.h"
#include "ui/studio_services.h"

namespace m1::ui {

namespace {

QString q(const std::string& s) { return QString::fromStdString(s); }

class StoreAdapter : public SessionStore {
public:
    explicit StoreAdapter(const QString& path) : m_db(path.toStdString()), m_lib(m_db), m_sessions(m_db) {}

    QVector<SessionSummary> sessions() override {
        QVector<SessionSummary> out;
        for (const auto& s : m_sessions.list()) {
            SessionSummary r;
            r.id = s.id;
            r.title = q(s.title);
            r.updated = QDateTime::fromMSecsSinceEpoch(s.updated);
            if (s.corpusId)
                for (int64_t d : m_lib.corpusDocuments(*s.corpusId))
                    if (auto doc = m_lib.document(d)) r.corpus << q(doc->sourcePath);
            const auto turns = m_sessions.turns(s.id);
            if (!turns.empty()) r.lastQuestion = q(turns.back().question);
            out << r;
        }
        return out;
    }

    QVector<TurnRecord> turns(qint64 sessionId) override {
        QVector<TurnRecord> out;
        for (const auto& t : m_sessions.turns(sessionId)) {
            TurnRecord r;
            r.question = q(t.question);
            r.reasoning = q(t.reasoning);
            r.answer = q(t.answer);
            r.stopReason = q(t.stopReason);
            // Timings are a JSON object the pipeline writes; read the fields the view shows.
            const QJsonObject j = QJsonDocument::fromJson(QByteArray::fromStdString(t.timingsJson)).object();
            r.thinkingSeconds = j.value("thinking_seconds").toDouble();
            r.reasoningTokens = j.value("reasoning_tokens").toInteger();
            r.answerTokens = j.contains("answer_tokens") ? j.value("answer_tokens").toInteger()
                                                         : t.generatedTokens - r.reasoningTokens;
            out << r;
        }
        return out;
    }

    void rename(qint64 id, const QString& title) override { m_sessions.setTitle(id, title.toStdString()); }
    void remove(qint64 id) override { m_sessions.remove(id); }

    QVector<SearchHit> search(const QString& query, int limit) override {
        storage::SearchOptions o;
        o.limit = limit;
        o.open = "\x01";  // markers that cannot be in text, so the snippet can be HTML-escaped first
        o.close = "\x02";
        QVector<SearchHit> out;
        for (const auto& h : m_lib.search(query.toStdString(), o)) {
            SearchHit r;
            r.documentId = h.documentId;
            r.path = q(h.sourcePath);
            r.document = h.title.empty() ? QFileInfo(r.path).fileName() : q(h.title);
            const bool paged = h.kind == "pdf" || h.pageCount > 1;
            r.page = paged ? int(h.pageNo) : 0;
            r.line = int(h.line);
            r.location = paged ? QObject::tr("page %1").arg(h.pageNo) : QString("%1:%2").arg(QFileInfo(r.path).fileName()).arg(h.line);
            r.snippet = q(h.snippet).simplified().toHtmlEscaped().replace('\x01', "<b>").replace('\x02', "</b>");
            out << r;
        }
        return out;
    }

    Excerpt excerpt(const SearchHit& hit) override {
        const auto doc = m_lib.document(hit.documentId);
        if (!doc) return notFound(hit.path);
        return fromDocument(*doc, hit.page, hit.page > 0 ? 0 : hit.line);
    }

    Excerpt excerpt(qint64 sessionId, const QString& citation) override {
        const auto s = m_sessions.get(sessionId);
        if (!s || !s->corpusId) return notFound(citation);
        std::vector<storage::DocumentRecord> docs;
        for (int64_t d : m_lib.corpusDocuments(*s->corpusId))
            if (auto doc = m_lib.document(d)) docs.push_back(*doc);
        static const QRegularExpression pageRe(R"(^(?:(.*?),\s*)?(?:pages?|pp?\.)\s*(\d+))", QRegularExpression::CaseInsensitiveOption);
        static const QRegularExpression lineRe(R"(^(.+):(\d+)(?:-\d+)?$)");
        if (const auto m = pageRe.match(citation); m.hasMatch()) {
            const QString name = m.captured(1).trimmed();
            const int page = m.captured(2).toInt();
            // A named document wins; else the first paged document of the corpus that has the page.
            for (const auto& d : docs) {
                const QString path = q(d.sourcePath);
                const bool named = !name.isEmpty() && (q(d.title) == name || QFileInfo(path).fileName() == name);
                if ((name.isEmpty() || named) && int(m_lib.pages(d.id).size()) >= page) return fromDocument(d, page, 0);
            }
        } else if (const auto m2 = lineRe.match(citation); m2.hasMatch()) {
            const QString file = m2.captured(1);
            for (const auto& d : docs)
                if (q(d.sourcePath).endsWith(file)) return fromDocument(d, 0, m2.captured(2).toInt());
        }
        return notFound(citation);
    }

private:
    Excerpt notFound(const QString& what) {
        Excerpt e;
        e.error = QObject::tr("“%1” is not in this session's documents (the library may have changed since).").arg(what);
        return e;
    }

    // page > 0: that page; else the page holding line (files are one page, or split with firstLine).
    Excerpt fromDocument(const storage::DocumentRecord& d, int page, int line) {
        Excerpt e;
        e.path = q(d.sourcePath);
        e.page = page;
        e.line = line;
        const auto pages = m_lib.pages(d.id);
        for (const auto& p : pages) {
            const bool hit = page > 0 ? p.pageNo == page : (line >= p.firstLine || &p == &pages.front());
            if (hit) {
                e.text = q(p.text);
                e.textFirstLine = int(p.firstLine);
                if (page > 0) break;
            }
        }
        if (e.text.isEmpty() && pages.empty()) e.error = QObject::tr("%1 has no stored text.").arg(e.path);
        return e;
    }

    storage::Database m_db;
    storage::Library m_lib;
    storage::Sessions m_sessions;
};

}  // namespace

std::unique_ptr<SessionStore> openSessionStore(const QString& database) {
    return std::make_unique<StoreAdapter>(database);
}

}  // namespace m1::ui
