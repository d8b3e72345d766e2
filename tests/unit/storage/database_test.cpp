// The database opens with WAL and foreign keys, migrates from every earlier schema version keeping its
// data, and refuses a newer schema.
#include <gtest/gtest.h>

#include <QTemporaryDir>

#include "storage/database.h"
#include "storage/library.h"
#include "storage/sessions.h"
#include "storage_test_util.h"

using m1::storage::Database;
using m1::storage::OpenOptions;
using m1::storage::Statement;

static std::string pragma_text(Database& db, const char* sql) {
    Statement st(db, sql);
    return st.step() ? st.text(0) : "";
}

TEST(Database, CreatesAndMigrates) {
    QTemporaryDir dir;
    std::string path = (dir.path() + "/m1.db").toStdString();
    {
        Database db(path);
        EXPECT_EQ(db.schemaVersion(), Database::kSchemaVersion);
        EXPECT_EQ(pragma_text(db, "PRAGMA journal_mode"), "wal");
        EXPECT_EQ(pragma_text(db, "PRAGMA foreign_keys"), "1");
        EXPECT_EQ(pragma_text(db, "PRAGMA synchronous"), "1");  // NORMAL
        EXPECT_EQ(pragma_text(db, "PRAGMA page_size"), "65536");
        EXPECT_EQ(pragma_text(db, "PRAGMA auto_vacuum"), "2");  // incremental
    }
    Database again(path);  // reopening is a no-op migration
    EXPECT_EQ(again.schemaVersion(), Database::kSchemaVersion);
}

TEST(Database, RefusesNewerSchema) {
    QTemporaryDir dir;
    std::string path = (dir.path() + "/m1.db").toStdString();
    {
        Database db(path);
        db.exec("PRAGMA user_version=999;");
    }
    try {
        Database db(path);
        FAIL() << "a newer database must be refused";
    } catch (const m1::storage::StorageError& e) {
        EXPECT_NE(std::string(e.what()).find("newer"), std::string::npos);
        EXPECT_NE(std::string(e.what()).find("update the app"), std::string::npos);
    }
}

// Rows a database of schema version v can hold, written with that version's SQL.
static void seed(Database& db, int v) {
    if (v >= 1) db.exec("INSERT INTO meta(key, value) VALUES('seeded_at', 'v" "x');");
    if (v >= 2) {
        db.exec("INSERT INTO documents(id, content_hash, source_path, kind, added) VALUES(7, 'h7', 'notes/a.txt', 'text', 1);");
        db.exec("INSERT INTO document_pages(document_id, page_no, text) VALUES(7, 1, 'first line\nthe zebra crossing');");
    }
    if (v >= 3) {
        db.exec("INSERT INTO corpora(id, packed_hash, token_count, created) VALUES(3, 'ph', 10, 1);");
        db.exec("INSERT INTO corpus_documents(corpus_id, position, document_id) VALUES(3, 0, 7);");
        db.exec("INSERT INTO sessions(id, corpus_id, model_fingerprint, created, updated) VALUES(5, 3, 'fp', 1, 1);");
        db.exec("INSERT INTO turns(session_id, position, question, answer, created) VALUES(5, 0, 'q?', 'a.', 1);");
    }
}

TEST(Database, MigratesFromEveryEarlierVersionKeepingData) {
    for (int v = 1; v < Database::kSchemaVersion; ++v) {
        SCOPED_TRACE("from schema " + std::to_string(v));
        QTemporaryDir dir;
        std::string path = (dir.path() + "/old.db").toStdString();
        {
            OpenOptions old;
            old.targetVersion = v;
            Database db(path, old);
            ASSERT_EQ(db.schemaVersion(), v);
            seed(db, v);
        }
        Database db(path);
        EXPECT_EQ(db.schemaVersion(), Database::kSchemaVersion);
        EXPECT_EQ(m1::test::integrity(db), "ok");
        EXPECT_EQ(pragma_text(db, "SELECT value FROM meta WHERE key='seeded_at'"), "vx");
        m1::storage::Library lib(db);
        if (v >= 2) {
            auto hits = lib.search("zebra");
            ASSERT_EQ(hits.size(), 1u);
            EXPECT_EQ(hits[0].sourcePath, "notes/a.txt");
            EXPECT_EQ(hits[0].line, 2);
        }
        if (v >= 3) {
            m1::storage::Sessions sessions(db);
            auto s = sessions.get(5);
            ASSERT_TRUE(s.has_value());
            EXPECT_EQ(s->turnCount, 1);
            EXPECT_EQ(sessions.turns(5).at(0).answer, "a.");
        }
        // The newest tables work on a migrated file.
        auto info = m1::test::write_snapshot(db, m1::test::key_for("fp", {1, 2, 3}), m1::test::pattern(1, 1000), 256, 100);
        EXPECT_EQ(m1::test::read_snapshot(db, info.id, 33), m1::test::pattern(1, 1000));
        Statement fk(db, "PRAGMA foreign_key_check");
        EXPECT_FALSE(fk.step()) << "foreign keys broken after migrating";
    }
}

TEST(Database, MigrationIsAllOrNothing) {
    QTemporaryDir dir;
    std::string path = (dir.path() + "/m1.db").toStdString();
    {
        OpenOptions old;
        old.targetVersion = 2;
        Database db(path, old);
        // A table the v3 migration wants to create makes it fail halfway: nothing of v3 may remain.
        db.exec("CREATE TABLE turns(x);");
    }
    EXPECT_THROW(Database db(path), m1::storage::StorageError);
    OpenOptions keep;
    keep.targetVersion = 2;
    Database db(path, keep);
    EXPECT_EQ(db.schemaVersion(), 2);
    EXPECT_EQ(pragma_text(db, "SELECT count(*) FROM sqlite_master WHERE name='corpora'"), "0");
}

TEST(Database, ClearErrorForUnwritablePath) {
    try {
        Database db("/nonexistent-dir/x/m1.db");
        FAIL();
    } catch (const m1::storage::StorageError& e) {
        EXPECT_NE(std::string(e.what()).find("/nonexistent-dir/x/m1.db"), std::string::npos);
    }
}
