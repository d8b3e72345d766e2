// Default database location (see paths.h).
#include "storage/paths.h"

#include <QDir>
#include <QFileInfo>
#include <QStandardPaths>

#include <cstdlib>

#include "storage/database.h"

namespace m1::storage {

std::string defaultDatabasePath() {
    if (const char* env = std::getenv("M1_DB"); env && *env) return env;
    // GenericDataLocation honours XDG_DATA_HOME; the app folder is named here so the CLI and the GUI
    // agree whatever QCoreApplication's name is.
    const QString base = QStandardPaths::writableLocation(QStandardPaths::GenericDataLocation);
    if (base.isEmpty()) throw StorageError("no user data directory (set XDG_DATA_HOME or HOME, or pass --db FILE)");
    const QString dir = base + "/m1-studio";
    if (!QDir().mkpath(dir))
        throw StorageError("cannot create " + dir.toStdString() + " (check its permissions, or pass --db FILE)");
    return (dir + "/library.db").toStdString();
}

std::string resolveDatabasePath(const std::string& flagValue, bool mustExist) {
    const std::string path = flagValue.empty() ? defaultDatabasePath() : flagValue;
    if (mustExist && !QFileInfo::exists(QString::fromStdString(path)))
        throw StorageError("no database at " + path + " yet: `m1 ask PATH... --question Q` creates it (or pass --db FILE)");
    return path;
}

}  // namespace m1::storage
