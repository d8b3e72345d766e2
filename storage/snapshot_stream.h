// Streaming a snapshot into and out of the database. The writer is an m1::ByteSink that cuts the
// engine's state into chunks (32 MiB by default), each written with incremental blob I/O in its own
// transaction with an XXH3-64 checksum; the manifest row goes in last. The reader is an m1::ByteSource.
// It reads blobs straight into the caller's buffer (a large read split among worker threads with connections
// of their own: parallel_blob_reader.h) and verifies every chunk's checksum, hashed on a helper thread one
// slice behind the blob reads, before the chunk's last byte is handed out. Memory stays at one chunk
// (writer) or a 256 KiB buffer (reader) whatever the snapshot's size.
#pragma once
#include <cstdint>
#include <memory>
#include <vector>

#include "m1/state_io.h"
#include "m1/stream_hasher.h"
#include "storage/parallel_blob_reader.h"
#include "storage/snapshot_store.h"

struct sqlite3_blob;

namespace m1::storage {

// A chunk failed its checksum, is missing, or has the wrong size. The pipeline drops the snapshot
// and prefills again; derives from StateFormatError so an engine import passes it through.
struct SnapshotCorruptError : m1::StateFormatError {
    using m1::StateFormatError::StateFormatError;
};

// Measured on the H200 host (16 cores): see docs/benchmarks/storage.md, third pass.
inline constexpr int kDefaultReadWorkers = 3;

struct SnapshotReadOptions {
    // Threads that read the slices of a large read at the same time, one read-only connection each (0: none,
    // read on the caller's connection). -1: kDefaultReadWorkers where the machine has 4 hardware threads or
    // more, else 0 (on two vCPUs the workers only take turns with the caller).
    int workers = -1;
};

struct SnapshotWriteOptions {
    int64_t chunkBytes = 32LL << 20;  // tests use small chunks to get many of them
};

class SnapshotWriter : public m1::ByteSink {
public:
    SnapshotWriter(Database& db, SnapshotKey key, SnapshotKind kind, SnapshotWriteOptions options = {});
    ~SnapshotWriter() override;  // an uncommitted write is discarded
    SnapshotWriter(const SnapshotWriter&) = delete;
    SnapshotWriter& operator=(const SnapshotWriter&) = delete;

    void write(const void* data, std::size_t n) override;  // throws StorageError (disk full, I/O)
    // Flushes the last chunk and commits the manifest, replacing a snapshot with the same key.
    SnapshotInfo commit();
    void discard();  // removes the chunks written so far
    int64_t bytesWritten() const { return m_total; }

private:
    void writeChunk(const uint8_t* data, int64_t n);
    void restoreCacheSpill() noexcept;
    Database& m_db;
    SnapshotKey m_key;
    SnapshotKind m_kind;
    SnapshotWriteOptions m_options;
    int64_t m_writeId = 0, m_total = 0, m_chunks = 0;
    std::vector<uint8_t> m_buffer;  // the chunk being filled; never above chunkBytes
    int64_t m_savedCacheSpill = -1; // the connection's cache_spill before this writer raised it
    bool m_open = true;
};

class SnapshotReader : public m1::ByteSource {
public:
    // Starts a read transaction (a consistent view while other connections write or evict) and loads
    // the chunk list. Throws SnapshotCorruptError if the chunk list does not match the manifest.
    SnapshotReader(Database& db, int64_t snapshotId, SnapshotReadOptions options = {});
    ~SnapshotReader() override;
    SnapshotReader(const SnapshotReader&) = delete;
    SnapshotReader& operator=(const SnapshotReader&) = delete;

    void read(void* out, std::size_t n) override;  // throws SnapshotCorruptError
    int64_t size() const { return m_size; }
    int64_t remaining() const { return m_size - m_consumed; }
    int readWorkers() const { return m_parallel ? m_parallel->workers() : 0; }

private:
    using Chunk = ChunkRef;
    void pull(uint8_t* out, int64_t n);  // next n bytes of the current chunk, hashed and verified
    void openChunk();
    void verifyChunk();
    Database& m_db;
    int64_t m_snapshotId;
    std::vector<Chunk> m_chunks;
    size_t m_chunk = 0;      // index of the current chunk
    int64_t m_inChunk = 0;   // bytes of the current chunk pulled so far
    int64_t m_size = 0, m_consumed = 0;
    sqlite3_blob* m_blob = nullptr;
    std::unique_ptr<m1::StreamHasher> m_hash;  // the current chunk's XXH3, one slice behind the reads
    std::vector<uint8_t> m_stage;  // small reads are served from here
    size_t m_stageBeg = 0, m_stageEnd = 0;
    bool m_inTransaction = false;
    std::unique_ptr<ParallelBlobReader> m_parallel;  // null: every read on m_db
};

}  // namespace m1::storage
