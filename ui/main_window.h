// The main window: library (left, above sessions), conversation with the question box (centre),
// search (right), engine status (bottom). It owns the models, the engine thread and the store
// thread, and wires them; the panes are their own classes.
#pragma once
#include <QMainWindow>

#include <memory>

#include "ui/backend.h"
#include "ui/settings.h"

class QLabel;
class QPushButton;

namespace m1::ui {

class BackgroundQueue;
class ConversationModel;
class ConversationView;
class EngineStatus;
class EngineThread;
class ExcerptViewer;
class IngestQueue;
class LibraryModel;
class LibraryPane;
class PasswordPrompt;
class QuestionBox;
class SearchPane;
class SessionsModel;
class SessionsPane;

class MainWindow : public QMainWindow {
    Q_OBJECT
public:
    MainWindow(Services services, const StudioSettings& settings, QWidget* parent = nullptr);
    ~MainWindow() override;

    // For the app's command line and for tests.
    IngestQueue* ingest() const { return m_ingest; }
    LibraryModel* library() const { return m_library; }
    ConversationModel* conversation() const { return m_conversation; }
    SessionsModel* sessions() const { return m_sessions; }
    EngineThread* engine() const { return m_engine; }
    PasswordPrompt* passwordPrompt() const { return m_passwordPrompt; }
    qint64 currentSession() const { return m_sessionId; }
    const StudioSettings& settings() const { return m_settings; }
    const AskResult& lastResult() const { return m_lastResult; }
    // The model the engine reported last; modelKnown() is false until the first load finished.
    bool modelKnown() const { return m_modelKnown; }
    const ModelInfo& model() const { return m_model; }

public slots:
    void ask(const QString& question);
    void stop();
    void newSession();
    void openSession(qint64 id);
    void deleteSession(qint64 id);
    void renameSession(qint64 id, const QString& title);
    // Writes the session as Markdown to path (asks for a file when path is empty).
    void exportSession(qint64 id, const QString& path = {});
    void openSettings();
    void applySettings(const StudioSettings& settings);
    void refreshSessions();
    void openCitation(const QString& citation);
    void openSearchHit(const m1::ui::SearchHit& hit);

signals:
    void modelReady(const m1::ui::ModelInfo& info);  // after each load, on the GUI thread
    void sessionsRefreshed();
    void sessionOpened(qint64 id);
    void sessionResumed(const m1::ui::AskResult& result);
    void exported(const QString& path, const QString& error);
    void storeReady(bool ok);

private:
    void buildLayout();
    void buildMenus();
    void connectEngine();
    void connectPasswords();
    void openStore();
    void setBusy(bool busy);
    void setLoadingModel(bool loading);
    void showModel(const ModelInfo& info);
    void finishAsk(const AskResult& result);
    void showError(const QString& message);
    AskRequest request(const QString& question) const;
    ExcerptViewer* viewer();

    Services m_services;
    StudioSettings m_settings;
    std::shared_ptr<SessionStore> m_store;
    BackgroundQueue* m_storeQueue;
    EngineThread* m_engine;
    LibraryModel* m_library;
    IngestQueue* m_ingest;
    PasswordPrompt* m_passwordPrompt = nullptr;
    ConversationModel* m_conversation;
    SessionsModel* m_sessions;
    LibraryPane* m_libraryPane = nullptr;
    SessionsPane* m_sessionsPane = nullptr;
    SearchPane* m_searchPane = nullptr;
    ConversationView* m_conversationView = nullptr;
    QuestionBox* m_question = nullptr;
    QPushButton* m_askButton = nullptr;
    QPushButton* m_stopButton = nullptr;
    QLabel* m_modelLabel = nullptr;
    QLabel* m_errorLabel = nullptr;
    EngineStatus* m_status = nullptr;
    ExcerptViewer* m_viewer = nullptr;
    qint64 m_sessionId = -1;
    QStringList m_sessionCorpus;  // the documents the open session was asked about
    AskResult m_lastResult;
    ModelInfo m_model;
    bool m_modelKnown = false;
    double m_firstTokenSeconds = 0;  // measured from the moment the question was sent
    bool m_busy = false;
    bool m_loadingModel = false;  // between modelLoadStarted and modelLoaded: Stop cancels the load
};

}  // namespace m1::ui
