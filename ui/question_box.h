// The question editor: Enter asks, Shift+Enter starts a new line.
#pragma once
#include <QPlainTextEdit>

namespace m1::ui {

class QuestionBox : public QPlainTextEdit {
    Q_OBJECT
public:
    explicit QuestionBox(QWidget* parent = nullptr);
    QSize sizeHint() const override;

signals:
    void submitted(const QString& question);

protected:
    void keyPressEvent(QKeyEvent* e) override;
};

}  // namespace m1::ui
