// Encrypted PDFs on the real ingest and the demo model: the window asks for each file's password in
// one dialog at a time (a wrong one asks again, Cancel leaves the file out and double-click re-asks),
// reads the file with it, and a question hands the password to the ask pipeline's own ingest.
#include <QFile>
#include <QInputDialog>
#include <QLabel>
#include <QPageSize>
#include <QPainter>
#include <QPdfWriter>
#include <QProcess>
#include <QSignalSpy>
#include <QStandardPaths>
#include <QTemporaryDir>
#include <QtTest>

#include "ui/engine_worker.h"
#include "ui/ingest_queue.h"
#include "ui/library_model.h"
#include "ui/main_window.h"
#include "ui/password_prompt.h"
#include "ui/studio_services.h"

using namespace m1;

class PasswordTest : public QObject {
    Q_OBJECT
    QTemporaryDir m_dir;
    QString m_ledger, m_charts;

    // A two-page PDF with `line` on its first page, encrypted with `password` (AES-256) by qpdf.
    static bool makeLocked(const QString& plain, const QString& locked, const QString& line, const QString& password) {
        {
            QPdfWriter w(plain);
            w.setResolution(72);
            w.setPageSize(QPageSize(QPageSize::A4));
            QPainter p(&w);
            QFont f("DejaVu Sans");
            f.setPixelSize(12);
            p.setFont(f);
            p.drawText(QPointF(60, 100), line);
            w.newPage();
            p.drawText(QPointF(60, 100), "The second page is about weather.");
        }
        QProcess qpdf;
        qpdf.start("qpdf", {"--encrypt", password, "owner-" + password, "256", "--", plain, locked});
        return qpdf.waitForFinished(20000) && qpdf.exitStatus() == QProcess::NormalExit && qpdf.exitCode() == 0;
    }

    static QInputDialog* waitForDialog(ui::MainWindow* w) {
        QInputDialog* d = nullptr;
        const bool shown = QTest::qWaitFor([&] { return (d = w->passwordPrompt()->dialog()) != nullptr && d->isVisible(); }, 30000);
        return shown ? d : nullptr;
    }

    static int visibleDialogs(ui::MainWindow* w) {
        int n = 0;
        for (auto* d : w->findChildren<QInputDialog*>())
            if (d->isVisible()) ++n;
        return n;
    }

    static QModelIndex row(ui::MainWindow* w, const QString& path) {
        return w->library()->index(w->library()->rowOf(path));
    }

private slots:
    void initTestCase() {
        QStandardPaths::setTestModeEnabled(true);
        m_ledger = m_dir.filePath("ledger-locked.pdf");
        m_charts = m_dir.filePath("charts-locked.pdf");
        if (!makeLocked(m_dir.filePath("ledger.pdf"), m_ledger, "The harbour code word is zanzibar.", "tide42") ||
            !makeLocked(m_dir.filePath("charts.pdf"), m_charts, "Charts of the northern reef.", "reef7"))
            QSKIP("qpdf is not installed (packaging/install-deps.sh installs it)");
    }

