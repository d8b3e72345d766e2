// m1-studio: the desktop app. Only wires the main window together.
#include <QApplication>

#include "ui/main_window.h"

int main(int argc, char** argv) {
    QApplication app(argc, argv);
    QApplication::setApplicationName("m1-studio");
    QApplication::setOrganizationName("M1 Studio");
    m1::ui::MainWindow window;
    window.show();
    return app.exec();
}
