// Parallel reads for SnapshotReader: one large read of a chunk is cut into 1 MiB slices that K worker threads,
// each with its own read-only connection, read at the same time straight into the caller's buffer. One thread
// reading a blob from the page cache runs at about 60% of a plain read(2) (SQLite reads one 64 KiB page per
// call); several at once pass it. The slices are handed to the caller in order as they complete (for the
// chunk's running checksum), and read() returns only when every slice is in.
//
// Why not read the next chunks ahead into buffers of their own: measured on the H200 host, handing those
// bytes to the caller costs one more copy of every byte on the caller's thread, which made restores slower
// than one connection (docs/benchmarks/storage.md, third pass). Here no byte is copied twice and no buffer
// is added: memory stays what it was.
//
// Consistency: every worker begins its read transaction before the constructor returns and checks that it
// sees the same chunk list as the reader's own transaction (chunks never change after their manifest commits,
// so the same list means the same bytes); gc or eviction running later cannot touch what a worker reads.
#pragma once
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "storage/database.h"

struct sqlite3_blob;

namespace m1::storage {

// The chunk list of a snapshot: ?1 = snapshot id; columns chunk rowid, seq, size, checksum, then the manifest's
// size_bytes and chunk_count.
extern const char* const kSqlSnapshotChunkList;

struct ChunkRef {
    int64_t rowid, size;
    uint64_t checksum;
    bool operator==(const ChunkRef&) const = default;
};

class ParallelBlobReader {
public:
    // Opens `workers` connections (in parallel, on the workers) and waits until each has begun its read
    // transaction. Throws SnapshotCorruptError if a worker's view of the snapshot differs from `chunks` (it was
    // replaced or evicted in between), StorageError if a connection cannot be opened.
    ParallelBlobReader(const Database& db, int64_t snapshotId, std::vector<ChunkRef> chunks, int workers);
    ~ParallelBlobReader();  // joins the workers and ends their transactions
    ParallelBlobReader(const ParallelBlobReader&) = delete;
    ParallelBlobReader& operator=(const ParallelBlobReader&) = delete;

    // Reads bytes [offset, offset + n) of chunk `chunk` into out; calls inOrder(p, len) for consecutive slices
    // from the start, each as soon as it and every slice before it are in. Throws SnapshotCorruptError (missing
    // chunk, wrong size, I/O error) only once no worker touches `out` any more.
    void read(size_t chunk, int64_t offset, uint8_t* out, int64_t n,
              const std::function<void(const uint8_t*, size_t)>& inOrder);
    int workers() const { return static_cast<int>(m_threads.size()); }

private:
    struct Conn {
        sqlite3* db = nullptr;
        sqlite3_blob* blob = nullptr;
        int64_t chunk = -1;  // the chunk `blob` is open on
    };
    void shutdown() noexcept;  // joins the workers and closes their connections
    void run(size_t w);
    std::string open(Conn& c);  // the worker's connection, transaction and view check; an error or ""
    std::string readSlice(Conn& c, int64_t slice);

    const Database& m_db;
    int64_t m_snapshotId;
    std::vector<ChunkRef> m_chunks;
    std::vector<Conn> m_conns;
    std::vector<std::thread> m_threads;

    std::mutex m_mu;
    std::condition_variable m_work, m_done;
    bool m_stop = false;
    int m_opened = 0;          // workers past open()
    std::string m_openError;   // the first worker's open() error
    // The request in flight.
    size_t m_chunk = 0;
    int64_t m_offset = 0, m_n = 0, m_slices = 0, m_next = 0;
    uint8_t* m_out = nullptr;
    std::vector<uint8_t> m_sliceDone;
    std::vector<std::string> m_sliceError;
    int64_t m_busy = 0;        // slices taken and not finished
    bool m_cancel = false;     // a slice failed: take no more
};

}  // namespace m1::storage
