// Settings: M1's recommended defaults, persistence through QSettings (test mode), the dialog's
// round trip and limits, and model folder validation on the demo model and on a wrong folder.
#include <QComboBox>
#include <QDir>
#include <QPlainTextEdit>
#include <QSignalSpy>
#include <QSpinBox>
#include <QStandardPaths>
#include <QTemporaryDir>
#include <QtTest>

#include "gui/gui_fixture.h"
#include "m1/model.h"
#include "ui/settings.h"
#include "ui/settings_dialog.h"

using namespace m1;

class SettingsTest : public QObject {
    Q_OBJECT
private slots:
    void initTestCase() {
        QStandardPaths::setTestModeEnabled(true);
        QSettings().clear();
    }

    void defaultsAreM1s() {
        QSettings().clear();
        const auto s = ui::StudioSettings::load();
        QCOMPARE(s.sampling.temperature, 1.0);
        QCOMPARE(s.sampling.topP, 0.95);
        QCOMPARE(s.budget, qint64(1'000'000));
        QVERIFY(s.model.folder.isEmpty());  // the demo model
    }

    void persists() {
        ui::StudioSettings s;
        s.model.folder = "/models/MiniMax-M1-80k";
        s.model.device = "cuda:0,1";
        s.model.precision = "int8-experts";
        s.sampling.temperature = 0.7;
        s.sampling.topP = 0.9;
        s.sampling.topK = 40;
        s.sampling.maxTokens = 80'000;
        s.sampling.seed = 7;
        s.systemPrompt = "Answer briefly.";
        s.budget = 500'000;
        s.policy = "trim";
        s.databasePath = "/tmp/x.db";
        s.save();
        QVERIFY(ui::StudioSettings::load() == s);
    }

    void windowAppliesAndPersists() {
        QSettings().clear();
        test::GuiFixture f;
        ui::StudioSettings s = f.window->settings();
        s.sampling.maxTokens = 12'345;
        s.policy = "refuse";
        f.window->applySettings(s);
        QCOMPARE(ui::StudioSettings::load().sampling.maxTokens, 12'345);
        QCOMPARE(ui::StudioSettings::load().policy, QString("refuse"));
    }

    void dialogRoundTripAndLimits() {
        ui::StudioSettings s;
        s.sampling.maxTokens = 64'000;
        s.policy = "trim";
        ui::SettingsDialog d(s);
        QCOMPARE(d.settings().sampling.maxTokens, 64'000);
        QCOMPARE(d.settings().policy, QString("trim"));
        auto* max = d.findChild<QSpinBox*>("maxTokens");
        QCOMPARE(max->maximum(), 80'000);
        max->setValue(200'000);
        QCOMPARE(d.settings().sampling.maxTokens, 80'000);
        d.findChild<QComboBox*>("precision")->setCurrentText("int8-experts");
        QCOMPARE(d.settings().model.precision, QString("int8-experts"));
    }

    void validatesModelFolders() {
        ui::SettingsDialog d(ui::StudioSettings{});
        QSignalSpy checked(&d, &ui::SettingsDialog::modelChecked);
        d.setModelFolder(QString::fromStdString(m1::demo_model_dir()));
        QTRY_COMPARE(checked.count(), 1);
        auto c = checked.at(0).at(0).value<ui::ModelCheck>();
        QVERIFY2(c.ok, qPrintable(c.error));
        QVERIFY(c.summary.contains("layers"));
        QCOMPARE(c.fits.size(), 2);
        QVERIFY(c.fits[1].weightBytes < c.fits[0].weightBytes);  // int8 experts are smaller than bf16

        QTemporaryDir empty;
        d.setModelFolder(empty.path());
        QTRY_COMPARE(checked.count(), 2);
        c = checked.at(1).at(0).value<ui::ModelCheck>();
        QVERIFY(!c.ok);
        QVERIFY(c.error.contains("config.json"));
        QVERIFY(d.findChild<QPlainTextEdit*>("modelCheck")->toPlainText().contains("config.json"));

        // With M1_GUI_GRAB_DIR set (the screenshot step does), keep a picture of the dialog.
        if (const QString grab = qEnvironmentVariable("M1_GUI_GRAB_DIR"); !grab.isEmpty()) {
            d.setModelFolder(QString::fromStdString(m1::demo_model_dir()));
            QTRY_COMPARE(checked.count(), 3);
            d.show();
            QVERIFY(d.grab().save(QDir(grab).filePath("settings-dialog.png")));
        }
    }
};

QTEST_MAIN(SettingsTest)
#include "settings_test.moc"
