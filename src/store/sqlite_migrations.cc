#include "store/sqlite_migrations.h"

#include <charconv>
#include <string>
#include <string_view>

#include "absl/strings/str_cat.h"
#include "base/errors.h"
#include "base/status_macros.h"
#include "store/sqlite_db.h"
#include "store/store_errors.h"

namespace router::store {
namespace {

// Migration N is kMigrations[N - 1]. Never edit an applied migration; append a new one.
// policies: deleted rows keep their version as the key's high-water mark (POL §10 Versions).
// audit_log: AUTOINCREMENT so ids are never reused after a purge.
constexpr std::string_view kMigrations[] = {
    R"sql(
CREATE TABLE meta(
  key TEXT PRIMARY KEY NOT NULL,
  value TEXT NOT NULL
);
CREATE TABLE policies(
  tenant_id TEXT NOT NULL,
  policy_id TEXT NOT NULL,
  version INTEGER NOT NULL CHECK (version >= 1),
  document TEXT NOT NULL,
  sha256 TEXT NOT NULL,
  updated_at_ms INTEGER NOT NULL,
  deleted INTEGER NOT NULL DEFAULT 0 CHECK (deleted IN (0, 1)),
  PRIMARY KEY (tenant_id, policy_id)
) WITHOUT ROWID;
CREATE TABLE audit_log(
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  ts_ms INTEGER NOT NULL,
  principal TEXT NOT NULL,
  claimed_user TEXT NOT NULL,
  tenant_id TEXT NOT NULL,
  action TEXT NOT NULL,
  resource TEXT NOT NULL,
  before_version INTEGER NOT NULL,
  after_version INTEGER NOT NULL,
  result TEXT NOT NULL,
  document_sha256 TEXT NOT NULL,
  correlation_id TEXT NOT NULL,
  client_addr TEXT NOT NULL
);
CREATE INDEX audit_log_by_ts ON audit_log(ts_ms);
CREATE INDEX audit_log_by_tenant ON audit_log(tenant_id, id);
)sql",
};

constexpr int64_t kMigrationCount = sizeof(kMigrations) / sizeof(kMigrations[0]);
static_assert(kMigrationCount == kSqliteSchemaVersion);

}  // namespace

absl::StatusOr<int64_t> ReadSchemaVersion(sqlite3* db) {
  ROUTER_ASSIGN_OR_RETURN(
      Statement has_meta,
      Statement::Prepare(db, "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'meta'"));
  ROUTER_ASSIGN_OR_RETURN(bool meta_exists, has_meta.Step());
  if (!meta_exists) return 0;
  ROUTER_ASSIGN_OR_RETURN(
      Statement select,
      Statement::Prepare(db, "SELECT value FROM meta WHERE key = 'schema_version'"));
  ROUTER_ASSIGN_OR_RETURN(bool found, select.Step());
  if (!found) return 0;
  std::string text = select.ColumnText(0);
  int64_t version = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), version);
  if (ec != std::errc() || ptr != text.data() + text.size() || version < 0) {
    return StoreInternalError(absl::StrCat("meta.schema_version is not a number: \"", text, "\""));
  }
  return version;
}

absl::Status ApplyMigrations(sqlite3* db) {
  while (true) {
    Transaction txn(db);
    ROUTER_RETURN_IF_ERROR(txn.Begin());
    ROUTER_ASSIGN_OR_RETURN(int64_t current, ReadSchemaVersion(db));
    if (current > kSqliteSchemaVersion) {
      return StoreInternalError(absl::StrCat("schema version ", current,
                                             " is newer than this binary supports (",
                                             kSqliteSchemaVersion, ")"));
    }
    if (current == kSqliteSchemaVersion) return absl::OkStatus();  // rolls back the empty txn
    int64_t next = current + 1;
    ROUTER_RETURN_IF_ERROR(ExecSql(db, kMigrations[next - 1]));
    ROUTER_ASSIGN_OR_RETURN(
        Statement set_version,
        Statement::Prepare(db,
                           "INSERT INTO meta(key, value) VALUES ('schema_version', ?1) "
                           "ON CONFLICT(key) DO UPDATE SET value = excluded.value"));
    ROUTER_RETURN_IF_ERROR(set_version.BindText(1, std::to_string(next)).Run());
    ROUTER_RETURN_IF_ERROR(txn.Commit());
  }
}

}  // namespace router::store
