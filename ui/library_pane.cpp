// LibraryPane and its two-line row delegate (title; kind, size, tokens, warnings or progress).
#include "ui/library_pane.h"

#include <QDragEnterEvent>
#include <QFileDialog>
#include <QHBoxLayout>
#include <QLabel>
#include <QListView>
#include <QMimeData>
#include <QPainter>
#include <QPushButton>
#include <QShortcut>
#include <QStyledItemDelegate>
#include <QVBoxLayout>

#include "ui/corpus_bar.h"
#include "ui/ingest_queue.h"
#include "ui/library_model.h"

namespace m1::ui {

namespace {

// The second line of a row: what the document is, or how far its ingest is, or why it failed.
QString detailLine(const QModelIndex& i) {
    const auto st = DocStatus(i.data(LibraryModel::StatusRole).toInt());
    if (st == DocStatus::Queued) return QObject::tr("waiting to be read…");
    if (st == DocStatus::Ingesting)
        return QObject::tr("reading… %1%").arg(int(100 * i.data(LibraryModel::ProgressRole).toDouble()));
    if (st == DocStatus::Rejected) return i.data(LibraryModel::ErrorRole).toString();
    QStringList parts{i.data(LibraryModel::KindRole).toString()};
    if (int pages = i.data(LibraryModel::PagesRole).toInt()) parts << countOf(pages, QObject::tr("page"), QObject::tr("pages"));
    if (int files = i.data(LibraryModel::FilesRole).toInt()) parts << countOf(files, QObject::tr("file"), QObject::tr("files"));
    const bool est = i.data(LibraryModel::TokensEstimatedRole).toBool();
    parts << (est ? QObject::tr("≈%1 tokens") : QObject::tr("%1 tokens"))
                 .arg(formatCount(i.data(LibraryModel::TokensRole).toLongLong()));
    const int warnings = int(i.data(LibraryModel::WarningsRole).toStringList().size());
    if (warnings) parts << countOf(warnings, QObject::tr("warning"), QObject::tr("warnings"));
    if (!i.data(LibraryModel::FitsRole).toBool()) parts << QObject::tr("does not fit");
    return parts.join(" · ");
}

class LibraryDelegate : public QStyledItemDelegate {
public:
    using QStyledItemDelegate::QStyledItemDelegate;
    QSize sizeHint(const QStyleOptionViewItem& opt, const QModelIndex&) const override {
        return {opt.rect.width(), opt.fontMetrics.lineSpacing() * 2 + 12};
    }
    void paint(QPainter* p, const QStyleOptionViewItem& opt, const QModelIndex& i) const override {
        QStyleOptionViewItem o(opt);
        initStyleOption(&o, i);
        o.text.clear();
        o.widget->style()->drawControl(QStyle::CE_ItemViewItem, &o, p, o.widget);
        const QRect r = opt.rect.adjusted(6, 4, -6, -4);
        const int lh = opt.fontMetrics.lineSpacing();
        const bool selected = opt.state & QStyle::State_Selected;
        const QColor fg = opt.palette.color(selected ? QPalette::HighlightedText : QPalette::Text);
        p->setPen(fg);
        p->drawText(QRect(r.left(), r.top(), r.width(), lh), Qt::AlignLeft | Qt::AlignVCenter,
                    opt.fontMetrics.elidedText(i.data(Qt::DisplayRole).toString(), Qt::ElideMiddle, r.width()));
        const auto st = DocStatus(i.data(LibraryModel::StatusRole).toInt());
        const QRect second(r.left(), r.top() + lh + 2, r.width(), lh);
        if (st == DocStatus::Ingesting) {  // a thin progress bar under the title
            const double f = i.data(LibraryModel::ProgressRole).toDouble();
            p->fillRect(QRect(second.left(), second.bottom() - 2, second.width(), 3), opt.palette.color(QPalette::Mid));
            p->fillRect(QRect(second.left(), second.bottom() - 2, int(second.width() * f), 3), QColor("#4f7cac"));
        }
        const bool bad = st == DocStatus::Rejected || (st != DocStatus::Ingesting && st != DocStatus::Queued &&
                                                       !i.data(LibraryModel::FitsRole).toBool());
        p->setPen(bad && !selected ? QColor("#b3261e") : fg);
        QFont small = opt.font;
        small.setPointSizeF(small.pointSizeF() * 0.9);
        p->setFont(small);
        p->drawText(second, Qt::AlignLeft | Qt::AlignTop,
                    QFontMetrics(small).elidedText(detailLine(i), Qt::ElideRight, second.width()));
    }
};

}  // namespace

LibraryPane::LibraryPane(LibraryModel* model, IngestQueue* ingest, QWidget* parent)
    : QWidget(parent), m_model(model), m_ingest(ingest) {
    setObjectName("libraryPane");
    setAcceptDrops(true);
    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);
    auto* title = new QLabel(tr("<b>Library</b>"), this);
    m_view = new QListView(this);
    m_view->setObjectName("libraryView");
    m_view->setModel(model);
    m_view->setItemDelegate(new LibraryDelegate(m_view));
    m_view->setSelectionMode(QAbstractItemView::ExtendedSelection);
    m_view->setDragDropMode(QAbstractItemView::InternalMove);
    m_view->setDefaultDropAction(Qt::MoveAction);
    m_view->setUniformItemSizes(true);
    m_view->setToolTip(tr("Drop PDFs, archives or folders here"));
    // An encrypted PDF whose password dialog was cancelled: double-click asks again.
    connect(m_view, &QAbstractItemView::doubleClicked, this, [this](const QModelIndex& i) {
        if (i.data(LibraryModel::NeedsPasswordRole).toBool()) m_ingest->requestPassword(i.data(LibraryModel::PathRole).toString());
    });

