// The excerpt viewer renders the cited PDF page with Poppler off the GUI thread, shows file
// excerpts with the cited line marked, and says in place when a page cannot be shown.
#include <QPainter>
#include <QPdfWriter>
#include <QPlainTextEdit>
#include <QSignalSpy>
#include <QTemporaryDir>
#include <QTextBlock>
#include <QtTest>

#include "ui/excerpt_viewer.h"

using namespace m1::ui;

class ExcerptViewerTest : public QObject {
    Q_OBJECT
    QTemporaryDir m_dir;

    QString makePdf(int pages) {
        const QString path = m_dir.filePath("three.pdf");
        QPdfWriter w(path);
        QPainter p(&w);
        for (int i = 1; i <= pages; ++i) {
            if (i > 1) w.newPage();
            p.drawText(QPointF(200, 400), QString("This is page %1").arg(i));
        }
        return path;
    }

private slots:
    void rendersACitedPage() {
        const QString pdf = makePdf(3);
        ExcerptViewer v;
        QSignalSpy rendered(&v, &ExcerptViewer::pageRendered);
        Excerpt e;
        e.path = pdf;
        e.page = 2;
        v.showExcerpt(e);
        QVERIFY(v.currentTitle().contains("page 2"));
        QVERIFY(rendered.wait(10000));
        QCOMPARE(rendered.at(0).at(0).toInt(), 2);
    }

    void missingPageSaysWhy() {
        const QString pdf = makePdf(3);
        ExcerptViewer v;
        Excerpt e;
        e.path = pdf;
        e.page = 9;
        e.text = "extracted text of page 9";
        v.showExcerpt(e);
        QTRY_VERIFY(v.currentTitle().contains("has 3 pages"));
        QCOMPARE(v.findChild<QPlainTextEdit*>("excerptText")->toPlainText(), e.text);  // the text, as a fallback
    }

    void marksTheCitedLine() {
        ExcerptViewer v;
        Excerpt e;
        e.path = "/src/project";
        e.file = "src/main.cpp";
        e.line = 12;
        e.textFirstLine = 10;
        e.text = "line10\nline11\nline12\nline13";
        v.showExcerpt(e);
        QVERIFY(v.currentTitle().contains("line 12"));
        auto* text = v.findChild<QPlainTextEdit*>("excerptText");
        QCOMPARE(text->extraSelections().size(), 1);
        QCOMPARE(text->extraSelections().at(0).cursor.block().text(), QString("line12"));
    }
};

QTEST_MAIN(ExcerptViewerTest)
#include "excerpt_viewer_test.moc"