    void asksOneFileAtATimeAndCarriesThePassword() {
        ui::StudioSettings s;
        s.databasePath = m_dir.filePath("library.db");
        s.sampling.maxTokens = 4;
        s.sampling.seed = 1;
        auto w = std::make_unique<ui::MainWindow>(ui::makeStudioServices({}), s);
        w->show();
        QVERIFY(QTest::qWaitFor([&] { return w->modelKnown(); }, 30000));
        QVERIFY2(w->model().error.isEmpty(), qPrintable(w->model().error));

        w->ingest()->add({m_ledger});
        QInputDialog* d = waitForDialog(w.get());
        QVERIFY(d);
        // A second file that needs a password while the dialog is open waits its turn: one dialog on screen.
        QSignalSpy needed(w->ingest(), &ui::IngestQueue::passwordNeeded);
        w->ingest()->add({m_charts});
        QVERIFY(needed.wait(30000));
        QCOMPARE(w->passwordPrompt()->pending(), 1);
        QCOMPARE(visibleDialogs(w.get()), 1);
        QVERIFY(d->labelText().contains("ledger-locked.pdf"));
        QCOMPARE(d->textEchoMode(), QLineEdit::Password);
        QCOMPARE(row(w.get(), m_ledger).data(ui::LibraryModel::StatusRole).toInt(), int(ui::DocStatus::Rejected));
        QVERIFY(row(w.get(), m_ledger).data(ui::LibraryModel::NeedsPasswordRole).toBool());

        // A wrong password reads the file again; meanwhile the second file's dialog has its turn.
        d->setTextValue("wrong");
        d->accept();
        d = waitForDialog(w.get());
        QVERIFY(d);
        QVERIFY(d->labelText().contains("charts-locked.pdf"));
        QCOMPARE(visibleDialogs(w.get()), 1);
        // Cancel leaves that file out and says how to retry.
        d->reject();
        // Then the first file again, saying the password did not open it; the right one opens it.
        d = waitForDialog(w.get());
        QVERIFY(d);
        QVERIFY(d->labelText().contains("ledger-locked.pdf"));
        QVERIFY(d->labelText().contains("did not open"));
        QCOMPARE(visibleDialogs(w.get()), 1);
        d->setTextValue("tide42");
        d->accept();
        QTRY_COMPARE_WITH_TIMEOUT(row(w.get(), m_ledger).data(ui::LibraryModel::StatusRole).toInt(), int(ui::DocStatus::Ok), 30000);
        QCOMPARE(row(w.get(), m_ledger).data(ui::LibraryModel::PagesRole).toInt(), 2);
        QVERIFY(!row(w.get(), m_ledger).data(ui::LibraryModel::NeedsPasswordRole).toBool());
        QVERIFY(row(w.get(), m_ledger).data(ui::LibraryModel::TokensRole).toLongLong() > 5);
        // Nothing more is asked.
        QTest::qWait(300);
        QCOMPARE(visibleDialogs(w.get()), 0);
        QVERIFY(!w->passwordPrompt()->dialog());
        QCOMPARE(row(w.get(), m_charts).data(ui::LibraryModel::StatusRole).toInt(), int(ui::DocStatus::Rejected));
        QVERIFY(row(w.get(), m_charts).data(ui::LibraryModel::ErrorRole).toString().contains("double-click"));
        // Asking again (what double-clicking the row does) opens one dialog; a repeat request adds none.
        w->ingest()->requestPassword(m_charts);
        w->ingest()->requestPassword(m_charts);
        d = waitForDialog(w.get());
        QVERIFY(d);
        QCOMPARE(w->passwordPrompt()->pending(), 0);
        d->reject();
        QTRY_VERIFY(!w->passwordPrompt()->dialog());

        // A question on the library: the pipeline reads the encrypted PDF itself, with the password given.
        QCOMPARE(w->library()->corpusPaths(), QStringList{m_ledger});
        QSignalSpy finished(w->engine()->worker(), &ui::EngineWorker::askFinished);
        w->ask("What is the code word?");
        QVERIFY(finished.wait(60000));
        const auto r = w->lastResult();
        QVERIFY2(r.error.isEmpty(), qPrintable(r.error));
        QVERIFY2(r.notices.filter("not included").isEmpty(), qPrintable(r.notices.join("; ")));
        QVERIFY(r.prefilledTokens > row(w.get(), m_ledger).data(ui::LibraryModel::TokensRole).toLongLong());
        // Its text reached the store: the search index finds the word from the encrypted page.
        QVERIFY(r.sessionId > 0);
        const auto store = ui::openSessionStore(s.databasePath);
        const auto hits = store->search("zanzibar", 5);
        QCOMPARE(hits.size(), 1);
        QCOMPARE(hits.front().page, 1);
    }
};

QTEST_MAIN(PasswordTest)
#include "password_test.moc"
