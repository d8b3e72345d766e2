// The sessions pane: a list of saved sessions with New, Rename, Delete and Export to Markdown.
#pragma once
#include <QWidget>

class QListView;

namespace m1::ui {

class SessionsModel;

class SessionsPane : public QWidget {
    Q_OBJECT
public:
    SessionsPane(SessionsModel* model, QWidget* parent = nullptr);
    QListView* view() const { return m_view; }
    qint64 currentId() const;
    void selectSession(qint64 id);

signals:
    void openRequested(qint64 id);
    void newRequested();
    void deleteRequested(qint64 id);
    void exportRequested(qint64 id);

private:
    SessionsModel* m_model;
    QListView* m_view;
};

}  // namespace m1::ui
