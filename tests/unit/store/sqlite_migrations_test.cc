// Tests for the SQLite store's schema migrations and open-time checks (POL §10 Persistence;
// configuration.md [policy_store] integrity_check).

#include "store/sqlite_migrations.h"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <fstream>
#include <string>
#include <vector>

#include "base/errors.h"
#include "store/sqlite_db.h"
#include "store/sqlite_policy_store.h"
#include "unit/store/store_test_util.h"

namespace router::store {
namespace {

using ::router::store::testing::TempDir;

std::string Cause(const absl::Status& status) {
  for (const auto& [key, value] : ErrorDetails(status)) {
    if (key == "cause") return value;
  }
  return "";
}

SqliteDbPtr RawOpen(const std::string& path) {
  sqlite3* raw = nullptr;
  int rc = sqlite3_open(path.c_str(), &raw);
  SqliteDbPtr db(raw);
  EXPECT_EQ(rc, SQLITE_OK);
  return db;
}

std::string QueryText(sqlite3* db, const std::string& sql) {
  auto statement = Statement::Prepare(db, sql);
  EXPECT_TRUE(statement.ok()) << statement.status();
  if (!statement.ok()) return "";
  auto row = statement->Step();
  EXPECT_TRUE(row.ok()) << row.status();
  return row.ok() && *row ? statement->ColumnText(0) : "";
}

class SqliteMigrationsTest : public ::testing::Test {
 protected:
  SqliteOptions Options(IntegrityCheck check = IntegrityCheck::kQuick) const {
    SqliteOptions options;
    options.path = dir_.File("policies.db");
    options.integrity_check = check;
    return options;
  }

