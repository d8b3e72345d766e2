// CorpusBar: painted by hand so overflow can be drawn past the budget line.
#include "ui/corpus_bar.h"

#include <QPainter>

#include "ui/library_model.h"

namespace m1::ui {

CorpusBar::CorpusBar(LibraryModel* model, QWidget* parent) : QWidget(parent), m_model(model) {
    setObjectName("corpusBar");
    setMinimumHeight(40);
    auto update = [this] {
        setToolTip(summary());
        this->update();
    };
    connect(model, &LibraryModel::budgetChanged, this, update);
    connect(model, &QAbstractItemModel::dataChanged, this, update);
    connect(model, &QAbstractItemModel::rowsRemoved, this, update);
}

QString CorpusBar::summary() const {
    const qint64 total = m_model->totalTokens();
    const qint64 room = m_model->budget() - m_model->reservedOutput();
    QString s = tr("%1 / %2 tokens").arg(formatCount(total), formatCount(room));
    int outside = 0;
    for (int r = 0; r < m_model->rowCount(); ++r) {
        const auto st = DocStatus(m_model->index(r).data(LibraryModel::StatusRole).toInt());
        if ((st == DocStatus::Ok || st == DocStatus::Partial) && !m_model->index(r).data(LibraryModel::FitsRole).toBool())
            ++outside;
    }
    switch (m_model->fit()) {
    case LibraryModel::Fit::All: break;
    case LibraryModel::Fit::Dropped:
        s += tr(" · over by %1: %2 left out (policy: leave out the last)")
                 .arg(formatCount(total - room), countOf(outside, tr("document"), tr("documents")));
        break;
    case LibraryModel::Fit::Trimmed:
        s += tr(" · over by %1: each document trimmed evenly (policy: trim)").arg(formatCount(total - room));
        break;
    case LibraryModel::Fit::Refused:
        s += tr(" · over by %1: remove documents or change the policy in Settings (policy: refuse)")
                 .arg(formatCount(total - room));
        break;
    }
    return s;
}

void CorpusBar::paintEvent(QPaintEvent*) {
    QPainter p(this);
    p.setRenderHint(QPainter::Antialiasing);
    const QRectF bar(1, 1, width() - 2, 14);
    const qint64 room = std::max<qint64>(1, m_model->budget() - m_model->reservedOutput());
    const qint64 total = m_model->totalTokens();
    // Scale so the budget sits at 100% of the width, or at the budget line when over it.
    const double scale = bar.width() / double(std::max(room, total));
    p.setPen(Qt::NoPen);
    p.setBrush(palette().color(QPalette::AlternateBase));
    p.drawRoundedRect(bar, 3, 3);
    static const QColor colors[] = {QColor("#4f7cac"), QColor("#6a9f58"), QColor("#c58b3a"), QColor("#8a6bb0")};
    double x = bar.left();
    for (int r = 0; r < m_model->rowCount(); ++r) {
        const QModelIndex i = m_model->index(r);
        const auto st = DocStatus(i.data(LibraryModel::StatusRole).toInt());
        if (st != DocStatus::Ok && st != DocStatus::Partial) continue;
        const double w = double(i.data(LibraryModel::TokensRole).toLongLong()) * scale;
        QColor c = colors[r % 4];
        if (!i.data(LibraryModel::FitsRole).toBool()) c = QColor("#b3261e");
        p.setBrush(c);
        p.drawRect(QRectF(x, bar.top(), w, bar.height()));
        x += w;
    }
    if (total > room) {  // the budget line
        p.setPen(QPen(palette().color(QPalette::WindowText), 2));
        const double bx = bar.left() + double(room) * scale;
        p.drawLine(QPointF(bx, bar.top() - 1), QPointF(bx, bar.bottom() + 1));
    }
    p.setPen(m_model->fit() == LibraryModel::Fit::All ? palette().color(QPalette::WindowText) : QColor("#b3261e"));
    p.drawText(QRectF(0, bar.bottom() + 4, width(), height() - bar.bottom() - 4),
               Qt::AlignLeft | Qt::AlignTop | Qt::TextWordWrap, summary());
}

}  // namespace m1::ui
