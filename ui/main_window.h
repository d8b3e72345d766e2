// The main window: library, search, conversation, sessions and engine status.
#pragma once
#include <QMainWindow>

class QLabel;

namespace m1::ui {

class MainWindow : public QMainWindow {
    Q_OBJECT
public:
    explicit MainWindow(QWidget* parent = nullptr);

private:
    QLabel* m_modelLabel = nullptr;
};

}  // namespace m1::ui
