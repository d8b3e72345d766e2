// The snapshot reader's parallel workers (storage/parallel_blob_reader.h): the same bytes and verdicts as the
// one-connection reader for every worker count and read size (reads above 1 MiB are split among the workers),
// a bad chunk refused before its last byte is handed out, a consistent view while gc removes the snapshot,
// and clean joins when a restore stops early.
#include <gtest/gtest.h>

#include <QTemporaryDir>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <thread>

#include "storage/snapshot_store.h"
#include "storage_test_util.h"

using namespace m1::storage;
using m1::test::key_for;
using m1::test::pattern;
using m1::test::read_snapshot;
using m1::test::write_snapshot;

namespace {
struct ReadAheadTest : ::testing::Test {
    QTemporaryDir dir;
    std::string path = (dir.path() + "/m1.db").toStdString();
    Database db{path};

    int64_t chunkRowid(int64_t seq) {
        Statement st(db, "SELECT id FROM snapshot_chunks WHERE seq=?1");
        st.bind(1, seq);
        EXPECT_TRUE(st.step());
        return st.int64(0);
    }
    void flipByte(int64_t seq, int offset) {
        sqlite3_blob* blob = nullptr;
        ASSERT_EQ(sqlite3_blob_open(db.handle(), "main", "snapshot_chunks", "data", chunkRowid(seq), 1, &blob),
                  SQLITE_OK);
        uint8_t b = 0;
        sqlite3_blob_read(blob, &b, 1, offset);
        b ^= 0x04;
        sqlite3_blob_write(blob, &b, 1, offset);
        sqlite3_blob_close(blob);
    }
};
}  // namespace

TEST_F(ReadAheadTest, SameBytesForEveryWorkerCountAndReadSize) {
    const size_t n = (7 << 20) + 4321;
    const auto bytes = pattern(21, n);
    auto info = write_snapshot(db, key_for("fp", {1}), bytes, 3 << 20, 1 << 20);  // 3 chunks, the last short
    for (int workers : {0, 1, 2, 3, 4, 16}) {
        EXPECT_EQ(SnapshotReader(db, info.id, {workers}).readWorkers(), workers);
        for (size_t piece : {size_t(4096), size_t(1 << 20) + 1, size_t(5 << 19) + 7, size_t(3 << 20), n})
            EXPECT_EQ(read_snapshot(db, info.id, piece, {workers}), bytes) << workers << " workers, pieces " << piece;
    }
    EXPECT_EQ(read_snapshot(db, info.id, 1, {3}), bytes);
    auto small = write_snapshot(db, key_for("fp", {2}), pattern(22, 5000), 8192, 5000);
    EXPECT_EQ(SnapshotReader(db, small.id, {4}).readWorkers(), 0);  // no read could be split
    const int byDefault = std::thread::hardware_concurrency() >= 4 ? kDefaultReadWorkers : 0;
    EXPECT_EQ(SnapshotReader(db, info.id).readWorkers(), byDefault);
}

// A bad chunk is refused when the reader reaches its end (the chunks before it are handed out whole), and
// every read after that is refused too.
TEST_F(ReadAheadTest, FlippedByteRefusesThatChunk) {
    const size_t n = 10 << 20;
    const auto bytes = pattern(23, n);
    auto info = write_snapshot(db, key_for("fp", {3}), bytes, 2 << 20, n);  // 5 chunks
    flipByte(3, (2 << 20) - 1);                                             // the last byte of chunk 3
    for (int workers : {1, 3, 4}) {
        for (size_t piece : {size_t(3 << 20), size_t(2 << 20), size_t(n)}) {
            SnapshotReader r(db, info.id, {workers});
            std::vector<uint8_t> out(n);
            size_t off = 0;
            try {
                for (; off < n; off += piece) r.read(out.data() + off, std::min(piece, n - off));
                FAIL() << "chunk 3 must be refused";
            } catch (const SnapshotCorruptError& e) {
                EXPECT_NE(std::string(e.what()).find("chunk 3 of 5 fails its checksum"), std::string::npos) << e.what();
            }
            EXPECT_LE(off, size_t(8 << 20)) << "refused in the read that reached the end of chunk 3";
            EXPECT_TRUE(std::equal(out.begin(), out.begin() + off, bytes.begin()));
            EXPECT_THROW(r.read(out.data(), 2 << 20), SnapshotCorruptError);
        }
    }
}

TEST_F(ReadAheadTest, ChunkWithTheWrongSizeIsCorrupt) {
    auto info = write_snapshot(db, key_for("fp", {4}), pattern(24, 10 << 20), 2 << 20, 10 << 20);  // 5 chunks
    Statement(db, "UPDATE snapshot_chunks SET data=x'00' WHERE seq=2").run();
    for (int workers : {0, 2, 4}) {
        SnapshotReader r(db, info.id, {workers});
        std::vector<uint8_t> out(4 << 20);
        r.read(out.data(), 4 << 20);
        try {
            r.read(out.data(), 2 << 20);
            FAIL() << "chunk 2 holds 1 byte";
        } catch (const SnapshotCorruptError& e) {
            EXPECT_NE(std::string(e.what()).find("chunk 2 holds 1 bytes, not 2097152"), std::string::npos) << e.what();
        }
    }
}

