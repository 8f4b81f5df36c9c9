#pragma once
// PolicyStore: the durable, backend-neutral policy store (POL §10 Versions, Writes, Persistence,
// Fixtures, Audit; grpc-api.md §5.5 and §6). SqlitePolicyStore (store/sqlite_policy_store.h)
// implements it now; PostgreSQL later, with the same logical schema.
//
// The store knows nothing about the policy DSL: the service validates and canonicalises a
// document and passes the canonical JSON and its sha256 hex; the store persists, versions and
// audits. Versions start at 1, each effective change adds 1, and numbers are never reused: a
// deleted key keeps its last version as a high-water mark and a recreation continues from it.
//
// Audit: Upsert, Delete and InsertFixtures write their audit records in the same transaction as
// the change, for every outcome they decide themselves (ok, unchanged, version_conflict,
// quota_exceeded, not_found). Attempts the service rejects before reaching the store (invalid,
// permission denied, ...) are written with AppendAudit.
//
// Errors: any backend failure is INTERNAL `internal error`, tag `internal`, with the backend's
// message only in the error detail `cause` (log it, never send it); nothing is applied then.
//
// Thread-safety: implementations are thread-safe; every method may be called from any thread.
// Writes are serialized, within this process and against other processes sharing the backend.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace router::store {

// Audit `action` values (wire strings; spelled only here).
namespace audit_action {
inline constexpr std::string_view kUpsert = "upsert";
inline constexpr std::string_view kDelete = "delete";
inline constexpr std::string_view kFixtureLoad = "fixture_load";
inline constexpr std::string_view kBreakerReset = "breaker_reset";
inline constexpr std::string_view kBreakerForce = "breaker_force";
}  // namespace audit_action

// Audit `result` values: `ok`, `unchanged`, or the error tag-like name of the rejection.
namespace audit_result {
inline constexpr std::string_view kOk = "ok";
inline constexpr std::string_view kUnchanged = "unchanged";
inline constexpr std::string_view kInvalidArgument = "invalid_argument";
inline constexpr std::string_view kPermissionDenied = "permission_denied";
inline constexpr std::string_view kNotFound = "not_found";
inline constexpr std::string_view kQuotaExceeded = "quota_exceeded";
inline constexpr std::string_view kVersionConflict = "version_conflict";
}  // namespace audit_result

// Principal of fixture inserts (POL §10 Fixtures).
inline constexpr std::string_view kFixturesPrincipal = "system:fixtures";

// Default quota on new keys per tenant (configuration.md `max_policies_per_tenant`).
inline constexpr int64_t kDefaultMaxPoliciesPerTenant = 1000;

// The audit `resource` of a policy: "policy/<policy_id>". The service uses it too, so rejected
// attempts it audits name the same resource as the store's own records.
std::string PolicyResource(std::string_view policy_id);

// One live policy row.
struct StoredPolicy {
  std::string tenant_id;
  std::string policy_id;
  int64_t version = 0;        // >= 1
  std::string document;       // canonical JSON, exactly as passed to Upsert
  std::string sha256;         // lowercase hex of the document, as passed to Upsert
  int64_t updated_at_ms = 0;  // wall clock of the last effective change
};

// One audit_log row (POL §10 Audit). Versions use 0 for "none".
struct AuditRecord {
  int64_t id = 0;  // assigned by the store, increasing, never reused
  int64_t ts_ms = 0;
  std::string principal;
  std::string claimed_user;  // x-user-id, untrusted
  std::string tenant_id;
  std::string action;    // audit_action::*
  std::string resource;  // e.g. PolicyResource(policy_id)
  int64_t before_version = 0;
  int64_t after_version = 0;
  std::string result;  // audit_result::*
  std::string document_sha256;
  std::string correlation_id;
  std::string client_addr;
};

// Who asked, copied into the audit record of a write. Never holds a key or key digest.
struct AuditContext {
  std::string principal;
  std::string claimed_user;
  std::string correlation_id;
  std::string client_addr;
};

struct UpsertRequest {
  std::string tenant_id;
  std::string policy_id;
  std::string document;  // canonical JSON (POL §10 Writes)
  std::string sha256;    // lowercase hex SHA-256 of `document`
  // 0 = unconditional; otherwise must equal the current version (0 when absent).
  int64_t expected_version = 0;
  // Quota on live keys of the tenant, applied only when the key is new; <= 0 = no quota.
  int64_t max_policies_per_tenant = kDefaultMaxPoliciesPerTenant;
  AuditContext audit;
};

struct UpsertResult {
  int64_t version = 0;         // the version now current (unchanged: the existing one)
  bool unchanged = false;      // the canonical document equalled the current one
  int64_t before_version = 0;  // the live version before the call, 0 when absent
};

