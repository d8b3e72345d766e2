// SearchPane: a debounced query box, a list of hits drawn as small HTML, and a status note.
#include "ui/search_pane.h"

#include <QAbstractTextDocumentLayout>
#include <QLabel>
#include <QLineEdit>
#include <QListView>
#include <QPainter>
#include <QStyledItemDelegate>
#include <QTextDocument>
#include <QVBoxLayout>

#include "ui/background_queue.h"
#include "ui/library_model.h"
#include "ui/search_model.h"

namespace m1::ui {

namespace {

// Draws the HTML display text (bold matches) of a hit in two or three lines.
class HtmlDelegate : public QStyledItemDelegate {
public:
    using QStyledItemDelegate::QStyledItemDelegate;
    void paint(QPainter* p, const QStyleOptionViewItem& opt, const QModelIndex& i) const override {
        QStyleOptionViewItem o(opt);
        initStyleOption(&o, i);
        o.text.clear();
        o.widget->style()->drawControl(QStyle::CE_ItemViewItem, &o, p, o.widget);
        QTextDocument doc;
        doc.setDefaultFont(opt.font);
        doc.setHtml(i.data(Qt::DisplayRole).toString());
        doc.setTextWidth(opt.rect.width() - 8);
        p->save();
        p->translate(opt.rect.topLeft() + QPoint(4, 2));
        QAbstractTextDocumentLayout::PaintContext ctx;
        ctx.palette.setColor(QPalette::Text, opt.palette.color(opt.state & QStyle::State_Selected ? QPalette::HighlightedText
                                                                                                  : QPalette::Text));
        ctx.clip = QRectF(0, 0, opt.rect.width() - 8, opt.rect.height() - 4);
        doc.documentLayout()->draw(p, ctx);
        p->restore();
    }
    QSize sizeHint(const QStyleOptionViewItem& opt, const QModelIndex& i) const override {
        QTextDocument doc;
        doc.setDefaultFont(opt.font);
        doc.setHtml(i.data(Qt::DisplayRole).toString());
        doc.setTextWidth(std::max(120, opt.rect.width() - 8));
        return {opt.rect.width(), std::min(int(doc.size().height()) + 6, opt.fontMetrics.lineSpacing() * 4 + 6)};
    }
};

}  // namespace

SearchPane::SearchPane(BackgroundQueue* queue, QWidget* parent)
    : QWidget(parent), m_queue(queue), m_model(new SearchModel(this)) {
    setObjectName("searchPane");
    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->addWidget(new QLabel(tr("<b>Search</b>"), this));
    m_box = new QLineEdit(this);
    m_box->setObjectName("searchBox");
    m_box->setPlaceholderText(tr("Search the library (no model needed)"));
    m_box->setClearButtonEnabled(true);
    m_view = new QListView(this);
    m_view->setObjectName("searchResults");
    m_view->setModel(m_model);
    m_view->setItemDelegate(new HtmlDelegate(m_view));
    m_view->setWordWrap(true);
    m_view->setVerticalScrollMode(QAbstractItemView::ScrollPerPixel);
    m_note = new QLabel(this);
    m_note->setObjectName("searchNote");
    m_note->setWordWrap(true);
    layout->addWidget(m_box);
    layout->addWidget(m_note);
    layout->addWidget(m_view, 1);
    setStore(nullptr);

    m_debounce.setSingleShot(true);
    m_debounce.setInterval(250);
    connect(m_box, &QLineEdit::textChanged, this, [this] { m_debounce.start(); });
    connect(m_box, &QLineEdit::returnPressed, this, [this] { search(m_box->text()); });
    connect(&m_debounce, &QTimer::timeout, this, [this] { search(m_box->text()); });
    connect(m_view, &QListView::activated, this, [this](const QModelIndex& i) { emit hitActivated(m_model->hit(i.row())); });
    connect(m_view, &QListView::clicked, this, [this](const QModelIndex& i) { emit hitActivated(m_model->hit(i.row())); });
}

void SearchPane::setStore(std::shared_ptr<SessionStore> store, const QString& whyNot) {
    m_store = std::move(store);
    m_box->setEnabled(bool(m_store));
    m_note->setText(m_store ? QString() : (whyNot.isEmpty() ? tr("Opening the library database…") : whyNot));
}

void SearchPane::search(const QString& query) {
    m_debounce.stop();
    const quint64 gen = ++m_generation;
    const QString q = query.trimmed();
    if (q.isEmpty() || !m_store) {
        m_model->setHits({});
        m_note->clear();
        emit searched(0);
        return;
    }
    std::shared_ptr<SessionStore> store = m_store;
    m_note->setText(tr("Searching…"));
    m_queue->run([store, q] { return store->search(q, 200); },
                 [this, gen](const QVector<SearchHit>& hits) {
                     if (gen != m_generation) return;
                     m_model->setHits(hits);
                     m_note->setText(hits.isEmpty() ? tr("No matches.") : countOf(hits.size(), tr("hit"), tr("hits")));
                     emit searched(int(hits.size()));
                 },
                 [this, gen](const QString& error) {
                     if (gen != m_generation) return;
                     m_model->setHits({});
                     m_note->setText(tr("Search failed: %1").arg(error));
                     emit searched(0);
                 });
}

}  // namespace m1::ui
