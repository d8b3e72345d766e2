// Opening, pragmas and cumulative migrations (all in one transaction; a newer database is refused).
#include "storage/database.h"

namespace m1::storage {

// WAL: readers never block the writer. synchronous=NORMAL is durable across app crashes in WAL mode
// (only an OS crash or power loss can lose the last commits, never corrupt the file).
static const char* kPragmas =
    "PRAGMA journal_mode=WAL;"
    "PRAGMA synchronous=NORMAL;"
    "PRAGMA foreign_keys=ON;";

static const char* kMigrations[] = {
    // 0 -> 1
    "CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);",
};

Database::Database(const std::string& path) : m_path(path) {
    int rc = sqlite3_open_v2(path.c_str(), &m_db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX,
                             nullptr);
    if (rc != SQLITE_OK) {
        std::string msg = m_db ? sqlite3_errmsg(m_db) : "out of memory";
        sqlite3_close(m_db);
        m_db = nullptr;
        throw StorageError("cannot open database " + path + ": " + msg + " (check the path and its permissions)");
    }
    sqlite3_busy_timeout(m_db, 5000);
    exec(kPragmas);
    migrate();
}

Database::~Database() { sqlite3_close(m_db); }

void Database::exec(const char* sql) {
    char* err = nullptr;
    if (sqlite3_exec(m_db, sql, nullptr, nullptr, &err) != SQLITE_OK) {
        std::string msg = err ? err : "unknown error";
        sqlite3_free(err);
        throw StorageError(m_path + ": " + msg);
    }
}

int Database::schemaVersion() const {
    sqlite3_stmt* st = nullptr;
    int v = 0;
    if (sqlite3_prepare_v2(m_db, "PRAGMA user_version;", -1, &st, nullptr) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
        v = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    return v;
}

void Database::migrate() {
    const int have = schemaVersion();
    if (have > kSchemaVersion)
        throw StorageError(m_path + " was written by a newer M1 Studio (schema " + std::to_string(have) +
                           ", this build knows " + std::to_string(kSchemaVersion) + "): update the app");
    if (have == kSchemaVersion) return;
    exec("BEGIN IMMEDIATE;");
    try {
        for (int v = have; v < kSchemaVersion; ++v) exec(kMigrations[v]);
        exec(("PRAGMA user_version=" + std::to_string(kSchemaVersion) + ";").c_str());
        exec("COMMIT;");
    } catch (...) {
        sqlite3_exec(m_db, "ROLLBACK;", nullptr, nullptr, nullptr);
        throw;
    }
}

}  // namespace m1::storage
