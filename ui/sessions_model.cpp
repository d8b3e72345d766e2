// SessionsModel: a flat list, newest first as the store returns it.
#include "ui/sessions_model.h"

#include <QFileInfo>

namespace m1::ui {

SessionsModel::SessionsModel(QObject* parent) : QAbstractListModel(parent) {}

int SessionsModel::rowCount(const QModelIndex& parent) const { return parent.isValid() ? 0 : int(m_sessions.size()); }

QVariant SessionsModel::data(const QModelIndex& index, int role) const {
    if (!index.isValid() || index.row() >= m_sessions.size()) return {};
    const SessionSummary& s = m_sessions[index.row()];
    switch (role) {
    case Qt::DisplayRole:
    case Qt::EditRole:
    case TitleRole: return s.title.isEmpty() ? tr("Session %1").arg(s.id) : s.title;
    case Qt::ToolTipRole: {
        QStringList names;
        for (const auto& p : s.corpus) names << QFileInfo(p).fileName();
        return tr("%1\nCorpus: %2\nLast question: %3").arg(s.updated.toString(Qt::ISODate), names.join(", "), s.lastQuestion);
    }
    case IdRole: return s.id;
    case CorpusRole: return s.corpus;
    case LastQuestionRole: return s.lastQuestion;
    case UpdatedRole: return s.updated;
    default: return {};
    }
}

bool SessionsModel::setData(const QModelIndex& index, const QVariant& value, int role) {
    if (!index.isValid() || role != Qt::EditRole) return false;
    const QString title = value.toString().trimmed();
    if (title.isEmpty()) return false;
    m_sessions[index.row()].title = title;
    emit dataChanged(index, index);
    emit renameRequested(m_sessions[index.row()].id, title);
    return true;
}

Qt::ItemFlags SessionsModel::flags(const QModelIndex& index) const {
    return QAbstractListModel::flags(index) | (index.isValid() ? Qt::ItemIsEditable : Qt::NoItemFlags);
}

QHash<int, QByteArray> SessionsModel::roleNames() const {
    return {{IdRole, "id"}, {TitleRole, "title"}, {CorpusRole, "corpus"}, {LastQuestionRole, "lastQuestion"},
            {UpdatedRole, "updated"}};
}

void SessionsModel::setSessions(const QVector<SessionSummary>& sessions) {
    beginResetModel();
    m_sessions = sessions;
    endResetModel();
}

int SessionsModel::rowOf(qint64 id) const {
    for (int i = 0; i < m_sessions.size(); ++i)
        if (m_sessions[i].id == id) return i;
    return -1;
}

}  // namespace m1::ui
