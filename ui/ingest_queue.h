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
    // Reads an encrypted PDF again with its password (kept in memory only, for this run of the app).
    void retry(const QString& path, const QString& password);
    // Asks for the password of a document that needs one again (after the dialog was cancelled).
    void requestPassword(const QString& path);
    // The passwords given, by library path (what questions hand the ask pipeline).
    const QHash<QString, QString>& passwords() const { return m_passwords; }

signals:
    void documentIngested(const m1::ui::DocumentInfo& info);
    // An encrypted PDF needs a password; wrongPassword: the last one given did not open it.
    void passwordNeeded(const QString& path, bool wrongPassword);
    void allIngested();

private:
    void start(const QString& path);
    IngestBackend* m_backend;
    LibraryModel* m_model;
    QHash<QString, std::shared_ptr<std::atomic<bool>>> m_cancel;
    QHash<QString, QString> m_passwords;
    BackgroundQueue* m_queue;
};

}  // namespace m1::ui
