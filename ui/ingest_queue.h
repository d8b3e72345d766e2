// Ingests the documents added to the library, a few at a time on a thread pool, and writes progress
// and results into the LibraryModel. Removing a row cancels its job.
#pragma once
#include <QHash>
#include <QObject>

#include <atomic>
#include <memory>

#include "ui/backend.h"
#include "ui/background_queue.h"

namespace m1::ui {

class LibraryModel;

class IngestQueue : public QObject {
    Q_OBJECT
public:
    IngestQueue(IngestBackend* backend, LibraryModel* model, QObject* parent = nullptr);
    ~IngestQueue() override;
    // Adds the paths to the library (skipping ones already there) and starts ingesting them.
    int add(const QStringList& paths);
    void cancel(const QString& path);

signals:
    void documentIngested(const m1::ui::DocumentInfo& info);
    void allIngested();

private:
    void start(const QString& path);
    IngestBackend* m_backend;
    LibraryModel* m_model;
    QHash<QString, std::shared_ptr<std::atomic<bool>>> m_cancel;
    BackgroundQueue* m_queue;
};

}  // namespace m1::ui