// gc on another connection removes the snapshot and gives its pages back while a restore runs: the reader's
// connection and its workers keep the view they started with, so the restore still gets every byte.
TEST_F(ReadAheadTest, GcRemovingTheSnapshotMidRestoreDoesNotChangeItsBytes) {
    const size_t n = 8 << 20;
    const auto bytes = pattern(25, n);
    auto info = write_snapshot(db, key_for("fp", {5}), bytes, 2 << 20, n);
    SnapshotReader r(db, info.id, {3});
    ASSERT_EQ(r.readWorkers(), 3);
    std::vector<uint8_t> out(n);
    r.read(out.data(), 100000);
    {
        Database other(path, {.busyTimeoutMs = 50});  // gc's checkpoint gives up quickly: readers are open
        SnapshotStore store(other);
        store.setQuotaBytes(0);
        GcReport g = store.gc();
        EXPECT_EQ(g.evicted, 1);
        EXPECT_TRUE(store.list().empty());
        write_snapshot(other, key_for("fp", {6}), pattern(26, n), 2 << 20, n);  // may reuse the freed pages
    }
    for (size_t off = 100000; off < n; off += 3 << 20) r.read(out.data() + off, std::min<size_t>(3 << 20, n - off));
    EXPECT_EQ(out, bytes);
}

// A writer replaces and gc evicts the snapshot in a loop while restores run: each restore gets the exact
// bytes of one version or a SnapshotCorruptError (its snapshot is gone), never a mix and never a crash.
TEST_F(ReadAheadTest, RestoresWhileGcRuns) {
    const size_t n = 4 << 20;
    const auto key = key_for("fp", {7});
    write_snapshot(db, key, pattern(100, n), 2 << 20, n);
    std::atomic<bool> stop{false};
    std::string gcError;
    std::thread gcThread([&] {
        try {
            Database other(path, {.busyTimeoutMs = 2000});
            SnapshotStore store(other);
            for (uint64_t v = 101; !stop; ++v) {
                write_snapshot(other, key, pattern(v, n), 2 << 20, 1 << 20);
                store.setQuotaBytes(v % 2 ? 0 : SnapshotStore::kDefaultQuotaBytes);
                store.gc();
            }
        } catch (const std::exception& e) {
            gcError = e.what();
        }
    });
    SnapshotStore store(db);
    int whole = 0, gone = 0;
    const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(3);
    while (std::chrono::steady_clock::now() < until || whole < 5) {
        auto info = store.find("fp", key.prefixHash);
        if (!info) continue;
        try {
            const auto got = read_snapshot(db, info->id, 3 << 19, {3});
            uint64_t seed = 0;
            std::memcpy(&seed, got.data(), 8);
            ASSERT_EQ(got, pattern(seed, n)) << "version " << seed;
            whole++;
        } catch (const SnapshotCorruptError&) {
            gone++;
        }
    }
    stop = true;
    gcThread.join();
    EXPECT_EQ(gcError, "");
    EXPECT_GE(whole, 5) << gone << " restores found their snapshot gone";
    std::printf("restores while gc ran: %d whole, %d found their snapshot gone\n", whole, gone);
}

// Stopping a restore early (an error in the engine, a cancelled ask) destroys the reader between reads, or
// before its first: the workers are joined and their read transactions end.
TEST_F(ReadAheadTest, DestroyedMidRestoreJoinsTheWorkersAndEndsTheirTransactions) {
    const size_t n = 8 << 20;
    auto info = write_snapshot(db, key_for("fp", {8}), pattern(27, n), 2 << 20, n);
    for (size_t stopAt : {size_t(0), size_t(1), size_t(3 << 20), size_t(5 << 20)}) {
        const auto t0 = std::chrono::steady_clock::now();
        {
            SnapshotReader r(db, info.id, {4});
            std::vector<uint8_t> out(stopAt + 1);
            if (stopAt) r.read(out.data(), stopAt);
        }
        EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(5)) << stopAt;
    }
    // No read transaction left open: a TRUNCATE checkpoint completes (busy = 0) and empties the WAL.
    write_snapshot(db, key_for("fp", {9}), pattern(28, 1 << 20), 2 << 20, 1 << 20);
    Statement ck(db, "PRAGMA wal_checkpoint(TRUNCATE)");
    ASSERT_TRUE(ck.step());
    EXPECT_EQ(ck.int64(0), 0);
    EXPECT_EQ(m1::test::integrity(db), "ok");
}

// The workers' own checks: a view that differs from the reader's is refused at open (and the threads joined),
// and a slice that fails to read fails the whole read only after every worker has left the caller's buffer.
TEST_F(ReadAheadTest, WorkerViewMismatchAndSliceErrors) {
    const size_t n = 6 << 20;
    const auto bytes = pattern(29, n);
    auto info = write_snapshot(db, key_for("fp", {10}), bytes, 3 << 20, n);
    std::vector<ChunkRef> chunks;
    {
        Statement st(db, kSqlSnapshotChunkList);
        st.bind(1, info.id);
        while (st.step()) chunks.push_back({st.int64(0), st.int64(2), static_cast<uint64_t>(st.int64(3))});
    }
    ASSERT_EQ(chunks.size(), 2u);
    auto wrong = chunks;
    wrong[1].checksum ^= 1;
    EXPECT_THROW(ParallelBlobReader(db, info.id, wrong, 3), SnapshotCorruptError);

    ParallelBlobReader par(db, info.id, chunks, 3);
    std::vector<uint8_t> out(n);
    size_t handed = 0;
    auto count = [&](const uint8_t*, size_t len) { handed += len; };
    // 3 MiB from offset 1 MiB runs 1 MiB past the end of chunk 0: its last slice fails.
    EXPECT_THROW(par.read(0, 1 << 20, out.data(), 3 << 20, count), SnapshotCorruptError);
    EXPECT_LE(handed, size_t(2 << 20));
    handed = 0;
    par.read(1, 0, out.data() + (3 << 20), 3 << 20, count);  // the workers are still fine
    EXPECT_EQ(handed, size_t(3 << 20));
    EXPECT_TRUE(std::equal(out.begin() + (3 << 20), out.end(), bytes.begin() + (3 << 20)));
}
