// Builds the window's layout; the panes are filled by their own classes.
#include "ui/main_window.h"

#include <QLabel>
#include <QStatusBar>
#include <QVBoxLayout>

namespace m1::ui {

MainWindow::MainWindow(QWidget* parent) : QMainWindow(parent) {
    setWindowTitle(tr("M1 Studio"));
    resize(1280, 800);
    auto* central = new QWidget(this);
    auto* layout = new QVBoxLayout(central);
    m_modelLabel = new QLabel(tr("Model: embedded demo model (its answers are meaningless)"), central);
    m_modelLabel->setObjectName("modelLabel");
    layout->addWidget(m_modelLabel);
    layout->addStretch(1);
    setCentralWidget(central);
    statusBar()->showMessage(tr("Ready"));
}

}  // namespace m1::ui
