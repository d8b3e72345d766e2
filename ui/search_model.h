// Search hits over the library (SQLite FTS5 in storage): document, page or path:line, and a
// highlighted snippet. The search itself runs on the store thread; this only holds the results.
#pragma once
#include <QAbstractListModel>

#include "ui/backend.h"

namespace m1::ui {

class SearchModel : public QAbstractListModel {
    Q_OBJECT
public:
    enum Role { DocumentRole = Qt::UserRole + 1, PathRole, LocationRole, SnippetRole, PageRole, FileRole, LineRole };

    explicit SearchModel(QObject* parent = nullptr);
    int rowCount(const QModelIndex& parent = {}) const override;
    QVariant data(const QModelIndex& index, int role) const override;
    QHash<int, QByteArray> roleNames() const override;

    void setHits(const QVector<SearchHit>& hits);
    const SearchHit& hit(int row) const { return m_hits[row]; }

private:
    QVector<SearchHit> m_hits;
};

}  // namespace m1::ui
