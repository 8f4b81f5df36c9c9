#include "store/sqlite_policy_store.h"

#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "base/errors.h"
#include "base/status_macros.h"
#include "base/system_clock.h"
#include "store/sqlite_migrations.h"
#include "store/store_errors.h"

namespace router::store {
namespace {

constexpr char kPolicyColumns[] = "tenant_id, policy_id, version, document, sha256, updated_at_ms";
constexpr char kAuditColumns[] =
    "id, ts_ms, principal, claimed_user, tenant_id, action, resource, before_version, "
    "after_version, result, document_sha256, correlation_id, client_addr";

const Clock& DefaultClock() {
  static const SystemClock clock;
  return clock;
}

StoredPolicy ReadPolicyRow(const Statement& row) {
  StoredPolicy policy;
  policy.tenant_id = row.ColumnText(0);
  policy.policy_id = row.ColumnText(1);
  policy.version = row.ColumnInt(2);
  policy.document = row.ColumnText(3);
  policy.sha256 = row.ColumnText(4);
  policy.updated_at_ms = row.ColumnInt(5);
  return policy;
}

AuditRecord ReadAuditRow(const Statement& row) {
  AuditRecord record;
  record.id = row.ColumnInt(0);
  record.ts_ms = row.ColumnInt(1);
  record.principal = row.ColumnText(2);
  record.claimed_user = row.ColumnText(3);
  record.tenant_id = row.ColumnText(4);
  record.action = row.ColumnText(5);
  record.resource = row.ColumnText(6);
  record.before_version = row.ColumnInt(7);
  record.after_version = row.ColumnInt(8);
  record.result = row.ColumnText(9);
  record.document_sha256 = row.ColumnText(10);
  record.correlation_id = row.ColumnText(11);
  record.client_addr = row.ColumnText(12);
  return record;
}

AuditRecord PolicyAudit(std::string_view action, std::string_view tenant_id,
                        std::string_view policy_id, const AuditContext& context) {
  AuditRecord record;
  record.principal = context.principal;
  record.claimed_user = context.claimed_user;
  record.tenant_id = std::string(tenant_id);
  record.action = std::string(action);
  record.resource = PolicyResource(policy_id);
  record.correlation_id = context.correlation_id;
  record.client_addr = context.client_addr;
  return record;
}

// Runs "PRAGMA integrity_check" / "PRAGMA quick_check": one row "ok" when sound.
absl::Status CheckIntegrity(sqlite3* db, IntegrityCheck mode) {
  if (mode == IntegrityCheck::kOff) return absl::OkStatus();
  const char* pragma =
      mode == IntegrityCheck::kFull ? "PRAGMA integrity_check(10)" : "PRAGMA quick_check(10)";
  ROUTER_ASSIGN_OR_RETURN(Statement check, Statement::Prepare(db, pragma));
  std::string problems;
  while (true) {
    ROUTER_ASSIGN_OR_RETURN(bool row, check.Step());
    if (!row) break;
    std::string line = check.ColumnText(0);
    if (line == "ok") continue;
    if (!problems.empty()) problems += "; ";
    problems += line;
  }
  if (problems.empty()) return absl::OkStatus();
  return StoreInternalError(absl::StrCat(pragma, " failed: ", problems));
}

absl::Status ExpectPragmaText(sqlite3* db, std::string_view pragma, std::string_view expected) {
  ROUTER_ASSIGN_OR_RETURN(Statement statement, Statement::Prepare(db, pragma));
  ROUTER_ASSIGN_OR_RETURN(bool row, statement.Step());
  std::string value = row ? statement.ColumnText(0) : std::string();
  if (value != expected) {
    return StoreInternalError(absl::StrCat(AbslView(pragma), " returned \"", value,
                                           "\", expected \"", AbslView(expected), "\""));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::unique_ptr<SqlitePolicyStore>> SqlitePolicyStore::Open(
    const SqliteOptions& options) {
  if (options.path.empty()) return StoreInternalError("open: empty database path");
  sqlite3* raw = nullptr;
  int rc =
      sqlite3_open_v2(options.path.c_str(), &raw,
                      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX, nullptr);
  SqliteDbPtr db(raw);  // sqlite3_open_v2 may return a handle even on failure
  if (rc != SQLITE_OK) {
    if (db == nullptr) {
      return StoreInternalError(absl::StrCat("open ", options.path, ": ", sqlite3_errstr(rc)));
    }
    return SqliteError(db.get(), absl::StrCat("open ", options.path));
  }
  sqlite3_extended_result_codes(db.get(), 1);
  if (sqlite3_busy_timeout(db.get(), options.busy_timeout_ms > 0 ? options.busy_timeout_ms : 0) !=
      SQLITE_OK) {
    return SqliteError(db.get(), "busy_timeout");
  }
  ROUTER_RETURN_IF_ERROR(ExpectPragmaText(db.get(), "PRAGMA journal_mode=WAL", "wal"));
  ROUTER_RETURN_IF_ERROR(ExecSql(db.get(), "PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON;"));
  ROUTER_RETURN_IF_ERROR(CheckIntegrity(db.get(), options.integrity_check));
  ROUTER_RETURN_IF_ERROR(ApplyMigrations(db.get()));
  const Clock& clock = options.clock != nullptr ? *options.clock : DefaultClock();
  return std::unique_ptr<SqlitePolicyStore>(new SqlitePolicyStore(std::move(db), clock));
}

absl::StatusOr<SqlitePolicyStore::KeyState> SqlitePolicyStore::ReadKeyLocked(
    std::string_view tenant_id, std::string_view policy_id) {
  ROUTER_ASSIGN_OR_RETURN(
      Statement select,
      Statement::Prepare(db_.get(),
                         "SELECT version, deleted, document, sha256 FROM policies "
                         "WHERE tenant_id = ?1 AND policy_id = ?2"));
  select.BindText(1, tenant_id).BindText(2, policy_id);
  ROUTER_ASSIGN_OR_RETURN(bool found, select.Step());
  KeyState key;
  if (!found) return key;
  key.exists = true;
  key.version = select.ColumnInt(0);
  key.live = select.ColumnInt(1) == 0;
  key.document = select.ColumnText(2);
  key.sha256 = select.ColumnText(3);
  return key;
}

absl::StatusOr<int64_t> SqlitePolicyStore::CountLiveLocked(std::string_view tenant_id) {
  ROUTER_ASSIGN_OR_RETURN(
      Statement count,
      Statement::Prepare(db_.get(),
                         "SELECT COUNT(*) FROM policies WHERE tenant_id = ?1 AND deleted = 0"));
  count.BindText(1, tenant_id);
  ROUTER_ASSIGN_OR_RETURN(bool row, count.Step());
  return row ? count.ColumnInt(0) : 0;
}

absl::Status SqlitePolicyStore::QuotaLocked(std::string_view tenant_id, const KeyState& key,
                                            int64_t max) {
  if (key.live || max <= 0) return absl::OkStatus();
  ROUTER_ASSIGN_OR_RETURN(int64_t count, CountLiveLocked(tenant_id));
  if (count >= max) return QuotaExceededError(tenant_id, count, max);
  return absl::OkStatus();
}

absl::StatusOr<int64_t> SqlitePolicyStore::InsertAuditLocked(const AuditRecord& record) {
  ROUTER_ASSIGN_OR_RETURN(
      Statement insert,
      Statement::Prepare(db_.get(),
                         "INSERT INTO audit_log(ts_ms, principal, claimed_user, tenant_id, action, "
                         "resource, before_version, after_version, result, document_sha256, "
                         "correlation_id, client_addr) "
                         "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)"));
  insert.BindInt(1, record.ts_ms != 0 ? record.ts_ms : clock_.WallMs())
      .BindText(2, record.principal)
      .BindText(3, record.claimed_user)
      .BindText(4, record.tenant_id)
      .BindText(5, record.action)
      .BindText(6, record.resource)
      .BindInt(7, record.before_version)
      .BindInt(8, record.after_version)
      .BindText(9, record.result)
      .BindText(10, record.document_sha256)
      .BindText(11, record.correlation_id)
      .BindText(12, record.client_addr);
  ROUTER_RETURN_IF_ERROR(insert.Run());
  return sqlite3_last_insert_rowid(db_.get());
}

absl::Status SqlitePolicyStore::AuditAndCommitLocked(Transaction& txn, const AuditRecord& record,
                                                     absl::Status outcome) {
  // Audit and change commit together or not at all; a failure here hides the outcome, because
  // an attempt that cannot be audited must not be reported as decided (POL §10 Audit).
  ROUTER_RETURN_IF_ERROR(InsertAuditLocked(record).status());
  ROUTER_RETURN_IF_ERROR(txn.Commit());
  return outcome;
}

absl::StatusOr<UpsertResult> SqlitePolicyStore::Upsert(const UpsertRequest& request) {
  absl::MutexLock lock(&mu_);
  Transaction txn(db_.get());
  ROUTER_RETURN_IF_ERROR(txn.Begin());
  ROUTER_ASSIGN_OR_RETURN(KeyState key, ReadKeyLocked(request.tenant_id, request.policy_id));
  const int64_t current = key.live ? key.version : 0;
  AuditRecord audit =
      PolicyAudit(audit_action::kUpsert, request.tenant_id, request.policy_id, request.audit);
  audit.before_version = current;
  audit.document_sha256 = request.sha256;

  // grpc-api.md §5.2: quota (check 4) comes before the version precondition (execute, check 6).
  absl::Status quota = QuotaLocked(request.tenant_id, key, request.max_policies_per_tenant);
  if (!quota.ok()) {
    if (ErrorTag(quota) != tag::kQuotaExceeded) return quota;
    audit.result = std::string(audit_result::kQuotaExceeded);
    return AuditAndCommitLocked(txn, audit, std::move(quota));
  }
  if (request.expected_version != 0 && request.expected_version != current) {
    audit.result = std::string(audit_result::kVersionConflict);
    return AuditAndCommitLocked(txn, audit, VersionConflictError(current));
  }
  if (key.live && key.document == request.document) {
    // POL §10 Writes: an identical canonical document changes nothing but is audited.
    audit.after_version = current;
    audit.result = std::string(audit_result::kUnchanged);
    ROUTER_RETURN_IF_ERROR(AuditAndCommitLocked(txn, audit, absl::OkStatus()));
    return UpsertResult{current, true, current};
  }

  // The row's version is the high-water mark whether live or deleted, so +1 never reuses one.
  const int64_t next = key.version + 1;
  ROUTER_ASSIGN_OR_RETURN(
      Statement write,
      Statement::Prepare(db_.get(),
                         "INSERT INTO policies(tenant_id, policy_id, version, document, sha256, "
                         "updated_at_ms, deleted) VALUES (?1, ?2, ?3, ?4, ?5, ?6, 0) "
                         "ON CONFLICT(tenant_id, policy_id) DO UPDATE SET "
                         "version = excluded.version, document = excluded.document, "
                         "sha256 = excluded.sha256, updated_at_ms = excluded.updated_at_ms, "
                         "deleted = 0"));
  write.BindText(1, request.tenant_id)
      .BindText(2, request.policy_id)
      .BindInt(3, next)
      .BindText(4, request.document)
      .BindText(5, request.sha256)
      .BindInt(6, clock_.WallMs());
  ROUTER_RETURN_IF_ERROR(write.Run());
  audit.after_version = next;
  audit.result = std::string(audit_result::kOk);
  ROUTER_RETURN_IF_ERROR(AuditAndCommitLocked(txn, audit, absl::OkStatus()));
  return UpsertResult{next, false, current};
}

absl::StatusOr<DeleteResult> SqlitePolicyStore::Delete(const DeleteRequest& request) {
  absl::MutexLock lock(&mu_);
  Transaction txn(db_.get());
  ROUTER_RETURN_IF_ERROR(txn.Begin());
  ROUTER_ASSIGN_OR_RETURN(KeyState key, ReadKeyLocked(request.tenant_id, request.policy_id));
  AuditRecord audit =
      PolicyAudit(audit_action::kDelete, request.tenant_id, request.policy_id, request.audit);
  if (!key.live) {
    audit.result = std::string(audit_result::kNotFound);
    return AuditAndCommitLocked(txn, audit,
                                PolicyNotFoundError(request.tenant_id, request.policy_id));
  }
  ROUTER_ASSIGN_OR_RETURN(Statement tombstone,
                          Statement::Prepare(db_.get(),
                                             "UPDATE policies SET deleted = 1, updated_at_ms = ?3 "
                                             "WHERE tenant_id = ?1 AND policy_id = ?2"));
  tombstone.BindText(1, request.tenant_id)
      .BindText(2, request.policy_id)
      .BindInt(3, clock_.WallMs());
  ROUTER_RETURN_IF_ERROR(tombstone.Run());
  audit.before_version = key.version;
  audit.document_sha256 = key.sha256;
  audit.result = std::string(audit_result::kOk);
  ROUTER_RETURN_IF_ERROR(AuditAndCommitLocked(txn, audit, absl::OkStatus()));
  return DeleteResult{key.version};
}

absl::StatusOr<StoredPolicy> SqlitePolicyStore::Get(std::string_view tenant_id,
                                                    std::string_view policy_id) {
  absl::MutexLock lock(&mu_);
  ROUTER_ASSIGN_OR_RETURN(
      Statement select,
      Statement::Prepare(db_.get(), absl::StrCat("SELECT ", kPolicyColumns,
                                                 " FROM policies WHERE tenant_id = ?1 AND "
                                                 "policy_id = ?2 AND deleted = 0")));
  select.BindText(1, tenant_id).BindText(2, policy_id);
  ROUTER_ASSIGN_OR_RETURN(bool found, select.Step());
  if (!found) return PolicyNotFoundError(tenant_id, policy_id);
  return ReadPolicyRow(select);
}

absl::StatusOr<std::vector<StoredPolicy>> SqlitePolicyStore::ListLocked(Statement& select) {
  std::vector<StoredPolicy> out;
  while (true) {
    ROUTER_ASSIGN_OR_RETURN(bool row, select.Step());
    if (!row) break;
    out.push_back(ReadPolicyRow(select));
  }
  return out;
}

absl::StatusOr<std::vector<StoredPolicy>> SqlitePolicyStore::ListTenant(
    std::string_view tenant_id) {
  absl::MutexLock lock(&mu_);
  // TEXT columns use the BINARY collation (memcmp), so ORDER BY is bytewise (grpc-api.md §6.3).
  ROUTER_ASSIGN_OR_RETURN(
      Statement select,
      Statement::Prepare(db_.get(), absl::StrCat("SELECT ", kPolicyColumns,
                                                 " FROM policies WHERE tenant_id = ?1 AND "
                                                 "deleted = 0 ORDER BY policy_id")));
  select.BindText(1, tenant_id);
  return ListLocked(select);
}

absl::StatusOr<std::vector<StoredPolicy>> SqlitePolicyStore::ListAll() {
  absl::MutexLock lock(&mu_);
  ROUTER_ASSIGN_OR_RETURN(
      Statement select,
      Statement::Prepare(db_.get(), absl::StrCat("SELECT ", kPolicyColumns,
                                                 " FROM policies WHERE deleted = 0 "
                                                 "ORDER BY tenant_id, policy_id")));
  return ListLocked(select);
}

absl::Status SqlitePolicyStore::CheckQuota(std::string_view tenant_id, std::string_view policy_id,
                                           int64_t max_policies_per_tenant) {
  absl::MutexLock lock(&mu_);
  if (max_policies_per_tenant <= 0) return absl::OkStatus();
  ROUTER_ASSIGN_OR_RETURN(KeyState key, ReadKeyLocked(tenant_id, policy_id));
  return QuotaLocked(tenant_id, key, max_policies_per_tenant);
}

absl::StatusOr<int64_t> SqlitePolicyStore::AppendAudit(const AuditRecord& record) {
  absl::MutexLock lock(&mu_);
  Transaction txn(db_.get());
  ROUTER_RETURN_IF_ERROR(txn.Begin());
  ROUTER_ASSIGN_OR_RETURN(int64_t id, InsertAuditLocked(record));
  ROUTER_RETURN_IF_ERROR(txn.Commit());
  return id;
}

absl::StatusOr<std::vector<AuditRecord>> SqlitePolicyStore::ListAudit(const AuditQuery& query) {
  absl::MutexLock lock(&mu_);
  std::string sql = absl::StrCat("SELECT ", kAuditColumns, " FROM audit_log WHERE id > ?1");
  if (query.tenant_id.has_value()) sql += " AND tenant_id = ?2";
  sql += " ORDER BY id";
  if (query.limit > 0) sql += " LIMIT ?3";
  ROUTER_ASSIGN_OR_RETURN(Statement select, Statement::Prepare(db_.get(), sql));
  select.BindInt(1, query.after_id);
  if (query.tenant_id.has_value()) select.BindText(2, *query.tenant_id);
  if (query.limit > 0) select.BindInt(3, query.limit);
  std::vector<AuditRecord> out;
  while (true) {
    ROUTER_ASSIGN_OR_RETURN(bool row, select.Step());
    if (!row) break;
    out.push_back(ReadAuditRow(select));
  }
  return out;
}

absl::StatusOr<int64_t> SqlitePolicyStore::InsertFixtures(
    const std::vector<FixturePolicy>& fixtures) {
  absl::MutexLock lock(&mu_);
  Transaction txn(db_.get());
  ROUTER_RETURN_IF_ERROR(txn.Begin());
  ROUTER_ASSIGN_OR_RETURN(
      Statement loaded,
      Statement::Prepare(db_.get(), "SELECT 1 FROM meta WHERE key = 'fixtures_loaded'"));
  ROUTER_ASSIGN_OR_RETURN(bool already, loaded.Step());
  if (already) return 0;  // POL §10 Fixtures: first start only; deleted fixtures stay deleted

  // DO NOTHING keeps any existing row, live or deleted (a deleted key's high-water mark must
  // survive, so version 1 is never issued twice for one key).
  ROUTER_ASSIGN_OR_RETURN(
      Statement insert,
      Statement::Prepare(db_.get(),
                         "INSERT INTO policies(tenant_id, policy_id, version, document, sha256, "
                         "updated_at_ms, deleted) VALUES (?1, ?2, 1, ?3, ?4, ?5, 0) "
                         "ON CONFLICT(tenant_id, policy_id) DO NOTHING"));
  const int64_t now = clock_.WallMs();
  int64_t inserted = 0;
  for (const FixturePolicy& fixture : fixtures) {
    insert.BindText(1, fixture.tenant_id)
        .BindText(2, fixture.policy_id)
        .BindText(3, fixture.document)
        .BindText(4, fixture.sha256)
        .BindInt(5, now);
    ROUTER_RETURN_IF_ERROR(insert.Run());
    if (sqlite3_changes(db_.get()) == 0) continue;
    ++inserted;
    AuditContext context;
    context.principal = std::string(kFixturesPrincipal);
    AuditRecord audit =
        PolicyAudit(audit_action::kFixtureLoad, fixture.tenant_id, fixture.policy_id, context);
    audit.ts_ms = now;
    audit.after_version = 1;
    audit.result = std::string(audit_result::kOk);
    audit.document_sha256 = fixture.sha256;
    ROUTER_RETURN_IF_ERROR(InsertAuditLocked(audit).status());
  }
  ROUTER_ASSIGN_OR_RETURN(
      Statement mark,
      Statement::Prepare(db_.get(),
                         "INSERT INTO meta(key, value) VALUES ('fixtures_loaded', ?1) "
                         "ON CONFLICT(key) DO UPDATE SET value = excluded.value"));
  ROUTER_RETURN_IF_ERROR(mark.BindText(1, std::to_string(now)).Run());
  ROUTER_RETURN_IF_ERROR(txn.Commit());
  return inserted;
}

absl::StatusOr<bool> SqlitePolicyStore::FixturesLoaded() {
  absl::MutexLock lock(&mu_);
  ROUTER_ASSIGN_OR_RETURN(
      Statement loaded,
      Statement::Prepare(db_.get(), "SELECT 1 FROM meta WHERE key = 'fixtures_loaded'"));
  return loaded.Step();
}

absl::StatusOr<int64_t> SqlitePolicyStore::DataVersion() {
  absl::MutexLock lock(&mu_);
  ROUTER_ASSIGN_OR_RETURN(Statement pragma, Statement::Prepare(db_.get(), "PRAGMA data_version"));
  ROUTER_ASSIGN_OR_RETURN(bool row, pragma.Step());
  if (!row) return StoreInternalError("PRAGMA data_version returned no row");
  return pragma.ColumnInt(0);
}

absl::StatusOr<int64_t> SqlitePolicyStore::PurgeAuditOlderThan(int64_t ts_ms) {
  absl::MutexLock lock(&mu_);
  Transaction txn(db_.get());
  ROUTER_RETURN_IF_ERROR(txn.Begin());
  ROUTER_ASSIGN_OR_RETURN(Statement purge,
                          Statement::Prepare(db_.get(), "DELETE FROM audit_log WHERE ts_ms < ?1"));
  ROUTER_RETURN_IF_ERROR(purge.BindInt(1, ts_ms).Run());
  const int64_t removed = sqlite3_changes(db_.get());
  ROUTER_RETURN_IF_ERROR(txn.Commit());
  return removed;
}

}  // namespace router::store
