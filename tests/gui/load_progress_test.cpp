// Loading the model: it runs on the engine thread, the status strip shows its progress (bar, bytes/s,
// ETA) while the window stays responsive, Stop cancels it and a later load works. The real loader (the
// demo model on the CPU) reports bytes/s and ETA through the same path and stops when cancelled.
#include <QLabel>
#include <QProgressBar>
#include <QPushButton>
#include <QSignalSpy>
#include <QtTest>

#include "gui/gap_meter.h"
#include "gui/gui_fixture.h"
#include "ui/studio_services.h"

using namespace m1;

class LoadProgressTest : public QObject {
    Q_OBJECT
private slots:
    void progressReachesStatusWithoutBlocking() {
        test::GapMeter gaps;
        test::GuiFixture f(true, [](test::Script& s) {
            s.loadSteps = 10;
            s.loadStepMs = 150;
            s.holdAtLoadStep = 5;
        });
        gaps.start();
        QTRY_VERIFY(f.script.holding.load());
        auto* bar = f.window->findChild<QProgressBar*>("prefillProgress");
        auto* activity = f.window->findChild<QLabel*>("statusActivity");
        QTRY_COMPARE(bar->value(), 500);
        QVERIFY(bar->isVisible());
        QCOMPARE(bar->text(), QString("loading 50%"));
        QCOMPARE(activity->text(), QString("weights to cuda:0: 5.0 GB of 10.0 GB, 1.00 GB/s, ETA 5 s"));
        QVERIFY(f.window->findChild<QPushButton*>("stopButton")->isEnabled());  // Stop cancels the load
        QVERIFY(!f.window->modelKnown());
        QTest::qWait(1500);  // the engine thread is held; the window goes on
        f.script.release = true;
        QTRY_VERIFY_WITH_TIMEOUT(f.window->modelKnown(), 10000);
        gaps.stop();
        qInfo("longest GUI-thread stall during a 3 s load: %lld ms", gaps.longest);
        // The engine thread worked or waited for 3 s; a window waiting on it would have stalled that long.
        QVERIFY2(gaps.longest < 1500, qPrintable(QString("GUI thread stalled %1 ms").arg(gaps.longest)));
        QVERIFY(!bar->isVisible());
        QVERIFY(activity->text().isEmpty());
        QCOMPARE(f.window->findChild<QLabel*>("statusModel")->text(), QString("demo model · fp32"));
        QVERIFY(!f.window->findChild<QPushButton*>("stopButton")->isEnabled());
    }

    void stopCancelsTheLoad() {
        test::GuiFixture f(true, [](test::Script& s) {
            s.loadSteps = 4;
            s.holdAtLoadStep = 2;
        });
        QTRY_VERIFY(f.script.holding.load());
        auto* stop = f.window->findChild<QPushButton*>("stopButton");
        QTRY_VERIFY(stop->isEnabled());
        QTest::mouseClick(stop, Qt::LeftButton);
        QTRY_VERIFY(f.window->modelKnown());
        QVERIFY(f.window->model().cancelled);
        QVERIFY(f.window->findChild<QLabel*>("modelLabel")->text().contains("loading was stopped"));
        QVERIFY(!f.window->findChild<QProgressBar*>("prefillProgress")->isVisible());
        QVERIFY(!stop->isEnabled());
        QVERIFY(f.window->findChild<QPushButton*>("askButton")->isEnabled());
        // Another model loads normally afterwards.
        f.script.holdAtLoadStep = -1;
        QSignalSpy ready(f.window.get(), &ui::MainWindow::modelReady);
        ui::StudioSettings s = f.window->settings();
        s.model.folder = f.dir.filePath("Other-Model");
        f.window->applySettings(s);
        QVERIFY(ready.wait(10000));
        QVERIFY(!f.window->model().cancelled);
        QVERIFY(f.window->model().error.isEmpty());
        QCOMPARE(f.window->model().name, QString("Other-Model"));
        QCOMPARE(f.script.loads.load(), 2);
    }

    void realLoaderReportsRateAndCancels() {
        auto backend = ui::makeAskBackend();
        std::atomic<bool> cancel{false};
        QVector<double> fractions;
        QStringList texts;
        const ui::LoadProgressFn progress = [&](double f, const QString& t) {
            fractions << f;
            texts << t;
        };
        ui::ModelInfo info = backend->load(ui::ModelChoice{}, progress, cancel);  // the demo model on the CPU
        QVERIFY2(info.error.isEmpty(), qPrintable(info.error));
        QVERIFY(!fractions.isEmpty());
        QCOMPARE(fractions.last(), 1.0);
        QVERIFY(std::is_sorted(fractions.begin(), fractions.end()));
        QVERIFY2(texts.last().contains(QRegularExpression(R"(of [0-9.]+ [KMG]i?B, [0-9.]+ [KMG]?i?B/s, ETA 0 s$)")),
                 qPrintable(texts.last()));
        cancel = true;
        info = backend->load(ui::ModelChoice{}, progress, cancel);
        QVERIFY(info.cancelled);
        QVERIFY(info.error.contains("cancelled"));
    }
};

QTEST_MAIN(LoadProgressTest)
#include "load_progress_test.moc"
