// ExcerptViewer: page images come from a background render; text excerpts are shown directly.
#include "ui/excerpt_viewer.h"

#include <poppler-qt6.h>

#include <QFileInfo>
#include <QLabel>
#include <QPlainTextEdit>
#include <QScrollArea>
#include <QStackedWidget>
#include <QTextBlock>
#include <QTextCursor>
#include <QVBoxLayout>

#include "ui/background_queue.h"

namespace m1::ui {

QImage renderPdfPage(const QString& path, int page, double dpi, QString* error) {
    std::unique_ptr<Poppler::Document> doc = Poppler::Document::load(path);
    if (!doc) {
        *error = QObject::tr("Cannot open %1 as a PDF (moved or deleted?). Add it to the library again.").arg(path);
        return {};
    }
    if (doc->isLocked()) {
        *error = QObject::tr("%1 is encrypted; open it in a PDF viewer with its password.").arg(QFileInfo(path).fileName());
        return {};
    }
    if (page < 1 || page > doc->numPages()) {
        *error = QObject::tr("Page %1 is not in %2 (it has %3 pages).").arg(page).arg(QFileInfo(path).fileName()).arg(doc->numPages());
        return {};
    }
    doc->setRenderHint(Poppler::Document::Antialiasing);
    doc->setRenderHint(Poppler::Document::TextAntialiasing);
    std::unique_ptr<Poppler::Page> p = doc->page(page - 1);
    QImage img = p ? p->renderToImage(dpi, dpi) : QImage();
    if (img.isNull()) *error = QObject::tr("Page %1 could not be rendered.").arg(page);
    return img;
}

ExcerptViewer::ExcerptViewer(QWidget* parent) : QDialog(parent), m_queue(new BackgroundQueue(1, this)) {
    setObjectName("excerptViewer");
    setWindowTitle(tr("Source"));
    resize(760, 900);
    auto* layout = new QVBoxLayout(this);
    m_title = new QLabel(this);
    m_title->setObjectName("excerptTitle");
    m_title->setWordWrap(true);
    m_stack = new QStackedWidget(this);
    m_page = new QLabel;
    m_page->setObjectName("excerptPage");
    m_page->setAlignment(Qt::AlignCenter);
    m_pageScroll = new QScrollArea;
    m_pageScroll->setWidget(m_page);
    m_pageScroll->setWidgetResizable(true);
    m_text = new QPlainTextEdit;
    m_text->setObjectName("excerptText");
    m_text->setReadOnly(true);
    m_text->setLineWrapMode(QPlainTextEdit::NoWrap);
    m_text->setFont(QFont("monospace"));
    m_stack->addWidget(m_pageScroll);
    m_stack->addWidget(m_text);
    layout->addWidget(m_title);
    layout->addWidget(m_stack, 1);
}

QString ExcerptViewer::currentTitle() const { return m_title->text(); }

void ExcerptViewer::showExcerpt(const Excerpt& e) {
    const quint64 gen = ++m_generation;
    show();
    raise();
    if (!e.error.isEmpty()) {
        m_title->setText(e.error);
        m_text->clear();
        m_stack->setCurrentWidget(m_text);
        return;
    }
    const QString name = QFileInfo(e.path).fileName();
    const bool pdf = e.page > 0 && e.file.isEmpty() && e.path.endsWith(".pdf", Qt::CaseInsensitive);
    if (pdf) {
        m_title->setText(tr("%1, page %2").arg(name).arg(e.page));
        m_page->setText(tr("Rendering page %1…").arg(e.page));
        m_stack->setCurrentWidget(m_pageScroll);
        const QString path = e.path;
        const int page = e.page;
        const QString fallback = e.text;
        m_queue->run(
            [path, page] {
                QString error;
                QImage img = renderPdfPage(path, page, 110, &error);
                return std::make_pair(img, error);
            },
            [this, gen, page, fallback](const std::pair<QImage, QString>& r) {
                if (gen != m_generation) return;
                if (r.first.isNull()) {  // show the extracted text when the page cannot be drawn
                    m_title->setText(m_title->text() + " — " + r.second);
                    m_text->setPlainText(fallback);
                    m_stack->setCurrentWidget(m_text);
                    return;
                }
                m_page->setPixmap(QPixmap::fromImage(r.first));
                emit pageRendered(page);
            });
        return;
    }
    const QString where = e.file.isEmpty() ? name : name + " › " + e.file;
    m_title->setText(e.line > 0 ? tr("%1, line %2").arg(where).arg(e.line)
                                : (e.page > 0 ? tr("%1, page %2").arg(where).arg(e.page) : where));
    m_text->setPlainText(e.text);
    m_stack->setCurrentWidget(m_text);
    QList<QTextEdit::ExtraSelection> marks;
    const QTextBlock block = m_text->document()->findBlockByNumber(e.line - e.textFirstLine);
    if (e.line > 0 && block.isValid()) {  // mark the cited line and bring it into view
        QTextEdit::ExtraSelection s;
        s.cursor = QTextCursor(block);
        s.format.setBackground(QColor("#fff1a8"));
        s.format.setProperty(QTextFormat::FullWidthSelection, true);
        marks << s;
        m_text->setTextCursor(s.cursor);
        m_text->centerCursor();
    }
    m_text->setExtraSelections(marks);
}

}  // namespace m1::ui
