// Sessions: a question creates a session in the database; reopening it shows its turns and resumes
// the engine with 0 tokens prefilled; rename, export to Markdown (exact file) and delete.
#include <QFile>
#include <QSignalSpy>
#include <QtTest>

#include "gui/gui_fixture.h"
#include "ui/conversation_model.h"
#include "ui/sessions_model.h"

using namespace m1;

class SessionsTest : public QObject {
    Q_OBJECT
private slots:
    void askCreatesReopenRestoresExportDelete() {
        test::GuiFixture f;
        auto* w = f.window.get();
        QSignalSpy refreshed(w, &ui::MainWindow::sessionsRefreshed);
        w->ask("What is in the box?");
        QTRY_COMPARE(w->lastResult().stopReason, QString("end"));
        QTRY_COMPARE(w->sessions()->rowCount(), 1);
        const qint64 id = w->currentSession();
        QVERIFY(id > 0);
        const QModelIndex row = w->sessions()->index(0);
        QCOMPARE(row.data(ui::SessionsModel::IdRole).toLongLong(), id);
        QCOMPARE(row.data(ui::SessionsModel::LastQuestionRole).toString(), QString("What is in the box?"));

        // Reopen from a fresh conversation: turns come from the store, the engine resumes from a snapshot.
        w->newSession();
        QCOMPARE(w->conversation()->rowCount(), 0);
        QSignalSpy resumed(w, &ui::MainWindow::sessionResumed);
        w->openSession(id);
        QTRY_COMPARE(resumed.count(), 1);
        const auto r = resumed.at(0).at(0).value<ui::AskResult>();
        QCOMPARE(r.prefilledTokens, qint64(0));
        QVERIFY(r.restoredTokens > 0);
        QCOMPARE(w->currentSession(), id);
        QCOMPARE(w->conversation()->rowCount(), 1);
        const auto turn = w->conversation()->turn(0);
        QCOMPARE(turn.answer, QString("The answer is **42** [page 2]."));
        QCOMPARE(turn.reasoning, QString("Let me think."));
        QCOMPARE(turn.thinkingSeconds, 1.5);

        // Rename through the model (as the list's editor does); the store keeps it.
        refreshed.clear();
        QVERIFY(w->sessions()->setData(w->sessions()->index(0), "Boxes", Qt::EditRole));
        QTRY_VERIFY(refreshed.count() >= 1);
        QTRY_COMPARE(w->sessions()->index(0).data(ui::SessionsModel::TitleRole).toString(), QString("Boxes"));

        // Export writes exactly this Markdown.
        const QString path = f.dir.filePath("boxes.md");
        QSignalSpy exported(w, &ui::MainWindow::exported);
        w->exportSession(id, path);
        QTRY_COMPARE(exported.count(), 1);
        QCOMPARE(exported.at(0).at(1).toString(), QString());
        QFile file(path);
        QVERIFY(file.open(QIODevice::ReadOnly));
        const QString expected =
            "# Boxes\n\n"
            "## Question 1\n\nWhat is in the box?\n\n"
            "<details><summary>Thinking · 1.5 s · 4 tokens</summary>\n\nLet me think.\n\n</details>\n\n"
            "### Answer\n\nThe answer is **42** [page 2].\n\n";
        QCOMPARE(QString::fromUtf8(file.readAll()), expected);

        // Delete: gone from the list, and the window starts a new session.
        w->deleteSession(id);
        QTRY_COMPARE(w->sessions()->rowCount(), 0);
        QCOMPARE(w->currentSession(), qint64(-1));
        QCOMPARE(w->conversation()->rowCount(), 0);
    }
};

QTEST_MAIN(SessionsTest)
#include "sessions_test.moc"
