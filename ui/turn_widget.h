// One turn of the conversation: the question, a collapsible "Thinking" section that streams and
// collapses when the answer starts, the answer rendered as Markdown with clickable citations,
// and a status line (resume stats, stop reason, errors with what to do).
#pragma once
#include <QPersistentModelIndex>
#include <QTextBrowser>
#include <QTimer>
#include <QWidget>

class QLabel;
class QToolButton;

namespace m1::ui {

// A QTextBrowser that is as tall as its text, so turns stack in one scroll area.
class AutoHeightBrowser : public QTextBrowser {
    Q_OBJECT
public:
    explicit AutoHeightBrowser(QWidget* parent = nullptr);
    QSize sizeHint() const override;
    QSize minimumSizeHint() const override { return sizeHint(); }
};

class TurnWidget : public QWidget {
    Q_OBJECT
public:
    TurnWidget(const QPersistentModelIndex& index, QWidget* parent = nullptr);
    // Schedules a refresh from the model (coalesced: at most one render per 40 ms while streaming).
    void refreshSoon();
    void refreshNow();
    bool thinkingExpanded() const;
    QString answerMarkdown() const { return m_shownAnswer; }

signals:
    void citationActivated(const QString& citation);

private:
    void setThinkingExpanded(bool on);
    QPersistentModelIndex m_index;
    QLabel* m_question;
    QToolButton* m_thinkingToggle;
    AutoHeightBrowser* m_thinking;
    AutoHeightBrowser* m_answer;
    QLabel* m_status;
    QTimer m_timer;
    QString m_shownAnswer;
    qsizetype m_shownReasoning = 0;
    int m_lastPhase = -1;
    bool m_userToggled = false;
};

}  // namespace m1::ui
