// The database opens with WAL, migrates, and refuses a newer schema.
#include <gtest/gtest.h>

#include <QTemporaryDir>

#include "storage/database.h"

using m1::storage::Database;

TEST(Database, CreatesAndMigrates) {
    QTemporaryDir dir;
    std::string path = (dir.path() + "/m1.db").toStdString();
    {
        Database db(path);
        EXPECT_EQ(db.schemaVersion(), Database::kSchemaVersion);
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
    }
}
