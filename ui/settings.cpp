// StudioSettings: one key per field, values clamped to what the engine accepts when read back.
#include "ui/settings.h"

#include <QDir>
#include <QSettings>
#include <QStandardPaths>

#include "storage/paths.h"

namespace m1::ui {

StudioSettings StudioSettings::load() {
    QSettings s;
    StudioSettings d;
    StudioSettings r;
    r.model.folder = s.value("model/folder", d.model.folder).toString();
    r.model.device = s.value("model/device", d.model.device).toString();
    r.model.precision = s.value("model/precision", d.model.precision).toString();
    if (r.model.precision != "bf16" && r.model.precision != "int8-experts") r.model.precision = d.model.precision;
    r.sampling.temperature = std::clamp(s.value("sampling/temperature", d.sampling.temperature).toDouble(), 0.0, 2.0);
    r.sampling.topP = std::clamp(s.value("sampling/topP", d.sampling.topP).toDouble(), 0.0, 1.0);
    r.sampling.topK = std::max(0, s.value("sampling/topK", d.sampling.topK).toInt());
    r.sampling.maxTokens = std::clamp(s.value("sampling/maxTokens", d.sampling.maxTokens).toInt(), 1, kMaxOutputTokens);
    r.sampling.seed = s.value("sampling/seed", d.sampling.seed).toLongLong();
    r.systemPrompt = s.value("chat/systemPrompt", d.systemPrompt).toString();
    r.budget = std::max<qint64>(1024, s.value("corpus/budget", d.budget).toLongLong());
    r.policy = s.value("corpus/policy", d.policy).toString();
    if (r.policy != "refuse" && r.policy != "drop" && r.policy != "trim") r.policy = d.policy;
    r.databasePath = s.value("storage/database", d.databasePath).toString();
    return r;
}

void StudioSettings::save() const {
    QSettings s;
    s.setValue("model/folder", model.folder);
    s.setValue("model/device", model.device);
    s.setValue("model/precision", model.precision);
    s.setValue("sampling/temperature", sampling.temperature);
    s.setValue("sampling/topP", sampling.topP);
    s.setValue("sampling/topK", sampling.topK);
    s.setValue("sampling/maxTokens", sampling.maxTokens);
    s.setValue("sampling/seed", sampling.seed);
    s.setValue("chat/systemPrompt", systemPrompt);
    s.setValue("corpus/budget", budget);
    s.setValue("corpus/policy", policy);
    s.setValue("storage/database", databasePath);
    s.sync();
}

QString StudioSettings::database() const { return databasePath.isEmpty() ? defaultDatabasePath() : databasePath; }

QString StudioSettings::defaultDatabasePath() {
    // The same file the CLI uses (m1 sessions, m1 search), so both see one library.
    try {
        return QString::fromStdString(m1::storage::defaultDatabasePath());
    } catch (const std::exception&) {
        return QDir(QStandardPaths::writableLocation(QStandardPaths::AppDataLocation)).filePath("library.db");
    }
}

bool StudioSettings::operator==(const StudioSettings& o) const {
    return model.folder == o.model.folder && model.device == o.model.device && model.precision == o.model.precision &&
           sampling.temperature == o.sampling.temperature && sampling.topP == o.sampling.topP &&
           sampling.topK == o.sampling.topK && sampling.maxTokens == o.sampling.maxTokens &&
           sampling.seed == o.sampling.seed && systemPrompt == o.systemPrompt && budget == o.budget &&
           policy == o.policy && databasePath == o.databasePath;
}

}  // namespace m1::ui
