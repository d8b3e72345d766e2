// The settings dialog. Choosing a model folder validates it in the background and shows the
// architecture, size, and what fits on this machine's GPUs at each precision.
#pragma once
#include <QDialog>

#include "ui/model_check.h"
#include "ui/settings.h"

class QComboBox;
class QDoubleSpinBox;
class QLabel;
class QLineEdit;
class QPlainTextEdit;
class QSpinBox;

namespace m1::ui {

class BackgroundQueue;

class SettingsDialog : public QDialog {
    Q_OBJECT
public:
    explicit SettingsDialog(const StudioSettings& settings, QWidget* parent = nullptr);
    StudioSettings settings() const;
    void setModelFolder(const QString& dir);   // validates it

signals:
    void modelChecked(const m1::ui::ModelCheck& check);

private:
    void showCheck(const ModelCheck& check);
    StudioSettings m_base;
    BackgroundQueue* m_queue;
    QLineEdit* m_folder;
    QPlainTextEdit* m_check;
    QComboBox* m_device;
    QComboBox* m_precision;
    QDoubleSpinBox* m_temperature;
    QDoubleSpinBox* m_topP;
    QSpinBox* m_topK;
    QSpinBox* m_maxTokens;
    QSpinBox* m_seed;
    QPlainTextEdit* m_system;
    QSpinBox* m_budget;
    QComboBox* m_policy;
    QLineEdit* m_database;
    quint64 m_generation = 0;
};

}  // namespace m1::ui