struct DeleteRequest {
  std::string tenant_id;
  std::string policy_id;
  AuditContext audit;
};

struct DeleteResult {
  int64_t deleted_version = 0;  // the version that was live; stays the key's high-water mark
};

// One fixture to insert as version 1 (POL §10 Fixtures).
struct FixturePolicy {
  std::string tenant_id;
  std::string policy_id;
  std::string document;  // canonical JSON, validated by the caller
  std::string sha256;
};

struct AuditQuery {
  std::optional<std::string> tenant_id;  // nullopt = every tenant
  int64_t after_id = 0;                  // only records with id > after_id
  int64_t limit = 0;                     // at most this many (the oldest first); 0 = all
};

class PolicyStore {
 public:
  virtual ~PolicyStore() = default;

  // Creates or replaces (tenant_id, policy_id), atomically with its audit record. Checks, in the
  // grpc-api.md §5.2 order, inside the write transaction:
  //  1. new key (absent or deleted) and the tenant already has >= max live policies:
  //     RESOURCE_EXHAUSTED, tag quota_exceeded,
  //     `policy quota exceeded: tenant "<t>" has <n> policies (max <m>)`;
  //  2. expected_version != 0 and != current (0 when absent): ABORTED, tag version_conflict,
  //     `version conflict: current version is <n>`;
  //  3. document equal to the current one: nothing changes, {current, unchanged = true};
  //  4. otherwise version = high-water mark + 1.
  // Every outcome above is audited (ok, unchanged, quota_exceeded, version_conflict).
  virtual absl::StatusOr<UpsertResult> Upsert(const UpsertRequest& request) = 0;

  // Deletes a live key, keeping its version as the high-water mark, audited. Absent or already
  // deleted: NOT_FOUND, tag not_found, `policy "<policy_id>" not found for tenant "<tenant_id>"`,
  // audited as not_found.
  virtual absl::StatusOr<DeleteResult> Delete(const DeleteRequest& request) = 0;

  // The live policy, or NOT_FOUND as Delete (not audited).
  virtual absl::StatusOr<StoredPolicy> Get(std::string_view tenant_id,
                                           std::string_view policy_id) = 0;

  // Every live policy of the tenant, sorted by policy_id bytewise ascending; none = empty.
  virtual absl::StatusOr<std::vector<StoredPolicy>> ListTenant(std::string_view tenant_id) = 0;

  // Every live policy, sorted by (tenant_id, policy_id) bytewise; for startup and reloads.
  virtual absl::StatusOr<std::vector<StoredPolicy>> ListAll() = 0;

  // Read-only quota pre-check, so the service can answer quota before validation
  // (grpc-api.md §5.2 check 4 before 5): OK when the key is live or the tenant has fewer than
  // `max` live policies (or max <= 0), else the Upsert quota error. Not audited. Upsert enforces
  // the quota again atomically.
  virtual absl::Status CheckQuota(std::string_view tenant_id, std::string_view policy_id,
                                  int64_t max_policies_per_tenant) = 0;

  // Appends one record in its own transaction (for attempts rejected before the store, and for
  // breaker resets). The store assigns `id`; ts_ms = 0 takes the store clock's WallMs().
  // Returns the assigned id.
  virtual absl::StatusOr<int64_t> AppendAudit(const AuditRecord& record) = 0;

  // Audit records matching `query`, by id ascending (newest last).
  virtual absl::StatusOr<std::vector<AuditRecord>> ListAudit(const AuditQuery& query) = 0;

  // First-start fixture load (POL §10 Fixtures), in one transaction: unless meta
  // fixtures_loaded is already set (then nothing happens and 0 is returned), inserts each
  // fixture as version 1 by kFixturesPrincipal unless its key already exists (a deleted key
  // counts as existing, so its version is never reused), audits each insert (fixture_load),
  // and sets fixtures_loaded. Returns how many were inserted.
  virtual absl::StatusOr<int64_t> InsertFixtures(const std::vector<FixturePolicy>& fixtures) = 0;

  // Whether meta fixtures_loaded is set.
  virtual absl::StatusOr<bool> FixturesLoaded() = 0;

  // A number that changes when another connection or process commits a write (SQLite:
  // PRAGMA data_version; this store's own writes do not change it). Poll it every
  // `poll_interval_ms` and reload on change.
  virtual absl::StatusOr<int64_t> DataVersion() = 0;

  // Deletes audit records with ts_ms < `ts_ms` (audit_retention_days); returns how many.
  virtual absl::StatusOr<int64_t> PurgeAuditOlderThan(int64_t ts_ms) = 0;
};

}  // namespace router::store
