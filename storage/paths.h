// Where the database lives by default: the user's data directory (XDG_DATA_HOME, usually ~/.local/share).
#pragma once
#include <string>

namespace m1::storage {

// "$XDG_DATA_HOME/m1-studio/library.db" (the folder is created). Env M1_DB overrides it.
std::string defaultDatabasePath();

}  // namespace m1::storage
