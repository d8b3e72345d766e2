// MainWindow: layout, menus, and the path of one question (ask → engine signals → conversation).
#include "ui/main_window.h"

#include <QApplication>
#include <QHBoxLayout>
#include <QLabel>
#include <QMenuBar>
#include <QPushButton>
#include <QSplitter>
#include <QStatusBar>
#include <QStyle>
#include <QVBoxLayout>

#include "ui/background_queue.h"
#include "ui/conversation_model.h"
#include "ui/conversation_view.h"
#include "ui/engine_status.h"
#include "ui/engine_worker.h"
#include "ui/ingest_queue.h"
#include "ui/library_model.h"
#include "ui/library_pane.h"
#include "ui/password_prompt.h"
#include "ui/question_box.h"
#include "ui/search_pane.h"
#include "ui/sessions_model.h"
#include "ui/sessions_pane.h"

namespace m1::ui {

MainWindow::MainWindow(Services services, const StudioSettings& settings, QWidget* parent)
    : QMainWindow(parent), m_services(std::move(services)), m_settings(settings),
      m_storeQueue(new BackgroundQueue(1, this)),
      m_engine(new EngineThread(std::move(m_services.ask), this)),
      m_library(new LibraryModel(this)),
      m_ingest(new IngestQueue(m_services.ingest.get(), m_library, this)),
      m_conversation(new ConversationModel(this)),
      m_sessions(new SessionsModel(this)) {
    setWindowTitle(tr("M1 Studio"));
    setObjectName("mainWindow");
    resize(1400, 860);
    m_library->setBudget(m_settings.budget, m_settings.sampling.maxTokens, m_settings.policy);
    buildLayout();
    buildMenus();
    connectEngine();
    connectPasswords();
    openStore();
    m_status->setLoading(tr("Loading the model…"));
    m_engine->loadModel(m_settings.model);
}

MainWindow::~MainWindow() {
    m_engine->stop();  // the engine thread joins in EngineThread's destructor, after at most one chunk
}

// Encrypted PDFs: ingest says which need a password, one dialog at a time asks for it, and the
// document is read again with it; Cancel leaves it rejected (double-clicking it asks again).
void MainWindow::connectPasswords() {
    m_passwordPrompt = new PasswordPrompt(this);
    connect(m_ingest, &IngestQueue::passwordNeeded, m_passwordPrompt, &PasswordPrompt::ask);
    connect(m_passwordPrompt, &PasswordPrompt::passwordGiven, m_ingest, &IngestQueue::retry);
}

void MainWindow::buildLayout() {
    auto* central = new QWidget(this);
    auto* outer = new QVBoxLayout(central);
    outer->setContentsMargins(6, 6, 6, 0);
    m_modelLabel = new QLabel(central);
    m_modelLabel->setObjectName("modelLabel");
    m_modelLabel->setWordWrap(true);
    m_modelLabel->setText(tr("Loading the model…"));
    m_errorLabel = new QLabel(central);
    m_errorLabel->setObjectName("errorLabel");
    m_errorLabel->setWordWrap(true);
    m_errorLabel->setStyleSheet("background: #fdecea; color: #8c1d18; padding: 6px; border-radius: 4px;");
    m_errorLabel->hide();
    outer->addWidget(m_modelLabel);
    outer->addWidget(m_errorLabel);

    auto* split = new QSplitter(Qt::Horizontal, central);
    auto* left = new QSplitter(Qt::Vertical, split);
    m_libraryPane = new LibraryPane(m_library, m_ingest, left);
    m_sessionsPane = new SessionsPane(m_sessions, left);
    left->setStretchFactor(0, 3);
    left->setStretchFactor(1, 2);

    auto* middle = new QWidget(split);
    auto* mid = new QVBoxLayout(middle);
    mid->setContentsMargins(0, 0, 0, 0);
    m_conversationView = new ConversationView(middle);
    m_conversationView->setModel(m_conversation);
    m_conversationView->setEmptyHint(tr("<h3>Ask about your documents</h3><p>Drop PDFs, archives or folders on the "
                                          "library, then type a question below.<br>The whole library goes into "
                                          "the model's context (up to 1,000,000 tokens).</p>"));
    m_question = new QuestionBox(middle);
    m_question->setObjectName("questionBox");
    m_askButton = new QPushButton(tr("Ask"), middle);
    m_askButton->setObjectName("askButton");
    m_askButton->setDefault(true);
    m_stopButton = new QPushButton(tr("Stop"), middle);
    m_stopButton->setObjectName("stopButton");
    m_stopButton->setEnabled(false);
    auto* buttons = new QVBoxLayout;
    buttons->addWidget(m_askButton);
    buttons->addWidget(m_stopButton);
    buttons->addStretch(1);
    auto* askRow = new QHBoxLayout;
    askRow->addWidget(m_question, 1);
    askRow->addLayout(buttons);
    mid->addWidget(m_conversationView, 1);
    mid->addLayout(askRow);

    m_searchPane = new SearchPane(m_storeQueue, split);
    split->addWidget(left);
    split->addWidget(middle);
    split->addWidget(m_searchPane);
    split->setStretchFactor(0, 2);
    split->setStretchFactor(1, 5);
    split->setStretchFactor(2, 2);
    split->setSizes({330, 760, 310});
    outer->addWidget(split, 1);
    setCentralWidget(central);

    m_status = new EngineStatus(this);
    statusBar()->addWidget(m_status, 1);
    statusBar()->setSizeGripEnabled(true);

    connect(m_question, &QuestionBox::submitted, this, &MainWindow::ask);
    connect(m_askButton, &QPushButton::clicked, this, [this] { ask(m_question->toPlainText().trimmed()); });
    connect(m_stopButton, &QPushButton::clicked, this, &MainWindow::stop);
    connect(m_conversationView, &ConversationView::citationActivated, this, &MainWindow::openCitation);
    connect(m_sessionsPane, &SessionsPane::openRequested, this, &MainWindow::openSession);
    connect(m_sessionsPane, &SessionsPane::newRequested, this, &MainWindow::newSession);
    connect(m_sessionsPane, &SessionsPane::deleteRequested, this, &MainWindow::deleteSession);
    connect(m_sessionsPane, &SessionsPane::exportRequested, this, [this](qint64 id) { exportSession(id); });
    connect(m_sessions, &SessionsModel::renameRequested, this, &MainWindow::renameSession);
    connect(m_searchPane, &SearchPane::hitActivated, this, &MainWindow::openSearchHit);
}

void MainWindow::buildMenus() {
    QMenu* file = menuBar()->addMenu(tr("&File"));
    file->addAction(tr("&Add documents…"), QKeySequence::Open, m_libraryPane, &LibraryPane::addFilesDialog);
    file->addAction(tr("Add &folder…"), m_libraryPane, &LibraryPane::addFolderDialog);
    file->addSeparator();
    file->addAction(tr("&New session"), QKeySequence::New, this, &MainWindow::newSession);
    file->addAction(tr("&Export conversation to Markdown…"), QKeySequence(Qt::CTRL | Qt::Key_E), this,
                    [this] { if (m_sessionId >= 0) exportSession(m_sessionId); });
    file->addSeparator();
    file->addAction(tr("&Settings…"), QKeySequence::Preferences, this, &MainWindow::openSettings);
    file->addSeparator();
    file->addAction(tr("&Quit"), QKeySequence::Quit, qApp, &QApplication::closeAllWindows);
    QMenu* run = menuBar()->addMenu(tr("&Question"));
    run->addAction(tr("&Stop"), QKeySequence(Qt::Key_Escape), this, &MainWindow::stop);
}

void MainWindow::connectEngine() {
    EngineWorker* w = m_engine->worker();
    connect(w, &EngineWorker::modelLoadStarted, this, [this] {
        m_status->setLoading(tr("Loading the model…"));
        setLoadingModel(true);  // Stop cancels the load
    });
    connect(w, &EngineWorker::modelLoadProgress, m_status, &EngineStatus::setLoadProgress);
    connect(w, &EngineWorker::modelLoaded, this, &MainWindow::showModel);
    connect(w, &EngineWorker::askStarted, this, [this] { setBusy(true); });
    connect(w, &EngineWorker::stageChanged, m_status, &EngineStatus::setStage);
    connect(w, &EngineWorker::restored, m_status, &EngineStatus::setRestored);
    connect(w, &EngineWorker::prefillProgress, m_status, &EngineStatus::setPrefill);
    connect(w, &EngineWorker::firstToken, m_status, &EngineStatus::setFirstToken);
    connect(w, &EngineWorker::firstToken, this, [this](double s) { m_firstTokenSeconds = s; });
    connect(w, &EngineWorker::decodeProgress, m_status, &EngineStatus::setDecode);
    connect(w, &EngineWorker::reasoningDelta, m_conversation, &ConversationModel::appendReasoning);
    connect(w, &EngineWorker::thinkingFinished, m_conversation, &ConversationModel::finishThinking);
    connect(w, &EngineWorker::answerDelta, m_conversation, &ConversationModel::appendAnswer);
    connect(w, &EngineWorker::askFinished, this, &MainWindow::finishAsk);
    connect(w, &EngineWorker::resumeFinished, this, [this](const AskResult& r) {
        setBusy(false);
        m_lastResult = r;
        if (!r.error.isEmpty()) {
            m_status->setIdle(tr("resume failed"));
            showError(r.error);
        } else if (r.stopReason == "cancelled") {
            m_status->setIdle(tr("resume stopped; the next question prefills what is missing"));
        } else if (r.stopReason == "no_snapshot" || r.restoredTokens == 0) {
            m_status->setIdle(tr("session reopened without stored engine state: the next question prefills it"));
            if (!r.notices.isEmpty()) showError(r.notices.join(" "));
        } else {
            m_status->setIdle(tr("resumed: %1 tokens prefilled, %2 restored in %3")
                                  .arg(formatCount(r.prefilledTokens), formatCount(r.restoredTokens),
                                       formatDuration(r.restoreSeconds)));
            if (!r.notices.isEmpty()) showError(r.notices.join(" "));  // e.g. only the corpus was stored
        }
        emit sessionResumed(r);
    });
}

void MainWindow::showModel(const ModelInfo& info) {
    setLoadingModel(false);
    m_status->setModel(info);
    if (info.cancelled) {
        m_modelLabel->setText(tr("Model: none loaded — loading was stopped. Open File › Settings… to load a model."));
        m_modelLabel->setProperty("state", "error");
    } else if (!info.error.isEmpty()) {
        m_modelLabel->setText(tr("Model: none loaded — %1 Open File › Settings… to choose another model folder.")
                                  .arg(info.error));
        m_modelLabel->setProperty("state", "error");
    } else if (info.demo) {
        m_modelLabel->setText(tr("Model: embedded demo model (tiny and random: its answers are meaningless). "
                                 "Choose a MiniMax-M1 folder in File › Settings… for real answers."));
        m_modelLabel->setProperty("state", "demo");
    } else {
        m_modelLabel->setText(tr("Model: %1 · %2").arg(info.name, info.precision));
        m_modelLabel->setProperty("state", "ok");
    }
    m_modelLabel->style()->unpolish(m_modelLabel);  // re-apply the style sheet's [state=...] rules
    m_modelLabel->style()->polish(m_modelLabel);
    m_model = info;
    m_modelKnown = true;
    emit modelReady(info);
}

AskRequest MainWindow::request(const QString& question) const {
    AskRequest r;
    r.database = m_settings.database();
    r.sessionId = m_sessionId;
    r.documents = m_library->corpusPaths();
    for (const QString& p : r.documents)
        if (m_ingest->passwords().contains(p)) r.passwords.insert(p, m_ingest->passwords().value(p));
    r.question = question;
    r.systemPrompt = m_settings.systemPrompt;
    r.sampling = m_settings.sampling;
    r.budget = m_settings.budget;
    r.policy = m_settings.policy;
    return r;
}

void MainWindow::ask(const QString& question) {
    if (question.isEmpty() || m_busy) return;
    m_errorLabel->hide();
    // A session keeps the corpus it was started on (its snapshots are of that prompt); a changed
    // library starts a new session rather than being silently ignored.
    const bool corpusChanged = m_sessionId >= 0 && m_library->corpusPaths() != m_sessionCorpus;
    if (corpusChanged) newSession();
    if (m_sessionId < 0) m_sessionCorpus = m_library->corpusPaths();
    m_conversation->beginTurn(question);
    if (corpusChanged) m_conversation->setStats(tr("The library changed, so this question starts a new session."));
    if (m_library->fit() == LibraryModel::Fit::Refused) {
        // The policy says refuse: say so in place, with what to do, and do not start the engine.
        AskResult r;
        r.stopReason = "error";
        r.error = tr("The library is over the %1-token budget and the policy is “refuse”: remove documents, or "
                     "choose “leave out the last documents” or “trim” in Settings.").arg(formatCount(m_settings.budget));
        m_conversation->finishTurn(r);
        return;
    }
    m_question->clear();
    m_firstTokenSeconds = 0;
    setBusy(true);
    m_engine->ask(request(question));
}

void MainWindow::stop() { m_engine->stop(); }

void MainWindow::setBusy(bool busy) {
    m_busy = busy;
    m_askButton->setEnabled(!busy);
    m_stopButton->setEnabled(busy || m_loadingModel);
}

void MainWindow::setLoadingModel(bool loading) {
    m_loadingModel = loading;
    m_stopButton->setEnabled(m_busy || loading);
}

void MainWindow::finishAsk(const AskResult& r) {
    setBusy(false);
    m_lastResult = r;
    QStringList stats;
    if (r.restoredTokens > 0)
        stats << tr("resumed: %1 tokens prefilled, %2 restored in %3")
                     .arg(formatCount(r.prefilledTokens), formatCount(r.restoredTokens), formatDuration(r.restoreSeconds));
    else if (r.prefilledTokens > 0)
        stats << tr("%1 tokens prefilled in %2").arg(formatCount(r.prefilledTokens), formatDuration(r.prefillSeconds));
    const double ttft = m_firstTokenSeconds > 0 ? m_firstTokenSeconds : r.firstTokenSeconds;
    if (ttft > 0) stats << tr("first token after %1").arg(formatDuration(ttft));
    if (r.decodeSeconds > 0 && r.reasoningTokens + r.answerTokens > 1)
        stats << tr("%1 tok/s").arg(double(r.reasoningTokens + r.answerTokens) / r.decodeSeconds, 0, 'f', 1);
    const QString before = m_conversation->rowCount() > 0
                               ? m_conversation->index(m_conversation->rowCount() - 1).data(ConversationModel::StatsRole).toString()
                               : QString();
    if (!before.isEmpty() && !stats.isEmpty()) stats.prepend(before);
    stats << r.notices;
    if (!stats.isEmpty()) m_conversation->setStats(stats.join(" · "));
    m_conversation->finishTurn(r);
    m_status->setIdle(r.stopReason == "cancelled" ? tr("stopped") : (r.error.isEmpty() ? tr("ready") : tr("failed")));
    if (r.sessionId >= 0 && r.sessionId != m_sessionId) {
        m_sessionId = r.sessionId;
    }
    refreshSessions();
}

void MainWindow::showError(const QString& message) {
    m_errorLabel->setText(message);
    m_errorLabel->setVisible(!message.isEmpty());
}

}  // namespace m1::ui
