// The engine status strip: model and precision (with the demo-model warning), devices and their
// memory, loading progress (bytes/s, ETA) while the model loads, and for the running question: prefill progress (tokens done/total, tok/s, ETA), time to
// first token and decode tok/s.
#pragma once
#include <QWidget>

#include "ui/backend.h"

class QLabel;
class QProgressBar;

namespace m1::ui {

class EngineStatus : public QWidget {
    Q_OBJECT
public:
    explicit EngineStatus(QWidget* parent = nullptr);

public slots:
    void setLoading(const QString& what);
    void setLoadProgress(double fraction, const QString& text);  // the bar and the loader's bytes/s, ETA
    void setModel(const m1::ui::ModelInfo& info);
    void setStage(const QString& stage);
    void setRestored(qint64 tokens, double seconds);
    void setPrefill(qint64 done, qint64 total, double tokensPerSecond);
    void setFirstToken(double seconds);
    void setDecode(qint64 tokens, double tokensPerSecond);
    void setIdle(const QString& summary);

private:
    QLabel* m_model;
    QLabel* m_devices;
    QLabel* m_activity;
    QProgressBar* m_progress;
};

QString formatDuration(double seconds);   // "3.1 s", "4 min 12 s"
QString formatBytes(qint64 bytes);        // "80.0 GB"

}  // namespace m1::ui
