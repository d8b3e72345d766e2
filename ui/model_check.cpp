// checkModelFolder: the config through the engine's own parser, sizes and fits from its memory
// planner (the same numbers `m1 info` prints), the GPUs from nvidia-smi.
#include "ui/model_check.h"

#include <QDir>
#include <QFileInfo>
#include <QProcess>

#include "m1/config.h"
#include "m1/memory_plan.h"
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
    if (QDir(dir).entryList({"*.safetensors"}, QDir::Files).isEmpty()) {
        r.error = QObject::tr("No .safetensors weights in %1: download the whole checkpoint, not only its config.").arg(dir);
        return r;
    }
    const auto pc = cfg.param_counts();
    auto params = [](int64_t n) {  // "456.1 B", "1.6 M"
        return n >= 1'000'000'000 ? QString("%1 B").arg(double(n) / 1e9, 0, 'f', 1) : QString("%1 M").arg(double(n) / 1e6, 0, 'f', 1);
    };
    r.summary = QString::fromStdString(cfg.summary()) +
                QObject::tr(" · %1 parameters (%2 active)").arg(params(pc.total), params(pc.active));

    m1::GpuKind kind = gpus.isEmpty() ? m1::present_gpus().kind
                                      : m1::GpuKind{gpus.front().name.toStdString(), uint64_t(gpus.front().memoryTotal), false};
    r.gpuKind = QString::fromStdString(kind.name);
    if (kind.assumed && !r.gpuKind.contains("assumed")) r.gpuKind += QObject::tr(" (assumed: no GPU here)");
    m1::PlanOptions opts;
    opts.context_tokens = uint64_t(contextTokens);
    const m1::ModelMemory mem = m1::model_memory(cfg);
    const auto rows = m1::plan_table(cfg, kind, opts);
    for (auto p : {m1::WeightPrecision::bf16, m1::WeightPrecision::int8_experts}) {
        PrecisionFit f;
        f.precision = m1::to_string(p);
        f.weightBytes = qint64(mem.weights(p));
        for (const auto& row : rows)
            if (row.precision == p && row.fits && (f.gpusNeeded == 0 || row.gpus < f.gpusNeeded)) f.gpusNeeded = row.gpus;
        f.fits = f.gpusNeeded > 0 && f.gpusNeeded <= gpus.size();
        r.fits << f;
    }
    r.ok = true;
    if (gpus.isEmpty()) {
        r.advice = QObject::tr("No NVIDIA GPU found: the model runs on the CPU (%1 of weights in memory; "
                               "slow for anything but small models).").arg(formatBytes(r.fits[0].weightBytes));
        return r;
    }
    const QString machine = QObject::tr("%1 × %2").arg(gpus.size()).arg(formatBytes(gpus.front().memoryTotal));
    for (const auto& f : r.fits)
        if (f.fits) {
            r.advice = QObject::tr("Fits this machine (%1) at %2.").arg(machine, f.precision);
            return r;
        }
    r.advice = QString::fromStdString(m1::fit_advice(cfg, kind, int(gpus.size()), m1::WeightPrecision::int8_experts, opts));
    if (r.advice.isEmpty()) r.advice = QObject::tr("Does not fit this machine (%1).").arg(machine);
    return r;
}

}  // namespace m1::ui
