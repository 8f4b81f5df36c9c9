#include "obs/metrics/router_metrics.h"

#include <string>
#include <utility>

#include "base/errors.h"
#include "base/status_macros.h"
#include "obs/metrics/catalogue.h"

namespace router::obs {
namespace {

constexpr std::string_view kProcessPrefix = "process_";

template <class F>
absl::StatusOr<F*> Need(const Registry& registry, std::string_view name) {
  Family* family = registry.Find(name);
  F* typed = dynamic_cast<F*>(family);
  if (typed == nullptr) {
    return absl::InternalError(AbslView("metrics catalogue lacks " + std::string(name)));
  }
  return typed;
}

}  // namespace

std::string BuildInfo::DefaultBuildType() {
#ifdef NDEBUG
  return "release";
#else
  return "debug";
#endif
}

std::string BuildInfo::DefaultCompiler() {
#if defined(__clang__)
  return "clang " __clang_version__;
#elif defined(__GNUC__)
  return "gcc " __VERSION__;
#else
  return "unknown";
#endif
}

absl::StatusOr<std::unique_ptr<RouterMetrics>> RouterMetrics::Create(MetricsOptions options) {
  auto m = std::make_unique<RouterMetrics>(CreateKey());
  RegistryOptions registry_options;
  registry_options.tenant_labels = options.tenant_labels;
  registry_options.max_tenant_label_values = options.max_tenant_label_values;
  registry_options.tenant_label_allowlist = options.tenant_label_allowlist;
  registry_options.max_series_per_metric = options.max_series_per_metric;
  registry_options.on_cardinality_overflow = std::move(options.on_cardinality_overflow);
  registry_options.clock = options.clock;
  m->registry = std::make_unique<Registry>(std::move(registry_options));
  Registry& r = *m->registry;

  for (const MetricDef& def : Catalogue()) {
    if (!def.exported) continue;  // OBS O4: a later milestone's family stays unregistered
    if (!options.process_metrics && def.name.starts_with(kProcessPrefix)) continue;
    ROUTER_RETURN_IF_ERROR(r.Add(def).status());
  }

  ROUTER_ASSIGN_OR_RETURN(m->metrics_series, Need<GaugeFamily>(r, "router_metrics_series"));
  ROUTER_ASSIGN_OR_RETURN(m->metrics_series_overflow,
                          Need<CounterFamily>(r, "router_metrics_series_overflow_total"));
  ROUTER_ASSIGN_OR_RETURN(m->metrics_scrape_duration,
                          Need<HistogramFamily>(r, "router_metrics_scrape_duration_seconds"));
  r.SetSelfMetrics({m->metrics_series_overflow, m->metrics_series, m->metrics_scrape_duration});

  ROUTER_ASSIGN_OR_RETURN(m->decide_requests,
                          Need<CounterFamily>(r, "router_decide_requests_total"));
  ROUTER_ASSIGN_OR_RETURN(m->decide_duration,
                          Need<HistogramFamily>(r, "router_decide_duration_seconds"));
  ROUTER_ASSIGN_OR_RETURN(m->decide_inflight, Need<GaugeFamily>(r, "router_decide_inflight"));
  ROUTER_ASSIGN_OR_RETURN(m->decisions, Need<CounterFamily>(r, "router_decisions_total"));
  ROUTER_ASSIGN_OR_RETURN(m->provider_selections,
                          Need<CounterFamily>(r, "router_provider_selections_total"));
  ROUTER_ASSIGN_OR_RETURN(m->sticky_hits, Need<CounterFamily>(r, "router_sticky_hits_total"));
  ROUTER_ASSIGN_OR_RETURN(m->sticky_misses, Need<CounterFamily>(r, "router_sticky_miss_total"));
  ROUTER_ASSIGN_OR_RETURN(m->sticky_repins, Need<CounterFamily>(r, "router_sticky_repins_total"));
  ROUTER_ASSIGN_OR_RETURN(m->sticky_entries, Need<GaugeFamily>(r, "router_sticky_entries"));
  ROUTER_ASSIGN_OR_RETURN(m->sticky_evictions,
                          Need<CounterFamily>(r, "router_sticky_evictions_total"));
  ROUTER_ASSIGN_OR_RETURN(m->grpc_requests, Need<CounterFamily>(r, "router_grpc_requests_total"));
  ROUTER_ASSIGN_OR_RETURN(m->admin_request_duration,
                          Need<HistogramFamily>(r, "router_admin_request_duration_seconds"));
  ROUTER_ASSIGN_OR_RETURN(m->admin_auth_failures,
                          Need<CounterFamily>(r, "router_admin_auth_failures_total"));
  ROUTER_ASSIGN_OR_RETURN(m->http_requests, Need<CounterFamily>(r, "router_http_requests_total"));
  ROUTER_ASSIGN_OR_RETURN(m->ready, Need<GaugeFamily>(r, "router_ready"));
  ROUTER_ASSIGN_OR_RETURN(m->ready_check, Need<GaugeFamily>(r, "router_ready_check"));
  ROUTER_ASSIGN_OR_RETURN(m->config_reloads, Need<CounterFamily>(r, "router_config_reloads_total"));
  ROUTER_ASSIGN_OR_RETURN(m->policy_store_policies,
                          Need<GaugeFamily>(r, "router_policy_store_policies"));
  ROUTER_ASSIGN_OR_RETURN(m->policy_store_tenants,
                          Need<GaugeFamily>(r, "router_policy_store_tenants"));
  ROUTER_ASSIGN_OR_RETURN(m->policy_store_version,
                          Need<GaugeFamily>(r, "router_policy_store_version"));
  ROUTER_ASSIGN_OR_RETURN(m->policy_store_reloads,
                          Need<CounterFamily>(r, "router_policy_store_reloads_total"));
  ROUTER_ASSIGN_OR_RETURN(m->policy_store_reload_duration,
                          Need<HistogramFamily>(r, "router_policy_store_reload_duration_seconds"));
  ROUTER_ASSIGN_OR_RETURN(
      m->policy_store_last_reload_timestamp,
      Need<GaugeFamily>(r, "router_policy_store_last_reload_timestamp_seconds"));
  ROUTER_ASSIGN_OR_RETURN(m->policy_store_db_bytes,
                          Need<GaugeFamily>(r, "router_policy_store_db_bytes"));
  ROUTER_ASSIGN_OR_RETURN(m->policy_store_errors,
                          Need<CounterFamily>(r, "router_policy_store_errors_total"));
  ROUTER_ASSIGN_OR_RETURN(m->policy_load_errors,
                          Need<CounterFamily>(r, "router_policy_load_errors_total"));
  ROUTER_ASSIGN_OR_RETURN(m->log_records, Need<CounterFamily>(r, "router_log_records_total"));
  ROUTER_ASSIGN_OR_RETURN(m->log_suppressed, Need<CounterFamily>(r, "router_log_suppressed_total"));
  ROUTER_ASSIGN_OR_RETURN(m->log_dropped, Need<CounterFamily>(r, "router_log_dropped_total"));
  ROUTER_ASSIGN_OR_RETURN(m->tracing_spans_exported,
                          Need<CounterFamily>(r, "router_tracing_spans_exported_total"));
  ROUTER_ASSIGN_OR_RETURN(m->tracing_spans_dropped,
                          Need<CounterFamily>(r, "router_tracing_spans_dropped_total"));
  ROUTER_ASSIGN_OR_RETURN(m->tracing_export_duration,
                          Need<HistogramFamily>(r, "router_tracing_export_duration_seconds"));
  ROUTER_ASSIGN_OR_RETURN(m->tracing_queue_spans,
                          Need<GaugeFamily>(r, "router_tracing_queue_spans"));
  ROUTER_ASSIGN_OR_RETURN(m->build_info, Need<GaugeFamily>(r, "router_build_info"));

  const BuildInfo& build = options.build_info;
  m->build_info->Get({build.version, build.revision, build.build_type, build.compiler}).Set(1);

  if (options.process_metrics) {
    RouterMetrics* self = m.get();
    r.AddCollector([self] {
      absl::StatusOr<ProcessStats> stats = ReadProcessStats();
      if (stats.ok()) self->process_stats_ = *stats;  // else keep the last good read
    });
    const std::pair<std::string_view, double ProcessStats::*> kProcess[] = {
        {"process_cpu_seconds_total", &ProcessStats::cpu_seconds},
        {"process_resident_memory_bytes", &ProcessStats::resident_memory_bytes},
        {"process_virtual_memory_bytes", &ProcessStats::virtual_memory_bytes},
        {"process_open_fds", &ProcessStats::open_fds},
        {"process_max_fds", &ProcessStats::max_fds},
        {"process_threads", &ProcessStats::threads},
        {"process_start_time_seconds", &ProcessStats::start_time_seconds},
    };
    for (const auto& [name, field] : kProcess) {
      Family* family = r.Find(name);
      if (family == nullptr) {
        return absl::InternalError(AbslView("metrics catalogue lacks " + std::string(name)));
      }
      family->SetCallback({}, [self, field = field] { return self->process_stats_.*field; });
    }
  }
  return m;
}

}  // namespace router::obs
