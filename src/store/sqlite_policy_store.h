#pragma once
// SqlitePolicyStore: the embedded SQLite PolicyStore (POL §10 Persistence; configuration.md
// [policy_store]). WAL journal, synchronous=FULL (a returned write survives power loss),
// foreign keys on, busy timeout for other processes sharing the file, versioned migrations
// (store/sqlite_migrations.h) and an optional integrity check at open.
//
// Thread-safe: one connection, guarded by one mutex held for every call, so writes are
// serialized in this process; BEGIN IMMEDIATE serializes them against other processes. Reads
// take the same mutex (admin reads and startup loads are rare; decisions never read the store).
// The connection is closed and its statements finalized on destruction.

#include <sqlite3.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "base/clock.h"
#include "store/policy_store.h"
#include "store/sqlite_db.h"

namespace router::store {

// configuration.md [policy_store] integrity_check.
enum class IntegrityCheck { kQuick, kFull, kOff };

struct SqliteOptions {
  // Database file; the caller resolves "" to <data_dir>/policies.db and creates data_dir.
  std::string path;
  int busy_timeout_ms = 5000;
  IntegrityCheck integrity_check = IntegrityCheck::kQuick;
  // Source of updated_at_ms and audit ts_ms. Not owned; must outlive the store.
  // nullptr = the system clock.
  const Clock* clock = nullptr;
};

class SqlitePolicyStore final : public PolicyStore {
 public:
  // Opens or creates the database, applies pragmas and migrations, then runs the configured
  // integrity check. Any failure (cannot open, not a database, check failed, schema newer than
  // this binary): INTERNAL `internal error` with the reason in detail "cause".
  static absl::StatusOr<std::unique_ptr<SqlitePolicyStore>> Open(const SqliteOptions& options);

  SqlitePolicyStore(const SqlitePolicyStore&) = delete;
  SqlitePolicyStore& operator=(const SqlitePolicyStore&) = delete;
  ~SqlitePolicyStore() override = default;

  absl::StatusOr<UpsertResult> Upsert(const UpsertRequest& request) override
      ABSL_LOCKS_EXCLUDED(mu_);
  absl::StatusOr<DeleteResult> Delete(const DeleteRequest& request) override
      ABSL_LOCKS_EXCLUDED(mu_);
  absl::StatusOr<StoredPolicy> Get(std::string_view tenant_id, std::string_view policy_id) override
      ABSL_LOCKS_EXCLUDED(mu_);
  absl::StatusOr<std::vector<StoredPolicy>> ListTenant(std::string_view tenant_id) override
      ABSL_LOCKS_EXCLUDED(mu_);
  absl::StatusOr<std::vector<StoredPolicy>> ListAll() override ABSL_LOCKS_EXCLUDED(mu_);
  absl::Status CheckQuota(std::string_view tenant_id, std::string_view policy_id,
                          int64_t max_policies_per_tenant) override ABSL_LOCKS_EXCLUDED(mu_);
  absl::StatusOr<int64_t> AppendAudit(const AuditRecord& record) override ABSL_LOCKS_EXCLUDED(mu_);
  absl::StatusOr<std::vector<AuditRecord>> ListAudit(const AuditQuery& query) override
      ABSL_LOCKS_EXCLUDED(mu_);
  absl::StatusOr<int64_t> InsertFixtures(const std::vector<FixturePolicy>& fixtures) override
      ABSL_LOCKS_EXCLUDED(mu_);
  absl::StatusOr<bool> FixturesLoaded() override ABSL_LOCKS_EXCLUDED(mu_);
  absl::StatusOr<int64_t> DataVersion() override ABSL_LOCKS_EXCLUDED(mu_);
  absl::StatusOr<int64_t> PurgeAuditOlderThan(int64_t ts_ms) override ABSL_LOCKS_EXCLUDED(mu_);

 private:
  // The key's row, live or deleted.
  struct KeyState {
    bool exists = false;
    bool live = false;
    int64_t version = 0;  // live version, or the high-water mark of a deleted key
    std::string document;
    std::string sha256;
  };

  SqlitePolicyStore(SqliteDbPtr db, const Clock& clock) : clock_(clock), db_(std::move(db)) {}

  absl::StatusOr<KeyState> ReadKeyLocked(std::string_view tenant_id, std::string_view policy_id)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::StatusOr<int64_t> CountLiveLocked(std::string_view tenant_id)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // OK, or the quota error when the key is new and the tenant is full.
  absl::Status QuotaLocked(std::string_view tenant_id, const KeyState& key, int64_t max)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::StatusOr<int64_t> InsertAuditLocked(const AuditRecord& record)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Writes `record` and commits `txn`; returns `outcome` unless that fails.
  absl::Status AuditAndCommitLocked(Transaction& txn, const AuditRecord& record,
                                    absl::Status outcome) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::StatusOr<std::vector<StoredPolicy>> ListLocked(Statement& select)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const Clock& clock_;
  absl::Mutex mu_;
  SqliteDbPtr db_ ABSL_GUARDED_BY(mu_);
};

}  // namespace router::store
