// ConversationModel: the streaming turn is always the last row; deltas update it in place.
#include "ui/conversation_model.h"

#include "ui/library_model.h"

namespace m1::ui {

QString thinkingSummary(double seconds, qint64 tokens) {
    return QObject::tr("Thinking · %1 s · %2 tokens").arg(seconds, 0, 'f', 1).arg(formatCount(tokens));
}

ConversationModel::ConversationModel(QObject* parent) : QAbstractListModel(parent) {}

int ConversationModel::rowCount(const QModelIndex& parent) const { return parent.isValid() ? 0 : int(m_turns.size()); }

QVariant ConversationModel::data(const QModelIndex& index, int role) const {
    if (!index.isValid() || index.row() >= m_turns.size()) return {};
    const Turn& t = m_turns[index.row()];
    switch (role) {
    case Qt::DisplayRole:
    case QuestionRole: return t.record.question;
    case ReasoningRole: return t.record.reasoning;
    case AnswerRole: return t.record.answer;
    case PhaseRole: return int(t.phase);
    case ThinkingSecondsRole: return t.thinkingTimed || t.phase == Phase::Done ? t.record.thinkingSeconds : -1.0;
    case ReasoningTokensRole: return t.record.reasoningTokens;
    case AnswerTokensRole: return t.record.answerTokens;
    case StopReasonRole: return t.record.stopReason;
    case ErrorRole: return t.error;
    case StatsRole: return t.stats;
    default: return {};
    }
}

QHash<int, QByteArray> ConversationModel::roleNames() const {
    return {{QuestionRole, "question"}, {ReasoningRole, "reasoning"}, {AnswerRole, "answer"},
            {PhaseRole, "phase"}, {ThinkingSecondsRole, "thinkingSeconds"},
            {ReasoningTokensRole, "reasoningTokens"}, {AnswerTokensRole, "answerTokens"},
            {StopReasonRole, "stopReason"}, {ErrorRole, "error"}, {StatsRole, "stats"}};
}

void ConversationModel::setTurns(const QVector<TurnRecord>& turns) {
    beginResetModel();
    m_turns.clear();
    for (const auto& r : turns) {
        Turn t;
        t.record = r;
        t.thinkingTimed = true;
        m_turns.push_back(t);
    }
    endResetModel();
}

void ConversationModel::clear() { setTurns({}); }

void ConversationModel::beginTurn(const QString& question) {
    Turn t;
    t.record.question = question;
    t.phase = Phase::Waiting;
    beginInsertRows({}, int(m_turns.size()), int(m_turns.size()));
    m_turns.push_back(t);
    endInsertRows();
}

void ConversationModel::appendReasoning(const QString& delta) {
    if (m_turns.isEmpty()) return;
    Turn& t = m_turns.back();
    t.record.reasoning += delta;
    ++t.record.reasoningTokens;
    t.phase = Phase::Thinking;
    emitLast({ReasoningRole, ReasoningTokensRole, PhaseRole});
}

void ConversationModel::finishThinking(double seconds, qint64 tokens) {
    if (m_turns.isEmpty()) return;
    Turn& t = m_turns.back();
    t.record.thinkingSeconds = seconds;
    t.record.reasoningTokens = tokens;
    t.thinkingTimed = true;
    emitLast({ThinkingSecondsRole, ReasoningTokensRole});
}

void ConversationModel::appendAnswer(const QString& delta) {
    if (m_turns.isEmpty()) return;
    Turn& t = m_turns.back();
    t.record.answer += delta;
    ++t.record.answerTokens;
    t.phase = Phase::Answering;
    emitLast({AnswerRole, AnswerTokensRole, PhaseRole});
}

void ConversationModel::setStats(const QString& stats) {
    if (m_turns.isEmpty()) return;
    m_turns.back().stats = stats;
    emitLast({StatsRole});
}

void ConversationModel::finishTurn(const AskResult& result) {
    if (m_turns.isEmpty()) return;
    Turn& t = m_turns.back();
    t.phase = Phase::Done;
    t.record.stopReason = result.stopReason;
    t.error = result.error;
    // The engine's counts are exact; the streamed counts are what the view saw.
    if (result.reasoningTokens > 0) t.record.reasoningTokens = result.reasoningTokens;
    if (result.answerTokens > 0) t.record.answerTokens = result.answerTokens;
    emitLast();
}

void ConversationModel::emitLast(const QList<int>& roles) {
    const QModelIndex i = index(int(m_turns.size()) - 1);
    emit dataChanged(i, i, roles);
}

}  // namespace m1::ui
