// Snapshots: round trips over chunk boundaries, replacement by key, longest-prefix lookup, checksum
// failures, LRU eviction under a quota, and gc of interrupted writes.
#include <gtest/gtest.h>

#include <QTemporaryDir>

#include "storage/snapshot_store.h"
#include "storage_test_util.h"

using namespace m1::storage;
using m1::test::key_for;
using m1::test::pattern;
using m1::test::read_snapshot;
using m1::test::write_snapshot;

namespace {
struct SnapshotTest : ::testing::Test {
    QTemporaryDir dir;
    std::string path = (dir.path() + "/m1.db").toStdString();
    Database db{path};
    SnapshotStore store{db};
};
}  // namespace

TEST_F(SnapshotTest, RoundTripsAcrossChunkBoundariesWithAnyReadSizes) {
    struct Case {
        size_t bytes;
        int64_t chunk;
        size_t writePiece, readPiece;
    };
    const Case cases[] = {{0, 1024, 1, 1},           {1, 1024, 1, 1},          {1024, 1024, 1024, 1024},
                          {1025, 1024, 7, 1025},     {300000, 65536, 4096, 3}, {300000, 65536, 300000, 65536},
                          {300000, 100000, 99999, 70001}, {1 << 20, 1 << 18, 1000, 1 << 17}};
    int n = 0;
    for (const Case& c : cases) {
        SCOPED_TRACE("case " + std::to_string(n));
        const auto bytes = pattern(static_cast<uint64_t>(n) + 10, c.bytes);
        auto info = write_snapshot(db, key_for("fp", {n++}), bytes, c.chunk, c.writePiece);
        EXPECT_EQ(info.sizeBytes, static_cast<int64_t>(c.bytes));
        EXPECT_EQ(info.chunkCount, static_cast<int64_t>((c.bytes + c.chunk - 1) / c.chunk));
        EXPECT_EQ(read_snapshot(db, info.id, c.readPiece), bytes);
    }
}

TEST_F(SnapshotTest, ReadingPastTheEndIsAnError) {
    auto info = write_snapshot(db, key_for("fp", {1}), pattern(1, 100), 64, 100);
    SnapshotReader r(db, info.id);
    std::vector<uint8_t> buf(101);
    EXPECT_THROW(r.read(buf.data(), 101), m1::StateFormatError);
}

TEST_F(SnapshotTest, SameKeyReplacesTheOldSnapshotAndItsChunks) {
    auto key = key_for("fp", {1, 2});
    write_snapshot(db, key, pattern(1, 5000), 1000, 5000);
    auto second = write_snapshot(db, key, pattern(2, 3000), 1000, 5000);
    ASSERT_EQ(store.list().size(), 1u);
    EXPECT_EQ(store.find("fp", key.prefixHash)->id, second.id);
    EXPECT_EQ(read_snapshot(db, second.id, 512), pattern(2, 3000));
    Statement chunks(db, "SELECT count(*) FROM snapshot_chunks");
    ASSERT_TRUE(chunks.step());
    EXPECT_EQ(chunks.int64(0), 3);
}

TEST_F(SnapshotTest, LongestPrefixLookup) {
    std::vector<int32_t> ids(100);
    for (int i = 0; i < 100; ++i) ids[size_t(i)] = i * 7 % 1000;
    auto prefix = [&](size_t n) { return std::vector<int32_t>(ids.begin(), ids.begin() + long(n)); };
    write_snapshot(db, key_for("fp", prefix(10)), pattern(10, 10), 64, 10);
    write_snapshot(db, key_for("fp", prefix(60)), pattern(60, 10), 64, 10, SnapshotKind::Turn);
    write_snapshot(db, key_for("other-model", prefix(80)), pattern(80, 10), 64, 10);
    auto diverging = prefix(70);
    diverging[65] = 999;
    write_snapshot(db, key_for("fp", diverging), pattern(70, 10), 64, 10);

    auto hit = store.findLongestPrefix("fp", ids, 100);
    ASSERT_TRUE(hit);
    EXPECT_EQ(hit->key.tokenCount, 60);
    EXPECT_EQ(hit->kind, SnapshotKind::Turn);
    EXPECT_EQ(store.findLongestPrefix("fp", ids, 59)->key.tokenCount, 10);  // at most 59 tokens
    EXPECT_FALSE(store.findLongestPrefix("fp", ids, 9));
    EXPECT_EQ(store.findLongestPrefix("other-model", ids, 100)->key.tokenCount, 80);
    EXPECT_FALSE(store.findLongestPrefix("unknown", ids, 100));
    std::vector<int32_t> unrelated(100, 5);
    EXPECT_FALSE(store.findLongestPrefix("fp", unrelated, 100));
}

