#include "app/observability_setup.h"

#include <sys/stat.h>

#include "app/version.h"

namespace router::app {
namespace {

obs::TenantLabelMode ToMode(config::TenantLabels t) {
  switch (t) {
    case config::TenantLabels::kAllowlist:
      return obs::TenantLabelMode::kAllowlist;
    case config::TenantLabels::kOff:
      return obs::TenantLabelMode::kOff;
    case config::TenantLabels::kCapped:
      break;
  }
  return obs::TenantLabelMode::kCapped;
}

}  // namespace

obs::LogLevel ToLogLevel(config::LogLevel level) {
  switch (level) {
    case config::LogLevel::kError:
      return obs::LogLevel::kError;
    case config::LogLevel::kWarn:
      return obs::LogLevel::kWarn;
    case config::LogLevel::kDebug:
      return obs::LogLevel::kDebug;
    case config::LogLevel::kInfo:
      break;
  }
  return obs::LogLevel::kInfo;
}

absl::StatusOr<std::unique_ptr<obs::Logger>> CreateLogger(const config::Config& config) {
  const auto& l = config.log;
  obs::LoggerOptions options;
  options.level = ToLogLevel(l.level);
  options.output = l.output == config::LogOutput::kFile     ? obs::LogOutput::kFile
                   : l.output == config::LogOutput::kStderr ? obs::LogOutput::kStderr
                                                            : obs::LogOutput::kStdout;
  options.file = l.file;
  options.queue_capacity = static_cast<size_t>(l.queue_capacity);
  options.max_record_bytes = static_cast<size_t>(l.max_record_bytes);
  options.rate_limit_burst = static_cast<uint32_t>(l.rate_limit_burst);
  options.rate_limit_interval_ms = l.rate_limit_interval_ms;
  options.redact_keys = l.redact_keys;
  options.node_id = config.node_id;
  if (!config.nats.auth.password.empty())
    options.known_secrets.push_back(config.nats.auth.password);
  if (!config.nats.auth.token.empty()) options.known_secrets.push_back(config.nats.auth.token);
  for (const auto& [name, value] : config.tracing.otlp_headers) {
    if (!value.empty()) options.known_secrets.push_back(value);
  }
  return obs::Logger::Create(std::move(options));
}

absl::StatusOr<std::unique_ptr<obs::RouterMetrics>> CreateMetrics(const config::Config& config,
                                                                  const Clock& clock) {
  obs::MetricsOptions options;
  options.tenant_labels = ToMode(config.metrics.tenant_labels);
  options.max_tenant_label_values = static_cast<size_t>(config.metrics.max_tenant_label_values);
  options.tenant_label_allowlist = config.metrics.tenant_label_allowlist;
  options.max_series_per_metric = static_cast<size_t>(config.metrics.max_series_per_metric);
  options.process_metrics = config.metrics.process_metrics;
  options.build_info.version = kVersion;
  options.clock = &clock;
  return obs::RouterMetrics::Create(std::move(options));
}

absl::StatusOr<std::unique_ptr<obs::Tracer>> CreateTracer(const config::Config& config,
                                                          const Clock& clock,
                                                          obs::RouterMetrics& metrics) {
  const auto& t = config.tracing;
  obs::TracingOptions options;
  options.otlp_endpoint = t.otlp_endpoint;
  options.otlp_headers = t.otlp_headers;
  options.otlp_timeout_ms = t.otlp_timeout_ms;
  options.otlp_gzip = t.otlp_compression == config::OtlpCompression::kGzip;
  options.sample_ratio = t.sample_ratio;
  options.parent_based = t.parent_based;
  options.internal_spans = t.internal_spans;
  options.batch_max_spans = t.batch_max_spans;
  options.batch_interval_ms = t.batch_interval_ms;
  options.queue_max_spans = t.queue_max_spans;
  options.service_name = t.service_name;
  options.resource_attributes = t.resource_attributes;
  options.service_version = kVersion;
  options.service_instance_id = config.node_id;
  obs::TracerHooks hooks;
  hooks.export_duration = [&metrics](double seconds) {
    metrics.tracing_export_duration->Get().Observe(seconds);
  };
  return obs::Tracer::Create(std::move(options), clock, std::move(hooks));
}

void WireCallbacks(obs::RouterMetrics& metrics, const core::StickyTable& sticky,
                   const core::SnapshotHolder& snapshots, const obs::Tracer& tracer,
                   const service::Readiness& readiness, const std::string& sqlite_path) {
  // Sticky table (POL §5 metrics).
  metrics.sticky_entries->SetCallback({}, [&sticky] { return static_cast<double>(sticky.Size()); });
  metrics.sticky_evictions->SetCallback({"expired"}, [&sticky] {
    return static_cast<double>(sticky.counters().evictions_expired.load(std::memory_order_relaxed));
  });
  metrics.sticky_evictions->SetCallback({"capacity"}, [&sticky] {
    return static_cast<double>(
        sticky.counters().evictions_capacity.load(std::memory_order_relaxed));
  });

  // Policy store: size and version of the live snapshot; database size.
  metrics.policy_store_policies->SetCallback(
      {}, [&snapshots] { return static_cast<double>(snapshots.Load()->size()); });
  metrics.policy_store_tenants->SetCallback(
      {}, [&snapshots] { return static_cast<double>(snapshots.Load()->Tenants().size()); });
  metrics.policy_store_version->SetCallback(
      {}, [&snapshots] { return static_cast<double>(snapshots.Load()->generation()); });
  metrics.policy_store_db_bytes->SetCallback({}, [sqlite_path] {
    double total = 0;
    for (const char* suffix : {"", "-wal"}) {
      struct stat st {};
      if (::stat((sqlite_path + suffix).c_str(), &st) == 0)
        total += static_cast<double>(st.st_size);
    }
    return total;
  });

  // Tracer counters.
  metrics.tracing_spans_exported->SetCallback(
      {}, [&tracer] { return static_cast<double>(tracer.Counters().spans_exported); });
  metrics.tracing_spans_dropped->SetCallback({"queue_full"}, [&tracer] {
    return static_cast<double>(tracer.Counters().dropped_queue_full);
  });
  metrics.tracing_spans_dropped->SetCallback({"export_failed"}, [&tracer] {
    return static_cast<double>(tracer.Counters().dropped_export_failed);
  });
  metrics.tracing_spans_dropped->SetCallback(
      {"rejected"}, [&tracer] { return static_cast<double>(tracer.Counters().dropped_rejected); });
  metrics.tracing_spans_dropped->SetCallback(
      {"shutdown"}, [&tracer] { return static_cast<double>(tracer.Counters().dropped_shutdown); });
  metrics.tracing_queue_spans->SetCallback(
      {}, [&tracer] { return static_cast<double>(tracer.Counters().queue_spans); });

  // Logger counters (the installed process logger).
  const obs::LogCounters& log = obs::GlobalLogger().Counters();
  for (obs::LogLevel level :
       {obs::LogLevel::kError, obs::LogLevel::kWarn, obs::LogLevel::kInfo, obs::LogLevel::kDebug}) {
    static constexpr std::string_view kNames[] = {"error", "warn", "info", "debug"};
    const std::string_view name = kNames[static_cast<size_t>(level)];
    metrics.log_records->SetCallback(
        {name}, [&log, level] { return static_cast<double>(log.Records(level)); });
    metrics.log_suppressed->SetCallback(
        {name}, [&log, level] { return static_cast<double>(log.Suppressed(level)); });
    metrics.log_dropped->SetCallback(
        {name}, [&log, level] { return static_cast<double>(log.Dropped(level)); });
  }

  // Readiness (OBS §7.2: router_ready / router_ready_check mirror /ready).
  metrics.ready->SetCallback({}, [&readiness] { return readiness.Ready() ? 1.0 : 0.0; });
  // Checks this process does not run (e.g. the NATS ones without NATS) are not exported.
  const auto checks = readiness.Checks();
  for (std::string_view name : {"config", "store", "grpc", "nats", "decide_subscription",
                                "jetstream", "consumers", "shutdown"}) {
    bool present = false;
    for (const auto& c : checks) present = present || c.name == name;
    if (!present) metrics.ready_check->Remove({name});
  }
  for (const auto& check : checks) {
    const std::string name = check.name;
    metrics.ready_check->SetCallback({name}, [&readiness, name] {
      for (const auto& c : readiness.Checks()) {
        if (c.name == name) return c.ok ? 1.0 : 0.0;
      }
      return 0.0;
    });
  }
}

}  // namespace router::app
