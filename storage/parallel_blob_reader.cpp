// ParallelBlobReader (see parallel_blob_reader.h): K threads, K read-only connections, slices of one read.
#include "storage/parallel_blob_reader.h"

#include <algorithm>

#include "storage/snapshot_stream.h"

namespace m1::storage {

const char* const kSqlSnapshotChunkList =
    "SELECT c.id, c.seq, c.size, c.checksum, s.size_bytes, s.chunk_count FROM snapshots s "
    "JOIN snapshot_chunks c ON c.write_id=s.write_id WHERE s.id=?1 ORDER BY c.seq";
static const char* kSqlBeginRead = "BEGIN DEFERRED;";
static const char* kSqlEndRead = "COMMIT;";

// Large enough that a slice's cost dwarfs handing it out, small enough that K workers share an 8 MiB read.
static constexpr int64_t kSliceBytes = 1 << 20;

ParallelBlobReader::ParallelBlobReader(const Database& db, int64_t snapshotId, std::vector<ChunkRef> chunks,
                                       int workers)
    : m_db(db), m_snapshotId(snapshotId), m_chunks(std::move(chunks)), m_conns(static_cast<size_t>(workers)) {
    try {
        for (size_t w = 0; w < m_conns.size(); ++w) m_threads.emplace_back([this, w] { run(w); });
    } catch (...) {
        shutdown();
        throw;
    }
    std::unique_lock<std::mutex> lock(m_mu);
    m_done.wait(lock, [&] { return m_opened == static_cast<int>(m_threads.size()); });
    if (!m_openError.empty()) {
        const std::string error = m_openError;
        lock.unlock();
        shutdown();
        throw SnapshotCorruptError(error);
    }
}

ParallelBlobReader::~ParallelBlobReader() { shutdown(); }

void ParallelBlobReader::shutdown() noexcept {
    {
        std::lock_guard<std::mutex> lock(m_mu);
        m_stop = true;
    }
    m_work.notify_all();
    for (std::thread& t : m_threads)
        if (t.joinable()) t.join();
    for (Conn& c : m_conns) {
        sqlite3_blob_close(c.blob);
        c.blob = nullptr;
        if (c.db) sqlite3_exec(c.db, kSqlEndRead, nullptr, nullptr, nullptr);
        sqlite3_close(c.db);
        c.db = nullptr;
    }
}

// On the worker thread, but before the constructor returns: the read transaction starts here, so a snapshot
// replaced after the constructor cannot change what the worker reads.
std::string ParallelBlobReader::open(Conn& c) {
    try {
        c.db = m_db.openReadConnection();
    } catch (const std::exception& e) {
        return e.what();
    }
    sqlite3_stmt* st = nullptr;
    int rc = sqlite3_exec(c.db, kSqlBeginRead, nullptr, nullptr, nullptr);
    if (rc == SQLITE_OK) rc = sqlite3_prepare_v2(c.db, kSqlSnapshotChunkList, -1, &st, nullptr);
    if (rc == SQLITE_OK) rc = sqlite3_bind_int64(st, 1, m_snapshotId);
    std::vector<ChunkRef> seen;
    while (rc == SQLITE_OK || rc == SQLITE_ROW) {
        rc = sqlite3_step(st);
        if (rc == SQLITE_ROW)
            seen.push_back({sqlite3_column_int64(st, 0), sqlite3_column_int64(st, 2),
                            static_cast<uint64_t>(sqlite3_column_int64(st, 3))});
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE) return describeSqliteError(m_db.path(), c.db, "listing snapshot chunks", rc);
    if (seen != m_chunks)
        return "snapshot " + std::to_string(m_snapshotId) + " was replaced or removed while it was being opened";
    return "";
}

std::string ParallelBlobReader::readSlice(Conn& c, int64_t slice) {
    const int64_t chunk = static_cast<int64_t>(m_chunk);
    const ChunkRef& ch = m_chunks[m_chunk];
    const std::string where = "snapshot " + std::to_string(m_snapshotId) + ": chunk " + std::to_string(chunk);
    if (c.chunk != chunk) {
        c.chunk = -1;
        int rc = c.blob ? sqlite3_blob_reopen(c.blob, ch.rowid)
                        : sqlite3_blob_open(c.db, "main", "snapshot_chunks", "data", ch.rowid, 0, &c.blob);
        if (rc != SQLITE_OK) return describeSqliteError(m_db.path(), c.db, "opening " + where, rc);
        if (sqlite3_blob_bytes(c.blob) != ch.size)
            return where + " holds " + std::to_string(sqlite3_blob_bytes(c.blob)) + " bytes, not " +
                   std::to_string(ch.size);
        c.chunk = chunk;
    }
    const int64_t begin = slice * kSliceBytes, n = std::min(kSliceBytes, m_n - begin);
    int rc = sqlite3_blob_read(c.blob, m_out + begin, static_cast<int>(n), static_cast<int>(m_offset + begin));
    if (rc != SQLITE_OK) return describeSqliteError(m_db.path(), c.db, "reading " + where, rc);
    return "";
}

void ParallelBlobReader::run(size_t w) {
    Conn& c = m_conns[w];
    std::string error = open(c);
    std::unique_lock<std::mutex> lock(m_mu);
    if (m_openError.empty()) m_openError = error;
    m_opened++;
    m_done.notify_all();
    for (;;) {
        m_work.wait(lock, [&] { return m_stop || (!m_cancel && m_next < m_slices); });
        if (m_stop) return;
        const int64_t slice = m_next++;
        m_busy++;
        lock.unlock();
        std::string sliceError = readSlice(c, slice);
        lock.lock();
        m_busy--;
        m_sliceError[static_cast<size_t>(slice)] = std::move(sliceError);
        if (!m_sliceError[static_cast<size_t>(slice)].empty()) m_cancel = true;
        m_sliceDone[static_cast<size_t>(slice)] = 1;
        m_done.notify_all();
    }
}

void ParallelBlobReader::read(size_t chunk, int64_t offset, uint8_t* out, int64_t n,
                              const std::function<void(const uint8_t*, size_t)>& inOrder) {
    if (n <= 0) return;
    std::unique_lock<std::mutex> lock(m_mu);
    m_chunk = chunk;
    m_offset = offset;
    m_out = out;
    m_n = n;
    m_slices = (n + kSliceBytes - 1) / kSliceBytes;
    m_next = 0;
    m_cancel = false;
    m_sliceDone.assign(static_cast<size_t>(m_slices), 0);
    m_sliceError.assign(static_cast<size_t>(m_slices), std::string());
    m_work.notify_all();
    std::string error;
    for (int64_t s = 0; s < m_slices && error.empty(); ++s) {
        m_done.wait(lock, [&] { return m_sliceDone[static_cast<size_t>(s)] || (m_cancel && m_busy == 0); });
        if (!m_sliceDone[static_cast<size_t>(s)]) break;  // cancelled before this slice was taken
        error = m_sliceError[static_cast<size_t>(s)];
        if (!error.empty()) break;
        lock.unlock();
        const int64_t begin = s * kSliceBytes;
        inOrder(out + begin, static_cast<size_t>(std::min(kSliceBytes, n - begin)));
        lock.lock();
    }
    // No worker may still write into `out` when this returns or throws.
    m_cancel = true;
    m_done.wait(lock, [&] { return m_busy == 0; });
    m_slices = 0;
    if (error.empty())
        for (const std::string& e : m_sliceError)
            if (!e.empty()) error = e;
    if (!error.empty()) throw SnapshotCorruptError(error);
}

}  // namespace m1::storage
