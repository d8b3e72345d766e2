// kill -9 of a process writing snapshots, 50 times at random moments: the database stays intact and
// the snapshot under the contested key restores as a whole, old or new, never a mix.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <QTemporaryDir>
#include <chrono>
#include <cstring>
#include <random>
#include <thread>

#include "storage/snapshot_store.h"
#include "storage_test_util.h"

using namespace m1::storage;

static constexpr size_t kBytes = 1 << 20;      // per snapshot
static constexpr int64_t kChunk = 64 << 10;    // 16 chunks: a kill lands between or inside chunk writes
static const std::vector<int32_t> kPrefix = {11, 22, 33};

// The child: rewrites the contested key forever with fresh content, plus a second key now and then.
[[noreturn]] static void child_writer(const std::string& path, uint64_t seed, int ready_fd) {
    try {
        Database db(path);
        const char ok = 1;
        if (write(ready_fd, &ok, 1) != 1) _exit(3);
        for (uint64_t i = 0;; ++i) {
            const auto bytes = m1::test::pattern(seed + i, kBytes - (i % 3) * 1000);
            m1::test::write_snapshot(db, m1::test::key_for("fp", kPrefix), bytes, kChunk, 10000);
            if (i % 2) m1::test::write_snapshot(db, m1::test::key_for("fp", {int32_t(i)}), bytes, kChunk, kBytes);
        }
    } catch (...) {
        _exit(2);
    }
}

// A snapshot is whole when its bytes are exactly the pattern of the seed written in its first 8 bytes.
static void expect_whole(Database& db, int64_t id) {
    const auto got = m1::test::read_snapshot(db, id, 1 << 16);  // checksums are verified on the way
    ASSERT_GE(got.size(), 16u);
    uint64_t seed = 0;
    std::memcpy(&seed, got.data(), 8);
    EXPECT_EQ(got, m1::test::pattern(seed, got.size()));
}

TEST(SnapshotCrash, KillNineFiftyTimesLeavesOldOrNewSnapshot) {
    QTemporaryDir dir;
    const std::string path = (dir.path() + "/m1.db").toStdString();
    std::chrono::microseconds write_time{};
    {
        Database db(path);
        const auto t0 = std::chrono::steady_clock::now();
        m1::test::write_snapshot(db, m1::test::key_for("fp", kPrefix), m1::test::pattern(1, kBytes), kChunk, kBytes);
        write_time = std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - t0);
    }
    std::mt19937_64 rng(12345);
    // Kill anywhere within about three snapshot writes, so every phase (chunk insert, blob write,
    // commit, manifest swap) gets hit across the 50 runs.
    std::uniform_int_distribution<int64_t> delay(0, std::max<int64_t>(3 * write_time.count(), 2000));
    int survived_writes = 0;
    for (int run = 0; run < 50; ++run) {
        SCOPED_TRACE("run " + std::to_string(run));
        int fds[2];
        ASSERT_EQ(pipe(fds), 0);
        pid_t pid = fork();
        ASSERT_GE(pid, 0);
        if (pid == 0) {
            close(fds[0]);
            child_writer(path, 1000ull * uint64_t(run + 1), fds[1]);
        }
        close(fds[1]);
        char ok = 0;
        ASSERT_EQ(read(fds[0], &ok, 1), 1) << "child could not open the database";
        close(fds[0]);
        std::this_thread::sleep_for(std::chrono::microseconds(delay(rng)));
        kill(pid, SIGKILL);
        int status = 0;
        waitpid(pid, &status, 0);
        ASSERT_TRUE(WIFSIGNALED(status)) << "child exited on its own with " << WEXITSTATUS(status);

        Database db(path);
        ASSERT_EQ(m1::test::integrity(db), "ok");
        SnapshotStore store(db);
        auto contested = store.find("fp", m1::storage::tokenPrefixHash(kPrefix));
        ASSERT_TRUE(contested.has_value()) << "the contested key lost its snapshot";
        expect_whole(db, contested->id);
        for (const auto& s : store.list()) expect_whole(db, s.id);
        GcReport gc = store.gc();  // the killed child's unfinished write, if any
        survived_writes += gc.interruptedWrites == 0;
        Statement orphans(db, "SELECT count(*) FROM snapshot_writes w WHERE NOT EXISTS "
                              "(SELECT 1 FROM snapshots s WHERE s.write_id=w.id)");
        ASSERT_TRUE(orphans.step());
        EXPECT_EQ(orphans.int64(0), 0);
        ASSERT_EQ(m1::test::integrity(db), "ok");
    }
    // Most kills must land mid-write, or the test is not testing what it says.
    EXPECT_LT(survived_writes, 25);
}
