// `m1 ingest` and `m1 pack` end to end through the built binary (M1_BIN).
#include <gtest/gtest.h>

#include <QTemporaryDir>
#include <nlohmann/json.hpp>

#include "support/run_process.h"
#include "tools/make_ingest_fixtures.h"

using m1::test::m1_binary;
using m1::test::run_process;
namespace fx = m1::fixtures;

class IngestCli : public ::testing::Test {
protected:
    void SetUp() override {
        root_ = tmp_.path().toStdString();
        fx::write_file(root_ + "/notes.md", "# Meeting Notes\n\nWe agreed on the plan.\n");
        fx::write_file(root_ + "/paper.pdf", fx::manual_pdf({"First page words", "Second page words"}, 0));
        fx::make_codebase(root_ + "/code");
        fx::write_file(root_ + "/binary.bin", std::string("\0\1\2\3", 4));
    }
    QTemporaryDir tmp_;
    std::string root_;
};

TEST_F(IngestCli, JsonRecordPerDocument) {
    auto r = run_process(m1_binary() + " ingest --json '" + root_ + "/notes.md' '" + root_ + "/paper.pdf' '" + root_ +
                         "/code' '" + root_ + "/binary.bin'");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    auto j = nlohmann::json::parse(r.out);
    ASSERT_EQ(j.size(), 4u);
    EXPECT_EQ(j[0]["kind"], "markdown");
    EXPECT_EQ(j[0]["title"], "Meeting Notes");
    EXPECT_EQ(j[0]["status"], "ok");
    EXPECT_EQ(j[1]["kind"], "pdf");
    EXPECT_EQ(j[1]["pages"], 2);
    EXPECT_EQ(j[1]["title"], "Handmade Fixture");
    EXPECT_EQ(j[2]["kind"], "folder");
    EXPECT_EQ(j[2]["files"], 7);
    EXPECT_EQ(j[3]["status"], "rejected");
    EXPECT_FALSE(j[3]["warnings"].empty());
    for (auto& rec : j)
        for (const char* k : {"path", "kind", "pages", "chars", "tokens", "status", "warnings", "title"})
            EXPECT_TRUE(rec.contains(k)) << k;
    EXPECT_FALSE(j[0]["tokens_exact"].get<bool>());
}

TEST_F(IngestCli, PackWritesTextAndMap) {
    std::string out = root_ + "/packed.txt";
    auto r = run_process(m1_binary() + " pack '" + root_ + "/notes.md' '" + root_ + "/paper.pdf' --out '" + out +
                         "' --question 'What was agreed?'");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_NE(r.out.find("tokens:"), std::string::npos);
    std::string text = fx::read_file(out);
    EXPECT_NE(text.find("[page 2]\nSecond page words"), std::string::npos) << text;
    EXPECT_NE(text.find("=== QUESTION ===\nWhat was agreed?"), std::string::npos);
    auto map = nlohmann::json::parse(fx::read_file(out + ".map.json"));
    EXPECT_EQ(map["documents"].size(), 2u);
    EXPECT_EQ(map["text_bytes"].get<size_t>(), text.size());
    // Same inputs, same bytes.
    auto again = run_process(m1_binary() + " pack '" + root_ + "/notes.md' '" + root_ + "/paper.pdf' --out '" + out +
                             "2' --question 'What was agreed?'");
    ASSERT_EQ(again.exit_code, 0);
    EXPECT_EQ(fx::read_file(out + "2"), text);
}

TEST_F(IngestCli, PackOverBudgetRefusesOrDrops) {
    std::string out = root_ + "/p.txt";
    std::string paths = "'" + root_ + "/paper.pdf' '" + root_ + "/code'";
    auto refused = run_process(m1_binary() + " pack " + paths + " --out '" + out + "' --budget 220 --reserve 100");
    EXPECT_EQ(refused.exit_code, 1);
    EXPECT_NE(refused.err.find("does not fit"), std::string::npos) << refused.err;
    auto dropped = run_process(m1_binary() + " pack " + paths + " --out '" + out +
                               "' --budget 220 --reserve 100 --policy drop");
    EXPECT_EQ(dropped.exit_code, 0) << dropped.err;
    EXPECT_NE(dropped.err.find("left out"), std::string::npos);
    auto bad = run_process(m1_binary() + " pack " + paths + " --out x --policy maybe");
    EXPECT_EQ(bad.exit_code, 2);
}