TEST_F(SnapshotTest, PrefixHashesAgreeWithOneShotHash) {
    std::vector<int32_t> ids = {5, 4, 3, 2, 1, 0, 200020, -1};
    auto many = tokenPrefixHashes(ids, {0, 1, 3, 8});
    EXPECT_EQ(many[0], tokenPrefixHash({}));
    EXPECT_EQ(many[2], tokenPrefixHash(std::span<const int32_t>(ids).first(3)));
    EXPECT_EQ(many[3], tokenPrefixHash(ids));
    EXPECT_NE(many[2], many[3]);
    EXPECT_EQ(many[3].size(), 32u);
}

TEST_F(SnapshotTest, FlippedByteIsDetectedBeforeTheChunkIsHandedOut) {
    const auto bytes = pattern(3, 10000);
    auto info = write_snapshot(db, key_for("fp", {9}), bytes, 4096, 10000);
    // Flip one bit in the middle of chunk 1 (bytes 4096..8191), as a bad sector would.
    {
        Statement st(db, "SELECT c.id FROM snapshot_chunks c JOIN snapshots s ON s.write_id=c.write_id WHERE c.seq=1");
        ASSERT_TRUE(st.step());
        sqlite3_blob* blob = nullptr;
        ASSERT_EQ(sqlite3_blob_open(db.handle(), "main", "snapshot_chunks", "data", st.int64(0), 1, &blob), SQLITE_OK);
        uint8_t b = 0;
        sqlite3_blob_read(blob, &b, 1, 2000);
        b ^= 0x10;
        sqlite3_blob_write(blob, &b, 1, 2000);
        sqlite3_blob_close(blob);
    }
    SnapshotReader r(db, info.id);
    std::vector<uint8_t> out(10000);
    r.read(out.data(), 4096);  // chunk 0 is fine
    try {
        r.read(out.data() + 4096, 4096);
        FAIL() << "a flipped byte must fail the checksum";
    } catch (const SnapshotCorruptError& e) {
        EXPECT_NE(std::string(e.what()).find("chunk 1"), std::string::npos) << e.what();
    }
}

// Reads larger than the reader's 1 MiB hashing slice: the checksum runs on a helper thread while the next
// slice is read; the bytes and the verdict must be the same as one slice at a time.
TEST_F(SnapshotTest, LargeReadsHashedBehindTheReadsStillCatchAFlippedByte) {
    const size_t n = (7 << 20) + 12345;
    const auto bytes = pattern(4, n);
    auto info = write_snapshot(db, key_for("fp", {4}), bytes, 3 << 20, 1 << 20);
    for (size_t piece : {size_t(5 << 20) + 3, size_t(3 << 20), size_t(1 << 20) - 1, n})
        EXPECT_EQ(read_snapshot(db, info.id, piece), bytes) << piece;
    {  // chunk 1 = bytes [3 MiB, 6 MiB): flip one in its third slice
        Statement st(db, "SELECT id FROM snapshot_chunks WHERE seq=1");
        ASSERT_TRUE(st.step());
        sqlite3_blob* blob = nullptr;
        ASSERT_EQ(sqlite3_blob_open(db.handle(), "main", "snapshot_chunks", "data", st.int64(0), 1, &blob), SQLITE_OK);
        uint8_t b = 0;
        sqlite3_blob_read(blob, &b, 1, (2 << 20) + 77);
        b ^= 0x01;
        sqlite3_blob_write(blob, &b, 1, (2 << 20) + 77);
        sqlite3_blob_close(blob);
    }
    SnapshotReader r(db, info.id);
    std::vector<uint8_t> out(n);
    r.read(out.data(), 3 << 20);  // chunk 0 is fine
    EXPECT_TRUE(std::equal(out.begin(), out.begin() + (3 << 20), bytes.begin()));
    EXPECT_THROW(r.read(out.data() + (3 << 20), 3 << 20), SnapshotCorruptError);
}

