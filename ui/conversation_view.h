// The conversation: a scroll area with one TurnWidget per ConversationModel row. It follows the
// streaming turn to the bottom unless the person has scrolled up to read.
#pragma once
#include <QScrollArea>
#include <QVector>

class QAbstractItemModel;
class QVBoxLayout;
class QLabel;

namespace m1::ui {

class TurnWidget;

class ConversationView : public QScrollArea {
    Q_OBJECT
public:
    explicit ConversationView(QWidget* parent = nullptr);
    void setModel(QAbstractItemModel* model);
    TurnWidget* turn(int row) const { return m_turns.value(row); }
    int turnCount() const { return int(m_turns.size()); }
    void setEmptyHint(const QString& html);

signals:
    void citationActivated(const QString& citation);

private:
    void rebuild();
    void insertTurns(int first, int last);
    QAbstractItemModel* m_model = nullptr;
    QWidget* m_content;
    QVBoxLayout* m_layout;
    QLabel* m_emptyHint;
    QVector<TurnWidget*> m_turns;
    bool m_follow = true;
};

}  // namespace m1::ui
