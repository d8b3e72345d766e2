// The search box over the library: typing searches after a short pause (on the store thread);
// activating a hit asks the window to open its page or file excerpt.
#pragma once
#include <QTimer>
#include <QWidget>

#include <memory>

#include "ui/backend.h"

class QLineEdit;
class QListView;
class QLabel;

namespace m1::ui {

class SearchModel;
class BackgroundQueue;

class SearchPane : public QWidget {
    Q_OBJECT
public:
    SearchPane(BackgroundQueue* queue, QWidget* parent = nullptr);
    // The store searches run against (null: search is off, with a note saying why).
    void setStore(std::shared_ptr<SessionStore> store, const QString& whyNot = {});
    QLineEdit* box() const { return m_box; }
    SearchModel* model() const { return m_model; }

public slots:
    void search(const QString& query);

signals:
    void hitActivated(const m1::ui::SearchHit& hit);
    void searched(int hits);   // results shown (tests wait on it)

private:
    std::shared_ptr<SessionStore> m_store;
    BackgroundQueue* m_queue;
    QLineEdit* m_box;
    QListView* m_view;
    QLabel* m_note;
    SearchModel* m_model;
    QTimer m_debounce;
    quint64 m_generation = 0;  // answers to older queries are dropped
};

}  // namespace m1::ui
