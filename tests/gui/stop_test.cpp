// Stop ends the run during prefill (no token is generated) and during decode (the answer keeps
// what came before Stop), and the window is ready for the next question at once.
#include <QLabel>
#include <QProgressBar>
#include <QPushButton>
#include <QtTest>

#include "gui/gui_fixture.h"
#include "ui/conversation_model.h"

using namespace m1;

class StopTest : public QObject {
    Q_OBJECT
private slots:
    void stopDuringPrefill() {
        test::GuiFixture f;
        f.script.holdAtPrefillChunk = 2;
        f.window->ask("long corpus");
        QTRY_VERIFY(f.script.holding.load());
        // The status strip shows tokens done / total, the rate and an ETA while the prefill runs.
        auto* bar = f.window->findChild<QProgressBar*>("prefillProgress");
        QTRY_COMPARE(bar->format(), QString("2,000 / 4,000 tokens"));
        QVERIFY(bar->isVisible());
        QCOMPARE(bar->value(), 500);
        QVERIFY(f.window->findChild<QLabel*>("statusActivity")->text().startsWith("prefill "));
        auto* stop = f.window->findChild<QPushButton*>("stopButton");
        QVERIFY(stop->isEnabled());
        QTest::mouseClick(stop, Qt::LeftButton);
        QTRY_COMPARE(f.window->lastResult().stopReason, QString("cancelled"));
        QCOMPARE(f.window->lastResult().prefilledTokens, qint64(2000));  // two chunks, not the whole prompt
        const auto turn = f.window->conversation()->turn(0);
        QVERIFY(turn.reasoning.isEmpty());
        QVERIFY(turn.answer.isEmpty());
        QCOMPARE(turn.stopReason, QString("cancelled"));
        QVERIFY(f.window->findChild<QPushButton*>("askButton")->isEnabled());
        QVERIFY(!stop->isEnabled());
    }

    void stopDuringDecode() {
        test::GuiFixture f;
        f.script.holdAtAnswerToken = 3;
        f.window->ask("question");
        QTRY_VERIFY(f.script.holding.load());
        QTRY_VERIFY(f.window->findChild<QLabel*>("statusActivity")->text().startsWith("decode "));
        f.window->stop();
        QTRY_COMPARE(f.window->lastResult().stopReason, QString("cancelled"));
        QTRY_COMPARE(f.window->conversation()->turn(0).answer, QString("The answer is"));
        QCOMPARE(f.window->conversation()->turn(0).reasoning, QString("Let me think."));
        // The next question runs normally.
        f.script.holdAtAnswerToken = -1;
        f.window->ask("again");
        QTRY_COMPARE(f.window->lastResult().stopReason, QString("end"));
    }
};

QTEST_MAIN(StopTest)
#include "stop_test.moc"
