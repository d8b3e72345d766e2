// Helpers shared by the storage tests: deterministic snapshot bytes, write/read-back helpers.
#pragma once
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "storage/prefix_hash.h"
#include "storage/snapshot_stream.h"

namespace m1::test {

// Bytes that depend only on (seed, offset), so any prefix or chunk can be checked on its own.
inline uint8_t pattern_byte(uint64_t seed, uint64_t offset) {
    uint64_t x = seed * 0x9E3779B97F4A7C15ull + (offset >> 3) * 0xBF58476D1CE4E5B9ull;
    x ^= x >> 31;
    x *= 0x94D049BB133111EBull;
    x ^= x >> 29;
    return static_cast<uint8_t>(x >> (8 * (offset & 7)));
}

// Content: u64 seed, u64 length, then the pattern.
inline std::vector<uint8_t> pattern(uint64_t seed, size_t n) {
    std::vector<uint8_t> v(n);
    for (size_t i = 0; i < n; ++i) v[i] = pattern_byte(seed, i);
    if (n >= 16) {
        std::memcpy(v.data(), &seed, 8);
        uint64_t len = n;
        std::memcpy(v.data() + 8, &len, 8);
    }
    return v;
}

inline storage::SnapshotKey key_for(const std::string& fp, const std::vector<int32_t>& ids) {
    return {fp, storage::tokenPrefixHash(ids), static_cast<int64_t>(ids.size())};
}

// Writes `bytes` in pieces of `piece` bytes (the engine writes small headers and large tensors).
inline storage::SnapshotInfo write_snapshot(storage::Database& db, const storage::SnapshotKey& key,
                                            const std::vector<uint8_t>& bytes, int64_t chunk, size_t piece,
                                            storage::SnapshotKind kind = storage::SnapshotKind::Corpus) {
    storage::SnapshotWriter w(db, key, kind, {chunk});
    for (size_t off = 0; off < bytes.size(); off += piece) w.write(bytes.data() + off, std::min(piece, bytes.size() - off));
    return w.commit();
}

inline std::vector<uint8_t> read_snapshot(storage::Database& db, int64_t id, size_t piece,
                                          storage::SnapshotReadOptions options = {}) {
    storage::SnapshotReader r(db, id, options);
    std::vector<uint8_t> out(static_cast<size_t>(r.size()));
    for (size_t off = 0; off < out.size(); off += piece) r.read(out.data() + off, std::min(piece, out.size() - off));
    return out;
}

inline std::string integrity(storage::Database& db) {
    storage::Statement st(db, "PRAGMA integrity_check");
    std::string all;
    while (st.step()) all += st.text(0);
    return all;
}

}  // namespace m1::test
