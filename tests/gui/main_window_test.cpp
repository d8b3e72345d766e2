// The main window opens on the offscreen platform and says which model it runs.
#include <QLabel>
#include <QtTest>

#include "ui/main_window.h"

class MainWindowTest : public QObject {
    Q_OBJECT
private slots:
    void opensAndLabelsTheDemoModel() {
        m1::ui::MainWindow w;
        w.show();
        QVERIFY(QTest::qWaitForWindowExposed(&w));
        auto* label = w.findChild<QLabel*>("modelLabel");
        QVERIFY(label);
        QVERIFY(label->text().contains("meaningless"));
    }
};

QTEST_MAIN(MainWindowTest)
#include "main_window_test.moc"
