#pragma once
// RouterMetrics: the router's one metrics registry (observability.md §2.1), built once at startup
// from the catalogue (catalogue.h) and MetricsOptions, with typed pointers to the families the
// current code records. The app maps config::MetricsConfig onto MetricsOptions.
//
// Only catalogue entries with `exported = true` are registered (OBS O4); process_* only with
// `process_metrics`. Wires the registry's own metrics (series per family, overflow counters,
// scrape duration), router_build_info = 1, and the /proc/self collector.
//
// Recording (hot path, OBS O1):
//   metrics.decide_requests->Get({"grpc", "ok"}).Inc();            // enum family: lock-free
//   metrics.decisions->Get({tenant, policy, "weighted"}).Inc();   // open labels: per-thread cache
//   Histogram h = metrics.decide_duration->Resolve({"grpc", "ok"});  // keep; h.Observe(seconds)
// Enum-only families are pre-initialised at 0. Label values outside their set are bugs
// (label_values.h). Per-tenant series of a tenant that disappears are removed with
// metrics.registry->RemoveMatching({{"tenant_id", tenant}}).
//
// Thread-safety: thread-safe; the family pointers are fixed after Create and live as long as
// this object. Render() is serialized internally.

#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "base/clock.h"
#include "obs/metrics/family.h"
#include "obs/metrics/label_policy.h"
#include "obs/metrics/process_stats.h"
#include "obs/metrics/registry.h"

namespace router::obs {

// router_build_info labels.
struct BuildInfo {
  std::string version = "unknown";
  std::string revision = "unknown";
  std::string build_type = DefaultBuildType();
  std::string compiler = DefaultCompiler();

  static std::string DefaultBuildType();  // "release" with NDEBUG, else "debug"
  static std::string DefaultCompiler();   // e.g. "gcc 12.2.0"
};

// configuration.md [metrics] (minus `enabled`, which only gates /metrics) plus wiring.
struct MetricsOptions {
  TenantLabelMode tenant_labels = TenantLabelMode::kCapped;
  size_t max_tenant_label_values = 200;
  std::vector<std::string> tenant_label_allowlist;
  size_t max_series_per_metric = 5000;
  bool process_metrics = true;
  BuildInfo build_info;
  // Log `metrics.cardinality_overflow` at WARN (first overflow of a family, then hourly).
  std::function<void(std::string_view metric)> on_cardinality_overflow;
  const Clock* clock = nullptr;  // null = system clock; must outlive the RouterMetrics
};

struct RouterMetrics {
 private:
  struct CreateKey {
    explicit CreateKey() = default;
  };

 public:
  // INVALID_ARGUMENT / INTERNAL only when the catalogue itself is broken (a bug; tested).
  static absl::StatusOr<std::unique_ptr<RouterMetrics>> Create(MetricsOptions options);

  explicit RouterMetrics(CreateKey) {}
  RouterMetrics(const RouterMetrics&) = delete;
  RouterMetrics& operator=(const RouterMetrics&) = delete;

  // Text exposition format 0.0.4 into `out` (capacity reused); updates the scrape histogram.
  void Render(std::string& out) { registry->Render(out); }
  std::string Render() { return registry->Render(); }

  std::unique_ptr<Registry> registry;

  // Decide (GRPC, NATSD)
  CounterFamily* decide_requests = nullptr;    // router_decide_requests_total{transport,outcome}
  HistogramFamily* decide_duration = nullptr;  // router_decide_duration_seconds{transport,outcome}
  GaugeFamily* decide_inflight = nullptr;      // router_decide_inflight{transport}
  // Decision core (ENG)
  CounterFamily* decisions = nullptr;  // router_decisions_total{tenant_id,policy_id,reason}
  CounterFamily* provider_selections = nullptr;  // router_provider_selections_total{tenant_id,
                                                 //   provider_id,reason}
  CounterFamily* sticky_hits = nullptr;          // router_sticky_hits_total{tenant_id}
  CounterFamily* sticky_misses = nullptr;        // router_sticky_miss_total{tenant_id}
  CounterFamily* sticky_repins = nullptr;        // router_sticky_repins_total{tenant_id,reason}
  GaugeFamily* sticky_entries = nullptr;         // router_sticky_entries
  CounterFamily* sticky_evictions = nullptr;     // router_sticky_evictions_total{reason}
  // gRPC, admin, HTTP, readiness, config
  CounterFamily* grpc_requests = nullptr;  // router_grpc_requests_total{service,method,code}
  HistogramFamily* admin_request_duration =
      nullptr;                                   // router_admin_request_duration_seconds{method}
  CounterFamily* admin_auth_failures = nullptr;  // router_admin_auth_failures_total{reason}
  CounterFamily* http_requests = nullptr;        // router_http_requests_total{path,code}
  GaugeFamily* ready = nullptr;                  // router_ready
  GaugeFamily* ready_check = nullptr;            // router_ready_check{check}
  CounterFamily* config_reloads = nullptr;       // router_config_reloads_total{result}
  // Policy store (STORE)
  GaugeFamily* policy_store_policies = nullptr;  // router_policy_store_policies
  GaugeFamily* policy_store_tenants = nullptr;   // router_policy_store_tenants
  GaugeFamily* policy_store_version = nullptr;   // router_policy_store_version
  CounterFamily* policy_store_reloads =
      nullptr;  // router_policy_store_reloads_total{trigger,result}
  HistogramFamily* policy_store_reload_duration =
      nullptr;  // router_policy_store_reload_duration_seconds
  GaugeFamily* policy_store_last_reload_timestamp = nullptr;  // ..._last_reload_timestamp_seconds
  GaugeFamily* policy_store_db_bytes = nullptr;               // router_policy_store_db_bytes
  CounterFamily* policy_store_errors = nullptr;  // router_policy_store_errors_total{op}
  CounterFamily* policy_load_errors = nullptr;   // router_policy_load_errors_total
  // Registry (REG)
  GaugeFamily* metrics_series = nullptr;               // router_metrics_series{metric}
  CounterFamily* metrics_series_overflow = nullptr;    // ..._series_overflow_total{metric}
  HistogramFamily* metrics_scrape_duration = nullptr;  // ..._scrape_duration_seconds
  // Logging (LOG)
  CounterFamily* log_records = nullptr;     // router_log_records_total{level}
  CounterFamily* log_suppressed = nullptr;  // router_log_suppressed_total{level}
  CounterFamily* log_dropped = nullptr;     // router_log_dropped_total{level}
  // Tracing (TRC)
  CounterFamily* tracing_spans_exported = nullptr;     // router_tracing_spans_exported_total
  CounterFamily* tracing_spans_dropped = nullptr;      // ..._spans_dropped_total{reason}
  HistogramFamily* tracing_export_duration = nullptr;  // ..._export_duration_seconds
  GaugeFamily* tracing_queue_spans = nullptr;          // router_tracing_queue_spans
  // router_build_info{version,revision,build_type,compiler} (set to 1 by Create)
  GaugeFamily* build_info = nullptr;

 private:
  // Refreshed by the collector at the start of each scrape and read by the process_* callbacks
  // in the same Render call: confined to the scrape thread (the registry serializes scrapes).
  ProcessStats process_stats_;
};

}  // namespace router::obs
