// The main window opens on the offscreen platform, labels the demo model as meaningless, and the
// question box asks on Enter and adds a line on Shift+Enter.
#include <QLabel>
#include <QPushButton>
#include <QtTest>

#include "gui/gui_fixture.h"
#include "ui/conversation_model.h"
#include "ui/question_box.h"

using namespace m1;

class MainWindowTest : public QObject {
    Q_OBJECT
private slots:
    void opensAndLabelsTheDemoModel() {
        test::GuiFixture f;
        QVERIFY(QTest::qWaitForWindowExposed(f.window.get()));
        auto* label = f.window->findChild<QLabel*>("modelLabel");
        QVERIFY(label);
        QTRY_VERIFY(label->text().contains("meaningless"));
        QCOMPARE(label->property("state").toString(), QString("demo"));
    }

    void enterAsksAndShiftEnterAddsALine() {
        test::GuiFixture f;
        auto* box = f.window->findChild<ui::QuestionBox*>("questionBox");
        QVERIFY(box);
        box->setFocus();
        QTest::keyClicks(box, "first line");
        QTest::keyClick(box, Qt::Key_Return, Qt::ShiftModifier);
        QTest::keyClicks(box, "second");
        QCOMPARE(box->toPlainText(), QString("first line\nsecond"));
        QCOMPARE(f.window->conversation()->rowCount(), 0);
        QTest::keyClick(box, Qt::Key_Return);
        QCOMPARE(f.window->conversation()->rowCount(), 1);
        QCOMPARE(f.window->conversation()->turn(0).question, QString("first line\nsecond"));
        QVERIFY(box->toPlainText().isEmpty());
        QTRY_COMPARE(f.window->lastResult().stopReason, QString("end"));
        QVERIFY(f.window->findChild<QPushButton*>("askButton")->isEnabled());
    }

    void emptyQuestionDoesNothing() {
        test::GuiFixture f;
        auto* box = f.window->findChild<ui::QuestionBox*>("questionBox");
        QTest::keyClicks(box, "   ");
        QTest::keyClick(box, Qt::Key_Return);
        QCOMPARE(f.window->conversation()->rowCount(), 0);
        QCOMPARE(f.script.asks.load(), 0);
    }
};

QTEST_MAIN(MainWindowTest)
#include "main_window_test.moc"
