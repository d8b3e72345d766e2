// The app's settings, persisted with QSettings: model folder, device, precision, sampling
// (temperature 1.0, top-p 0.95 by default, as MiniMax recommends for M1), max output tokens (up to
// 80,000), system prompt, corpus budget and over-budget policy, and the database location.
#pragma once
#include <QString>

#include "ui/backend.h"

namespace m1::ui {

struct StudioSettings {
    ModelChoice model;
    Sampling sampling;
    QString systemPrompt = "You are a helpful assistant.";
    qint64 budget = 1'000'000;
    QString policy = "drop";
    QString databasePath;  // empty = defaultDatabasePath()

    static constexpr int kMaxOutputTokens = 80'000;

    static StudioSettings load();
    void save() const;
    QString database() const;
    static QString defaultDatabasePath();
    bool operator==(const StudioSettings& o) const;
};

}  // namespace m1::ui
