// Opening, pragmas and cumulative migrations (all in one transaction; a newer database is refused),
// and the Statement / Transaction helpers.
#include "storage/database.h"

#include <chrono>

#include "storage/schema.h"

namespace m1::storage {

// Only effective while the file is still empty. 64 KiB pages: a 32 MiB snapshot chunk is 512 overflow
// pages instead of 8192, which makes incremental blob reads run near raw file speed. auto_vacuum lets
// `m1 snapshots --gc` give freed snapshot space back to the file system.
static const char* kNewFilePragmas =
    "PRAGMA page_size=65536;"
    "PRAGMA auto_vacuum=INCREMENTAL;";

// WAL: readers never block the writer and a crash mid-write leaves the last commit intact.
// synchronous=NORMAL: in WAL mode a commit is not fsynced, only checkpoints are; an app crash or
// kill -9 loses nothing (the WAL is in the OS page cache), an OS crash or power cut can lose the last
// few commits but never corrupts the file. Snapshots are caches and turns are re-askable, so we take
// NORMAL's speed (one fsync per checkpoint instead of per chunk) over FULL.
// journal_size_limit truncates the WAL back to 64 MiB after a large snapshot went through it.
static const char* kPragmas =
    "PRAGMA journal_mode=WAL;"
    "PRAGMA synchronous=NORMAL;"
    "PRAGMA foreign_keys=ON;"
    "PRAGMA journal_size_limit=67108864;";
static const char* kSqlCacheSize = "PRAGMA cache_size=-16384;";  // every connection, read-only ones too

static const char* kSqlUserVersion = "PRAGMA user_version;";
static const char* kSqlBegin = "BEGIN IMMEDIATE;";
static const char* kSqlCommit = "COMMIT;";
static const char* kSqlRollback = "ROLLBACK;";

int64_t nowMs() {
    using namespace std::chrono;
    return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

Database::Database(const std::string& path, const OpenOptions& options)
    : m_path(path), m_vfs(options.vfs ? options.vfs : ""), m_busyTimeoutMs(options.busyTimeoutMs) {
    int rc = sqlite3_open_v2(path.c_str(), &m_db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX,
                             options.vfs);
    if (rc != SQLITE_OK) {
        std::string msg = m_db ? sqlite3_errmsg(m_db) : "out of memory";
        sqlite3_close(m_db);
        m_db = nullptr;
        throw StorageError("cannot open database " + path + ": " + msg + " (check the path and its permissions)");
    }
    sqlite3_extended_result_codes(m_db, 1);
    sqlite3_busy_timeout(m_db, options.busyTimeoutMs);
    try {
        exec(kNewFilePragmas);
        exec(kPragmas);
        exec(kSqlCacheSize);
        migrate(options.targetVersion < 0 ? kSchemaVersion : options.targetVersion);
    } catch (...) {
        sqlite3_close(m_db);
        m_db = nullptr;
        throw;
    }
}

Database::~Database() { sqlite3_close(m_db); }

sqlite3* Database::openReadConnection() const {
    sqlite3* c = nullptr;
    int rc = sqlite3_open_v2(m_path.c_str(), &c, SQLITE_OPEN_READONLY | SQLITE_OPEN_FULLMUTEX,
                             m_vfs.empty() ? nullptr : m_vfs.c_str());
    if (rc == SQLITE_OK) {
        sqlite3_extended_result_codes(c, 1);
        sqlite3_busy_timeout(c, m_busyTimeoutMs);
        rc = sqlite3_exec(c, kSqlCacheSize, nullptr, nullptr, nullptr);
    }
    if (rc != SQLITE_OK) {
        std::string msg = describeSqliteError(m_path, c, "opening a read connection", rc);
        sqlite3_close(c);
        throw StorageError(msg);
    }
    return c;
}

std::string Database::describeError(const std::string& what, int rc) const {
    return describeSqliteError(m_path, m_db, what, rc);
}

std::string describeSqliteError(const std::string& path, sqlite3* db, const std::string& what, int rc) {
    std::string msg = path + ": " + what + ": " + (db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
    switch (rc & 0xff) {
    case SQLITE_FULL: return msg + " (the disk is full: free some space or lower the snapshot quota, then retry)";
    case SQLITE_IOERR: return msg + " (the disk reported an I/O error: check the disk and free space, then retry)";
    case SQLITE_BUSY:
    case SQLITE_LOCKED: return msg + " (another M1 Studio process holds the database: retry when it is done)";
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB: return msg + " (the database file is damaged: move it aside to start a fresh one)";
    case SQLITE_READONLY:
    case SQLITE_CANTOPEN:
    case SQLITE_PERM: return msg + " (check the file's permissions)";
    default: return msg;
    }
}

void Database::exec(const char* sql) {
    char* err = nullptr;
    int rc = sqlite3_exec(m_db, sql, nullptr, nullptr, &err);
    if (rc != SQLITE_OK) {
        std::string text = err ? err : sqlite3_errstr(rc);
        sqlite3_free(err);
        throw StorageError(describeError(text, rc));
    }
}

int Database::schemaVersion() const {
    Statement st(*this, kSqlUserVersion);
    return st.step() ? static_cast<int>(st.int64(0)) : 0;
}

void Database::migrate(int target) {
    const auto& steps = schemaMigrations();
    static_assert(kSchemaVersion > 0);
    if (steps.size() != static_cast<size_t>(kSchemaVersion))
        throw StorageError("internal: schema has " + std::to_string(steps.size()) + " migrations for version " +
                           std::to_string(kSchemaVersion));
    if (schemaVersion() == target) return;
    Transaction tx(*this);
    // Re-read under the write lock: another process may have migrated while we waited for it.
    const int have = schemaVersion();
    if (have > kSchemaVersion)
        throw StorageError(m_path + " was written by a newer M1 Studio (schema " + std::to_string(have) +
                           ", this build knows " + std::to_string(kSchemaVersion) +
                           "): update the app, or pass another --db file");
    if (have >= target) return;
    for (int v = have; v < target; ++v) exec(steps[v]);
    exec(("PRAGMA user_version=" + std::to_string(target) + ";").c_str());
    tx.commit();
}

// --- Statement ---

Statement::Statement(const Database& db, const char* sql) : m_db(db) {
    int rc = sqlite3_prepare_v2(db.handle(), sql, -1, &m_st, nullptr);
    if (rc != SQLITE_OK) throw StorageError(db.describeError(std::string("preparing '") + sql + "'", rc));
}

Statement::~Statement() { sqlite3_finalize(m_st); }

static void check_bind(const Database& db, int rc) {
    if (rc != SQLITE_OK) throw StorageError(db.describeError("binding a value", rc));
}

Statement& Statement::bind(int i, int64_t v) {
    check_bind(m_db, sqlite3_bind_int64(m_st, i, v));
    return *this;
}
Statement& Statement::bind(int i, const std::string& v) {
    check_bind(m_db, sqlite3_bind_text64(m_st, i, v.data(), v.size(), SQLITE_TRANSIENT, SQLITE_UTF8));
    return *this;
}
Statement& Statement::bind(int i, double v) {
    check_bind(m_db, sqlite3_bind_double(m_st, i, v));
    return *this;
}
Statement& Statement::bindBlob(int i, const void* data, size_t n) {
    check_bind(m_db, sqlite3_bind_blob64(m_st, i, n ? data : "", n, SQLITE_TRANSIENT));
    return *this;
}
Statement& Statement::bindZeroBlob(int i, int64_t n) {
    check_bind(m_db, sqlite3_bind_zeroblob64(m_st, i, static_cast<sqlite3_uint64>(n)));
    return *this;
}
Statement& Statement::bindNull(int i) {
    check_bind(m_db, sqlite3_bind_null(m_st, i));
    return *this;
}

bool Statement::step() {
    int rc = sqlite3_step(m_st);
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    std::string sql = sqlite3_sql(m_st) ? sqlite3_sql(m_st) : "";
    sqlite3_reset(m_st);
    throw StorageError(m_db.describeError("running '" + sql.substr(0, 80) + "'", rc));
}

void Statement::run() {
    while (step()) {
    }
}

void Statement::reset() {
    sqlite3_reset(m_st);
    sqlite3_clear_bindings(m_st);
}

std::string Statement::text(int col) const {
    const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(m_st, col));
    return p ? std::string(p, static_cast<size_t>(sqlite3_column_bytes(m_st, col))) : std::string();
}

std::vector<uint8_t> Statement::blob(int col) const {
    const auto* p = static_cast<const uint8_t*>(sqlite3_column_blob(m_st, col));
    return p ? std::vector<uint8_t>(p, p + sqlite3_column_bytes(m_st, col)) : std::vector<uint8_t>();
}

// --- Transaction ---

Transaction::Transaction(Database& db) : m_db(db) { m_db.exec(kSqlBegin); }

Transaction::~Transaction() {
    if (!m_done) sqlite3_exec(m_db.handle(), kSqlRollback, nullptr, nullptr, nullptr);
}

void Transaction::commit() {
    m_db.exec(kSqlCommit);
    m_done = true;
}

}  // namespace m1::storage
