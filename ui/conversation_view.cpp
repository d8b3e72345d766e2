// ConversationView: maps model rows to TurnWidgets and keeps the newest turn in view.
#include "ui/conversation_view.h"

#include <QAbstractItemModel>
#include <QLabel>
#include <QScrollBar>
#include <QTimer>
#include <QVBoxLayout>

#include "ui/turn_widget.h"

namespace m1::ui {

ConversationView::ConversationView(QWidget* parent) : QScrollArea(parent) {
    setObjectName("conversationView");
    setWidgetResizable(true);
    setHorizontalScrollBarPolicy(Qt::ScrollBarAlwaysOff);
    m_content = new QWidget(this);
    m_content->setObjectName("conversationContent");
    m_layout = new QVBoxLayout(m_content);
    m_layout->setContentsMargins(12, 12, 12, 12);
    m_layout->setSpacing(12);
    m_emptyHint = new QLabel(m_content);
    m_emptyHint->setObjectName("conversationEmptyHint");
    m_emptyHint->setWordWrap(true);
    m_emptyHint->setAlignment(Qt::AlignCenter);
    m_layout->addWidget(m_emptyHint);
    m_layout->addStretch(1);
    setWidget(m_content);
    // Following stops when the person scrolls away from the bottom and resumes when they return.
    connect(verticalScrollBar(), &QScrollBar::valueChanged, this, [this](int v) {
        m_follow = v >= verticalScrollBar()->maximum() - 24;
    });
    connect(verticalScrollBar(), &QScrollBar::rangeChanged, this, [this](int, int max) {
        if (m_follow) verticalScrollBar()->setValue(max);
    });
}

void ConversationView::setEmptyHint(const QString& html) { m_emptyHint->setText(html); }

void ConversationView::setModel(QAbstractItemModel* model) {
    if (m_model) m_model->disconnect(this);
    m_model = model;
    connect(model, &QAbstractItemModel::modelReset, this, &ConversationView::rebuild);
    connect(model, &QAbstractItemModel::rowsInserted, this,
            [this](const QModelIndex&, int first, int last) { insertTurns(first, last); });
    connect(model, &QAbstractItemModel::rowsRemoved, this, &ConversationView::rebuild);
    connect(model, &QAbstractItemModel::dataChanged, this, [this](const QModelIndex& tl, const QModelIndex& br) {
        for (int r = tl.row(); r <= br.row() && r < m_turns.size(); ++r) m_turns[r]->refreshSoon();
    });
    rebuild();
}

void ConversationView::rebuild() {
    qDeleteAll(m_turns);
    m_turns.clear();
    m_follow = true;
    if (m_model && m_model->rowCount() > 0) insertTurns(0, m_model->rowCount() - 1);
    m_emptyHint->setVisible(m_turns.isEmpty());
}

void ConversationView::insertTurns(int first, int last) {
    for (int r = first; r <= last; ++r) {
        auto* w = new TurnWidget(QPersistentModelIndex(m_model->index(r, 0)), m_content);
        connect(w, &TurnWidget::citationActivated, this, &ConversationView::citationActivated);
        m_layout->insertWidget(r + 1, w);  // after the empty-conversation hint, before the stretch
        m_turns.insert(r, w);
    }
    m_emptyHint->setVisible(m_turns.isEmpty());
    m_follow = true;  // a new question brings the view to the bottom
}

}  // namespace m1::ui
