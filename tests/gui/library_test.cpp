// The library: added documents are ingested (progress, then kind/pages/tokens, or the rejection in
// place), reordered and removed; the corpus bar measures them against the budget and says what does
// not fit. One case runs the real ingest library with the demo tokenizer on files of this repository.
#include <QApplication>
#include <QDir>
#include <QMimeData>
#include <QFile>
#include <QSignalSpy>
#include <QTemporaryDir>
#include <QtTest>

#include "gui/gui_fixture.h"
#include "ui/conversation_model.h"
#include "ui/corpus_bar.h"
#include "ui/ingest_queue.h"
#include "ui/library_model.h"
#include "ui/library_pane.h"
#include "ui/studio_services.h"

using namespace m1;
using ui::LibraryModel;

class LibraryTest : public QObject {
    Q_OBJECT
private slots:
    void addsAndIngests() {
        test::GuiFixture f;
        auto* lib = f.window->library();
        QSignalSpy done(f.window->ingest(), &ui::IngestQueue::allIngested);
        QCOMPARE(f.window->ingest()->add({"/docs/a.pdf", "/docs/bad.pdf", "/docs/a.pdf"}), 2);  // no duplicates
        QTRY_COMPARE(done.count(), 1);
        QCOMPARE(lib->rowCount(), 2);
        const QModelIndex a = lib->index(0), bad = lib->index(1);
        QCOMPARE(a.data(LibraryModel::StatusRole).toInt(), int(ui::DocStatus::Ok));
        QCOMPARE(a.data(LibraryModel::PagesRole).toInt(), 3);
        QCOMPARE(a.data(LibraryModel::TokensRole).toLongLong(), qint64(1200));
        QVERIFY(a.data(LibraryModel::FitsRole).toBool());
        QCOMPARE(bad.data(LibraryModel::StatusRole).toInt(), int(ui::DocStatus::Rejected));
        QVERIFY(bad.data(LibraryModel::ErrorRole).toString().contains("password"));
        QCOMPARE(lib->readyPaths(), QStringList{"/docs/a.pdf"});
        QCOMPARE(lib->totalTokens(), qint64(1200));
    }

    void dropAddsFilesAndFolders() {
        test::GuiFixture f;
        auto* pane = f.window->findChild<ui::LibraryPane*>("libraryPane");
        QVERIFY(pane);
        QMimeData mime;
        mime.setUrls({QUrl::fromLocalFile("/docs/dropped.pdf"), QUrl::fromLocalFile("/docs/folder"), QUrl("https://x/y.pdf")});
        QSignalSpy done(f.window->ingest(), &ui::IngestQueue::allIngested);
        QDragEnterEvent enter(QPoint(10, 10), Qt::CopyAction, &mime, Qt::LeftButton, Qt::NoModifier);
        QApplication::sendEvent(pane, &enter);
        QVERIFY(enter.isAccepted());
        QDropEvent drop(QPointF(10, 10), Qt::CopyAction, &mime, Qt::LeftButton, Qt::NoModifier);
        QApplication::sendEvent(pane, &drop);
        QVERIFY(done.wait(5000));
        QCOMPARE(f.window->library()->rowCount(), 2);  // local files only
        QCOMPARE(f.window->library()->index(1).data(LibraryModel::PathRole).toString(), QString("/docs/folder"));
    }

    void overBudgetSaysWhatDoesNotFit() {
        test::GuiFixture f;
        auto* lib = f.window->library();
        QSignalSpy done(f.window->ingest(), &ui::IngestQueue::allIngested);
        f.window->ingest()->add({"/docs/big1.pdf", "/docs/small.pdf", "/docs/big2.pdf"});
        QTRY_COMPARE(done.count(), 1);
        QCOMPARE(lib->fit(), LibraryModel::Fit::Dropped);  // 1,801,200 tokens against 1,000,000 - 8,192
        QVERIFY(lib->index(0).data(LibraryModel::FitsRole).toBool());
        QVERIFY(lib->index(1).data(LibraryModel::FitsRole).toBool());
        QVERIFY(!lib->index(2).data(LibraryModel::FitsRole).toBool());
        auto* bar = f.window->findChild<ui::CorpusBar*>("corpusBar");
        QVERIFY(bar->summary().contains("1 document left out"));
        QVERIFY(bar->summary().contains("1,801,200 / 991,808 tokens"));

        // Moving the small one last changes what fits; removing a big one makes everything fit.
        QVERIFY(lib->moveRows({}, 1, 1, {}, 3));
        QCOMPARE(lib->index(2).data(LibraryModel::PathRole).toString(), QString("/docs/small.pdf"));
        QVERIFY(!lib->index(1).data(LibraryModel::FitsRole).toBool());
        lib->setBudget(1'000'000, 8192, "refuse");
        QCOMPARE(lib->fit(), LibraryModel::Fit::Refused);
        QVERIFY(bar->summary().contains("policy: refuse"));
        QVERIFY(lib->removeRows(0, 1));
        QCOMPARE(lib->fit(), LibraryModel::Fit::All);
    }

    void refusePolicyExplainsInPlace() {
        test::GuiFixture f;
        ui::StudioSettings s = f.window->settings();
        s.policy = "refuse";
        f.window->applySettings(s);
        QSignalSpy done(f.window->ingest(), &ui::IngestQueue::allIngested);
        f.window->ingest()->add({"/docs/big1.pdf", "/docs/big2.pdf"});
        QTRY_COMPARE(done.count(), 1);
        f.window->ask("summarise");
        QCOMPARE(f.script.asks.load(), 0);  // the engine never started
        QVERIFY(f.window->conversation()->index(0).data(ui::ConversationModel::ErrorRole).toString().contains("remove documents"));
    }

    void realIngestCountsTokens() {
        QTemporaryDir dir;
        QFile text(dir.filePath("notes.md"));
        QVERIFY(text.open(QIODevice::WriteOnly));
        text.write("# Notes\n\nThe lightning layers keep a state of fixed size; the softmax layers keep a cache.\n");
        text.close();
        QDir().mkpath(dir.filePath("code/src"));
        QFile code(dir.filePath("code/src/main.cpp"));
        QVERIFY(code.open(QIODevice::WriteOnly));
        code.write("int main() { return 0; }\n");
        code.close();

        auto backend = ui::makeIngestBackend();
        std::atomic<bool> cancel{false};
        QList<double> progress;
        auto md = backend->ingest(text.fileName(), {}, [&](double p) { progress << p; }, cancel);
        QCOMPARE(int(md.status), int(ui::DocStatus::Ok));
        QCOMPARE(md.kind, QString("markdown"));
        QVERIFY(md.tokens > 10 && md.tokens < 100);
        QVERIFY(!md.tokensEstimated);  // the demo tokenizer counted them
        QCOMPARE(progress.back(), 1.0);
        auto folder = backend->ingest(dir.filePath("code"), {}, [](double) {}, cancel);
        QCOMPARE(folder.kind, QString("folder"));
        QCOMPARE(folder.files, 1);
        QVERIFY(folder.tokens > 0);
        auto missing = backend->ingest(dir.filePath("nope.pdf"), {}, [](double) {}, cancel);
        QCOMPARE(int(missing.status), int(ui::DocStatus::Rejected));
        QVERIFY(!missing.error.isEmpty());
    }
};

QTEST_MAIN(LibraryTest)
#include "library_test.moc"
