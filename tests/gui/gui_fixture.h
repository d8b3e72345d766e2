// Builds a MainWindow on scripted services in a private settings/data sandbox (QStandardPaths test
// mode + a temporary database), for the GUI tests.
#pragma once
#include <QStandardPaths>
#include <QTemporaryDir>
#include <QtTest>

#include <functional>
#include <memory>

#include "gui/scripted_backend.h"
#include "ui/main_window.h"
#include "ui/studio_services.h"

namespace m1::test {

struct GuiFixture {
    QTemporaryDir dir;
    Script script;
    std::unique_ptr<ui::MainWindow> window;

    // setup adjusts the script before the window exists (the window loads the model at once).
    explicit GuiFixture(bool realStore = true, const std::function<void(Script&)>& setup = {}) {
        QStandardPaths::setTestModeEnabled(true);
        script.database = dir.filePath("library.db");
        if (setup) setup(script);
        ui::StudioSettings settings;
        settings.databasePath = script.database;
        ui::Services s;
        s.ask = std::make_unique<ScriptedAsk>(&script);
        s.ingest = std::make_unique<ScriptedIngest>();
        if (realStore) s.openStore = [](const QString& db) { return ui::openSessionStore(db); };
        window = std::make_unique<ui::MainWindow>(std::move(s), settings);
        window->show();
    }
};

}  // namespace m1::test
