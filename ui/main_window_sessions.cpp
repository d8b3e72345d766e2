// MainWindow, second half: the store (sessions, search, excerpts), export, and settings. Every
// store call runs on the store queue; results come back to the GUI thread.
#include <QDir>
#include <QFileDialog>
#include <QFileInfo>
#include <QLabel>
#include <QListView>
#include <QRegularExpression>

#include "ui/background_queue.h"
#include "ui/conversation_model.h"
#include "ui/engine_status.h"
#include "ui/engine_worker.h"
#include "ui/excerpt_viewer.h"
#include "ui/ingest_queue.h"
#include "ui/library_model.h"
#include "ui/main_window.h"
#include "ui/markdown_export.h"
#include "ui/search_pane.h"
#include "ui/sessions_model.h"
#include "ui/sessions_pane.h"
#include "ui/settings_dialog.h"

namespace m1::ui {

void MainWindow::openStore() {
    m_store.reset();
    m_searchPane->setStore(nullptr);
    if (!m_services.openStore) {
        m_searchPane->setStore(nullptr, tr("This build has no library database."));
        emit storeReady(false);
        return;
    }
    const QString path = m_settings.database();
    auto open = m_services.openStore;
    m_storeQueue->run(
        [open, path] {
            QDir().mkpath(QFileInfo(path).absolutePath());
            return std::shared_ptr<SessionStore>(open(path));
        },
        [this](const std::shared_ptr<SessionStore>& store) {
            m_store = store;
            m_searchPane->setStore(store);
            refreshSessions();
            emit storeReady(true);
        },
        [this, path](const QString& error) {
            const QString msg = tr("The library database %1 cannot be opened: %2. Choose another location in "
                                   "File › Settings…; sessions and search are off until then.").arg(path, error);
            m_searchPane->setStore(nullptr, msg);
            showError(msg);
            emit storeReady(false);
        });
}

void MainWindow::refreshSessions() {
    if (!m_store) return;
    auto store = m_store;
    m_storeQueue->run([store] { return store->sessions(); },
                      [this](const QVector<SessionSummary>& list) {
                          m_sessions->setSessions(list);
                          m_sessionsPane->selectSession(m_sessionId);
                          emit sessionsRefreshed();
                      },
                      [this](const QString& e) { showError(tr("Reading the sessions failed: %1").arg(e)); });
}

void MainWindow::newSession() {
    if (m_busy) return;
    m_sessionId = -1;
    m_conversation->clear();
    m_sessionsPane->view()->clearSelection();
    m_status->setIdle(tr("new session"));
}

void MainWindow::openSession(qint64 id) {
    if (!m_store || m_busy || id < 0) return;
    if (id == m_sessionId && m_conversation->rowCount() > 0) return;
    auto store = m_store;
    const int row = m_sessions->rowOf(id);
    const QStringList corpus = row >= 0 ? m_sessions->session(row).corpus : QStringList();
    m_storeQueue->run([store, id] { return store->turns(id); },
                      [this, id, corpus](const QVector<TurnRecord>& turns) {
                          m_sessionId = id;
                          m_sessionCorpus = corpus;
                          m_conversation->setTurns(turns);
                          // The session's corpus becomes the library, in its order.
                          m_library->removeRows(0, m_library->rowCount());
                          m_ingest->add(corpus);
                          m_sessionsPane->selectSession(id);
                          emit sessionOpened(id);
                          // Bring the engine to the end of the session now, so the next question starts at once.
                          AskRequest r = request({});
                          r.documents = corpus;
                          m_status->setStage(tr("restoring the session…"));
                          setBusy(true);
                          m_engine->resume(r);
                      },
                      [this](const QString& e) { showError(tr("Opening the session failed: %1").arg(e)); });
}

void MainWindow::deleteSession(qint64 id) {
    if (!m_store) return;
    if (id == m_sessionId) newSession();
    auto store = m_store;
    m_storeQueue->run([store, id] { store->remove(id); return true; },
                      [this](bool) { refreshSessions(); },
                      [this](const QString& e) { showError(tr("Deleting the session failed: %1").arg(e)); });
}

void MainWindow::renameSession(qint64 id, const QString& title) {
    if (!m_store) return;
    auto store = m_store;
    m_storeQueue->run([store, id, title] { store->rename(id, title); return true; },
                      [this](bool) { refreshSessions(); },
                      [this](const QString& e) { showError(tr("Renaming the session failed: %1").arg(e)); });
}

void MainWindow::exportSession(qint64 id, const QString& chosen) {
    if (!m_store) return;
    const int row = m_sessions->rowOf(id);
    const QString title = row >= 0 ? m_sessions->session(row).title : QString();
    const QStringList corpus = row >= 0 ? m_sessions->session(row).corpus : QStringList();
    QString path = chosen;
    if (path.isEmpty()) {
        QString name = title.isEmpty() ? QString("session-%1").arg(id) : title;
        name.replace(QRegularExpression(R"([/\\:*?"<>|]+)"), "_");
        path = QFileDialog::getSaveFileName(this, tr("Export conversation"), QDir::home().filePath(name + ".md"),
                                            tr("Markdown (*.md)"));
        if (path.isEmpty()) return;
    }
    auto store = m_store;
    m_storeQueue->run(
        [store, id, title, corpus, path] {
            return writeMarkdownFile(path, conversationToMarkdown(title, corpus, store->turns(id)));
        },
        [this, path](const QString& error) {
            if (!error.isEmpty()) showError(error);
            else m_status->setIdle(tr("exported to %1").arg(path));
            emit exported(path, error);
        },
        [this, path](const QString& e) {
            showError(tr("Export failed: %1").arg(e));
            emit exported(path, e);
        });
}

void MainWindow::openSettings() {
    SettingsDialog dialog(m_settings, this);
    if (dialog.exec() == QDialog::Accepted) applySettings(dialog.settings());
}

void MainWindow::applySettings(const StudioSettings& s) {
    const StudioSettings old = m_settings;
    m_settings = s;
    m_settings.save();
    m_library->setBudget(s.budget, s.sampling.maxTokens, s.policy);
    const bool modelChanged = old.model.folder != s.model.folder || old.model.device != s.model.device ||
                              old.model.precision != s.model.precision;
    if (modelChanged) {
        if (m_busy || m_loadingModel) m_engine->stop();
        m_engine->loadModel(s.model);  // queued behind the stopped run or load
    }
    if (old.database() != s.database()) {
        newSession();
        m_sessions->setSessions({});
        openStore();
    }
}

ExcerptViewer* MainWindow::viewer() {
    if (!m_viewer) m_viewer = new ExcerptViewer(this);
    return m_viewer;
}

void MainWindow::openCitation(const QString& citation) {
    if (!m_store || m_sessionId < 0) return;
    auto store = m_store;
    const qint64 id = m_sessionId;
    m_storeQueue->run([store, id, citation] { return store->excerpt(id, citation); },
                      [this](const Excerpt& e) { viewer()->showExcerpt(e); },
                      [this, citation](const QString& e) {
                          Excerpt x;
                          x.error = tr("Cannot open %1: %2").arg(citation, e);
                          viewer()->showExcerpt(x);
                      });
}

void MainWindow::openSearchHit(const SearchHit& hit) {
    if (!m_store) return;
    auto store = m_store;
    m_storeQueue->run([store, hit] { return store->excerpt(hit); },
                      [this](const Excerpt& e) { viewer()->showExcerpt(e); },
                      [this](const QString& e) {
                          Excerpt x;
                          x.error = e;
                          viewer()->showExcerpt(x);
                      });
}

}  // namespace m1::ui
