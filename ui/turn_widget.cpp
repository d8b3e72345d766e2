// TurnWidget: renders one ConversationModel row; reasoning is appended, the answer re-rendered.
#include "ui/turn_widget.h"

#include <QAbstractTextDocumentLayout>
#include <QDesktopServices>
#include <QLabel>
#include <QScrollBar>
#include <QTextCursor>
#include <QToolButton>
#include <QVBoxLayout>

#include "ui/citations.h"
#include "ui/conversation_model.h"
#include "ui/library_model.h"

namespace m1::ui {

AutoHeightBrowser::AutoHeightBrowser(QWidget* parent) : QTextBrowser(parent) {
    setVerticalScrollBarPolicy(Qt::ScrollBarAlwaysOff);
    setHorizontalScrollBarPolicy(Qt::ScrollBarAlwaysOff);
    setSizePolicy(QSizePolicy::Expanding, QSizePolicy::Fixed);
    setFrameShape(QFrame::NoFrame);
    setOpenLinks(false);
    connect(document()->documentLayout(), &QAbstractTextDocumentLayout::documentSizeChanged, this,
            [this] { updateGeometry(); });
}

QSize AutoHeightBrowser::sizeHint() const {
    const int h = int(document()->size().height()) + 2 * frameWidth() + 4;
    return {QTextBrowser::sizeHint().width(), std::max(h, fontMetrics().lineSpacing() + 8)};
}

TurnWidget::TurnWidget(const QPersistentModelIndex& index, QWidget* parent) : QWidget(parent), m_index(index) {
    setObjectName("turn");
    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(8, 8, 8, 8);
    m_question = new QLabel(this);
    m_question->setObjectName("questionLabel");
    m_question->setWordWrap(true);
    m_question->setTextFormat(Qt::PlainText);
    m_question->setTextInteractionFlags(Qt::TextSelectableByMouse);
    m_thinkingToggle = new QToolButton(this);
    m_thinkingToggle->setObjectName("thinkingToggle");
    m_thinkingToggle->setCheckable(true);
    m_thinkingToggle->setToolButtonStyle(Qt::ToolButtonTextBesideIcon);
    m_thinkingToggle->setAutoRaise(true);
    m_thinking = new AutoHeightBrowser(this);
    m_thinking->setObjectName("thinkingBody");
    m_answer = new AutoHeightBrowser(this);
    m_answer->setObjectName("answerView");
    m_status = new QLabel(this);
    m_status->setObjectName("turnStatus");
    m_status->setWordWrap(true);
    layout->addWidget(m_question);
    layout->addWidget(m_thinkingToggle);
    layout->addWidget(m_thinking);
    layout->addWidget(m_answer);
    layout->addWidget(m_status);

    connect(m_thinkingToggle, &QToolButton::clicked, this, [this](bool on) {
        m_userToggled = true;  // from now on the person decides, not the phase
        setThinkingExpanded(on);
    });
    connect(m_answer, &QTextBrowser::anchorClicked, this, [this](const QUrl& url) {
        const QString c = citationFromUrl(url);
        if (!c.isEmpty()) emit citationActivated(c);
        else if (url.scheme() == "http" || url.scheme() == "https") QDesktopServices::openUrl(url);
    });
    m_timer.setSingleShot(true);
    m_timer.setInterval(40);
    connect(&m_timer, &QTimer::timeout, this, &TurnWidget::refreshNow);
    refreshNow();
}

bool TurnWidget::thinkingExpanded() const { return m_thinking->isVisibleTo(this); }

void TurnWidget::setThinkingExpanded(bool on) {
    m_thinkingToggle->setChecked(on);
    m_thinkingToggle->setArrowType(on ? Qt::DownArrow : Qt::RightArrow);
    m_thinking->setVisible(on);
}

void TurnWidget::refreshSoon() {
    if (!m_timer.isActive()) m_timer.start();
}

void TurnWidget::refreshNow() {
    m_timer.stop();
    if (!m_index.isValid()) return;
    using CM = ConversationModel;
    const auto phase = CM::Phase(m_index.data(CM::PhaseRole).toInt());
    m_question->setText(m_index.data(CM::QuestionRole).toString());

    // Reasoning only grows while streaming: append the new part instead of re-setting all of it.
    const QString reasoning = m_index.data(CM::ReasoningRole).toString();
    if (reasoning.size() < m_shownReasoning) {
        m_thinking->setPlainText(reasoning);
    } else if (reasoning.size() > m_shownReasoning) {
        QTextCursor c(m_thinking->document());
        c.movePosition(QTextCursor::End);
        c.insertText(reasoning.mid(m_shownReasoning));
    }
    m_shownReasoning = reasoning.size();

    const double secs = m_index.data(CM::ThinkingSecondsRole).toDouble();
    const qint64 rtok = m_index.data(CM::ReasoningTokensRole).toLongLong();
    m_thinkingToggle->setVisible(!reasoning.isEmpty());
    m_thinkingToggle->setText(secs >= 0 ? thinkingSummary(secs, rtok)
                                        : tr("Thinking… %1 tokens").arg(formatCount(rtok)));
    if (!m_userToggled && int(phase) != m_lastPhase) {
        // Open while the model thinks; fold away once the answer starts or when a saved turn loads.
        setThinkingExpanded(phase == CM::Phase::Thinking || phase == CM::Phase::Waiting);
    }
    if (reasoning.isEmpty()) m_thinking->setVisible(false);
    m_lastPhase = int(phase);

    const QString answer = m_index.data(CM::AnswerRole).toString();
    if (answer != m_shownAnswer) {
        m_shownAnswer = answer;
        m_answer->setMarkdown(linkifyCitations(answer));
    }
    m_answer->setVisible(!answer.isEmpty());

    QStringList status;
    const QString stats = m_index.data(CM::StatsRole).toString();
    if (!stats.isEmpty()) status << stats;
    const QString stop = m_index.data(CM::StopReasonRole).toString();
    if (phase == CM::Phase::Done && stop == "cancelled") status << tr("Stopped.");
    if (phase == CM::Phase::Done && stop == "max_tokens")
        status << tr("Cut at the output limit; raise “Max output tokens” in Settings for longer answers.");
    const QString error = m_index.data(CM::ErrorRole).toString();
    m_status->setProperty("error", !error.isEmpty());
    if (!error.isEmpty()) status << error;
    if (phase == CM::Phase::Waiting && status.isEmpty()) status << tr("Waiting for the engine…");
    m_status->setText(status.join("  ·  "));
    m_status->setStyleSheet(error.isEmpty() ? "color: palette(mid);" : "color: #b3261e;");
    m_status->setVisible(!status.isEmpty());
}

}  // namespace m1::ui
