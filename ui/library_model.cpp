// LibraryModel: rows of documents, their ingest progress and results, and the budget arithmetic.
#include "ui/library_model.h"

#include <QDataStream>
#include <QFileInfo>
#include <QIODevice>
#include <QLocale>
#include <QMimeData>

namespace m1::ui {

namespace {
constexpr char kRowsMime[] = "application/x-m1studio-library-rows";
}

QString formatCount(qint64 n) {
    QLocale c(QLocale::English);  // "412,000" whatever the system locale, as the design shows
    return c.toString(n);
}

QString countOf(qint64 n, const QString& one, const QString& many) {
    return formatCount(n) + " " + (n == 1 ? one : many);
}

LibraryModel::LibraryModel(QObject* parent) : QAbstractListModel(parent) {}

int LibraryModel::rowCount(const QModelIndex& parent) const { return parent.isValid() ? 0 : int(m_docs.size()); }

QVariant LibraryModel::data(const QModelIndex& index, int role) const {
    if (!index.isValid() || index.row() >= m_docs.size()) return {};
    const Row& r = m_docs[index.row()];
    const DocumentInfo& d = r.info;
    switch (role) {
    case Qt::DisplayRole:
    case TitleRole: return d.title.isEmpty() ? QFileInfo(d.path).fileName() : d.title;
    case Qt::ToolTipRole: return d.error.isEmpty() ? d.path + (d.warnings.isEmpty() ? "" : "\n" + d.warnings.join('\n'))
                                                  : d.path + "\n" + d.error;
    case PathRole: return d.path;
    case KindRole: return d.kind;
    case PagesRole: return d.pages;
    case FilesRole: return d.files;
    case TokensRole: return d.tokens;
    case TokensEstimatedRole: return d.tokensEstimated;
    case StatusRole: return int(d.status);
    case WarningsRole: return d.warnings;
    case ErrorRole: return d.error;
    case NeedsPasswordRole: return d.needsPassword;
    case ProgressRole: return r.progress;
    case FitsRole: {
        if (d.status != DocStatus::Ok && d.status != DocStatus::Partial) return false;
        if (m_policy != "drop") return fit() != Fit::Refused;
        qint64 sum = 0;  // "drop" leaves out the last documents: the first ones that fit stay
        for (int i = 0; i <= index.row(); ++i) {
            const auto& o = m_docs[i].info;
            if (o.status == DocStatus::Ok || o.status == DocStatus::Partial) sum += o.tokens;
        }
        return sum <= m_budget - m_reserved;
    }
    default: return {};
    }
}

QHash<int, QByteArray> LibraryModel::roleNames() const {
    return {{PathRole, "path"}, {TitleRole, "title"}, {KindRole, "kind"}, {PagesRole, "pages"},
            {FilesRole, "files"}, {TokensRole, "tokens"}, {TokensEstimatedRole, "tokensEstimated"},
            {StatusRole, "status"}, {WarningsRole, "warnings"}, {ErrorRole, "error"}, {NeedsPasswordRole, "needsPassword"},
            {ProgressRole, "progress"}, {FitsRole, "fits"}};
}

Qt::ItemFlags LibraryModel::flags(const QModelIndex& index) const {
    Qt::ItemFlags f = QAbstractListModel::flags(index);
    return index.isValid() ? f | Qt::ItemIsDragEnabled : f | Qt::ItemIsDropEnabled;
}

bool LibraryModel::moveRows(const QModelIndex& src, int row, int count, const QModelIndex& dst, int dstChild) {
    if (src.isValid() || dst.isValid() || count <= 0 || row < 0 || row + count > m_docs.size()) return false;
    if (dstChild < 0 || dstChild > m_docs.size() || (dstChild >= row && dstChild <= row + count)) return false;
    beginMoveRows(src, row, row + count - 1, dst, dstChild);
    QVector<Row> moved(m_docs.begin() + row, m_docs.begin() + row + count);
    m_docs.remove(row, count);
    const int at = dstChild > row ? dstChild - count : dstChild;
    for (int i = 0; i < count; ++i) m_docs.insert(at + i, moved[i]);
    endMoveRows();
    emit budgetChanged();  // which documents fit depends on the order
    return true;
}

bool LibraryModel::removeRows(int row, int count, const QModelIndex& parent) {
    if (parent.isValid() || count <= 0 || row < 0 || row + count > m_docs.size()) return false;
    beginRemoveRows(parent, row, row + count - 1);
    m_docs.remove(row, count);
    endRemoveRows();
    emit budgetChanged();
    return true;
}

QStringList LibraryModel::mimeTypes() const { return {kRowsMime}; }

QMimeData* LibraryModel::mimeData(const QModelIndexList& indexes) const {
    QByteArray bytes;
    QDataStream out(&bytes, QIODevice::WriteOnly);
    for (const auto& i : indexes) out << i.row();
    auto* mime = new QMimeData;
    mime->setData(kRowsMime, bytes);
    return mime;
}

bool LibraryModel::dropMimeData(const QMimeData* data, Qt::DropAction, int row, int, const QModelIndex& parent) {
    if (!data->hasFormat(kRowsMime)) return false;
    QDataStream in(data->data(kRowsMime));
    int from = -1;
    in >> from;
    if (row < 0) row = parent.isValid() ? parent.row() : int(m_docs.size());
    if (from >= 0) moveRows({}, from, 1, {}, row);
    // false: the move is done here, so the view must not also remove the dragged row.
    return false;
}

bool LibraryModel::addPath(const QString& path) {
    if (rowOf(path) >= 0) return false;
    Row r;
    r.info.path = path;
    r.info.title = QFileInfo(path).fileName();
    beginInsertRows({}, int(m_docs.size()), int(m_docs.size()));
    m_docs.push_back(r);
    endInsertRows();
    return true;
}

int LibraryModel::rowOf(const QString& path) const {
    for (int i = 0; i < m_docs.size(); ++i)
        if (m_docs[i].info.path == path) return i;
    return -1;
}

void LibraryModel::setProgress(const QString& path, double progress) {
    const int row = rowOf(path);
    if (row < 0) return;
    m_docs[row].progress = progress;
    if (m_docs[row].info.status == DocStatus::Queued) m_docs[row].info.status = DocStatus::Ingesting;
    emitRow(row);
}

void LibraryModel::setResult(const DocumentInfo& info) {
    const int row = rowOf(info.path);
    if (row < 0) return;  // removed while it was being ingested
    m_docs[row].info = info;
    m_docs[row].progress = 1.0;
    emitRow(row);
    emit budgetChanged();
}

void LibraryModel::setBudget(qint64 budget, qint64 reservedOutput, const QString& policy) {
    m_budget = budget;
    m_reserved = reservedOutput;
    m_policy = policy;
    if (!m_docs.isEmpty()) emit dataChanged(index(0), index(int(m_docs.size()) - 1), {FitsRole});
    emit budgetChanged();
}

qint64 LibraryModel::totalTokens() const {
    qint64 sum = 0;
    for (const auto& r : m_docs)
        if (r.info.status == DocStatus::Ok || r.info.status == DocStatus::Partial) sum += r.info.tokens;
    return sum;
}

LibraryModel::Fit LibraryModel::fit() const {
    if (totalTokens() <= m_budget - m_reserved) return Fit::All;
    if (m_policy == "trim") return Fit::Trimmed;
    if (m_policy == "refuse") return Fit::Refused;
    return Fit::Dropped;
}

QStringList LibraryModel::readyPaths() const {
    QStringList out;
    for (const auto& r : m_docs)
        if (r.info.status == DocStatus::Ok || r.info.status == DocStatus::Partial) out << r.info.path;
    return out;
}

QStringList LibraryModel::corpusPaths() const {
    QStringList out;
    for (const auto& r : m_docs)
        if (r.info.status != DocStatus::Rejected) out << r.info.path;
    return out;
}

bool LibraryModel::ingesting() const {
    for (const auto& r : m_docs)
        if (r.info.status == DocStatus::Queued || r.info.status == DocStatus::Ingesting) return true;
    return false;
}

void LibraryModel::emitRow(int row) { emit dataChanged(index(row), index(row)); }

}  // namespace m1::ui
