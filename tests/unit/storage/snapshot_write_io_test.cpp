// The snapshot writer's disk traffic: each snapshot byte reaches write(2) about twice (the WAL, then the
// checkpoint into the database), not three times (a zero blob spilled to the WAL before its bytes), even
// when SQLite's page cache is much smaller than a chunk; and the connection's cache_spill comes back.
#include <gtest/gtest.h>

#include <QTemporaryDir>
#include <fstream>

#include "storage_test_util.h"

using namespace m1::storage;
using m1::test::key_for;
using m1::test::pattern;
using m1::test::read_snapshot;
using m1::test::write_snapshot;

namespace {

// Bytes this process has passed to write(2) so far.
int64_t process_wchar() {
    std::ifstream f("/proc/self/io");
    for (std::string key; f >> key;) {
        int64_t v = 0;
        f >> v;
        if (key == "wchar:") return v;
    }
    return -1;
}

int64_t cache_spill(Database& db) {
    Statement st(db, "PRAGMA cache_spill");
    return st.step() ? st.int64(0) : -1;
}

struct SnapshotWriteIoTest : ::testing::Test {
    QTemporaryDir dir;
    std::string path = (dir.path() + "/m1.db").toStdString();
    Database db{path};
};

}  // namespace

TEST_F(SnapshotWriteIoTest, WritesEachByteOnceToTheWalAndOnceToTheDatabase) {
    if (process_wchar() < 0) GTEST_SKIP() << "/proc/self/io is not readable here";
    db.exec("PRAGMA cache_size=-2048;");  // 2 MiB of page cache against 8 MiB chunks
    const int64_t spillBefore = cache_spill(db);
    const auto bytes = pattern(7, 24u << 20);
    const int64_t w0 = process_wchar();
    auto info = write_snapshot(db, key_for("fp", {1, 2, 3}), bytes, 8 << 20, 1 << 20);
    ASSERT_EQ(sqlite3_wal_checkpoint_v2(db.handle(), "main", SQLITE_CHECKPOINT_TRUNCATE, nullptr, nullptr),
              SQLITE_OK);
    const double amplification = double(process_wchar() - w0) / double(bytes.size());
    EXPECT_GT(amplification, 1.9);   // the WAL and the database file both got the bytes
    EXPECT_LT(amplification, 2.25);  // and nothing a third time
    EXPECT_EQ(cache_spill(db), spillBefore);
    EXPECT_EQ(read_snapshot(db, info.id, 1 << 20), bytes);
}

TEST_F(SnapshotWriteIoTest, CacheSpillComesBackAfterADiscardedWrite) {
    const int64_t spillBefore = cache_spill(db);
    {
        SnapshotWriter w(db, key_for("fp", {4}), SnapshotKind::Turn, {24 << 20});
        EXPECT_GT(cache_spill(db), (24 << 20) / 65536);  // raised past 16 MiB of cache to hold a chunk
        const auto bytes = pattern(3, 5u << 20);
        w.write(bytes.data(), bytes.size());
    }  // destroyed without commit: discarded
    EXPECT_EQ(cache_spill(db), spillBefore);
    EXPECT_EQ(SnapshotStore(db).list().size(), 0u);
}
