// ChunkPrefetcher (see chunk_prefetch.h): K threads, K read-only connections, K chunk buffers.
#include "storage/chunk_prefetch.h"

#include <algorithm>

#include "m1/stream_hasher.h"
#include "storage/snapshot_stream.h"

namespace m1::storage {

const char* const kSqlSnapshotChunkList =
    "SELECT c.id, c.seq, c.size, c.checksum, s.size_bytes, s.chunk_count FROM snapshots s "
    "JOIN snapshot_chunks c ON c.write_id=s.write_id WHERE s.id=?1 ORDER BY c.seq";
static const char* kSqlBeginRead = "BEGIN DEFERRED;";
static const char* kSqlEndRead = "COMMIT;";

// A chunk is read in slices so that a destructor waits for at most one slice per worker.
static constexpr int64_t kSliceBytes = 4 << 20;

namespace {

// Chunk buffers kept between restores (at most kKeep of them, 32 MiB each at the default chunk size).
class BufferPool {
public:
    static BufferPool& get() {
        static BufferPool pool;
        return pool;
    }
    // A buffer of at least `size` bytes (not zeroed).
    std::unique_ptr<uint8_t[]> take(int64_t size, int64_t& capacity) {
        std::lock_guard<std::mutex> lock(mu_);
        auto best = kept_.end();
        for (auto it = kept_.begin(); it != kept_.end(); ++it)
            if (it->second >= size && (best == kept_.end() || it->second < best->second)) best = it;
        if (best != kept_.end()) {
            auto buf = std::move(best->first);
            capacity = best->second;
            kept_.erase(best);
            return buf;
        }
        capacity = std::max<int64_t>(size, 1);
        return std::unique_ptr<uint8_t[]>(new uint8_t[static_cast<size_t>(capacity)]);
    }
    void give(std::unique_ptr<uint8_t[]> buf, int64_t capacity) {
        if (!buf) return;
        std::lock_guard<std::mutex> lock(mu_);
        kept_.emplace_back(std::move(buf), capacity);
        if (kept_.size() > kKeep)  // drop the smallest
            kept_.erase(std::min_element(kept_.begin(), kept_.end(),
                                         [](const auto& a, const auto& b) { return a.second < b.second; }));
    }

private:
    static constexpr size_t kKeep = 8;
    std::mutex mu_;
    std::vector<std::pair<std::unique_ptr<uint8_t[]>, int64_t>> kept_;
};

}  // namespace

ChunkPrefetcher::ChunkPrefetcher(const Database& db, int64_t snapshotId, std::vector<ChunkRef> chunks, int workers)
    : m_db(db), m_snapshotId(snapshotId), m_chunks(std::move(chunks)) {
    const size_t k = std::min<size_t>(static_cast<size_t>(std::max(workers, 1)), std::max<size_t>(m_chunks.size(), 1));
    m_workers.resize(k);
    m_slots.resize(k);
    try {
        for (Worker& w : m_workers) openWorker(w);
        for (size_t w = 0; w < k; ++w) m_workers[w].thread = std::thread([this, w] { run(w); });
    } catch (...) {
        stopAndJoin();
        throw;
    }
}

ChunkPrefetcher::~ChunkPrefetcher() { stopAndJoin(); }

void ChunkPrefetcher::stopAndJoin() noexcept {
    {
        std::lock_guard<std::mutex> lock(m_mu);
        m_stop = true;
    }
    m_changed.notify_all();
    for (Worker& w : m_workers) {
        if (w.thread.joinable()) w.thread.join();
        if (w.conn) {
            sqlite3_exec(w.conn, kSqlEndRead, nullptr, nullptr, nullptr);
            sqlite3_close(w.conn);
            w.conn = nullptr;
        }
    }
    for (Slot& s : m_slots) BufferPool::get().give(std::move(s.buf), s.capacity);
}

// The worker's read transaction starts here, on the constructing thread, so that it begins before the
// constructor returns (a snapshot replaced after that cannot change what the worker reads).
void ChunkPrefetcher::openWorker(Worker& w) {
    w.conn = m_db.openReadConnection();
    sqlite3_stmt* st = nullptr;
    int rc = sqlite3_exec(w.conn, kSqlBeginRead, nullptr, nullptr, nullptr);
    if (rc == SQLITE_OK) rc = sqlite3_prepare_v2(w.conn, kSqlSnapshotChunkList, -1, &st, nullptr);
    if (rc == SQLITE_OK) rc = sqlite3_bind_int64(st, 1, m_snapshotId);
    std::vector<ChunkRef> seen;
    while (rc == SQLITE_OK || rc == SQLITE_ROW) {
        rc = sqlite3_step(st);
        if (rc == SQLITE_ROW)
            seen.push_back({sqlite3_column_int64(st, 0), sqlite3_column_int64(st, 2),
                            static_cast<uint64_t>(sqlite3_column_int64(st, 3))});
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE)
        throw StorageError(describeSqliteError(m_db.path(), w.conn, "listing snapshot chunks for read-ahead", rc));
    if (seen != m_chunks)
        throw SnapshotCorruptError("snapshot " + std::to_string(m_snapshotId) +
                                   " was replaced or removed while it was being opened");
}

std::string ChunkPrefetcher::fetch(sqlite3* c, size_t i, Slot& s) {
    const ChunkRef& ch = m_chunks[i];
    const std::string where = "snapshot " + std::to_string(m_snapshotId) + ": chunk " + std::to_string(i);
    if (s.capacity < ch.size) {
        BufferPool::get().give(std::move(s.buf), s.capacity);
        s.buf = BufferPool::get().take(ch.size, s.capacity);
    }
    sqlite3_blob* blob = nullptr;
    int rc = sqlite3_blob_open(c, "main", "snapshot_chunks", "data", ch.rowid, 0, &blob);
    if (rc != SQLITE_OK) {
        sqlite3_blob_close(blob);
        return describeSqliteError(m_db.path(), c, "opening " + where, rc);
    }
    if (sqlite3_blob_bytes(blob) != ch.size) {
        const int have = sqlite3_blob_bytes(blob);
        sqlite3_blob_close(blob);
        return where + " holds " + std::to_string(have) + " bytes, not " + std::to_string(ch.size);
    }
    for (int64_t off = 0; off < ch.size && rc == SQLITE_OK; off += kSliceBytes) {
        if (m_stop) break;
        const int64_t n = std::min(kSliceBytes, ch.size - off);
        rc = sqlite3_blob_read(blob, s.buf.get() + off, static_cast<int>(n), static_cast<int>(off));
    }
    std::string error = rc == SQLITE_OK ? "" : describeSqliteError(m_db.path(), c, "reading " + where, rc);
    sqlite3_blob_close(blob);
    if (error.empty() && !m_stop && m1::xxh3_64(s.buf.get(), static_cast<size_t>(ch.size)) != ch.checksum)
        error = where + " of " + std::to_string(m_chunks.size()) + " fails its checksum (damaged on disk)";
    return error;
}

void ChunkPrefetcher::run(size_t w) {
    Slot& s = m_slots[w];
    const size_t k = m_workers.size();
    for (size_t i = w; i < m_chunks.size(); i += k) {
        {
            std::unique_lock<std::mutex> lock(m_mu);
            m_changed.wait(lock, [&] { return m_stop || s.state == State::Empty; });
            if (m_stop) return;
        }
        std::string error = fetch(m_workers[w].conn, i, s);
        std::lock_guard<std::mutex> lock(m_mu);
        if (m_stop) return;
        s.chunk = i;
        s.size = m_chunks[i].size;
        s.error = std::move(error);
        s.state = s.error.empty() ? State::Ready : State::Failed;
        m_changed.notify_all();
        if (s.state == State::Failed) return;  // the reader throws when it reaches chunk i
    }
}

std::span<const uint8_t> ChunkPrefetcher::acquire(size_t i) {
    Slot& s = m_slots[i % m_slots.size()];
    std::unique_lock<std::mutex> lock(m_mu);
    // A failed slot stays failed (its worker has stopped): every later chunk is refused too.
    m_changed.wait(lock, [&] { return s.state == State::Failed || (s.state == State::Ready && s.chunk == i); });
    if (s.state == State::Failed) throw SnapshotCorruptError(s.error);
    return {s.buf.get(), static_cast<size_t>(s.size)};
}

void ChunkPrefetcher::release(size_t i) {
    Slot& s = m_slots[i % m_slots.size()];
    {
        std::lock_guard<std::mutex> lock(m_mu);
        s.state = State::Empty;
    }
    m_changed.notify_all();
}

}  // namespace m1::storage
