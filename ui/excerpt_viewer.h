// A non-modal window that shows what a citation or search hit points at: a PDF page rendered with
// Poppler (off the GUI thread), or a file excerpt with the cited lines highlighted.
#pragma once
#include <QDialog>

#include "ui/backend.h"

class QLabel;
class QScrollArea;
class QPlainTextEdit;
class QStackedWidget;

namespace m1::ui {

class BackgroundQueue;

class ExcerptViewer : public QDialog {
    Q_OBJECT
public:
    explicit ExcerptViewer(QWidget* parent = nullptr);
    void showExcerpt(const Excerpt& excerpt);
    QString currentTitle() const;

signals:
    void pageRendered(int page);   // the page image is on screen (tests wait on it)

private:
    BackgroundQueue* m_queue;
    QLabel* m_title;
    QStackedWidget* m_stack;
    QLabel* m_page;
    QScrollArea* m_pageScroll;
    QPlainTextEdit* m_text;
    quint64 m_generation = 0;
};

// Renders one PDF page (1-based) at the given DPI; a null image and an error message on failure.
QImage renderPdfPage(const QString& path, int page, double dpi, QString* error);

}  // namespace m1::ui
