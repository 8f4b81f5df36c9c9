#pragma once
// BreakerRegistry: the live circuit breakers, one per (tenant, provider) (POL §6), and the
// decide-path core::ProviderHealth seam (POL §3.2 S1).
//
// Identity and configuration: a breaker is created lazily by the first outcome for a pair that
// has an effective configuration (Snapshot::EffectiveBreakerConfig of the current snapshot) or
// by an admin reset of such a pair. View() never creates one (a pair without a breaker is
// closed), so DryRun and decisions leave no trace. Effective configurations are re-read when the
// snapshot generation changes (at the next outcome or sweep); a breaker whose pair lost its
// effective configuration is removed by the sweep.
//
// Sweep() (called at least once a second by the app) moves due open breakers to half-open
// (cause sweep), expires probe slots, refreshes the gauges through the listener and evicts
// closed breakers idle for an hour. At max_entries, a new pair evicts the shard's least recently
// used closed breaker.
//
// Observability: the registry records nothing itself (core does no I/O); it reports every
// transition, event and gauge refresh to a BreakerListener (service::BreakerMetrics).
//
// Thread-safety: thread-safe. Breakers live in power-of-two shards, each behind a reader/writer
// mutex: the decide path takes one shard reader lock (no global lock) and, for a closed
// breaker, one atomic load; half-open / open breakers take their own mutex.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "base/clock.h"
#include "core/circuit_breaker.h"
#include "core/outcome_classification.h"
#include "core/provider_health.h"
#include "core/provider_stats.h"
#include "core/snapshot.h"

namespace router::core {

// Receives what the breakers did. Called outside registry locks except where noted; must be
// thread-safe and must not call back into the registry.
class BreakerListener {
 public:
  virtual ~BreakerListener() = default;
  // A breaker came into existence (closed) / was removed (evicted, configuration gone).
  virtual void OnCreated(std::string_view tenant, std::string_view provider) = 0;
  virtual void OnRemoved(std::string_view tenant, std::string_view provider) = 0;
  // Every state change; `wall_ms` is the change time.
  virtual void OnTransition(std::string_view tenant, std::string_view provider,
                            const BreakerTransition& transition, int64_t wall_ms) = 0;
  // Event `event_type` (observability.md: success, failure, ignored, unclassified, fail_fast,
  // probe_admitted, probe_expired), `count` times.
  virtual void OnEvent(std::string_view tenant, std::string_view provider,
                       std::string_view event_type, int count) = 0;
  virtual void OnManual(std::string_view tenant, std::string_view provider,
                        BreakerTarget target) = 0;
  // Periodic gauge refresh (sweep) and after each outcome.
  virtual void OnGauges(std::string_view tenant, std::string_view provider,
                        const BreakerSnapshot& snapshot) = 0;
  // Breakers per state, after each sweep.
  virtual void OnStateCounts(int64_t closed, int64_t open, int64_t half_open) = 0;
};

struct BreakerRegistryOptions {
  size_t max_entries = 100'000;  // configuration.md [circuit_breaker] max_entries
  size_t shards = 64;            // power of two
  std::chrono::seconds idle_evict{3600};
};

// One listed breaker (GetCircuitBreakerStates).
struct BreakerEntry {
  std::string tenant;
  std::string provider;
  BreakerSnapshot snapshot;
};

class BreakerRegistry final : public ProviderHealth {
 public:
  // `clock` and `snapshots` must outlive the registry.
  BreakerRegistry(const Clock& clock, const SnapshotHolder& snapshots,
                  BreakerRegistryOptions options = {});
  ~BreakerRegistry() override;

  // Call before first use; `listener` must outlive the registry (nullptr = none).
  void SetListener(BreakerListener* listener) { listener_ = listener; }

  // ProviderHealth (decide path). View counts a fail_fast event when the breaker is open.
  BreakerView View(std::string_view tenant, std::string_view provider,
                   const policy::BreakerConfig& config) override;
  bool TryAcquireProbe(std::string_view tenant, std::string_view provider) override;
  void ReleaseProbe(std::string_view tenant, std::string_view provider) override;

  // Applies a classified outcome; creates the breaker if the pair has an effective
  // configuration. nullopt when the pair has no breaker (circuit_state "").
  std::optional<BreakerState> Record(std::string_view tenant, std::string_view provider,
                                     BreakerInput input, int64_t latency_ms);

  // The tenant's breakers (effective state at read time), sorted by provider; `provider`
  // non-empty filters to that pair (0 or 1 entries).
  std::vector<BreakerEntry> List(std::string_view tenant, std::string_view provider);

  // Admin reset / force (POL §6). NOT_FOUND `no circuit breaker for provider "<p>" of tenant
  // "<t>"` when the pair has neither a breaker nor an effective configuration.
  absl::StatusOr<BreakerSnapshot> Reset(std::string_view tenant, std::string_view provider,
                                        BreakerTarget target);

  // Periodic work (see the file comment). Safe to call from any thread.
  void Sweep();

  size_t size() const { return count_.load(std::memory_order_relaxed); }

 private:
  using Map = absl::flat_hash_map<PairKey, std::shared_ptr<CircuitBreaker>, PairHash, PairEq>;
  struct Shard {
    mutable absl::Mutex mu;
    Map breakers ABSL_GUARDED_BY(mu);
  };
  Shard& ShardOf(std::string_view tenant, std::string_view provider) const;
  std::shared_ptr<CircuitBreaker> Find(std::string_view tenant, std::string_view provider) const;
  // The breaker of the pair, created from the effective configuration when absent; nullptr when
  // the pair has no effective configuration.
  std::shared_ptr<CircuitBreaker> FindOrCreate(std::string_view tenant, std::string_view provider);
  // Re-reads effective configurations if the snapshot generation moved.
  void RefreshConfigs(bool remove_unconfigured);
  void Report(std::string_view tenant, std::string_view provider, const BreakerEffects& effects);

  const Clock& clock_;
  const SnapshotHolder& snapshots_;
  const BreakerRegistryOptions options_;
  const size_t per_shard_cap_;
  std::unique_ptr<Shard[]> shards_;
  std::atomic<size_t> count_{0};
  BreakerListener* listener_ = nullptr;

  absl::Mutex refresh_mu_;
  std::atomic<uint64_t> config_generation_{0};
};

}  // namespace router::core
