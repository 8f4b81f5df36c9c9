#pragma once
// Snapshot: the immutable set of compiled policies that readers load once per decision, plus the
// derived effective breaker configurations (POL §10 "Snapshots", §6 identity and configuration).
//
// Snapshot is immutable once built, so any number of threads may read it; lookups take
// std::string_view keys and never allocate. SnapshotBuilder builds the next snapshot
// copy-on-write from the previous one: tenants that are not touched share their (immutable)
// per-tenant tables with the previous snapshot. SnapshotHolder publishes a snapshot with one
// atomic pointer swap; Load() never allocates, and an old snapshot is freed when its last reader
// drops it (shared_ptr refcount).
//
// Thread-safety: Snapshot immutable; SnapshotHolder thread-safe; SnapshotBuilder
// thread-compatible (one writer builds at a time; the store serializes writes).

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "policy/compiled_policy.h"

namespace router::core {

class Snapshot {
 public:
  Snapshot() = default;  // empty, generation 0

  // The policy stored under (tenant, policy_id), or nullptr. The pointee lives as long as this
  // snapshot. No allocation.
  const policy::CompiledPolicyPtr* Find(std::string_view tenant, std::string_view policy_id) const;

  // The tenant's policies sorted by policy_id (byte order); empty for an unknown tenant.
  std::vector<policy::CompiledPolicyPtr> ListTenant(std::string_view tenant) const;
  size_t TenantPolicyCount(std::string_view tenant) const;
  // Every tenant with at least one policy, sorted.
  std::vector<std::string> Tenants() const;

  // Effective breaker configuration of (tenant, provider) (POL §6): the `circuit_breaker` of the
  // lowest policy_id among the tenant's policies that enable it and name the provider (as a
  // provider or a fallback target); nullptr when none. Valid as long as this snapshot.
  const policy::BreakerConfig* EffectiveBreakerConfig(std::string_view tenant,
                                                      std::string_view provider) const;

  size_t size() const { return size_; }                // number of policies
  uint64_t generation() const { return generation_; }  // +1 per built snapshot

 private:
  friend class SnapshotBuilder;
  struct TenantTable {
    std::map<std::string, policy::CompiledPolicyPtr, std::less<>> policies;   // by policy_id
    absl::flat_hash_map<std::string, const policy::BreakerConfig*> breakers;  // by provider
  };
  const TenantTable* FindTenant(std::string_view tenant) const;

  absl::flat_hash_map<std::string, std::shared_ptr<const TenantTable>> tenants_;
  size_t size_ = 0;
  uint64_t generation_ = 0;
};

using SnapshotPtr = std::shared_ptr<const Snapshot>;

// Builds the next snapshot from `base` (nullptr = empty) with keys upserted or removed.
class SnapshotBuilder {
 public:
  explicit SnapshotBuilder(SnapshotPtr base = nullptr);

  // Inserts or replaces the policy under (policy->tenant_id, policy->policy_id).
  // REQUIRES: policy is non-null.
  void Upsert(policy::CompiledPolicyPtr policy);
  // Removes (tenant, policy_id); false if it was absent.
  bool Remove(std::string_view tenant, std::string_view policy_id);

  // The new snapshot (generation = base generation + 1). The builder is spent afterwards.
  SnapshotPtr Build();

 private:
  Snapshot::TenantTable& MutableTenant(std::string_view tenant);

  SnapshotPtr base_;
  absl::flat_hash_map<std::string, std::shared_ptr<Snapshot::TenantTable>> touched_;
};

// One-key copy-on-write helpers over SnapshotBuilder.
SnapshotPtr WithUpsert(const SnapshotPtr& base, policy::CompiledPolicyPtr policy);
SnapshotPtr WithRemoval(const SnapshotPtr& base, std::string_view tenant,
                        std::string_view policy_id);

// Holds the current snapshot. Publish() is one atomic swap (release); Load() an acquire load
// that returns a reference-counted pointer without allocating.
class SnapshotHolder {
 public:
  SnapshotHolder();  // an empty snapshot
  explicit SnapshotHolder(SnapshotPtr initial);

  SnapshotPtr Load() const { return current_.load(std::memory_order_acquire); }
  // REQUIRES: next is non-null.
  void Publish(SnapshotPtr next) { current_.store(std::move(next), std::memory_order_release); }

 private:
  std::atomic<SnapshotPtr> current_;
};

}  // namespace router::core
