// Disk full and I/O errors at the Nth write while a snapshot is written: a clear error, the database
// intact, earlier snapshots and rows unharmed, and the space usable again once the disk has room.
#include <gtest/gtest.h>

#include <QTemporaryDir>

#include "faulty_vfs.h"
#include "storage/sessions.h"
#include "storage/snapshot_store.h"
#include "storage_test_util.h"

using namespace m1::storage;
using m1::test::FaultyVfs;

static constexpr size_t kBytes = 640 << 10;
static constexpr int64_t kChunk = 64 << 10;

static void check_survivors(const std::string& path, int64_t session) {
    Database db(path);
    ASSERT_EQ(m1::test::integrity(db), "ok");
    SnapshotStore store(db);
    auto old = store.find("fp", tokenPrefixHash(std::vector<int32_t>{1}));
    ASSERT_TRUE(old.has_value()) << "the earlier snapshot is gone";
    EXPECT_EQ(m1::test::read_snapshot(db, old->id, 4096), m1::test::pattern(1, kBytes));
    auto fresh = store.find("fp", tokenPrefixHash(std::vector<int32_t>{2}));
    if (fresh) {
        EXPECT_EQ(m1::test::read_snapshot(db, fresh->id, 4096), m1::test::pattern(2, kBytes));
    }
    EXPECT_EQ(Sessions(db).turns(session).size(), 1u);
    store.gc();
    // With room again, the same write goes through.
    auto again = m1::test::write_snapshot(db, m1::test::key_for("fp", {2}), m1::test::pattern(2, kBytes), kChunk, 50000);
    EXPECT_EQ(m1::test::read_snapshot(db, again.id, 4096), m1::test::pattern(2, kBytes));
    store.remove(again.id);
    EXPECT_EQ(m1::test::integrity(db), "ok");
}

static void run_faults(int code, const char* expected_words) {
    const char* vfs = FaultyVfs::install();
    QTemporaryDir dir;
    const std::string path = (dir.path() + "/m1.db").toStdString();
    int64_t session = 0;
    {
        Database db(path);
        m1::test::write_snapshot(db, m1::test::key_for("fp", {1}), m1::test::pattern(1, kBytes), kChunk, kBytes);
        Sessions sessions(db);
        session = sessions.create({0, std::nullopt, "fp", "{}", "t", 0, 0, 0});
        TurnRecord t;
        t.sessionId = session;
        t.question = "q";
        sessions.addTurn(t);
    }
    // Count the writes of one whole snapshot write, then fail at points spread over all of them.
    long total_writes = 0;
    {
        OpenOptions o;
        o.vfs = vfs;
        Database db(path, o);
        FaultyVfs::fail_after(-1, code);
        auto info = m1::test::write_snapshot(db, m1::test::key_for("fp", {2}), m1::test::pattern(2, kBytes), kChunk, 50000);
        total_writes = FaultyVfs::writes;
        SnapshotStore(db).remove(info.id);
        SnapshotStore(db).gc();
    }
    ASSERT_GT(total_writes, 10);
    int failures = 0;
    for (long n = 0; n <= total_writes; n += std::max(1L, total_writes / 12)) {
        SCOPED_TRACE("fail from write " + std::to_string(n) + " of " + std::to_string(total_writes));
        {
            OpenOptions o;
            o.vfs = vfs;
            Database db(path, o);
            FaultyVfs::fail_after(n, code);
            try {
                m1::test::write_snapshot(db, m1::test::key_for("fp", {2}), m1::test::pattern(2, kBytes), kChunk, 50000);
            } catch (const StorageError& e) {
                failures++;
                EXPECT_NE(std::string(e.what()).find(expected_words), std::string::npos) << e.what();
                EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
            }
            FaultyVfs::heal();
        }
        check_survivors(path, session);
    }
    EXPECT_GE(failures, 10);
}

TEST(SnapshotFault, DiskFullAtTheNthWrite) { run_faults(SQLITE_FULL, "disk is full"); }

TEST(SnapshotFault, IoErrorAtTheNthWrite) { run_faults(SQLITE_IOERR_WRITE, "I/O error"); }
