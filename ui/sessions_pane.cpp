// SessionsPane: buttons and a context menu over the sessions list; the window does the work.
#include "ui/sessions_pane.h"

#include <QHBoxLayout>
#include <QLabel>
#include <QListView>
#include <QMenu>
#include <QPushButton>
#include <QVBoxLayout>

#include "ui/sessions_model.h"

namespace m1::ui {

SessionsPane::SessionsPane(SessionsModel* model, QWidget* parent) : QWidget(parent), m_model(model) {
    setObjectName("sessionsPane");
    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->addWidget(new QLabel(tr("<b>Sessions</b>"), this));
    m_view = new QListView(this);
    m_view->setObjectName("sessionsView");
    m_view->setModel(model);
    m_view->setEditTriggers(QAbstractItemView::EditKeyPressed | QAbstractItemView::SelectedClicked);
    m_view->setContextMenuPolicy(Qt::CustomContextMenu);
    layout->addWidget(m_view, 1);

    auto* row = new QHBoxLayout;
    auto* newButton = new QPushButton(tr("New"), this);
    auto* rename = new QPushButton(tr("Rename"), this);
    auto* del = new QPushButton(tr("Delete"), this);
    auto* exp = new QPushButton(tr("Export…"), this);
    exp->setObjectName("exportButton");
    for (auto* b : {newButton, rename, del, exp}) row->addWidget(b);
    layout->addLayout(row);

    connect(m_view, &QListView::activated, this,
            [this](const QModelIndex& i) { emit openRequested(i.data(SessionsModel::IdRole).toLongLong()); });
    connect(m_view, &QListView::clicked, this,
            [this](const QModelIndex& i) { emit openRequested(i.data(SessionsModel::IdRole).toLongLong()); });
    connect(newButton, &QPushButton::clicked, this, &SessionsPane::newRequested);
    connect(rename, &QPushButton::clicked, this, [this] {
        if (m_view->currentIndex().isValid()) m_view->edit(m_view->currentIndex());
    });
    connect(del, &QPushButton::clicked, this, [this] {
        if (currentId() >= 0) emit deleteRequested(currentId());
    });
    connect(exp, &QPushButton::clicked, this, [this] {
        if (currentId() >= 0) emit exportRequested(currentId());
    });
    connect(m_view, &QListView::customContextMenuRequested, this, [this](const QPoint& pos) {
        const QModelIndex i = m_view->indexAt(pos);
        if (!i.isValid()) return;
        const qint64 id = i.data(SessionsModel::IdRole).toLongLong();
        QMenu menu(this);
        menu.addAction(tr("Rename"), this, [this, i] { m_view->edit(i); });
        menu.addAction(tr("Export to Markdown…"), this, [this, id] { emit exportRequested(id); });
        menu.addAction(tr("Delete"), this, [this, id] { emit deleteRequested(id); });
        menu.exec(m_view->viewport()->mapToGlobal(pos));
    });
}

qint64 SessionsPane::currentId() const {
    const QModelIndex i = m_view->currentIndex();
    return i.isValid() ? i.data(SessionsModel::IdRole).toLongLong() : -1;
}

void SessionsPane::selectSession(qint64 id) {
    const int row = m_model->rowOf(id);
    if (row >= 0) m_view->setCurrentIndex(m_model->index(row));
}

}  // namespace m1::ui
