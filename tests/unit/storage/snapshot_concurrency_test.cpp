// Readers while a writer writes: each connection on its own thread (as in the app), no errors, every
// read whole, and a reader keeps its consistent view even when the snapshot it reads is replaced.
#include <gtest/gtest.h>

#include <QTemporaryDir>
#include <atomic>
#include <cstring>
#include <thread>

#include "storage/snapshot_store.h"
#include "storage_test_util.h"

using namespace m1::storage;

static constexpr size_t kBytes = 512 << 10;
static constexpr int64_t kChunk = 32 << 10;

TEST(SnapshotConcurrency, ReadersWhileAWriterWrites) {
    QTemporaryDir dir;
    const std::string path = (dir.path() + "/m1.db").toStdString();
    {
        Database db(path);
        m1::test::write_snapshot(db, m1::test::key_for("fp", {0}), m1::test::pattern(0, kBytes), kChunk, kBytes);
    }
    std::atomic<bool> stop{false};
    std::atomic<int> written{0}, reads{0};
    std::string writer_error, reader_error;
    std::thread writer([&] {
        try {
            Database db(path);
            SnapshotStore store(db);
            store.setQuotaBytes(6 * kBytes);  // eviction runs alongside the readers too
            for (int i = 1; i <= 40; ++i) {
                auto info = m1::test::write_snapshot(db, m1::test::key_for("fp", {i % 8}), m1::test::pattern(uint64_t(i), kBytes),
                                                     kChunk, 7000);
                store.enforceQuota(info.id);
                written++;
            }
        } catch (const std::exception& e) {
            writer_error = e.what();
        }
        stop = true;
    });
    auto reader = [&] {
        try {
            Database db(path);
            SnapshotStore store(db);
            while (!stop) {
                for (const auto& s : store.list()) {
                    try {
                        const auto got = m1::test::read_snapshot(db, s.id, 10000);
                        uint64_t seed = 0;
                        std::memcpy(&seed, got.data(), 8);
                        if (got != m1::test::pattern(seed, kBytes)) throw std::runtime_error("mixed content");
                        reads++;
                    } catch (const SnapshotCorruptError& e) {
                        // Evicted between list() and the read: the only acceptable miss.
                        if (std::string(e.what()).find("no longer exists") == std::string::npos) throw;
                    }
                }
            }
        } catch (const std::exception& e) {
            reader_error = e.what();
        }
    };
    std::thread r1(reader), r2(reader);
    writer.join();
    r1.join();
    r2.join();
    EXPECT_EQ(writer_error, "");
    EXPECT_EQ(reader_error, "");
    EXPECT_EQ(written, 40);
    EXPECT_GT(reads, 0);
}

TEST(SnapshotConcurrency, ReaderKeepsItsViewWhileTheSnapshotIsReplaced) {
    QTemporaryDir dir;
    const std::string path = (dir.path() + "/m1.db").toStdString();
    Database readerDb(path);
    Database writerDb(path);
    auto key = m1::test::key_for("fp", {5});
    auto old = m1::test::write_snapshot(writerDb, key, m1::test::pattern(1, kBytes), kChunk, kBytes);
    SnapshotReader r(readerDb, old.id);
    std::vector<uint8_t> got(kBytes);
    r.read(got.data(), kBytes / 2);
    // Replacing deletes the old chunks in the writer's view; the reader still sees its own.
    m1::test::write_snapshot(writerDb, key, m1::test::pattern(2, kBytes), kChunk, kBytes);
    r.read(got.data() + kBytes / 2, kBytes / 2);
    EXPECT_EQ(got, m1::test::pattern(1, kBytes));
}
