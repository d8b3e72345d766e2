// Read-ahead for SnapshotReader: K worker threads, each with its own read-only connection, read the next K
// chunks of a snapshot in parallel and check each chunk's XXH3 before handing it over. A single thread reading
// a blob from the page cache runs at about half a plain read(2)'s speed (SQLite reads one 64 KiB page per
// call); several chunks read at once close that gap. The caller still takes the chunks strictly in order.
//
// Memory: K chunk buffers, whatever the snapshot's size (kept in a small process-wide pool between restores:
// first-touching 100 MB of fresh pages costs as much as reading it from the page cache).
// Consistency: every worker begins its read transaction in the constructor and checks that it sees the same
// chunk list as the reader's own transaction (chunks never change after their manifest commits, so the same
// list means the same bytes); gc or eviction running later cannot touch what a worker reads.
#pragma once
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "storage/database.h"

namespace m1::storage {

// The chunk list of a snapshot as the reader's transaction sees it: ?1 = snapshot id; columns chunk rowid,
// seq, size, checksum, then the manifest's size_bytes and chunk_count.
extern const char* const kSqlSnapshotChunkList;

struct ChunkRef {
    int64_t rowid, size;
    uint64_t checksum;
    bool operator==(const ChunkRef&) const = default;
};

class ChunkPrefetcher {
public:
    // Opens `workers` connections and starts the threads. Throws SnapshotCorruptError if a worker's view
    // of the snapshot differs from `chunks` (it was replaced or evicted in between), StorageError if a
    // connection cannot be opened.
    ChunkPrefetcher(const Database& db, int64_t snapshotId, std::vector<ChunkRef> chunks, int workers);
    ~ChunkPrefetcher();  // stops the workers mid-chunk and joins them
    ChunkPrefetcher(const ChunkPrefetcher&) = delete;
    ChunkPrefetcher& operator=(const ChunkPrefetcher&) = delete;

    // Chunk i's bytes, checksum verified; waits for its worker. Valid until release(i). Chunks are taken in
    // order 0, 1, 2, ... Throws SnapshotCorruptError (bad checksum, missing chunk, wrong size, I/O error).
    std::span<const uint8_t> acquire(size_t i);
    void release(size_t i);  // its buffer goes back to the worker for chunk i + K
    int workers() const { return static_cast<int>(m_workers.size()); }

private:
    enum class State { Empty, Ready, Failed };
    struct Slot {
        std::unique_ptr<uint8_t[]> buf;
        int64_t capacity = 0;
        size_t chunk = 0;  // which chunk the slot holds once Ready or Failed
        int64_t size = 0;
        State state = State::Empty;
        std::string error;
    };
    struct Worker {
        sqlite3* conn = nullptr;
        std::thread thread;
    };
    void openWorker(Worker& w);
    void run(size_t w);
    // Reads and verifies chunk i into slot s on connection c; returns an error message or "".
    std::string fetch(sqlite3* c, size_t i, Slot& s);
    void stopAndJoin() noexcept;

    const Database& m_db;
    int64_t m_snapshotId;
    std::vector<ChunkRef> m_chunks;
    std::vector<Worker> m_workers;
    std::vector<Slot> m_slots;  // slot w belongs to worker w and holds chunks w, w + K, w + 2K, ...
    std::mutex m_mu;
    std::condition_variable m_changed;
    std::atomic<bool> m_stop{false};  // read by the workers between slices of a chunk
};

}  // namespace m1::storage
