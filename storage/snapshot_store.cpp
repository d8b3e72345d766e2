// Snapshot lookup, listing, LRU eviction and gc (see snapshot_store.h).
#include "storage/snapshot_store.h"

#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <mutex>
#include <set>
#include <utility>

#include "storage/prefix_hash.h"

namespace m1::storage {

#define M1_SNAPSHOT_COLUMNS \
    "id, model_fingerprint, prefix_hash, token_count, kind, size_bytes, chunk_count, created, last_used"
static const char* kSqlFindByKey =
    "SELECT " M1_SNAPSHOT_COLUMNS " FROM snapshots WHERE model_fingerprint=?1 AND prefix_hash=?2";
static const char* kSqlFindById = "SELECT " M1_SNAPSHOT_COLUMNS " FROM snapshots WHERE id=?1";
static const char* kSqlFindByKeyAndLength = "SELECT " M1_SNAPSHOT_COLUMNS
                                            " FROM snapshots WHERE model_fingerprint=?1 AND prefix_hash=?2 "
                                            "AND token_count=?3";
static const char* kSqlLengths =
    "SELECT DISTINCT token_count FROM snapshots WHERE model_fingerprint=?1 AND token_count BETWEEN 1 AND ?2 "
    "ORDER BY token_count";
static const char* kSqlList = "SELECT " M1_SNAPSHOT_COLUMNS " FROM snapshots ORDER BY last_used DESC, id DESC";
static const char* kSqlTotal = "SELECT COALESCE(SUM(size_bytes), 0) FROM snapshots";
static const char* kSqlTouch = "UPDATE snapshots SET last_used=?2 WHERE id=?1";
static const char* kSqlRemove = "DELETE FROM snapshot_writes WHERE id=(SELECT write_id FROM snapshots WHERE id=?1)";
static const char* kSqlOldestFirst = "SELECT id, size_bytes FROM snapshots ORDER BY last_used, id";
static const char* kSqlQuotaGet = "SELECT value FROM meta WHERE key='snapshot_quota_bytes'";
static const char* kSqlQuotaSet =
    "INSERT INTO meta(key, value) VALUES('snapshot_quota_bytes', ?1) "
    "ON CONFLICT(key) DO UPDATE SET value=excluded.value";
static const char* kSqlUncommittedWrites =
    "SELECT w.id, w.writer_pid, w.started FROM snapshot_writes w "
    "WHERE NOT EXISTS (SELECT 1 FROM snapshots s WHERE s.write_id=w.id)";
static const char* kSqlRemoveWrite = "DELETE FROM snapshot_writes WHERE id=?1";
static const char* kSqlFreePages = "PRAGMA freelist_count";
static const char* kSqlPageCount = "PRAGMA page_count";
static const char* kSqlPageSize = "PRAGMA page_size";
static const char* kSqlVacuumStep = "PRAGMA incremental_vacuum(1024)";  // 64 MiB of pages per transaction
static const char* kSqlCheckpoint = "PRAGMA wal_checkpoint(TRUNCATE)";
#undef M1_SNAPSHOT_COLUMNS

// A write whose process vanished without a manifest is interrupted; after this long it is taken to be
// interrupted even if its pid is alive again (a reused pid).
static constexpr int64_t kWriteGraceMs = 6LL * 3600 * 1000;

const char* snapshotKindName(SnapshotKind k) { return k == SnapshotKind::Corpus ? "corpus" : "turn"; }

static SnapshotInfo read_info(const Statement& st) {
    SnapshotInfo s;
    s.id = st.int64(0);
    s.key.modelFingerprint = st.text(1);
    s.key.prefixHash = st.text(2);
    s.key.tokenCount = st.int64(3);
    s.kind = st.text(4) == "corpus" ? SnapshotKind::Corpus : SnapshotKind::Turn;
    s.sizeBytes = st.int64(5);
    s.chunkCount = st.int64(6);
    s.created = st.int64(7);
    s.lastUsed = st.int64(8);
    return s;
}

static int64_t pragma_int(Database& db, const char* sql) {
    Statement st(db, sql);
    return st.step() ? st.int64(0) : 0;
}

std::optional<SnapshotInfo> SnapshotStore::find(const std::string& fp, const std::string& prefixHash) const {
    return Statement(m_db, kSqlFindByKey).bind(1, fp).bind(2, prefixHash).one(read_info);
}

std::optional<SnapshotInfo> SnapshotStore::byId(int64_t id) const {
    return Statement(m_db, kSqlFindById).bind(1, id).one(read_info);
}

std::optional<SnapshotInfo> SnapshotStore::findLongestPrefix(const std::string& fp, std::span<const int32_t> ids,
                                                             int64_t maxTokens) const {
    maxTokens = std::min<int64_t>(maxTokens, static_cast<int64_t>(ids.size()));
    const std::vector<int64_t> lengths =
        Statement(m_db, kSqlLengths).bind(1, fp).bind(2, maxTokens).all([](const Statement& st) { return st.int64(0); });
    if (lengths.empty()) return std::nullopt;
    const std::vector<std::string> hashes = tokenPrefixHashes(ids, lengths);
    Statement st(m_db, kSqlFindByKeyAndLength);
    for (size_t i = lengths.size(); i-- > 0;) {
        st.reset();
        st.bind(1, fp).bind(2, hashes[i]).bind(3, lengths[i]);
        if (st.step()) return read_info(st);
    }
    return std::nullopt;
}

std::vector<SnapshotInfo> SnapshotStore::list() const {
    return Statement(m_db, kSqlList).all(read_info);
}

int64_t SnapshotStore::totalBytes() const { return pragma_int(m_db, kSqlTotal); }

void SnapshotStore::touch(int64_t id) {
    Statement st(m_db, kSqlTouch);
    st.bind(1, id).bind(2, nowMs()).run();
}

void SnapshotStore::remove(int64_t id) {
    Statement st(m_db, kSqlRemove);
    st.bind(1, id).run();
}

int64_t SnapshotStore::quotaBytes() const {
    Statement st(m_db, kSqlQuotaGet);
    if (!st.step()) return kDefaultQuotaBytes;
    return std::stoll(st.text(0));
}

void SnapshotStore::setQuotaBytes(int64_t bytes) {
    if (bytes < 0) throw StorageError("the snapshot quota cannot be negative");
    Statement st(m_db, kSqlQuotaSet);
    st.bind(1, std::to_string(bytes)).run();
}

GcReport SnapshotStore::enforceQuota(int64_t keepId) {
    GcReport r;
    const int64_t quota = quotaBytes();
    int64_t total = totalBytes();
    if (total <= quota) return r;
    std::vector<std::pair<int64_t, int64_t>> oldest;  // (id, size)
    {
        Statement st(m_db, kSqlOldestFirst);
        while (st.step()) oldest.emplace_back(st.int64(0), st.int64(1));
    }
    Transaction tx(m_db);
    Statement del(m_db, kSqlRemove);
    for (const auto& [id, size] : oldest) {
        if (total <= quota) break;
        if (id == keepId) continue;
        del.reset();
        del.bind(1, id).run();
        total -= size;
        r.evicted++;
        r.bytesFreed += size;
    }
    tx.commit();
    return r;
}

static bool process_alive(int64_t pid) {
    if (pid <= 0) return false;
    return ::kill(static_cast<pid_t>(pid), 0) == 0 || errno == EPERM;
}

int64_t SnapshotStore::removeInterruptedWrites() {
    std::vector<int64_t> dead;
    {
        Statement st(m_db, kSqlUncommittedWrites);
        const int64_t now = nowMs(), self = ::getpid();
        while (st.step()) {
            const int64_t id = st.int64(0), pid = st.int64(1), started = st.int64(2);
            const bool running = pid == self ? detail::isWriteActive(m_db.path(), id) : process_alive(pid);
            if (!running || now - started > kWriteGraceMs) dead.push_back(id);
        }
    }
    for (int64_t id : dead) {  // one transaction each: an interrupted write may be many GB
        Transaction tx(m_db);
        Statement st(m_db, kSqlRemoveWrite);
        st.bind(1, id).run();
        tx.commit();
    }
    return static_cast<int64_t>(dead.size());
}

GcReport SnapshotStore::gc() {
    const int64_t pageSize = pragma_int(m_db, kSqlPageSize);
    GcReport r = GcReport{};
    r.fileBytesBefore = pragma_int(m_db, kSqlPageCount) * pageSize;
    r.interruptedWrites = removeInterruptedWrites();
    GcReport q = enforceQuota();
    r.evicted = q.evicted;
    r.bytesFreed = q.bytesFreed;
    // Incremental vacuum moves pages from the end of the file into free slots and truncates: in
    // bounded steps so that no single transaction pushes more than 64 MiB through the WAL.
    while (pragma_int(m_db, kSqlFreePages) > 0) {
        const int64_t before = pragma_int(m_db, kSqlPageCount);
        m_db.exec(kSqlVacuumStep);
        if (pragma_int(m_db, kSqlPageCount) >= before) break;  // not an auto-vacuum database
    }
    m_db.exec(kSqlCheckpoint);
    r.fileBytesAfter = pragma_int(m_db, kSqlPageCount) * pageSize;
    return r;
}

namespace detail {
static std::mutex g_activeMutex;
static std::set<std::pair<std::string, int64_t>> g_active;

void setWriteActive(const std::string& dbPath, int64_t writeId, bool active) {
    std::lock_guard<std::mutex> lock(g_activeMutex);
    if (active)
        g_active.emplace(dbPath, writeId);
    else
        g_active.erase({dbPath, writeId});
}

bool isWriteActive(const std::string& dbPath, int64_t writeId) {
    std::lock_guard<std::mutex> lock(g_activeMutex);
    return g_active.count({dbPath, writeId}) > 0;
}
}  // namespace detail

}  // namespace m1::storage
