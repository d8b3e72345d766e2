// The library: documents in corpus order with their ingest state, and which of them fit the
// token budget under the chosen over-budget policy (the corpus bar and the ask request read it).
#pragma once
#include <QAbstractListModel>

#include "ui/backend.h"

namespace m1::ui {

class LibraryModel : public QAbstractListModel {
    Q_OBJECT
public:
    enum Role {
        PathRole = Qt::UserRole + 1,
        TitleRole, KindRole, PagesRole, FilesRole, TokensRole, TokensEstimatedRole,
        StatusRole,     // DocStatus as int
        WarningsRole,   // QStringList
        ErrorRole, ProgressRole /* 0..1 */, FitsRole /* bool: inside the budget */,
        NeedsPasswordRole,  // bool: an encrypted PDF waiting for its password
    };
    enum class Fit { All, Trimmed, Dropped, Refused };

    explicit LibraryModel(QObject* parent = nullptr);

    int rowCount(const QModelIndex& parent = {}) const override;
    QVariant data(const QModelIndex& index, int role) const override;
    QHash<int, QByteArray> roleNames() const override;
    Qt::ItemFlags flags(const QModelIndex& index) const override;
    bool moveRows(const QModelIndex& src, int row, int count, const QModelIndex& dst, int dstChild) override;
    bool removeRows(int row, int count, const QModelIndex& parent = {}) override;
    // Drag to reorder inside the list (the view's external file drops are handled by the pane).
    Qt::DropActions supportedDropActions() const override { return Qt::MoveAction; }
    QStringList mimeTypes() const override;
    QMimeData* mimeData(const QModelIndexList& indexes) const override;
    bool dropMimeData(const QMimeData* data, Qt::DropAction action, int row, int column, const QModelIndex& parent) override;

    // Returns false (and adds nothing) when the path is already in the library.
    bool addPath(const QString& path);
    int rowOf(const QString& path) const;
    void setProgress(const QString& path, double progress);
    void setResult(const DocumentInfo& info);
    const DocumentInfo& document(int row) const { return m_docs[row].info; }

    // Budget for the corpus = budget - reserved output; policy "refuse", "drop" or "trim".
    void setBudget(qint64 budget, qint64 reservedOutput, const QString& policy);
    qint64 budget() const { return m_budget; }
    qint64 reservedOutput() const { return m_reserved; }
    QString policy() const { return m_policy; }
    qint64 totalTokens() const;
    Fit fit() const;
    QStringList readyPaths() const;          // documents read without rejection, in order
    // Documents to send with a question, in order: all but the rejected ones (the ask pipeline
    // reads them itself, so one still being read here can go too).
    QStringList corpusPaths() const;
    bool ingesting() const;

signals:
    void budgetChanged();

private:
    struct Row {
        DocumentInfo info;
        double progress = 0;
    };
    void emitRow(int row);
    QVector<Row> m_docs;
    qint64 m_budget = 1'000'000, m_reserved = 8192;
    QString m_policy = "drop";
};

QString formatCount(qint64 n);  // 412000 -> "412,000"
// "1 page", "3 pages" (English plurals without a translation file)
QString countOf(qint64 n, const QString& one, const QString& many);

}  // namespace m1::ui
