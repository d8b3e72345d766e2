// Citation links in answers, and the Markdown export of a conversation.
#include <QtTest>

#include "ui/citations.h"
#include "ui/markdown_export.h"

using namespace m1::ui;

class CitationsTest : public QObject {
    Q_OBJECT
private slots:
    void linksPagesAndFileLines() {
        QCOMPARE(linkifyCitations("See [page 12]."), QString("See [\\[page 12\\]](m1cite:page%2012)."));
        QCOMPARE(linkifyCitations("In [report.pdf, page 3] and src/a.cpp:40."),
                 QString("In [\\[report.pdf, page 3\\]](m1cite:report.pdf%2C%20page%203) and "
                         "[src/a.cpp:40](m1cite:src%2Fa.cpp%3A40)."));
        QCOMPARE(linkifyCitations("lines main.cpp:10-20"), QString("lines [main.cpp:10-20](m1cite:main.cpp%3A10-20)"));
    }

    void leavesCodeLinksAndUrlsAlone() {
        const QString code = "```\nsee [page 2] and a.cpp:3\n```";
        QCOMPARE(linkifyCitations(code), code);
        QCOMPARE(linkifyCitations("run `a.cpp:3` now"), QString("run `a.cpp:3` now"));
        QCOMPARE(linkifyCitations("[page 2](http://x)"), QString("[page 2](http://x)"));
        QCOMPARE(linkifyCitations("http://example.com:8080/x"), QString("http://example.com:8080/x"));
        QCOMPARE(linkifyCitations("at 10:30 today"), QString("at 10:30 today"));
    }

    void urlRoundTrip() {
        QCOMPARE(citationFromUrl(QUrl("m1cite:src%2Fa.cpp%3A40")), QString("src/a.cpp:40"));
        QCOMPARE(citationFromUrl(QUrl("m1cite:report.pdf%2C%20page%203")), QString("report.pdf, page 3"));
        QCOMPARE(citationFromUrl(QUrl("https://example.com")), QString());
    }

    void exportsMarkdown() {
        TurnRecord a;
        a.question = "Q1?";
        a.reasoning = "think\n";
        a.reasoningTokens = 1200;
        a.thinkingSeconds = 3.24;
        a.answer = "A1 [page 1]";
        a.stopReason = "end";
        TurnRecord b;
        b.question = "Q2?";
        b.answer = "partial";
        b.stopReason = "cancelled";
        const QString md = conversationToMarkdown("Title", {"/d/book.pdf"}, {a, b});
        QCOMPARE(md, QString("# Title\n\nCorpus:\n\n- book.pdf (`/d/book.pdf`)\n\n"
                             "## Question 1\n\nQ1?\n\n"
                             "<details><summary>Thinking · 3.2 s · 1,200 tokens</summary>\n\nthink\n\n</details>\n\n"
                             "### Answer\n\nA1 [page 1]\n\n"
                             "## Question 2\n\nQ2?\n\n### Answer\n\npartial\n\n*(stopped by the user)*\n\n"));
    }
};

QTEST_MAIN(CitationsTest)
#include "citations_test.moc"