    auto* buttons = new QHBoxLayout;
    auto* addFiles = new QPushButton(tr("Add…"), this);
    addFiles->setObjectName("addFilesButton");
    auto* addFolder = new QPushButton(tr("Add folder…"), this);
    auto* remove = new QPushButton(tr("Remove"), this);
    remove->setObjectName("removeButton");
    auto* up = new QPushButton(QString::fromUtf8("↑"), this);
    auto* down = new QPushButton(QString::fromUtf8("↓"), this);
    up->setToolTip(tr("Move up (Alt+Up)"));
    down->setToolTip(tr("Move down (Alt+Down)"));
    up->setMaximumWidth(32);
    down->setMaximumWidth(32);
    for (auto* b : {addFiles, addFolder, remove}) buttons->addWidget(b);
    buttons->addStretch(1);
    buttons->addWidget(up);
    buttons->addWidget(down);
    m_bar = new CorpusBar(model, this);

    layout->addWidget(title);
    layout->addWidget(m_view, 1);
    layout->addLayout(buttons);
    layout->addWidget(m_bar);

    connect(addFiles, &QPushButton::clicked, this, &LibraryPane::addFilesDialog);
    connect(addFolder, &QPushButton::clicked, this, &LibraryPane::addFolderDialog);
    connect(remove, &QPushButton::clicked, this, &LibraryPane::removeSelected);
    connect(up, &QPushButton::clicked, this, [this] { moveSelected(-1); });
    connect(down, &QPushButton::clicked, this, [this] { moveSelected(+1); });
    new QShortcut(QKeySequence::Delete, m_view, [this] { removeSelected(); }, Qt::WidgetShortcut);
    new QShortcut(QKeySequence(Qt::ALT | Qt::Key_Up), m_view, [this] { moveSelected(-1); }, Qt::WidgetShortcut);
    new QShortcut(QKeySequence(Qt::ALT | Qt::Key_Down), m_view, [this] { moveSelected(+1); }, Qt::WidgetShortcut);
}

void LibraryPane::addFilesDialog() {
    const QStringList files = QFileDialog::getOpenFileNames(
        this, tr("Add documents"), {},
        tr("Documents (*.pdf *.zip *.tar *.tgz *.gz *.bz2 *.xz *.zst *.7z *.txt *.md *.csv *.html *.docx *.odt);;All files (*)"));
    if (!files.isEmpty()) m_ingest->add(files);
}

void LibraryPane::addFolderDialog() {
    const QString dir = QFileDialog::getExistingDirectory(this, tr("Add a folder or codebase"));
    if (!dir.isEmpty()) m_ingest->add({dir});
}

void LibraryPane::removeSelected() {
    QList<int> rows;
    for (const auto& i : m_view->selectionModel()->selectedIndexes()) rows << i.row();
    std::sort(rows.begin(), rows.end(), std::greater<int>());
    for (int r : rows) m_model->removeRow(r);
}

void LibraryPane::moveSelected(int delta) {
    const QModelIndex cur = m_view->currentIndex();
    if (!cur.isValid()) return;
    const int row = cur.row(), to = row + delta;
    if (to < 0 || to >= m_model->rowCount()) return;
    m_model->moveRow({}, row, {}, delta > 0 ? to + 1 : to);
    m_view->setCurrentIndex(m_model->index(to));
}

void LibraryPane::dragEnterEvent(QDragEnterEvent* e) {
    if (e->mimeData()->hasUrls()) e->acceptProposedAction();
}

void LibraryPane::dropEvent(QDropEvent* e) {
    QStringList paths;
    for (const QUrl& u : e->mimeData()->urls())
        if (u.isLocalFile()) paths << u.toLocalFile();
    if (!paths.isEmpty()) {
        m_ingest->add(paths);
        e->acceptProposedAction();
    }
}

}  // namespace m1::ui
