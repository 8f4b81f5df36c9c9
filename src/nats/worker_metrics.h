#pragma once
// WorkerMetrics: the counters of the durable consumers and the fan-out (observability.md
// router_results_*, router_acks_*, router_usage_*, router_jetstream_*, router_dlq_*,
// router_fanout_*), recorded into the RouterMetrics registry when one is set (families looked up
// by catalogue name; a family not exported is skipped) and kept as local totals keyed by
// name + label values, which tests and logs read. Off the decide hot path (one mutex).
// Thread-safe.

#include <cstdint>
#include <initializer_list>
#include <map>
#include <string>
#include <string_view>

#include "absl/synchronization/mutex.h"

namespace router::obs {
struct RouterMetrics;
}

namespace router::nats_adapter {

class WorkerMetrics {
 public:
  // REQUIRES: called before any recording thread starts; `metrics` outlives this (null = none).
  void SetRegistry(obs::RouterMetrics* metrics) { metrics_ = metrics; }

  void Inc(std::string_view name, std::initializer_list<std::string_view> labels = {});
  void SetGauge(std::string_view name, std::initializer_list<std::string_view> labels,
                double value);
  // Histogram observation (registry only; skipped when the family is not exported).
  void Observe(std::string_view name, std::initializer_list<std::string_view> labels, double value);
  // Local total of a counter series (0 when never incremented).
  uint64_t Get(std::string_view name, std::initializer_list<std::string_view> labels = {}) const;

 private:
  static std::string Key(std::string_view name, std::initializer_list<std::string_view> labels);

  obs::RouterMetrics* metrics_ = nullptr;
  mutable absl::Mutex mu_;
  std::map<std::string, uint64_t, std::less<>> totals_ ABSL_GUARDED_BY(mu_);
};

}  // namespace router::nats_adapter
