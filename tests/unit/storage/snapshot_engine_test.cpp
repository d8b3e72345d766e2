// Restore-and-continue on the CPU demo model: a state exported into the database mid-sequence and
// imported into a fresh session gives the same logits as the uninterrupted run; a damaged chunk is
// refused instead of giving wrong logits.
#include <gtest/gtest.h>

#include <QTemporaryDir>

#include "m1/backend.h"
#include "storage/snapshot_store.h"
#include "storage_test_util.h"

using namespace m1::storage;

TEST(SnapshotEngine, RestoreAndContinueGivesTheSameLogits) {
    auto model = m1::Model::load(m1::demo_model_dir());
    auto backend = m1::make_cpu_backend(model, 2);
    const int64_t vocab = model->config().vocab_size;
    std::vector<int32_t> ids(300);
    for (size_t i = 0; i < ids.size(); ++i) ids[i] = int32_t((i * 37 + 11) % size_t(vocab));
    const size_t cut = 200;

    auto whole = backend->new_session();
    std::vector<float> expected((ids.size() - cut) * size_t(vocab));
    whole->forward(std::span(ids).first(cut));
    QTemporaryDir dir;
    Database db((dir.path() + "/m1.db").toStdString());
    SnapshotWriter w(db, m1::test::key_for(whole->fingerprint(), std::vector<int32_t>(ids.begin(), ids.begin() + cut)),
                     SnapshotKind::Corpus, {64 << 10});  // small chunks: the state spans many
    whole->export_state(w);
    auto info = w.commit();
    ASSERT_GT(info.chunkCount, 2);
    whole->forward(std::span(ids).subspan(cut), expected.data());

    auto resumed = backend->new_session();
    {
        SnapshotReader r(db, info.id);
        resumed->import_state(r);
        EXPECT_EQ(r.remaining(), 0);
    }
    EXPECT_EQ(resumed->position(), int64_t(cut));
    std::vector<float> got(expected.size());
    resumed->forward(std::span(ids).subspan(cut), got.data());
    EXPECT_EQ(got, expected) << "restored state must continue bit-identically on the same backend";

    // The longest-prefix lookup finds this state for the full sequence.
    auto hit = SnapshotStore(db).findLongestPrefix(whole->fingerprint(), ids, int64_t(ids.size()));
    ASSERT_TRUE(hit);
    EXPECT_EQ(hit->id, info.id);

    // One flipped bit in the last chunk: the import fails, it never yields a state.
    {
        Statement st(db, "SELECT id FROM snapshot_chunks ORDER BY seq DESC LIMIT 1");
        ASSERT_TRUE(st.step());
        sqlite3_blob* blob = nullptr;
        ASSERT_EQ(sqlite3_blob_open(db.handle(), "main", "snapshot_chunks", "data", st.int64(0), 1, &blob), SQLITE_OK);
        uint8_t b = 0;
        sqlite3_blob_read(blob, &b, 1, 10);
        b ^= 1;
        sqlite3_blob_write(blob, &b, 1, 10);
        sqlite3_blob_close(blob);
    }
    auto damaged = backend->new_session();
    SnapshotReader r(db, info.id);
    EXPECT_THROW(damaged->import_state(r), m1::StateFormatError);
}
