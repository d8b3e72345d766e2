// One SQLite connection with the project's pragmas and schema migrations, plus the two RAII helpers
// every storage file uses: Statement (a prepared statement) and Transaction (rolls back unless committed).
#pragma once
#include <sqlite3.h>

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace m1::storage {

struct StorageError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

struct OpenOptions {
    int targetVersion = -1;    // -1: the current schema; tests build older databases with a lower one
    const char* vfs = nullptr; // a named sqlite3_vfs (tests inject I/O errors); nullptr: the default
    int busyTimeoutMs = 10000; // how long a writer waits for another connection's write to finish
};

// Threads: a Database is one connection. It belongs to one thread at a time (the GUI's storage thread,
// the engine thread while it streams a snapshot, or the CLI's main thread); open one per thread.
// SQLite runs in serialized mode, so a misuse is slow, never a crash.
class Database {
public:
    // Opens (creating if needed) and migrates to the current schema. Throws StorageError with what to do.
    explicit Database(const std::string& path, const OpenOptions& options = {});
    ~Database();
    Database(const Database&) = delete;
    Database& operator=(const Database&) = delete;

    sqlite3* handle() const { return m_db; }
    const std::string& path() const { return m_path; }
    int schemaVersion() const;
    void exec(const char* sql);
    // An error message with the path, SQLite's text and advice for disk-full and I/O errors.
    std::string describeError(const std::string& what, int rc) const;
    // A second, read-only connection to the same file through the same VFS, with the same busy timeout and
    // cache size and no migrations (the snapshot reader's read-ahead threads use one each). Close it with
    // sqlite3_close. Throws StorageError.
    sqlite3* openReadConnection() const;

    static constexpr int kSchemaVersion = 4;

private:
    void migrate(int target);
    sqlite3* m_db = nullptr;
    std::string m_path;
    std::string m_vfs;  // empty: the default VFS
    int m_busyTimeoutMs = 0;
};

// describeError's text for any connection to `path`.
std::string describeSqliteError(const std::string& path, sqlite3* db, const std::string& what, int rc);

// A prepared statement; binds are 1-based like SQLite's, columns 0-based.
class Statement {
public:
    Statement(const Database& db, const char* sql);
    ~Statement();
    Statement(const Statement&) = delete;
    Statement& operator=(const Statement&) = delete;

    Statement& bind(int i, int64_t v);
    Statement& bind(int i, const std::string& v);
    Statement& bind(int i, double v);
    Statement& bindBlob(int i, const void* data, size_t n);
    Statement& bindZeroBlob(int i, int64_t n);
    Statement& bindNull(int i);
    bool step();  // true: a row is ready; false: done. Throws StorageError on failure.
    void run();   // step() to completion of a statement that returns no rows
    void reset();

    int64_t int64(int col) const { return sqlite3_column_int64(m_st, col); }
    double real(int col) const { return sqlite3_column_double(m_st, col); }
    std::string text(int col) const;
    std::vector<uint8_t> blob(int col) const;
    bool isNull(int col) const { return sqlite3_column_type(m_st, col) == SQLITE_NULL; }

    // The first row read by `row(statement)`, or nothing when the query returns none.
    template <class Row>
    auto one(Row row) -> std::optional<decltype(row(*this))> {
        if (!step()) return std::nullopt;
        return row(*this);
    }
    // Every row, read by `row(statement)`.
    template <class Row>
    auto all(Row row) -> std::vector<decltype(row(*this))> {
        std::vector<decltype(row(*this))> out;
        while (step()) out.push_back(row(*this));
        return out;
    }

private:
    const Database& m_db;
    sqlite3_stmt* m_st = nullptr;
};

// BEGIN IMMEDIATE (take the write lock now, so a busy writer is waited for here, not at COMMIT);
// rolls back in the destructor unless commit() ran.
class Transaction {
public:
    explicit Transaction(Database& db);
    ~Transaction();
    Transaction(const Transaction&) = delete;
    Transaction& operator=(const Transaction&) = delete;
    void commit();

private:
    Database& m_db;
    bool m_done = false;
};

int64_t nowMs();  // wall-clock milliseconds since the epoch (the unit of every time column)

}  // namespace m1::storage
