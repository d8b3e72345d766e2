// QuestionBox: intercepts Return/Enter without Shift and emits the trimmed text.
#include "ui/question_box.h"

#include <QKeyEvent>

namespace m1::ui {

QuestionBox::QuestionBox(QWidget* parent) : QPlainTextEdit(parent) {
    setPlaceholderText(tr("Ask about the documents in the library…  (Enter asks, Shift+Enter for a new line)"));
    setTabChangesFocus(true);
}

QSize QuestionBox::sizeHint() const {
    const int lines = 3;
    return {QPlainTextEdit::sizeHint().width(), fontMetrics().lineSpacing() * lines + 16};
}

void QuestionBox::keyPressEvent(QKeyEvent* e) {
    const bool enter = e->key() == Qt::Key_Return || e->key() == Qt::Key_Enter;
    if (enter && !(e->modifiers() & Qt::ShiftModifier)) {
        const QString q = toPlainText().trimmed();
        if (!q.isEmpty()) emit submitted(q);
        e->accept();
        return;
    }
    if (enter) {  // Shift+Enter: a plain new line, not a paragraph separator
        insertPlainText("\n");
        e->accept();
        return;
    }
    QPlainTextEdit::keyPressEvent(e);
}

}  // namespace m1::ui
