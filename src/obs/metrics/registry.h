#pragma once
// Registry: the process's metric families and their text exposition (observability.md §2.1,
// §2.2, §3). Generic over MetricDef; RouterMetrics (router_metrics.h) fills it from the catalogue.
//
// Render() produces Prometheus text format 0.0.4: families sorted by name, each with one HELP and
// one TYPE line, series sorted by label values, no timestamps, trailing newline. Scrapes are
// serialized by a scrape mutex; rendering reads atomics and never blocks recorders. Scrape-time
// collectors (process metrics) run first, on the scrape thread.
//
// Thread-safety: thread-safe. Families are added at startup and live as long as the registry;
// the Family pointers it returns stay valid until the registry is destroyed.

#include <cstddef>
#include <functional>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "base/clock.h"
#include "obs/metrics/family.h"
#include "obs/metrics/label_policy.h"
#include "obs/metrics/metric_def.h"

namespace router::obs {

struct RegistryOptions {
  // configuration.md [metrics]
  TenantLabelMode tenant_labels = TenantLabelMode::kCapped;
  size_t max_tenant_label_values = 200;
  std::vector<std::string> tenant_label_allowlist;
  size_t max_series_per_metric = 5000;
  // First overflow of a family, then at most once per hour per family (the caller logs
  // `metrics.cardinality_overflow` at WARN, OBS §2.2 rule 4). Runs without registry locks held,
  // on a recording thread (when a redirect is first resolved) or on the scrape thread.
  std::function<void(std::string_view metric)> on_cardinality_overflow;
  // Time source for the hourly limit and the scrape duration; null = the system clock. Must
  // outlive the registry.
  const Clock* clock = nullptr;
  // Copies per striped series (enum-only counters and histograms); 0 = from the CPU count
  // (power of two, at most 8).
  uint32_t stripes = 0;
};

// The registry's own families (REG emitter, OBS §2.5), wired by SetSelfMetrics.
struct SelfMetrics {
  CounterFamily* series_overflow = nullptr;    // router_metrics_series_overflow_total{metric}
  GaugeFamily* series = nullptr;               // router_metrics_series{metric}
  HistogramFamily* scrape_duration = nullptr;  // router_metrics_scrape_duration_seconds
};

class Registry {
 public:
  explicit Registry(RegistryOptions options = {});
  ~Registry();
  Registry(const Registry&) = delete;
  Registry& operator=(const Registry&) = delete;

  // Adds a family. INVALID_ARGUMENT when the def breaks ValidateMetricDef, its type does not
  // match the call, or it would need more than 65536 dense slots; ALREADY_EXISTS when the name
  // is taken. Dense families are pre-initialised here.
  absl::StatusOr<CounterFamily*> AddCounter(const MetricDef& def);
  absl::StatusOr<GaugeFamily*> AddGauge(const MetricDef& def);
  absl::StatusOr<HistogramFamily*> AddHistogram(const MetricDef& def);
  // By def.type.
  absl::StatusOr<Family*> Add(const MetricDef& def);

  // nullptr when absent or of another type.
  Family* Find(std::string_view name) const;
  CounterFamily* FindCounter(std::string_view name) const;
  GaugeFamily* FindGauge(std::string_view name) const;
  HistogramFamily* FindHistogram(std::string_view name) const;
  std::vector<std::string> FamilyNames() const;  // sorted

  // Wires the registry's own families: one overflow counter series at 0 per family with open
  // labels, one router_metrics_series callback per family, and the scrape-duration histogram.
  // Families added later are wired too. Call once, before recording starts.
  void SetSelfMetrics(const SelfMetrics& self);

  // Runs at the start of every Render(), on the scrape thread, under the scrape mutex.
  void AddCollector(std::function<void()> collector);

  // Removes every series whose labels equal all `matches`, in every family having all those
  // labels (e.g. {{"tenant_id", "t1"}} when the tenant's last policy is deleted). Returns how many.
  size_t RemoveMatching(std::span<const LabelMatch> matches);
  size_t RemoveMatching(std::initializer_list<LabelMatch> matches) {
    return RemoveMatching(std::span<const LabelMatch>(matches.begin(), matches.size()));
  }

  // Renders the exposition into `out` (cleared first; its capacity is reused). Serialized with
  // other scrapes; observes router_metrics_scrape_duration_seconds afterwards.
  void Render(std::string& out);
  std::string Render();

  TenantBudget& tenant_budget() { return budget_; }

 private:
  template <class F>
  absl::StatusOr<F*> AddTyped(const MetricDef& def, MetricType type);
  void WireLocked(Family& family) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const RegistryOptions options_;
  TenantBudget budget_;
  detail::RegistryShared shared_;

  mutable absl::Mutex mu_;
  std::map<std::string, std::unique_ptr<Family>, std::less<>> families_ ABSL_GUARDED_BY(mu_);
  std::vector<std::function<void()>> collectors_ ABSL_GUARDED_BY(mu_);
  SelfMetrics self_ ABSL_GUARDED_BY(mu_);
  Histogram scrape_duration_ ABSL_GUARDED_BY(mu_);

  absl::Mutex scrape_mu_ ABSL_ACQUIRED_BEFORE(mu_);
  std::vector<Family*> scrape_families_ ABSL_GUARDED_BY(scrape_mu_);
};

}  // namespace router::obs
