// Asking streams reasoning, then the answer, in order: the Thinking section is open while the model
// thinks, folds when the answer starts and then shows its duration and tokens; the answer is
// rendered Markdown whose citations are links that open the cited place.
#include <QSignalSpy>
#include <QToolButton>
#include <QtTest>

#include "gui/gui_fixture.h"
#include "ui/conversation_model.h"
#include "ui/conversation_view.h"
#include "ui/engine_worker.h"
#include "ui/ingest_queue.h"
#include "ui/turn_widget.h"

using namespace m1;

class ConversationTest : public QObject {
    Q_OBJECT
private slots:
    void reasoningThenAnswerInOrder() {
        test::GuiFixture f;
        QStringList order;
        auto* w = f.window->engine()->worker();
        connect(w, &ui::EngineWorker::reasoningDelta, this, [&](const QString& t) { order << "r:" + t; });
        connect(w, &ui::EngineWorker::answerDelta, this, [&](const QString& t) { order << "a:" + t; });
        f.script.holdAtAnswerToken = 0;  // stop between the reasoning and the answer to look
        f.window->ask("What is the answer?");
        QTRY_VERIFY(f.script.holding.load());

        auto* view = f.window->findChild<ui::ConversationView*>("conversationView");
        QVERIFY(view);
        QTRY_COMPARE(view->turnCount(), 1);
        ui::TurnWidget* turn = view->turn(0);
        QTRY_COMPARE(f.window->conversation()->turn(0).reasoning, QString("Let me think."));
        QTRY_VERIFY(turn->thinkingExpanded());
        QVERIFY(f.window->conversation()->turn(0).answer.isEmpty());

        f.script.release = true;
        QTRY_COMPARE(f.window->lastResult().stopReason, QString("end"));
        QCOMPARE(order, QStringList({"r:Let", "r: me", "r: think", "r:.", "a:The", "a: answer", "a: is", "a: **42**",
                                     "a: [page 2]", "a:."}));
        QTRY_VERIFY(!turn->thinkingExpanded());  // folded once the answer started
        auto* toggle = turn->findChild<QToolButton*>("thinkingToggle");
        QTRY_VERIFY(toggle->text().startsWith("Thinking · "));
        QVERIFY(toggle->text().endsWith("· 4 tokens"));
        // The person can open it again.
        toggle->click();
        QVERIFY(turn->thinkingExpanded());

        auto* answer = turn->findChild<ui::AutoHeightBrowser*>("answerView");
        QTRY_COMPARE(answer->toPlainText(), QString("The answer is 42 [page 2]."));  // Markdown rendered
        QVERIFY(answer->toHtml().contains("m1cite:page%202"));
        QSignalSpy cited(view, &ui::ConversationView::citationActivated);
        emit answer->anchorClicked(QUrl("m1cite:page%202"));
        QCOMPARE(cited.count(), 1);
        QCOMPARE(cited.at(0).at(0).toString(), QString("page 2"));
    }

    void followUpGoesToTheSameSession() {
        test::GuiFixture f;
        f.window->ask("one");
        QTRY_COMPARE(f.window->lastResult().stopReason, QString("end"));
        const qint64 id = f.window->currentSession();
        QVERIFY(id > 0);
        f.window->ask("two");
        QTRY_COMPARE(f.script.asks.load(), 2);
        QTRY_VERIFY(!f.window->conversation()->running());
        QCOMPARE(f.window->currentSession(), id);
        QCOMPARE(f.window->conversation()->rowCount(), 2);
    }

    void changedLibraryStartsANewSession() {
        test::GuiFixture f;
        f.window->ask("one");
        QTRY_COMPARE(f.window->lastResult().stopReason, QString("end"));
        const qint64 first = f.window->currentSession();
        QSignalSpy done(f.window->ingest(), &ui::IngestQueue::allIngested);
        f.window->ingest()->add({"/docs/new.pdf"});
        QVERIFY(done.wait(5000));
        f.window->ask("two");
        QCOMPARE(f.window->conversation()->rowCount(), 1);  // the old turns are not part of the new session
        QVERIFY(f.window->conversation()->index(0).data(ui::ConversationModel::StatsRole).toString().contains("new session"));
        QTRY_COMPARE(f.script.asks.load(), 2);
        QTRY_VERIFY(!f.window->conversation()->running());
        QVERIFY(f.window->currentSession() != first);
    }
};

QTEST_MAIN(ConversationTest)
#include "conversation_test.moc"
