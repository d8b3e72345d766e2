// The ask pipeline on the CPU demo model: a second session on the same corpus restores the corpus
// snapshot and prefills only its question, a follow-up restores the previous turn, and a damaged
// snapshot is dropped with a notice and the prompt prefilled again.
#include <gtest/gtest.h>

#include <QFile>
#include <QTemporaryDir>

#include "storage/snapshot_store.h"
#include "storage_test_util.h"
#include "ui/ask_pipeline.h"

using namespace m1::storage;

namespace {
struct AskPipelineTest : ::testing::Test {
    QTemporaryDir dir;
    std::string db = (dir.path() + "/m1.db").toStdString();
    std::string doc = (dir.path() + "/notes.txt").toStdString();
    std::unique_ptr<m1::ui::AskPipeline> pipeline;

    void SetUp() override {
        QFile f(QString::fromStdString(doc));
        ASSERT_TRUE(f.open(QIODevice::WriteOnly));
        for (int i = 0; i < 60; ++i) f.write(QByteArray("Line ") + QByteArray::number(i) + " of the notes about snapshots.\n");
        f.close();
        auto model = m1::Model::load(m1::demo_model_dir());
        pipeline = std::make_unique<m1::ui::AskPipeline>(m1::make_cpu_backend(model, 2),
                                                         m1::Tokenizer::load(m1::demo_model_dir()));
    }
    // A fresh pipeline per question, as separate `m1 ask` runs: nothing carried over in memory.
    m1::ui::AskOutcome ask(const std::string& q, int64_t session = -1) {
        auto model = m1::Model::load(m1::demo_model_dir());
        m1::ui::AskPipeline p(m1::make_cpu_backend(model, 2), m1::Tokenizer::load(m1::demo_model_dir()));
        m1::ui::AskOptions o;
        o.database = db;
        o.sessionId = session;
        if (session < 0) o.paths = {doc};
        o.question = q;
        o.maxTokens = 4;
        o.sampling.greedy = true;
        o.snapshotChunkBytes = 128 << 10;
        return p.ask(o);
    }
};
}  // namespace

TEST_F(AskPipelineTest, RestoresCorpusThenTurnAndSurvivesADamagedSnapshot) {
    auto first = ask("What are the notes about?");
    EXPECT_EQ(first.restoredTokens, 0);
    EXPECT_EQ(first.prefilledTokens, first.promptTokens);
    EXPECT_EQ(first.generatedTokens, 4);

    auto second = ask("Which line comes last?");
    EXPECT_NE(second.sessionId, first.sessionId);
    EXPECT_GT(second.restoredTokens, first.promptTokens / 2);  // the corpus came from its snapshot
    EXPECT_EQ(second.restoredTokens + second.prefilledTokens, second.promptTokens);
    EXPECT_LT(second.prefilledTokens, 40);

    auto follow = ask("And the first?", first.sessionId);
    EXPECT_EQ(follow.sessionId, first.sessionId);
    EXPECT_GT(follow.restoredTokens, first.promptTokens);  // the end of turn 1, answer included
    EXPECT_LT(follow.prefilledTokens, 40);

    // Damage every stored snapshot: the next follow-up must say so, drop them, and prefill.
    {
        Database d(db);
        d.exec("UPDATE snapshot_chunks SET checksum = checksum + 1");
    }
    auto again = ask("Once more?", first.sessionId);
    EXPECT_EQ(again.restoredTokens, 0);
    EXPECT_EQ(again.prefilledTokens, again.promptTokens);
    ASSERT_FALSE(again.notices.empty());
    EXPECT_NE(again.notices.front().find("damaged"), std::string::npos) << again.notices.front();
    EXPECT_EQ(again.generatedTokens, 4);
    Database d(db);
    EXPECT_EQ(m1::test::integrity(d), "ok");
}

TEST_F(AskPipelineTest, FollowUpInTheSameProcessContinuesFromMemory) {
    m1::ui::AskOptions o;
    o.database = db;
    o.paths = {doc};
    o.question = "First?";
    o.maxTokens = 3;
    o.sampling.greedy = true;
    auto a = pipeline->ask(o);
    o.sessionId = a.sessionId;
    o.paths.clear();
    o.question = "Second?";
    auto b = pipeline->ask(o);
    EXPECT_GT(b.restoredTokens, a.promptTokens);
    EXPECT_LT(b.prefilledTokens, 40);
}
