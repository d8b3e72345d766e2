// EngineWorker: the seam between the window and the engine. It lives on its own QThread, runs the
// ask pipeline there and reports through queued signals; Stop is an atomic flag any thread may set.
#pragma once
#include <QElapsedTimer>
#include <QObject>
#include <QThread>

#include <atomic>
#include <memory>

#include "ui/backend.h"

namespace m1::ui {

class EngineWorker : public QObject {
    Q_OBJECT
public:
    explicit EngineWorker(std::unique_ptr<AskBackend> backend);
    ~EngineWorker() override;

    // Thread-safe: the running prefill or decode stops within one chunk or token, a model load between
    // tensors (or GPU layers).
    void requestStop() { m_cancel.store(true); }
    bool busy() const { return m_busy.load(); }

public slots:
    void loadModel(const m1::ui::ModelChoice& choice);
    void ask(const m1::ui::AskRequest& request);
    void resume(const m1::ui::AskRequest& request);

signals:
    void modelLoadStarted();
    void modelLoadProgress(double fraction, const QString& text);  // at most ~10 a second, and the last
    void modelLoaded(const m1::ui::ModelInfo& info);
    void askStarted();
    void stageChanged(const QString& stage);
    void restored(qint64 tokens, double seconds);
    void prefillProgress(qint64 done, qint64 total, double tokensPerSecond);
    void firstToken(double secondsSinceAsk);
    void reasoningDelta(const QString& text);
    void thinkingFinished(double seconds, qint64 tokens);
    void answerDelta(const QString& text);
    void decodeProgress(qint64 tokens, double tokensPerSecond);
    void askFinished(const m1::ui::AskResult& result);
    void resumeFinished(const m1::ui::AskResult& result);

private:
    class Events;
    enum class Job { Ask, Resume };
    void run(Job job, const AskRequest& request);
    std::unique_ptr<AskBackend> m_backend;
    std::atomic<bool> m_cancel{false};
    std::atomic<bool> m_busy{false};
};

// Owns the engine thread and the worker on it; destroying it stops the run and joins the thread.
class EngineThread : public QObject {
    Q_OBJECT
public:
    explicit EngineThread(std::unique_ptr<AskBackend> backend, QObject* parent = nullptr);
    ~EngineThread() override;
    EngineWorker* worker() const { return m_worker; }
    void loadModel(const ModelChoice& choice);
    void ask(const AskRequest& request);
    void resume(const AskRequest& request);
    void stop() { m_worker->requestStop(); }

private:
    QThread m_thread;
    EngineWorker* m_worker;
};

}  // namespace m1::ui
