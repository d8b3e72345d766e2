// Validates a model folder when it is chosen in Settings: architecture and size from config.json,
// weights present, and what fits on this machine's GPUs at each precision (weights + a 1M-token
// KV cache + lightning state), with a sentence saying what to do when nothing fits.
#pragma once
#include <QString>
#include <QStringList>
#include <QVector>

#include "ui/backend.h"

namespace m1::ui {

struct PrecisionFit {
    QString precision;      // "bf16", "int8-experts", "fp32"
    qint64 weightBytes = 0;
    qint64 neededBytes = 0; // weights + KV for the context + lightning state
    int gpusNeeded = 0;     // of this machine's GPU size; 0 when there are no GPUs
    bool fits = false;      // on this machine's GPUs
};

struct ModelCheck {
    bool ok = false;
    QString summary;        // "MiniMaxM1ForCausalLM: 80 layers … 456.1 B parameters (45.9 B active)"
    QString error;          // what is wrong and what to do
    QVector<PrecisionFit> fits;
    QString advice;         // "bf16 needs 12 GPUs of 80 GB; use int8-experts on 8 GPUs"
};

// Blocking (reads files; may run nvidia-smi): call it off the GUI thread.
ModelCheck checkModelFolder(const QString& dir, const QVector<DeviceInfo>& gpus, qint64 contextTokens = 1'000'000);
// This machine's NVIDIA GPUs via nvidia-smi; empty when there is none (or no driver).
QVector<DeviceInfo> detectGpus();

}  // namespace m1::ui
