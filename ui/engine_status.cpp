// EngineStatus: labels and one progress bar; every number here comes from EngineWorker's signals.
#include "ui/engine_status.h"

#include <QHBoxLayout>
#include <QLabel>
#include <QProgressBar>

#include <algorithm>

#include "ui/library_model.h"

namespace m1::ui {

QString formatDuration(double s) {
    if (s < 60) return QObject::tr("%1 s").arg(s, 0, 'f', 1);
    const qint64 t = qint64(s + 0.5);
    if (t < 3600) return QObject::tr("%1 min %2 s").arg(t / 60).arg(t % 60);
    return QObject::tr("%1 h %2 min").arg(t / 3600).arg((t % 3600) / 60);
}

QString formatBytes(qint64 b) {
    if (b >= 1'000'000'000) return QString("%1 GB").arg(double(b) / 1e9, 0, 'f', 1);
    if (b >= 1'000'000) return QString("%1 MB").arg(double(b) / 1e6, 0, 'f', 1);
    return QString("%1 kB").arg(double(b) / 1e3, 0, 'f', 1);
}

EngineStatus::EngineStatus(QWidget* parent) : QWidget(parent) {
    setObjectName("engineStatus");
    auto* layout = new QHBoxLayout(this);
    layout->setContentsMargins(8, 2, 8, 2);
    m_model = new QLabel(this);
    m_model->setObjectName("statusModel");
    m_devices = new QLabel(this);
    m_devices->setObjectName("statusDevices");
    m_activity = new QLabel(this);
    m_activity->setObjectName("statusActivity");
    m_progress = new QProgressBar(this);
    m_progress->setObjectName("prefillProgress");
    m_progress->setMaximumWidth(260);
    m_progress->setTextVisible(true);
    m_progress->hide();
    layout->addWidget(m_model);
    layout->addWidget(m_devices);
    layout->addStretch(1);
    layout->addWidget(m_activity);
    layout->addWidget(m_progress);
}

void EngineStatus::setLoading(const QString& what) {
    m_model->setText(what);
    m_devices->clear();
}

void EngineStatus::setLoadProgress(double fraction, const QString& text) {
    m_progress->setRange(0, 1000);
    m_progress->setValue(int(1000 * std::clamp(fraction, 0.0, 1.0)));
    m_progress->setFormat(tr("loading %p%"));
    m_progress->show();
    m_activity->setText(text);
}

void EngineStatus::setModel(const ModelInfo& info) {
    m_progress->hide();
    m_activity->clear();
    if (!info.error.isEmpty()) {
        m_model->setText(tr("No model loaded"));
        m_devices->clear();
        return;
    }
    m_model->setText(QString("%1 · %2").arg(info.name, info.precision));
    QStringList devs;
    for (const auto& d : info.devices) {
        devs << (d.memoryTotal > 0 ? tr("%1 (%2 of %3)").arg(d.name, formatBytes(d.memoryUsed), formatBytes(d.memoryTotal))
                                   : d.name);
    }
    m_devices->setText(devs.join(", "));
}

void EngineStatus::setStage(const QString& stage) {
    m_activity->setText(stage);
    if (stage != tr("prefilling")) m_progress->hide();
}

void EngineStatus::setRestored(qint64 tokens, double seconds) {
    m_activity->setText(tr("restored %1 tokens in %2").arg(formatCount(tokens), formatDuration(seconds)));
}

void EngineStatus::setPrefill(qint64 done, qint64 total, double rate) {
    // QProgressBar holds ints; scale to thousandths so a 1M-token prompt fits comfortably.
    m_progress->setRange(0, 1000);
    m_progress->setValue(total > 0 ? int(1000 * done / total) : 0);
    m_progress->setFormat(tr("%1 / %2 tokens").arg(formatCount(done), formatCount(total)));
    m_progress->show();
    QString text = tr("prefill %1 tok/s").arg(formatCount(qint64(rate)));
    if (rate > 0 && done < total) text += tr(" · ETA %1").arg(formatDuration(double(total - done) / rate));
    m_activity->setText(text);
}

void EngineStatus::setFirstToken(double seconds) {
    m_progress->hide();
    m_activity->setText(tr("first token after %1").arg(formatDuration(seconds)));
    m_activity->setProperty("ttft", seconds);
}

void EngineStatus::setDecode(qint64 tokens, double rate) {
    const double ttft = m_activity->property("ttft").toDouble();
    m_activity->setText(tr("decode %1 tok/s · %2 tokens · first token after %3")
                            .arg(rate, 0, 'f', 1).arg(formatCount(tokens), formatDuration(ttft)));
}

void EngineStatus::setIdle(const QString& summary) {
    m_progress->hide();
    m_activity->setText(summary);
}

}  // namespace m1::ui
