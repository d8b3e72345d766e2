// Validates a model folder when it is chosen in Settings: architecture and size from config.json,
// weights present, and what fits on this machine's GPUs at each precision (the engine's memory
// planner: weights + a 1M-token KV cache + lightning state + workspace), with what to do otherwise.
#pragma once
#include <QString>
#include <QStringList>
#include <QVector>

#include "ui/backend.h"

namespace m1::ui {

struct PrecisionFit {
    QString precision;      // "bf16", "int8-experts"
    qint64 weightBytes = 0; // the whole model's weights at this precision
    int gpusNeeded = 0;     // fewest of 1, 2, 4, 8 GPUs (of this machine's kind) that hold it with a
                            // 1M-token context; 0 when 8 are not enough
    bool fits = false;      // on this machine's GPUs
};

struct ModelCheck {
    bool ok = false;
    QString summary;        // "MiniMaxM1ForCausalLM: 80 layers … 456.1 B parameters (45.9 B active)"
    QString error;          // what is wrong and what to do
    QVector<PrecisionFit> fits;
    QString gpuKind;        // "NVIDIA H100 80GB HBM3" (or the kind assumed when there is none)
    QString advice;         // "Fits this machine (8 × 80.0 GB) at int8-experts."
};

// Blocking (reads files; may run nvidia-smi): call it off the GUI thread.
ModelCheck checkModelFolder(const QString& dir, const QVector<DeviceInfo>& gpus, qint64 contextTokens = 1'000'000);
// This machine's NVIDIA GPUs via nvidia-smi; empty when there is none (or no driver).
QVector<DeviceInfo> detectGpus();

}  // namespace m1::ui
