// Every saved session with its corpus and last question. Editing a title asks for a rename; the
// window carries it out on the store thread.
#pragma once
#include <QAbstractListModel>

#include "ui/backend.h"

namespace m1::ui {

class SessionsModel : public QAbstractListModel {
    Q_OBJECT
public:
    enum Role { IdRole = Qt::UserRole + 1, TitleRole, CorpusRole, LastQuestionRole, UpdatedRole };

    explicit SessionsModel(QObject* parent = nullptr);
    int rowCount(const QModelIndex& parent = {}) const override;
    QVariant data(const QModelIndex& index, int role) const override;
    bool setData(const QModelIndex& index, const QVariant& value, int role) override;
    Qt::ItemFlags flags(const QModelIndex& index) const override;
    QHash<int, QByteArray> roleNames() const override;

    void setSessions(const QVector<SessionSummary>& sessions);
    int rowOf(qint64 id) const;
    const SessionSummary& session(int row) const { return m_sessions[row]; }

signals:
    void renameRequested(qint64 id, const QString& title);

private:
    QVector<SessionSummary> m_sessions;
};

}  // namespace m1::ui
