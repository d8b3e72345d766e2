// One SQLite connection with the project's pragmas and schema migrations.
#pragma once
#include <sqlite3.h>

#include <stdexcept>
#include <string>

namespace m1::storage {

struct StorageError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

class Database {
public:
    // Opens (creating if needed) and migrates to the current schema. Throws StorageError with what to do.
    explicit Database(const std::string& path);
    ~Database();
    Database(const Database&) = delete;
    Database& operator=(const Database&) = delete;

    sqlite3* handle() const { return m_db; }
    int schemaVersion() const;
    void exec(const char* sql);

    static constexpr int kSchemaVersion = 1;

private:
    void migrate();
    sqlite3* m_db = nullptr;
    std::string m_path;
};

}  // namespace m1::storage
