// checkModelFolder: config through the engine's own parser, sizes from its parameter counts.
#include "ui/model_check.h"

#include <QDir>
#include <QFileInfo>
#include <QProcess>

#include <cmath>

#include "m1/config.h"
#include "ui/engine_status.h"

namespace m1::ui {

QVector<DeviceInfo> detectGpus() {
    QProcess p;
    p.start("nvidia-smi", {"--query-gpu=name,memory.used,memory.total", "--format=csv,noheader,nounits"});
    QVector<DeviceInfo> out;
    if (!p.waitForFinished(5000) || p.exitStatus() != QProcess::NormalExit || p.exitCode() != 0) return out;
    for (const QString& line : QString::fromUtf8(p.readAllStandardOutput()).split('\n', Qt::SkipEmptyParts)) {
        const QStringList f = line.split(',');
        if (f.size() < 3) continue;
        DeviceInfo d;
        d.name = f[0].trimmed();
        d.memoryUsed = f[1].trimmed().toLongLong() << 20;  // MiB
        d.memoryTotal = f[2].trimmed().toLongLong() << 20;
        out << d;
    }
    return out;
}

ModelCheck checkModelFolder(const QString& dir, const QVector<DeviceInfo>& gpus, qint64 contextTokens) {
    ModelCheck r;
    if (!QFileInfo(QDir(dir).filePath("config.json")).isFile()) {
        r.error = QObject::tr("%1 has no config.json: choose the folder of a MiniMax-M1 checkpoint "
                              "(it holds config.json and the .safetensors files).").arg(dir);
        return r;
    }
    m1::ModelConfig cfg;
    try {
        cfg = m1::ModelConfig::load(dir.toStdString());
    } catch (const std::exception& e) {
        r.error = QObject::tr("This is not a model M1 Studio can run: %1").arg(QString::fromUtf8(e.what()));
        return r;
    }
    const QStringList shards = QDir(dir).entryList({"*.safetensors"}, QDir::Files);
    if (shards.isEmpty()) {
        r.error = QObject::tr("No .safetensors weights in %1: download the whole checkpoint, not only its config.").arg(dir);
        return r;
    }
    const auto pc = cfg.param_counts();
    r.summary = QString::fromStdString(cfg.summary()) +
                QObject::tr(" · %1 B parameters (%2 B active)").arg(double(pc.total) / 1e9, 0, 'f', 1)
                    .arg(double(pc.active) / 1e9, 0, 'f', 1);

    // Context memory: softmax layers' K and V in bf16 per token, lightning states in fp32.
    const qint64 kv = cfg.num_softmax_layers() * 2 * cfg.kv_width() * 2 * contextTokens;
    const qint64 state = cfg.num_lightning_layers() * cfg.num_heads * cfg.head_dim * cfg.head_dim * 4;
    const qint64 gpuBytes = gpus.isEmpty() ? 0 : gpus.front().memoryTotal;
    struct P { const char* name; qint64 weights; };
    const P precisions[] = {
        {"bf16", pc.total * 2 + pc.routers * 2},
        {"int8-experts", (pc.total - pc.experts) * 2 + pc.experts + pc.routers * 2},
        {"fp32", pc.total * 4},
    };
    for (const P& p : precisions) {
        PrecisionFit f;
        f.precision = p.name;
        f.weightBytes = p.weights;
        f.neededBytes = p.weights + kv + state;
        if (gpuBytes > 0) {
            // 90% of each GPU is usable; the rest is workspace and the driver's.
            f.gpusNeeded = int(std::ceil(double(f.neededBytes) / (0.9 * double(gpuBytes))));
            f.fits = f.gpusNeeded <= gpus.size();
        }
        r.fits << f;
    }
    r.ok = true;
    if (gpus.isEmpty()) {
        r.advice = QObject::tr("No NVIDIA GPU found: the model runs on the CPU (%1 at bf16 in memory; slow for large models).")
                       .arg(formatBytes(r.fits[0].neededBytes));
    } else {
        const PrecisionFit* best = nullptr;
        for (const auto& f : r.fits)
            if (f.fits && f.precision != "fp32") { best = &f; break; }
        const QString machine = QObject::tr("%1 × %2").arg(gpus.size()).arg(formatBytes(gpuBytes));
        r.advice = best ? QObject::tr("Fits this machine (%1) at %2.").arg(machine, best->precision)
                        : QObject::tr("Does not fit this machine (%1): int8-experts needs %2 GPUs of this size; "
                                      "use a machine with more GPUs or a smaller model.")
                              .arg(machine).arg(r.fits[1].gpusNeeded);
    }
    return r;
}

}  // namespace m1::ui
