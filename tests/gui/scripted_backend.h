// Test doubles for the window's services: an ask backend that plays a script (prefill chunks,
// reasoning tokens, answer tokens) and can hold at a given step until Stop, so tests hit exact
// moments; it records turns in a real storage database like the pipeline does. An ingest backend
// that returns known documents. Only the GUI tests use these; the end-to-end test uses the real ones.
#pragma once
#include <QFileInfo>
#include <QStringList>

#include <atomic>
#include <chrono>
#include <thread>

#include "storage/database.h"
#include "storage/library.h"
#include "storage/sessions.h"
#include "ui/backend.h"

namespace m1::test {

using namespace m1::ui;

struct Script {
    qint64 promptTokens = 4000, chunk = 1000;
    QStringList reasoning{"Let", " me", " think", "."};
    QStringList answer{"The", " answer", " is", " **42**", " [page 2]", "."};
    std::atomic<int> holdAtPrefillChunk{-1};  // wait at this chunk until cancelled
    std::atomic<int> holdAtAnswerToken{-1};   // wait before this answer token until cancelled
    std::atomic<int> asks{0}, resumes{0};
    std::atomic<bool> holding{false};         // true while waiting at a hold
    std::atomic<bool> release{false};         // lets a hold go on without Stop
    QString database;                         // turns are stored here when set
    int loadSteps = 0;                        // model load: progress reports (one per step)
    int loadStepMs = 0;                       // engine-thread work per step
    std::atomic<int> holdAtLoadStep{-1};      // wait at this load step until cancelled or released
    std::atomic<int> loads{0};
};

class ScriptedAsk : public AskBackend {
public:
    explicit ScriptedAsk(Script* s) : m_s(s) {}

    // Reports "weights: i of n GB" per step like the real loaders (bytes, rate, ETA); Stop cancels it.
    ModelInfo load(const ModelChoice& choice, const LoadProgressFn& progress, const std::atomic<bool>& cancel) override {
        ++m_s->loads;
        for (int i = 0; i < m_s->loadSteps; ++i) {
            if (hold(m_s->holdAtLoadStep, i, cancel)) {
                ModelInfo c;
                c.cancelled = true;
                c.error = "Loading the model was cancelled.";
                return c;
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(m_s->loadStepMs));
            const int left = m_s->loadSteps - i - 1;
            progress(double(i + 1) / m_s->loadSteps,
                     QString("weights to cuda:0: %1.0 GB of %2.0 GB, 1.00 GB/s, ETA %3 s").arg(i + 1).arg(m_s->loadSteps).arg(left));
        }
        ModelInfo m;
        m.name = choice.folder.isEmpty() ? "demo model" : QFileInfo(choice.folder).fileName();
        m.precision = "fp32";
        m.demo = choice.folder.isEmpty();
        m.devices = {DeviceInfo{"CPU", 0, 0}};
        return m;
    }

    AskResult ask(const AskRequest& r, AskEvents& ev, const std::atomic<bool>& cancel) override {
        ++m_s->asks;
        AskResult res;
        res.sessionId = r.sessionId;
        ev.stage("prefilling");
        for (qint64 done = 0, i = 0; done < m_s->promptTokens; ++i) {
            if (hold(m_s->holdAtPrefillChunk, int(i), cancel)) return cancelled(res);
            done = std::min(done + m_s->chunk, m_s->promptTokens);
            ev.prefill(done, m_s->promptTokens);
            res.prefilledTokens = done;
        }
        QString reasoning, answer;
        for (const QString& t : m_s->reasoning) {
            if (cancel.load()) return cancelled(res);
            ev.reasoning(t);
            reasoning += t;
            ++res.reasoningTokens;
        }
        for (int i = 0; i < m_s->answer.size(); ++i) {
            if (hold(m_s->holdAtAnswerToken, i, cancel)) return cancelled(res);
            ev.answer(m_s->answer[i]);
            answer += m_s->answer[i];
            ++res.answerTokens;
        }
        res.stopReason = "end";
        res.firstTokenSeconds = 0.01;
        if (!m_s->database.isEmpty()) res.sessionId = store(r, reasoning, answer);
        return res;
    }

    AskResult resume(const AskRequest& r, AskEvents& ev, const std::atomic<bool>&) override {
        ++m_s->resumes;
        ev.stage("restoring");
        AskResult res;
        res.sessionId = r.sessionId;
        res.restoredTokens = m_s->promptTokens + 10;
        res.restoreSeconds = 0.02;
        ev.restored(res.restoredTokens, res.restoreSeconds);
        res.stopReason = "end";
        return res;
    }

private:
    // Waits at the hold point until Stop (or release); returns true when the run must end as cancelled.
    bool hold(const std::atomic<int>& at, int i, const std::atomic<bool>& cancel) {
        if (at.load() == i) {
            m_s->holding = true;
            while (!cancel.load() && !m_s->release.load()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
            m_s->release = false;
            m_s->holding = false;
        }
        return cancel.load();
    }
    AskResult cancelled(AskResult r) {
        r.stopReason = "cancelled";
        return r;
    }
    qint64 store(const AskRequest& r, const QString& reasoning, const QString& answer) {
        storage::Database db(m_s->database.toStdString());
        storage::Sessions sessions(db);
        qint64 id = r.sessionId;
        if (id < 0) {
            storage::SessionRecord s;
            s.title = r.question.left(40).toStdString();
            id = sessions.create(s);
        }
        storage::TurnRecord t;
        t.sessionId = id;
        t.question = r.question.toStdString();
        t.reasoning = reasoning.toStdString();
        t.answer = answer.toStdString();
        t.stopReason = "end";
        t.generatedTokens = m_s->reasoning.size() + m_s->answer.size();
        t.timingsJson = QString(R"({"thinking_seconds": 1.5, "reasoning_tokens": %1})").arg(m_s->reasoning.size()).toStdString();
        sessions.addTurn(t);
        return id;
    }
    Script* m_s;
};

// Documents whose name says what they are: "x.pdf" has 3 pages and 1,200 tokens, "bad.pdf" is rejected.
class ScriptedIngest : public IngestBackend {
public:
    DocumentInfo ingest(const QString& path, const QString&, const std::function<void(double)>& progress,
                        const std::atomic<bool>&) override {
        DocumentInfo d;
        d.path = path;
        d.title = QFileInfo(path).fileName();
        progress(0.5);
        if (d.title.startsWith("bad")) {
            d.status = DocStatus::Rejected;
            d.error = "the PDF is encrypted: add it again with its password";
            return d;
        }
        d.kind = "pdf";
        d.pages = 3;
        d.tokens = d.title.startsWith("big") ? 900'000 : 1'200;
        d.status = DocStatus::Ok;
        return d;
    }
};

}  // namespace m1::test
