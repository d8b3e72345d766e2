// Runs the ask pipeline on the engine thread and turns its callbacks into queued signals with
// rates and timings the status bar shows (prefill tok/s and ETA, time to first token, decode tok/s).
#include "ui/engine_worker.h"

#include <QMetaObject>

namespace m1::ui {

// Adapts AskEvents (called on the engine thread) to the worker's signals and measures timings.
class EngineWorker::Events : public AskEvents {
public:
    explicit Events(EngineWorker* w) : m_w(w) { m_clock.start(); }

    void stage(const QString& what) override { emit m_w->stageChanged(what); }
    void restored(qint64 tokens, double seconds) override { emit m_w->restored(tokens, seconds); }

    void prefill(qint64 done, qint64 total) override {
        if (m_prefillStartMs < 0) {  // the first report marks the start; rates count from it
            m_prefillStartMs = m_clock.elapsed();
            m_prefillStartDone = done;
        }
        const double secs = double(m_clock.elapsed() - m_prefillStartMs) / 1000.0;
        const double rate = secs > 0 ? double(done - m_prefillStartDone) / secs : 0.0;
        emit m_w->prefillProgress(done, total, rate);
    }

    void reasoning(const QString& delta) override {
        onToken();
        if (m_thinkingStartMs < 0) m_thinkingStartMs = m_clock.elapsed();
        ++m_reasoningTokens;
        emit m_w->reasoningDelta(delta);
    }

    void answer(const QString& delta) override {
        onToken();
        finishThinking();
        emit m_w->answerDelta(delta);
    }

    // Called when the run ends: a reasoning section that never closed still gets its duration.
    void finishThinking() {
        if (m_thinkingStartMs >= 0 && !m_thinkingDone) {
            m_thinkingDone = true;
            emit m_w->thinkingFinished(double(m_clock.elapsed() - m_thinkingStartMs) / 1000.0, m_reasoningTokens);
        }
    }

    void flushRate() {
        if (m_tokens > 0) emit m_w->decodeProgress(m_tokens, rate());
    }

private:
    double rate() const {
        const double secs = double(m_clock.elapsed() - m_firstTokenMs) / 1000.0;
        return secs > 0 && m_tokens > 1 ? double(m_tokens - 1) / secs : 0.0;
    }

    void onToken() {
        if (m_tokens++ == 0) {
            m_firstTokenMs = m_clock.elapsed();
            emit m_w->firstToken(double(m_firstTokenMs) / 1000.0);
        }
        // A rate update every 100 ms is plenty for a label; one per token would flood the queue. The
        // second token gives the first rate, so short or paused runs show one too.
        if (m_tokens == 2 || (m_tokens > 2 && m_clock.elapsed() - m_lastRateMs >= 100)) {
            m_lastRateMs = m_clock.elapsed();
            emit m_w->decodeProgress(m_tokens, rate());
        }
    }

    EngineWorker* m_w;
    QElapsedTimer m_clock;
    qint64 m_prefillStartMs = -1, m_prefillStartDone = 0;
    qint64 m_firstTokenMs = -1, m_lastRateMs = 0, m_thinkingStartMs = -1;
    qint64 m_tokens = 0, m_reasoningTokens = 0;
    bool m_thinkingDone = false;
};

EngineWorker::EngineWorker(std::unique_ptr<AskBackend> backend) : m_backend(std::move(backend)) {}
EngineWorker::~EngineWorker() = default;

void EngineWorker::loadModel(const ModelChoice& choice) {
    m_cancel.store(false);
    emit modelLoadStarted();
    ModelInfo info;
    if (!m_backend) {
        info.error = tr("No engine is built into this program.");
    } else {
        // Loaders report per tensor; the status bar needs a few updates a second, not a queue flood.
        QElapsedTimer clock;
        clock.start();
        qint64 lastMs = -1000;
        auto progress = [&](double fraction, const QString& text) {
            if (fraction < 1.0 && clock.elapsed() - lastMs < 100) return;
            lastMs = clock.elapsed();
            emit modelLoadProgress(fraction, text);
        };
        info = m_backend->load(choice, progress, m_cancel);
    }
    emit modelLoaded(info);
}

void EngineWorker::ask(const AskRequest& request) { run(Job::Ask, request); }
void EngineWorker::resume(const AskRequest& request) { run(Job::Resume, request); }

void EngineWorker::run(Job job, const AskRequest& request) {
    m_cancel.store(false);
    m_busy.store(true);
    emit askStarted();
    Events events(this);
    AskResult result;
    if (!m_backend) {
        result.stopReason = "error";
        result.error = tr("No engine is built into this program.");
    } else if (job == Job::Ask) {
        result = m_backend->ask(request, events, m_cancel);
    } else {
        result = m_backend->resume(request, events, m_cancel);
    }
    events.finishThinking();
    events.flushRate();
    m_busy.store(false);
    if (job == Job::Ask) emit askFinished(result);
    else emit resumeFinished(result);
}

EngineThread::EngineThread(std::unique_ptr<AskBackend> backend, QObject* parent)
    : QObject(parent), m_worker(new EngineWorker(std::move(backend))) {
    m_thread.setObjectName("engine");
    m_worker->moveToThread(&m_thread);
    connect(&m_thread, &QThread::finished, m_worker, &QObject::deleteLater);
    m_thread.start();
}

EngineThread::~EngineThread() {
    // Quitting happens after the running job returns, which Stop makes quick (one chunk or token).
    m_worker->requestStop();
    m_thread.quit();
    m_thread.wait();
}

void EngineThread::loadModel(const ModelChoice& choice) {
    QMetaObject::invokeMethod(m_worker, [w = m_worker, choice] { w->loadModel(choice); }, Qt::QueuedConnection);
}

void EngineThread::ask(const AskRequest& request) {
    QMetaObject::invokeMethod(m_worker, [w = m_worker, request] { w->ask(request); }, Qt::QueuedConnection);
}

void EngineThread::resume(const AskRequest& request) {
    QMetaObject::invokeMethod(m_worker, [w = m_worker, request] { w->resume(request); }, Qt::QueuedConnection);
}

}  // namespace m1::ui