TEST_F(SnapshotTest, MissingChunkIsDetectedAtOpen) {
    auto info = write_snapshot(db, key_for("fp", {9}), pattern(3, 10000), 4096, 10000);
    db.exec("DELETE FROM snapshot_chunks WHERE seq=1");
    EXPECT_THROW(SnapshotReader r(db, info.id), SnapshotCorruptError);
}

TEST_F(SnapshotTest, LeastRecentlyUsedGoesFirstUnderTheQuota) {
    std::vector<int64_t> ids;
    for (int i = 0; i < 4; ++i) {
        ids.push_back(write_snapshot(db, key_for("fp", {i}), pattern(uint64_t(i), 1000), 512, 1000).id);
        db.exec(("UPDATE snapshots SET last_used=" + std::to_string(1000 + i) + " WHERE id=" + std::to_string(ids.back())).c_str());
    }
    store.touch(ids[0]);  // the oldest becomes the newest
    store.setQuotaBytes(2500);
    EXPECT_EQ(store.quotaBytes(), 2500);
    GcReport r = store.enforceQuota(ids[1]);  // ids[1] was just written: never evicted
    EXPECT_EQ(r.evicted, 2);
    EXPECT_EQ(r.bytesFreed, 2000);
    std::vector<int64_t> left;
    for (const auto& s : store.list()) left.push_back(s.id);
    EXPECT_EQ(left, (std::vector<int64_t>{ids[0], ids[1]}));
    EXPECT_EQ(store.totalBytes(), 2000);
}

TEST_F(SnapshotTest, GcRemovesInterruptedWritesButNotRunningOnes) {
    auto kept = write_snapshot(db, key_for("fp", {1}), pattern(1, 5000), 1000, 5000);
    // An interrupted write of a dead process (pid 2^30 is never a live pid on Linux's default pid_max).
    db.exec("INSERT INTO snapshot_writes(id, writer_pid, started) VALUES(500, 1073741824, 0)");
    db.exec("INSERT INTO snapshot_chunks(write_id, seq, size, checksum, data) VALUES(500, 0, 3, 0, x'010203')");
    SnapshotWriter running(db, key_for("fp", {2}), SnapshotKind::Turn, {1000});
    running.write(pattern(2, 2500).data(), 2500);  // two chunks on disk, no manifest yet
    GcReport r = store.gc();
    EXPECT_EQ(r.interruptedWrites, 1);
    EXPECT_EQ(r.evicted, 0);
    auto done = running.commit();
    EXPECT_EQ(read_snapshot(db, done.id, 100), pattern(2, 2500));
    EXPECT_EQ(read_snapshot(db, kept.id, 100), pattern(1, 5000));
    EXPECT_EQ(m1::test::integrity(db), "ok");
}

TEST_F(SnapshotTest, DiscardedAndDestroyedWritersLeaveNothing) {
    {
        SnapshotWriter w(db, key_for("fp", {1}), SnapshotKind::Corpus, {100});
        w.write(pattern(1, 1000).data(), 1000);
    }  // destroyed without commit
    SnapshotWriter w(db, key_for("fp", {2}), SnapshotKind::Corpus, {100});
    w.write(pattern(1, 1000).data(), 1000);
    w.discard();
    Statement st(db, "SELECT (SELECT count(*) FROM snapshot_chunks) + (SELECT count(*) FROM snapshot_writes)");
    ASSERT_TRUE(st.step());
    EXPECT_EQ(st.int64(0), 0);
    EXPECT_TRUE(store.list().empty());
}

TEST_F(SnapshotTest, GcGivesSpaceBackToTheFileSystem) {
    store.setQuotaBytes(1);
    for (int i = 0; i < 3; ++i) write_snapshot(db, key_for("fp", {i}), pattern(uint64_t(i), 4 << 20), 1 << 20, 1 << 20);
    GcReport r = store.gc();
    EXPECT_EQ(r.evicted, 3);
    EXPECT_GE(r.fileBytesBefore - r.fileBytesAfter, 10 << 20);
    EXPECT_EQ(m1::test::integrity(db), "ok");
}
