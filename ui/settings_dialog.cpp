// SettingsDialog: a form; model validation runs on a background queue and reports in place.
#include "ui/settings_dialog.h"

#include <QComboBox>
#include <QDialogButtonBox>
#include <QDoubleSpinBox>
#include <QFileDialog>
#include <QFormLayout>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QPlainTextEdit>
#include <QPushButton>
#include <QSpinBox>

#include "ui/background_queue.h"
#include "ui/engine_status.h"

namespace m1::ui {

namespace {
QWidget* row(QWidget* parent, QWidget* main, QWidget* extra, QWidget* extra2 = nullptr) {
    auto* w = new QWidget(parent);
    auto* l = new QHBoxLayout(w);
    l->setContentsMargins(0, 0, 0, 0);
    l->addWidget(main, 1);
    l->addWidget(extra);
    if (extra2) l->addWidget(extra2);
    return w;
}
}  // namespace

SettingsDialog::SettingsDialog(const StudioSettings& s, QWidget* parent)
    : QDialog(parent), m_base(s), m_queue(new BackgroundQueue(1, this)) {
    setObjectName("settingsDialog");
    setWindowTitle(tr("Settings"));
    auto* form = new QFormLayout(this);
    setMinimumWidth(680);

    m_folder = new QLineEdit(s.model.folder, this);
    m_folder->setObjectName("modelFolder");
    m_folder->setPlaceholderText(tr("empty: the embedded demo model (meaningless answers)"));
    auto* browse = new QPushButton(tr("Choose…"), this);
    auto* demo = new QPushButton(tr("Demo model"), this);
    // A read-only text box, not a label: the check can run to six wrapped lines and must never clip.
    m_check = new QPlainTextEdit(this);
    m_check->setObjectName("modelCheck");
    m_check->setReadOnly(true);
    m_check->setFrameShape(QFrame::NoFrame);
    m_check->viewport()->setAutoFillBackground(false);
    m_check->setFixedHeight(m_check->fontMetrics().lineSpacing() * 7 + 8);
    m_check->setHorizontalScrollBarPolicy(Qt::ScrollBarAlwaysOff);
    form->addRow(tr("Model folder"), row(this, m_folder, browse, demo));
    form->addRow(QString(), m_check);

    m_device = new QComboBox(this);
    m_device->setObjectName("device");
    m_device->setEditable(true);
    m_device->addItems({"cpu", "cuda", "cuda:0", "cuda:0,1", "cuda:0,1,2,3", "cuda:0,1,2,3,4,5,6,7"});
    m_device->setCurrentText(s.model.device);
    form->addRow(tr("Devices"), m_device);
    m_precision = new QComboBox(this);
    m_precision->setObjectName("precision");
    m_precision->addItems({"bf16", "int8-experts"});
    m_precision->setToolTip(tr("Weights on the GPU: bf16, or int8 experts (half the memory; what real M1 needs "
                               "on 8 × 80 GB). The CPU computes in fp32 either way."));
    m_precision->setCurrentText(s.model.precision);
    form->addRow(tr("Precision"), m_precision);

    m_temperature = new QDoubleSpinBox(this);
    m_temperature->setObjectName("temperature");
    m_temperature->setRange(0.0, 2.0);
    m_temperature->setSingleStep(0.05);
    m_temperature->setValue(s.sampling.temperature);
    m_temperature->setToolTip(tr("0 = greedy. MiniMax recommends 1.0 for M1."));
    form->addRow(tr("Temperature"), m_temperature);
    m_topP = new QDoubleSpinBox(this);
    m_topP->setObjectName("topP");
    m_topP->setRange(0.01, 1.0);
    m_topP->setSingleStep(0.01);
    m_topP->setValue(s.sampling.topP);
    form->addRow(tr("Top-p"), m_topP);
    m_topK = new QSpinBox(this);
    m_topK->setObjectName("topK");
    m_topK->setRange(0, 200064);
    m_topK->setSpecialValueText(tr("off"));
    m_topK->setValue(s.sampling.topK);
    form->addRow(tr("Top-k"), m_topK);
    m_maxTokens = new QSpinBox(this);
    m_maxTokens->setObjectName("maxTokens");
    m_maxTokens->setRange(1, StudioSettings::kMaxOutputTokens);
    m_maxTokens->setGroupSeparatorShown(true);
    m_maxTokens->setValue(s.sampling.maxTokens);
    m_maxTokens->setToolTip(tr("Reasoning + answer. M1-80k was trained to write up to 80,000 tokens."));
    form->addRow(tr("Max output tokens"), m_maxTokens);
    m_seed = new QSpinBox(this);
    m_seed->setObjectName("seed");
    m_seed->setRange(-1, std::numeric_limits<int>::max());
    m_seed->setSpecialValueText(tr("random"));
    m_seed->setValue(int(std::clamp<qint64>(s.sampling.seed, -1, std::numeric_limits<int>::max())));
    form->addRow(tr("Seed"), m_seed);

    m_system = new QPlainTextEdit(s.systemPrompt, this);
    m_system->setObjectName("systemPrompt");
    m_system->setMaximumHeight(90);
    m_system->setHorizontalScrollBarPolicy(Qt::ScrollBarAlwaysOff);
    form->addRow(tr("System prompt"), m_system);

    m_budget = new QSpinBox(this);
    m_budget->setObjectName("budget");
    m_budget->setRange(4096, 10'000'000);
    m_budget->setSingleStep(50'000);
    m_budget->setGroupSeparatorShown(true);
    m_budget->setValue(int(s.budget));
    form->addRow(tr("Context budget (tokens)"), m_budget);
    m_policy = new QComboBox(this);
    m_policy->setObjectName("policy");
    m_policy->addItem(tr("Leave out the last documents"), "drop");
    m_policy->addItem(tr("Trim each document evenly"), "trim");
    m_policy->addItem(tr("Refuse to ask"), "refuse");
    m_policy->setCurrentIndex(std::max(0, m_policy->findData(s.policy)));
    form->addRow(tr("When the corpus is too large"), m_policy);

    m_database = new QLineEdit(s.databasePath, this);
    m_database->setObjectName("database");
    m_database->setPlaceholderText(StudioSettings::defaultDatabasePath());
    auto* dbBrowse = new QPushButton(tr("Choose…"), this);
    form->addRow(tr("Database"), row(this, m_database, dbBrowse));
    form->addRow(QString(), new QLabel(tr("Model, device and database changes apply when you press OK."), this));

    auto* buttons = new QDialogButtonBox(QDialogButtonBox::Ok | QDialogButtonBox::Cancel | QDialogButtonBox::RestoreDefaults, this);
    form->addRow(buttons);

    connect(buttons, &QDialogButtonBox::accepted, this, &QDialog::accept);
    connect(buttons, &QDialogButtonBox::rejected, this, &QDialog::reject);
    connect(buttons->button(QDialogButtonBox::RestoreDefaults), &QPushButton::clicked, this, [this] {
        const Sampling d;
        m_temperature->setValue(d.temperature);
        m_topP->setValue(d.topP);
        m_topK->setValue(d.topK);
        m_maxTokens->setValue(d.maxTokens);
        m_seed->setValue(int(d.seed));
    });
    connect(browse, &QPushButton::clicked, this, [this] {
        const QString dir = QFileDialog::getExistingDirectory(this, tr("Model folder (config.json + safetensors)"), m_folder->text());
        if (!dir.isEmpty()) setModelFolder(dir);
    });
    connect(demo, &QPushButton::clicked, this, [this] { setModelFolder({}); });
    connect(m_folder, &QLineEdit::editingFinished, this, [this] { setModelFolder(m_folder->text()); });
    connect(dbBrowse, &QPushButton::clicked, this, [this] {
        const QString f = QFileDialog::getSaveFileName(this, tr("Database file"), m_database->text(), tr("SQLite (*.sqlite *.db)"),
                                                       nullptr, QFileDialog::DontConfirmOverwrite);
        if (!f.isEmpty()) m_database->setText(f);
    });
    setModelFolder(s.model.folder);
}

void SettingsDialog::setModelFolder(const QString& dir) {
    m_folder->setText(dir);
    const quint64 gen = ++m_generation;
    if (dir.trimmed().isEmpty()) {
        m_check->setPlainText(tr("The embedded demo model: tiny and random, its answers are meaningless. "
                            "Choose a MiniMax-M1 checkpoint folder for real answers."));
        return;
    }
    m_check->setPlainText(tr("Checking %1…").arg(dir));
    m_queue->run([dir] { return checkModelFolder(dir, detectGpus()); },
                 [this, gen](const ModelCheck& c) {
                     if (gen != m_generation) return;
                     showCheck(c);
                     emit modelChecked(c);
                 });
}

void SettingsDialog::showCheck(const ModelCheck& c) {
    if (!c.ok) {
        m_check->setPlainText(c.error);
        m_check->setStyleSheet("color: #b3261e;");
        return;
    }
    m_check->setStyleSheet({});
    QStringList lines{c.summary};
    for (const auto& f : c.fits) {
        QString l = tr("%1: %2 of weights; ").arg(f.precision, formatBytes(f.weightBytes));
        l += f.gpusNeeded > 0 ? tr("%1 × %2 with a 1M-token context%3").arg(f.gpusNeeded).arg(c.gpuKind)
                                    .arg(f.fits ? tr(" (fits here)") : QString())
                              : tr("more than 8 × %1").arg(c.gpuKind);
        lines << l;
    }
    lines << c.advice;
    m_check->setPlainText(lines.join('\n'));
}

StudioSettings SettingsDialog::settings() const {
    StudioSettings s = m_base;
    s.model.folder = m_folder->text().trimmed();
    s.model.device = m_device->currentText().trimmed();
    s.model.precision = m_precision->currentText();
    s.sampling.temperature = m_temperature->value();
    s.sampling.topP = m_topP->value();
    s.sampling.topK = m_topK->value();
    s.sampling.maxTokens = m_maxTokens->value();
    s.sampling.seed = m_seed->value();
    s.systemPrompt = m_system->toPlainText();
    s.budget = m_budget->value();
    s.policy = m_policy->currentData().toString();
    s.databasePath = m_database->text().trimmed();
    return s;
}

}  // namespace m1::ui
