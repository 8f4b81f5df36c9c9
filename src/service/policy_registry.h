#pragma once
// PolicyRegistry: keeps the published policy snapshot in step with the durable store
// (POL §10 Writes, Snapshots, Startup, Fixtures). Writers are serialized here: store commit,
// then a copy-on-write snapshot with the one key changed, then one atomic publish, so a reply
// sent after Upsert/Delete returns is seen by every later Decide on this replica. Readers
// never touch this class; they load the snapshot from core::SnapshotHolder.
// Thread-safe.

#include <atomic>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "base/clock.h"
#include "core/snapshot.h"
#include "obs/metrics/router_metrics.h"
#include "policy/compiled_policy.h"
#include "store/policy_store.h"

namespace router::service {

// One fixture file's content, before validation.
struct FixtureSource {
  std::string file;  // shown in errors: "<file>: <path>: <text>"
  std::string tenant_id;
  std::string policy_id;
  std::string json;
};

// Reads <dir>/<tenant>/<policy_id>.json files, sorted by (tenant, policy_id). Errors name the
// directory or file.
absl::StatusOr<std::vector<FixtureSource>> ReadFixturesDir(const std::string& dir);

// The example policies built into the binary (fixtures/ in the repository), used when
// policy_store.fixtures_dir is empty.
std::vector<FixtureSource> BuiltinFixtures();

class PolicyRegistry {
 public:
  // References must outlive the registry. `metrics` may be null (no reload metrics); `clock`
  // null = the system clock (reload durations and timestamps).
  PolicyRegistry(store::PolicyStore& store, core::SnapshotHolder& snapshots,
                 obs::RouterMetrics* metrics = nullptr, const Clock* clock = nullptr);

  // What caused a snapshot publication (router_policy_store_reloads_total{trigger}).
  enum class Trigger { kStartup, kAdmin, kExternal };

  // First start only (store meta fixtures_loaded unset): validates every fixture (an invalid
  // one fails with INVALID_ARGUMENT "<file>: <path>: <text>" and nothing is inserted), then
  // inserts them in one transaction. Returns how many were inserted.
  absl::StatusOr<int64_t> LoadFixtures(const std::vector<FixtureSource>& fixtures);

  // Compiles every live row and publishes a fresh snapshot. A row that fails validation is
  // skipped and reported in the returned list ("tenant/policy: message") and counted.
  absl::StatusOr<std::vector<std::string>> ReloadAll(Trigger trigger = Trigger::kStartup);

  // Commits `request` and publishes `compiled` stamped with the committed version.
  absl::StatusOr<store::UpsertResult> Upsert(store::UpsertRequest request,
                                             const policy::CompiledPolicyPtr& compiled);
  // Deletes the key in the store and removes it from the snapshot.
  absl::Status Delete(store::DeleteRequest request);

  uint64_t load_errors() const { return load_errors_.load(std::memory_order_relaxed); }

 private:
  // Publishes `next` and records the reload metrics.
  void PublishLocked(core::SnapshotPtr next, Trigger trigger, MonoTime started)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(write_mu_);
  void CountReload(Trigger trigger, bool ok, MonoTime started);

  store::PolicyStore& store_;
  core::SnapshotHolder& snapshots_;
  obs::RouterMetrics* const metrics_;
  const Clock& clock_;
  absl::Mutex write_mu_;  // serializes commit + publish
  std::atomic<uint64_t> load_errors_{0};
};

}  // namespace router::service
