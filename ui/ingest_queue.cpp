// IngestQueue: one pool task per document; progress reaches the model through queued calls.
#include "ui/ingest_queue.h"

#include <QPointer>
#include <QThread>

#include "ui/library_model.h"

namespace m1::ui {

IngestQueue::IngestQueue(IngestBackend* backend, LibraryModel* model, QObject* parent)
    : QObject(parent), m_backend(backend), m_model(model),
      m_queue(new BackgroundQueue(std::max(1, QThread::idealThreadCount()), this)) {
    connect(m_model, &QAbstractItemModel::rowsAboutToBeRemoved, this, [this](const QModelIndex&, int first, int last) {
        for (int r = first; r <= last; ++r) {
            cancel(m_model->document(r).path);
            m_passwords.remove(m_model->document(r).path);
        }
    });
}

IngestQueue::~IngestQueue() {
    for (auto& flag : m_cancel) flag->store(true);
}

int IngestQueue::add(const QStringList& paths) {
    int added = 0;
    for (const QString& p : paths) {
        if (!m_model->addPath(p)) continue;
        ++added;
        start(p);
    }
    return added;
}

void IngestQueue::cancel(const QString& path) {
    if (auto it = m_cancel.find(path); it != m_cancel.end()) it.value()->store(true);
}

void IngestQueue::retry(const QString& path, const QString& password) {
    const int row = m_model->rowOf(path);
    if (row < 0 || m_cancel.contains(path)) return;  // removed, or being read right now
    m_passwords.insert(path, password);
    DocumentInfo info;
    info.path = path;
    info.title = m_model->document(row).title;
    info.status = DocStatus::Queued;
    m_model->setResult(info);
    m_model->setProgress(path, 0);
    start(path);
}

void IngestQueue::requestPassword(const QString& path) {
    const int row = m_model->rowOf(path);
    if (row >= 0 && m_model->document(row).needsPassword) emit passwordNeeded(path, m_passwords.contains(path));
}

void IngestQueue::start(const QString& path) {
    auto flag = std::make_shared<std::atomic<bool>>(false);
    m_cancel.insert(path, flag);
    if (!m_backend) {
        DocumentInfo info;
        info.path = path;
        info.status = DocStatus::Rejected;
        info.error = tr("This build has no document reader; rebuild with the ingest library.");
        m_model->setResult(info);
        return;
    }
    IngestBackend* backend = m_backend;
    const QString password = m_passwords.value(path);
    m_queue->run(
        [this, backend, path, password, flag] {
            // Progress hops to the GUI thread; throttled by the backend's own reporting rate.
            auto progress = [this, path](double p) {
                QMetaObject::invokeMethod(m_queue, [this, path, p] { m_model->setProgress(path, p); },
                                          Qt::QueuedConnection);
            };
            return backend->ingest(path, password, progress, *flag);
        },
        [this, path](const DocumentInfo& info) {
            m_cancel.remove(path);
            m_model->setResult(info);
            emit documentIngested(info);
            if (info.needsPassword && m_model->rowOf(path) >= 0) emit passwordNeeded(path, m_passwords.contains(path));
            if (!m_model->ingesting()) emit allIngested();
        });
}

}  // namespace m1::ui
