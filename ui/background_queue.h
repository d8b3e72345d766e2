// Runs blocking work (database, parsers) on a private thread pool and hands the result back on the
// thread that owns the queue, so the GUI thread never waits on the disk or a parser.
#pragma once
#include <QMetaObject>
#include <QObject>
#include <QString>
#include <QThreadPool>

#include <exception>
#include <functional>
#include <type_traits>

namespace m1::ui {

class BackgroundQueue : public QObject {
    Q_OBJECT
public:
    // threads = 1 serialises the work (one database connection at a time).
    explicit BackgroundQueue(int threads, QObject* parent = nullptr) : QObject(parent) {
        m_pool.setMaxThreadCount(threads);
    }
    // Waits for the running jobs so that none outlives the objects its result goes to.
    ~BackgroundQueue() override {
        m_pool.clear();
        m_pool.waitForDone();
    }

    // fn() runs on a pool thread; done(result) or failed(message) runs later on this object's thread.
    template <class Fn, class Done>
    void run(Fn fn, Done done, std::function<void(const QString&)> failed = {}) {
        m_pool.start([this, fn, done, failed]() mutable {
            using R = std::invoke_result_t<Fn&>;
            try {
                R r = fn();
                QMetaObject::invokeMethod(this, [done, r]() mutable { done(r); }, Qt::QueuedConnection);
            } catch (const std::exception& e) {
                const QString msg = QString::fromUtf8(e.what());
                if (failed) QMetaObject::invokeMethod(this, [failed, msg] { failed(msg); }, Qt::QueuedConnection);
            }
        });
    }

    bool waitForIdle(int msecs) { return m_pool.waitForDone(msecs); }  // tests only

private:
    QThreadPool m_pool;
};

}  // namespace m1::ui
