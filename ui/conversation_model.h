// The turns of the open session: question, streamed reasoning and answer, timings and how each
// turn ended. The conversation view renders it; export writes it as Markdown.
#pragma once
#include <QAbstractListModel>

#include "ui/backend.h"

namespace m1::ui {

class ConversationModel : public QAbstractListModel {
    Q_OBJECT
public:
    enum Role {
        QuestionRole = Qt::UserRole + 1,
        ReasoningRole, AnswerRole,
        PhaseRole,            // Phase as int
        ThinkingSecondsRole,  // -1 while thinking
        ReasoningTokensRole, AnswerTokensRole,
        StopReasonRole, ErrorRole,
        StatsRole,            // "resumed: 0 tokens prefilled, 412,000 restored in 3.1 s"
    };
    enum class Phase { Waiting, Thinking, Answering, Done };

    explicit ConversationModel(QObject* parent = nullptr);

    int rowCount(const QModelIndex& parent = {}) const override;
    QVariant data(const QModelIndex& index, int role) const override;
    QHash<int, QByteArray> roleNames() const override;

    void setTurns(const QVector<TurnRecord>& turns);   // a reopened session
    void clear();
    void beginTurn(const QString& question);
    void appendReasoning(const QString& delta);
    void finishThinking(double seconds, qint64 tokens);
    void appendAnswer(const QString& delta);
    void setStats(const QString& stats);
    void finishTurn(const AskResult& result);
    TurnRecord turn(int row) const { return m_turns[row].record; }
    bool running() const { return !m_turns.isEmpty() && m_turns.back().phase != Phase::Done; }

private:
    struct Turn {
        TurnRecord record;
        Phase phase = Phase::Done;
        bool thinkingTimed = false;
        QString error, stats;
    };
    void emitLast(const QList<int>& roles = {});
    QVector<Turn> m_turns;
};

// "Thinking · 3.2 s · 412 tokens"
QString thinkingSummary(double seconds, qint64 tokens);

}  // namespace m1::ui
