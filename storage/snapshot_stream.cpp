// SnapshotWriter and SnapshotReader (see snapshot_stream.h): chunked, checksummed, streamed.
#include "storage/snapshot_stream.h"

#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <thread>

namespace m1::storage {

static const char* kSqlBeginWrite = "INSERT INTO snapshot_writes(writer_pid, started) VALUES(?1, ?2)";
static const char* kSqlInsertChunk =
    "INSERT INTO snapshot_chunks(write_id, seq, size, checksum, data) VALUES(?1, ?2, ?3, ?4, ?5)";
static const char* kSqlReplaceManifest =
    "DELETE FROM snapshot_writes WHERE id IN "
    "(SELECT write_id FROM snapshots WHERE model_fingerprint=?1 AND prefix_hash=?2)";
static const char* kSqlInsertManifest =
    "INSERT INTO snapshots(write_id, model_fingerprint, prefix_hash, token_count, kind, size_bytes, chunk_count, "
    "created, last_used) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?8)";
static const char* kSqlDiscardWrite = "DELETE FROM snapshot_writes WHERE id=?1";
static const char* kSqlBeginRead = "BEGIN DEFERRED;";
static const char* kSqlEndRead = "COMMIT;";
static const char* kSqlManifestExists = "SELECT size_bytes, chunk_count FROM snapshots WHERE id=?1";

static const char* kSqlPageSize = "PRAGMA page_size;";
static const char* kSqlCacheSpill = "PRAGMA cache_spill;";
static constexpr int64_t kSpillSlackPages = 64;  // b-tree and index pages a chunk insert also dirties

static constexpr size_t kStageBytes = 256 << 10;   // reader buffer for small reads
static constexpr size_t kDirectBytes = 64 << 10;   // reads this large go straight into the caller's memory
// A large read is cut into slices: slice i is hashed on the helper thread while slice i+1 is read, so the
// checksum costs one slice's hash per read() instead of all of them.
static constexpr int64_t kSliceBytes = 1 << 20;

// --- writer ---

SnapshotWriter::SnapshotWriter(Database& db, SnapshotKey key, SnapshotKind kind, SnapshotWriteOptions options)
    : m_db(db), m_key(std::move(key)), m_kind(kind), m_options(options) {
    if (m_options.chunkBytes <= 0 || m_options.chunkBytes > (512LL << 20))
        throw StorageError("snapshot chunk size must be between 1 byte and 512 MiB");
    Statement st(m_db, kSqlBeginWrite);
    st.bind(1, static_cast<int64_t>(::getpid())).bind(2, nowMs()).run();
    m_writeId = sqlite3_last_insert_rowid(m_db.handle());
    detail::setWriteActive(m_db.path(), m_writeId, true);
    // A chunk is inserted as a zero blob and then filled; both must stay in SQLite's page cache until
    // the chunk commits. If the pager spilled the zero pages to the WAL mid-transaction, every byte
    // would go to the WAL twice (measured by qt_snapshot_bench: 3.0 bytes written per snapshot byte
    // instead of 2.0, the WAL plus the checkpoint). The cache then holds up to one chunk, as m_buffer does.
    Statement pageSize(m_db, kSqlPageSize), spill(m_db, kSqlCacheSpill);
    const int64_t chunkPages = pageSize.step() ? m_options.chunkBytes / std::max<int64_t>(1, pageSize.int64(0)) : 0;
    if (spill.step() && spill.int64(0) < chunkPages + kSpillSlackPages) {
        m_savedCacheSpill = spill.int64(0);
        m_db.exec(("PRAGMA cache_spill=" + std::to_string(chunkPages + kSpillSlackPages) + ";").c_str());
    }
}

SnapshotWriter::~SnapshotWriter() {
    if (m_open) {
        try {
            discard();
        } catch (...) {
            // The chunks stay as an interrupted write; `m1 snapshots --gc` removes them later.
            detail::setWriteActive(m_db.path(), m_writeId, false);
        }
    }
    restoreCacheSpill();
}

void SnapshotWriter::restoreCacheSpill() noexcept {
    if (m_savedCacheSpill < 0) return;
    const std::string sql = "PRAGMA cache_spill=" + std::to_string(m_savedCacheSpill) + ";";
    sqlite3_exec(m_db.handle(), sql.c_str(), nullptr, nullptr, nullptr);
    m_savedCacheSpill = -1;
}

void SnapshotWriter::write(const void* data, std::size_t n) {
    if (!m_open) throw StorageError("snapshot writer used after commit or discard");
    const auto* p = static_cast<const uint8_t*>(data);
    const auto chunk = static_cast<size_t>(m_options.chunkBytes);
    while (n > 0) {
        if (m_buffer.empty() && n >= chunk) {  // a whole chunk straight from the caller's memory
            writeChunk(p, m_options.chunkBytes);
            p += chunk;
            n -= chunk;
            continue;
        }
        const size_t take = std::min(n, chunk - m_buffer.size());
        m_buffer.insert(m_buffer.end(), p, p + take);
        p += take;
        n -= take;
        if (m_buffer.size() == chunk) {
            writeChunk(m_buffer.data(), m_options.chunkBytes);
            m_buffer.clear();  // keeps its capacity: one chunk of memory for the whole snapshot
        }
    }
}

// One chunk = one transaction: insert a zero blob of the right size, fill it through an incremental
// blob handle, commit. A crash between chunks leaves whole chunks and no manifest.
void SnapshotWriter::writeChunk(const uint8_t* data, int64_t n) {
    const auto checksum = static_cast<int64_t>(m1::xxh3_64(data, static_cast<size_t>(n)));
    const std::string where = "writing snapshot chunk " + std::to_string(m_chunks);
    Transaction tx(m_db);
    Statement st(m_db, kSqlInsertChunk);
    st.bind(1, m_writeId).bind(2, m_chunks).bind(3, n).bind(4, checksum).bindZeroBlob(5, n).run();
    const int64_t rowid = sqlite3_last_insert_rowid(m_db.handle());
    sqlite3_blob* blob = nullptr;
    int rc = sqlite3_blob_open(m_db.handle(), "main", "snapshot_chunks", "data", rowid, 1, &blob);
    if (rc == SQLITE_OK) rc = sqlite3_blob_write(blob, data, static_cast<int>(n), 0);
    int closeRc = sqlite3_blob_close(blob);
    if (rc == SQLITE_OK) rc = closeRc;
    if (rc != SQLITE_OK) throw StorageError(m_db.describeError(where, rc));
    tx.commit();
    m_chunks++;
    m_total += n;
}

SnapshotInfo SnapshotWriter::commit() {
    if (!m_open) throw StorageError("snapshot writer used after commit or discard");
    if (!m_buffer.empty()) {
        writeChunk(m_buffer.data(), static_cast<int64_t>(m_buffer.size()));
        m_buffer.clear();
    }
    std::vector<uint8_t>().swap(m_buffer);
    const int64_t now = nowMs();
    Transaction tx(m_db);
    Statement(m_db, kSqlReplaceManifest).bind(1, m_key.modelFingerprint).bind(2, m_key.prefixHash).run();
    Statement ins(m_db, kSqlInsertManifest);
    ins.bind(1, m_writeId).bind(2, m_key.modelFingerprint).bind(3, m_key.prefixHash).bind(4, m_key.tokenCount);
    ins.bind(5, std::string(snapshotKindName(m_kind))).bind(6, m_total).bind(7, m_chunks).bind(8, now).run();
    SnapshotInfo info;
    info.id = sqlite3_last_insert_rowid(m_db.handle());
    tx.commit();
    m_open = false;
    detail::setWriteActive(m_db.path(), m_writeId, false);
    restoreCacheSpill();
    info.key = m_key;
    info.kind = m_kind;
    info.sizeBytes = m_total;
    info.chunkCount = m_chunks;
    info.created = info.lastUsed = now;
    return info;
}

void SnapshotWriter::discard() {
    if (!m_open) return;
    m_open = false;
    std::vector<uint8_t>().swap(m_buffer);
    Statement(m_db, kSqlDiscardWrite).bind(1, m_writeId).run();
    detail::setWriteActive(m_db.path(), m_writeId, false);
    restoreCacheSpill();
}

// --- reader ---

SnapshotReader::SnapshotReader(Database& db, int64_t snapshotId, SnapshotReadOptions options)
    : m_db(db), m_snapshotId(snapshotId) {
    m_db.exec(kSqlBeginRead);
    m_inTransaction = true;
    try {
        int64_t declaredSize = -1, declaredChunks = -1;
        {
            Statement st(m_db, kSqlManifestExists);
            st.bind(1, snapshotId);
            if (!st.step()) throw SnapshotCorruptError("snapshot " + std::to_string(snapshotId) + " no longer exists");
            declaredSize = st.int64(0);
            declaredChunks = st.int64(1);
        }
        Statement st(m_db, kSqlSnapshotChunkList);
        st.bind(1, snapshotId);
        while (st.step()) {
            if (st.int64(1) != static_cast<int64_t>(m_chunks.size()))
                throw SnapshotCorruptError("snapshot " + std::to_string(snapshotId) + ": chunk " +
                                           std::to_string(m_chunks.size()) + " is missing");
            m_chunks.push_back({st.int64(0), st.int64(2), static_cast<uint64_t>(st.int64(3))});
            m_size += st.int64(2);
        }
        if (static_cast<int64_t>(m_chunks.size()) != declaredChunks || m_size != declaredSize)
            throw SnapshotCorruptError("snapshot " + std::to_string(snapshotId) + ": has " +
                                       std::to_string(m_chunks.size()) + " chunks of " + std::to_string(m_size) +
                                       " bytes, its manifest says " + std::to_string(declaredChunks) + " of " +
                                       std::to_string(declaredSize));
        int workers = options.workers;
        if (workers < 0) workers = std::thread::hardware_concurrency() >= 4 ? kDefaultReadWorkers : 0;
        if (workers > 0 && m_size > kSliceBytes) {  // else no read is large enough to split
            try {
                m_parallel = std::make_unique<ParallelBlobReader>(m_db, snapshotId, m_chunks, workers);
            } catch (const std::exception&) {
                // No second connection, or the snapshot was replaced or evicted between our transaction and
                // a worker's: this connection's view is still whole, so read it here, one chunk at a time.
            }
        }
        m_hash = std::make_unique<m1::StreamHasher>();
    } catch (...) {
        sqlite3_exec(m_db.handle(), kSqlEndRead, nullptr, nullptr, nullptr);
        throw;
    }
}

SnapshotReader::~SnapshotReader() {
    m_parallel.reset();  // joins the workers, ends their read transactions
    m_hash.reset();      // joins the helper before the caller's buffers can go away
    if (m_blob) sqlite3_blob_close(m_blob);
    if (m_inTransaction) sqlite3_exec(m_db.handle(), kSqlEndRead, nullptr, nullptr, nullptr);
}

void SnapshotReader::openChunk() {
    const Chunk& c = m_chunks[m_chunk];
    int rc = m_blob ? sqlite3_blob_reopen(m_blob, c.rowid)
                    : sqlite3_blob_open(m_db.handle(), "main", "snapshot_chunks", "data", c.rowid, 0, &m_blob);
    const std::string where = "snapshot " + std::to_string(m_snapshotId) + ": chunk " + std::to_string(m_chunk);
    if (rc != SQLITE_OK) throw SnapshotCorruptError(m_db.describeError("opening " + where, rc));
    if (sqlite3_blob_bytes(m_blob) != c.size)
        throw SnapshotCorruptError(where + " holds " + std::to_string(sqlite3_blob_bytes(m_blob)) + " bytes, not " +
                                   std::to_string(c.size));
    m_hash->reset();
}

void SnapshotReader::verifyChunk() {
    if (m_hash->digest() != m_chunks[m_chunk].checksum)
        throw SnapshotCorruptError("snapshot " + std::to_string(m_snapshotId) + ": chunk " + std::to_string(m_chunk) +
                                   " of " + std::to_string(m_chunks.size()) + " fails its checksum (damaged on disk)");
    m_chunk++;
    m_inChunk = 0;
}

// Pulls the next n bytes (within the current chunk) from the blob into out and hashes them; when the
// chunk ends here it is verified before returning, so the caller never gets the last byte of a bad chunk.
// Returns only once every byte of out is hashed: the caller may overwrite it right after.
void SnapshotReader::pull(uint8_t* out, int64_t n) {
    if (m_inChunk == 0) openChunk();
    if (m_parallel && n > kSliceBytes) {  // slices read by the workers at once, hashed in order as they come in
        try {
            m_parallel->read(m_chunk, m_inChunk, out, n, [&](const uint8_t* p, size_t len) { m_hash->submit(p, len); });
        } catch (...) {
            m_hash->wait_all();
            throw;
        }
    } else {
        for (int64_t done = 0; done < n;) {
            const int64_t take = std::min(kSliceBytes, n - done);
            int rc = sqlite3_blob_read(m_blob, out + done, static_cast<int>(take), static_cast<int>(m_inChunk + done));
            if (rc != SQLITE_OK) {
                m_hash->wait_all();
                throw SnapshotCorruptError(m_db.describeError("reading snapshot " + std::to_string(m_snapshotId), rc));
            }
            m_hash->submit(out + done, static_cast<size_t>(take));
            done += take;
        }
    }
    m_inChunk += n;
    if (m_inChunk == m_chunks[m_chunk].size) verifyChunk();
    else m_hash->wait_all();
}

void SnapshotReader::read(void* data, std::size_t n) {
    if (static_cast<int64_t>(n) > remaining())
        throw SnapshotCorruptError("snapshot " + std::to_string(m_snapshotId) + " is shorter than its state (" +
                                   std::to_string(remaining()) + " bytes left, " + std::to_string(n) + " wanted)");
    auto* out = static_cast<uint8_t*>(data);
    while (n > 0) {
        if (m_stageBeg < m_stageEnd) {
            const size_t take = std::min(n, m_stageEnd - m_stageBeg);
            std::memcpy(out, m_stage.data() + m_stageBeg, take);
            m_stageBeg += take;
            out += take;
            n -= take;
            m_consumed += static_cast<int64_t>(take);
            continue;
        }
        while (m_chunk < m_chunks.size() && m_chunks[m_chunk].size == 0) m_chunk++;
        const int64_t leftInChunk = m_chunks[m_chunk].size - m_inChunk;
        if (n >= kDirectBytes) {
            const int64_t take = std::min<int64_t>(static_cast<int64_t>(n), leftInChunk);
            pull(out, take);
            out += take;
            n -= static_cast<size_t>(take);
            m_consumed += take;
        } else {
            if (m_stage.empty()) m_stage.resize(kStageBytes);
            const int64_t take = std::min<int64_t>(static_cast<int64_t>(kStageBytes), leftInChunk);
            pull(m_stage.data(), take);
            m_stageBeg = 0;
            m_stageEnd = static_cast<size_t>(take);
        }
    }
}

}  // namespace m1::storage