  TempDir dir_;
};

TEST_F(SqliteMigrationsTest, FreshFileGetsCurrentSchemaInWalMode) {
  {
    auto store = SqlitePolicyStore::Open(Options());
    ASSERT_TRUE(store.ok()) << store.status();
  }
  SqliteDbPtr db = RawOpen(Options().path);
  auto version = ReadSchemaVersion(db.get());
  ASSERT_TRUE(version.ok()) << version.status();
  EXPECT_EQ(*version, kSqliteSchemaVersion);
  EXPECT_EQ(QueryText(db.get(), "PRAGMA journal_mode"), "wal");  // WAL is persistent in the file
  for (const char* table : {"policies", "audit_log", "meta"}) {
    EXPECT_EQ(QueryText(db.get(),
                        std::string("SELECT name FROM sqlite_master WHERE name = '") + table + "'"),
              table);
  }
}

TEST_F(SqliteMigrationsTest, EmptyDatabaseReadsVersionZero) {
  SqliteDbPtr db = RawOpen(Options().path);
  auto version = ReadSchemaVersion(db.get());
  ASSERT_TRUE(version.ok());
  EXPECT_EQ(*version, 0);
}

TEST_F(SqliteMigrationsTest, MigrationsAreIdempotent) {
  SqliteDbPtr db = RawOpen(Options().path);
  ASSERT_TRUE(ApplyMigrations(db.get()).ok());
  ASSERT_TRUE(ApplyMigrations(db.get()).ok());
  EXPECT_EQ(*ReadSchemaVersion(db.get()), kSqliteSchemaVersion);
}

TEST_F(SqliteMigrationsTest, NewerSchemaIsRefused) {
  {
    auto store = SqlitePolicyStore::Open(Options());
    ASSERT_TRUE(store.ok());
  }
  {
    SqliteDbPtr db = RawOpen(Options().path);
    ASSERT_TRUE(
        ExecSql(db.get(), "UPDATE meta SET value = '99' WHERE key = 'schema_version'").ok());
  }
  auto store = SqlitePolicyStore::Open(Options());
  EXPECT_EQ(store.status().code(), absl::StatusCode::kInternal);
  EXPECT_EQ(StdView(store.status().message()), "internal error");
  EXPECT_NE(Cause(store.status()).find("schema version 99"), std::string::npos)
      << Cause(store.status());
}

TEST_F(SqliteMigrationsTest, NotADatabaseIsInternalNotACrash) {
  {
    std::ofstream out(Options().path, std::ios::binary);
    out << std::string(8192, 'x');
  }
  auto store = SqlitePolicyStore::Open(Options(IntegrityCheck::kOff));
  EXPECT_EQ(store.status().code(), absl::StatusCode::kInternal);
  EXPECT_EQ(ErrorTag(store.status()), "internal");
  EXPECT_FALSE(Cause(store.status()).empty());
}

TEST_F(SqliteMigrationsTest, MissingDirectoryIsInternal) {
  SqliteOptions options = Options();
  options.path = dir_.File("no/such/dir/policies.db");
  auto store = SqlitePolicyStore::Open(options);
  EXPECT_EQ(store.status().code(), absl::StatusCode::kInternal);
  EXPECT_NE(Cause(store.status()).find("no/such/dir"), std::string::npos) << Cause(store.status());
}

TEST_F(SqliteMigrationsTest, EmptyPathIsInternal) {
  SqliteOptions options;
  EXPECT_EQ(SqlitePolicyStore::Open(options).status().code(), absl::StatusCode::kInternal);
}

// configuration.md: integrity_check quick/full at startup; a failure refuses to open.
class SqliteIntegrityTest : public SqliteMigrationsTest,
                            public ::testing::WithParamInterface<IntegrityCheck> {
 protected:
  // Fills the policies b-tree over several pages, then scribbles over an interior page.
  void CorruptPoliciesTable() {
    {
      auto store = SqlitePolicyStore::Open(Options());
      ASSERT_TRUE(store.ok()) << store.status();
      const std::string filler(600, 'f');
      std::vector<FixturePolicy> fixtures;
      for (int i = 0; i < 200; ++i) {
        fixtures.push_back(
            testing::MakeFixture("acme", "p" + std::to_string(i), "{\"pad\":\"" + filler + "\"}"));
      }
      auto inserted = (*store)->InsertFixtures(fixtures);  // one transaction: fast
      ASSERT_TRUE(inserted.ok()) << inserted.status();
      ASSERT_EQ(*inserted, 200);
    }  // last close checkpoints the WAL into the main file
    SqliteDbPtr db = RawOpen(Options().path);
    const int64_t page_size = std::stoll(QueryText(db.get(), "PRAGMA page_size"));
    const int64_t root = std::stoll(
        QueryText(db.get(), "SELECT rootpage FROM sqlite_master WHERE name = 'policies'"));
    db.reset();
    std::fstream file(Options().path, std::ios::binary | std::ios::in | std::ios::out);
    ASSERT_TRUE(file.is_open());
    file.seekp((root - 1) * page_size);
    const std::string garbage(static_cast<size_t>(page_size), '\xA5');
    file.write(garbage.data(), static_cast<std::streamsize>(garbage.size()));
  }
};

TEST_P(SqliteIntegrityTest, CorruptionRefusesOpen) {
  CorruptPoliciesTable();
  auto store = SqlitePolicyStore::Open(Options(GetParam()));
  EXPECT_EQ(store.status().code(), absl::StatusCode::kInternal);
  EXPECT_EQ(StdView(store.status().message()), "internal error");
  EXPECT_NE(Cause(store.status()).find("_check"), std::string::npos) << Cause(store.status());
}

// "off" skips the check, so the same file opens: the refusal above is the check's doing.
TEST_F(SqliteIntegrityTest, OffSkipsTheCheck) {
  CorruptPoliciesTable();
  auto store = SqlitePolicyStore::Open(Options(IntegrityCheck::kOff));
  EXPECT_TRUE(store.ok()) << store.status() << " " << Cause(store.status());
}

INSTANTIATE_TEST_SUITE_P(QuickAndFull, SqliteIntegrityTest,
                         ::testing::Values(IntegrityCheck::kQuick, IntegrityCheck::kFull));

}  // namespace
}  // namespace router::store
