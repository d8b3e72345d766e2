// SearchModel: the display text is HTML (document · location, then the snippet) for the delegate.
#include "ui/search_model.h"

namespace m1::ui {

SearchModel::SearchModel(QObject* parent) : QAbstractListModel(parent) {}

int SearchModel::rowCount(const QModelIndex& parent) const { return parent.isValid() ? 0 : int(m_hits.size()); }

QVariant SearchModel::data(const QModelIndex& index, int role) const {
    if (!index.isValid() || index.row() >= m_hits.size()) return {};
    const SearchHit& h = m_hits[index.row()];
    switch (role) {
    case Qt::DisplayRole:
        return QString("<b>%1</b> · %2<br>%3").arg(h.document.toHtmlEscaped(), h.location.toHtmlEscaped(), h.snippet);
    case Qt::ToolTipRole: return h.path;
    case DocumentRole: return h.document;
    case PathRole: return h.path;
    case LocationRole: return h.location;
    case SnippetRole: return h.snippet;
    case PageRole: return h.page;
    case FileRole: return h.file;
    case LineRole: return h.line;
    default: return {};
    }
}

QHash<int, QByteArray> SearchModel::roleNames() const {
    return {{DocumentRole, "document"}, {PathRole, "path"}, {LocationRole, "location"}, {SnippetRole, "snippet"},
            {PageRole, "page"}, {FileRole, "file"}, {LineRole, "line"}};
}

void SearchModel::setHits(const QVector<SearchHit>& hits) {
    beginResetModel();
    m_hits = hits;
    endResetModel();
}

}  // namespace m1::ui
