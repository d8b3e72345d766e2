// Engine-state snapshots in the database: lookup by (model fingerprint, token-prefix hash), the
// longest stored prefix of a token sequence, least-recently-used eviction under a quota, and gc.
// Streaming a snapshot in or out is in snapshot_stream.h.
#pragma once
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "storage/database.h"

namespace m1::storage {

enum class SnapshotKind { Corpus, Turn };
const char* snapshotKindName(SnapshotKind k);  // "corpus" | "turn"

// What a snapshot is the state of: the model, and the exact tokens the engine has consumed.
struct SnapshotKey {
    std::string modelFingerprint;
    std::string prefixHash;  // tokenPrefixHash(ids[0:tokenCount])
    int64_t tokenCount = 0;
};

struct SnapshotInfo {
    int64_t id = 0;
    SnapshotKey key;
    SnapshotKind kind = SnapshotKind::Corpus;
    int64_t sizeBytes = 0, chunkCount = 0;
    int64_t created = 0, lastUsed = 0;  // Unix ms
};

struct GcReport {
    int64_t interruptedWrites = 0;  // chunk sets of writes that never committed their manifest
    int64_t evicted = 0;            // snapshots removed to fit the quota
    int64_t bytesFreed = 0;         // snapshot bytes removed (both kinds)
    int64_t fileBytesBefore = 0, fileBytesAfter = 0;
};

class SnapshotStore {
public:
    static constexpr int64_t kDefaultQuotaBytes = 64LL << 30;  // per database; `m1 snapshots --quota` changes it

    explicit SnapshotStore(Database& db) : m_db(db) {}

    std::optional<SnapshotInfo> find(const std::string& modelFingerprint, const std::string& prefixHash) const;
    std::optional<SnapshotInfo> byId(int64_t id) const;
    // The snapshot of the longest prefix ids[0:k] with 0 < k <= maxTokens stored for this model.
    std::optional<SnapshotInfo> findLongestPrefix(const std::string& modelFingerprint, std::span<const int32_t> ids,
                                                  int64_t maxTokens) const;
    std::vector<SnapshotInfo> list() const;  // most recently used first
    int64_t totalBytes() const;

    void touch(int64_t id);   // marks as used now (LRU)
    void remove(int64_t id);  // the snapshot and its chunks

    int64_t quotaBytes() const;
    void setQuotaBytes(int64_t bytes);
    // Removes least-recently-used snapshots until the total fits the quota; never `keepId`.
    GcReport enforceQuota(int64_t keepId = -1);
    // Interrupted writes, then the quota, then gives free pages back to the file system.
    GcReport gc();

private:
    int64_t removeInterruptedWrites();
    Database& m_db;
};

namespace detail {
// Writes in flight in this process (gc must not take them for interrupted ones).
void setWriteActive(const std::string& dbPath, int64_t writeId, bool active);
bool isWriteActive(const std::string& dbPath, int64_t writeId);
}  // namespace detail

}  // namespace m1::storage
