// Where the database lives by default: the user's data directory (XDG_DATA_HOME, usually ~/.local/share).
#pragma once
#include <string>

namespace m1::storage {

// "$XDG_DATA_HOME/m1-studio/library.db" (the folder is created). Env M1_DB overrides it.
std::string defaultDatabasePath();
// The --db value if given, else the default. When mustExist, a missing file is a StorageError that
// says how to make one (commands that only read should not create an empty database).
std::string resolveDatabasePath(const std::string& flagValue, bool mustExist);

}  // namespace m1::storage
