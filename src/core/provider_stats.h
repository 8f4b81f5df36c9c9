#pragma once
// ProviderStats: EWMA latency and cost per (tenant, provider) (POL §8), the live StatisticsView
// behind expected_latency_ms / expected_cost and the least_latency / lowest_cost strategies.
//
// - Latency is updated from `success` outcomes with latency_ms > 0; cost from `success`
//   outcomes that carry a cost. Each update is x <- a*sample + (1-a)*x; the first sample
//   initialises x. Latency and cost keep their own sample count and update time.
// - A value is usable when its samples >= min_samples and now - updated_at <= max_age_s.
// - At most max_records records; a record idle for idle_evict (1 h) is evicted by Sweep(); at the
//   cap, a new pair evicts the shard's least recently updated record.
//
// Thread-safety: thread-safe. Records live in power-of-two shards, each behind its own reader/
// writer mutex; Get() (decide path) takes one shard reader lock and never allocates.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "base/clock.h"
#include "core/provider_health.h"

namespace router::core {

struct StatsOptions {
  double ewma_alpha = 0.2;  // configuration.md [stats]
  int64_t min_samples = 3;
  int64_t max_age_s = 300;
  size_t max_records = 100'000;
  std::chrono::seconds idle_evict{3600};
  size_t shards = 64;  // power of two
};

// Raw EWMA read-out (GetCircuitBreakerStates observed_latency_ms / observed_cost; gauges).
struct StatsRecord {
  std::optional<double> latency_ewma_ms;  // nullopt: no sample yet
  std::optional<double> cost_ewma;
  int64_t latency_samples = 0;
  int64_t cost_samples = 0;
};

// (tenant, provider) key with heterogeneous lookup by string_views (no allocation on Get).
struct PairKey {
  std::string tenant;
  std::string provider;
};
struct PairView {
  std::string_view tenant;
  std::string_view provider;
};
struct PairHash {
  using is_transparent = void;
  size_t operator()(const PairView& v) const;
  size_t operator()(const PairKey& k) const { return (*this)(PairView{k.tenant, k.provider}); }
};
struct PairEq {
  using is_transparent = void;
  static PairView V(const PairKey& k) { return {k.tenant, k.provider}; }
  static PairView V(const PairView& v) { return v; }
  template <class A, class B>
  bool operator()(const A& a, const B& b) const {
    return V(a).tenant == V(b).tenant && V(a).provider == V(b).provider;
  }
};

class ProviderStats final : public StatisticsView {
 public:
  // `clock` must outlive this object.
  ProviderStats(const Clock& clock, StatsOptions options = {});

  // StatisticsView: the usable values now.
  ProviderStatistics Get(std::string_view tenant, std::string_view provider) const override;

  // Applies a `success` outcome: latency when latency_ms > 0, cost when `cost` has a value.
  // Returns the record after the update (nothing changes when neither is present).
  StatsRecord RecordSuccess(std::string_view tenant, std::string_view provider, int64_t latency_ms,
                            std::optional<double> cost);

  // Raw EWMAs whatever their age (nullopt when the pair has no record).
  std::optional<StatsRecord> Raw(std::string_view tenant, std::string_view provider) const;

  // Evicts records idle for options.idle_evict; calls `on_evict` for each (outside locks).
  void Sweep(const std::function<void(const PairKey&)>& on_evict = nullptr);

  size_t size() const;

 private:
  struct Record {
    double latency = 0;
    double cost = 0;
    int64_t latency_samples = 0;
    int64_t cost_samples = 0;
    MonoTime latency_at{};
    MonoTime cost_at{};
    MonoTime touched{};
  };
  struct Shard {
    mutable absl::Mutex mu;
    absl::flat_hash_map<PairKey, Record, PairHash, PairEq> records ABSL_GUARDED_BY(mu);
  };
  Shard& ShardOf(std::string_view tenant, std::string_view provider) const;
  bool Usable(int64_t samples, MonoTime at, MonoTime now) const;
  static StatsRecord ToRecord(const Record& r);

  const Clock& clock_;
  const StatsOptions options_;
  const size_t per_shard_cap_;
  std::unique_ptr<Shard[]> shards_;
  std::atomic<size_t> count_{0};
};

}  // namespace router::core
