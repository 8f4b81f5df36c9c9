#pragma once
// TracingOptions, TracerCounters and TracerHooks: the tracer's inputs and outputs (OBS §6,
// configuration.md `[tracing]`). The app copies config::TracingConfig into TracingOptions (the
// tracing library does not depend on config) and maps the counters onto the metrics catalogue
// (router_tracing_spans_exported_total, router_tracing_spans_dropped_total{reason},
// router_tracing_export_duration_seconds, router_tracing_queue_spans; OBS §2.5).
// Plain values; the hooks run on the exporter thread.

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <string_view>

namespace router::obs {

struct TracingOptions {
  // `[tracing]` keys, same names and defaults as configuration.md.
  std::string otlp_endpoint;                        // "" = nothing recorded, ids still propagate
  std::map<std::string, std::string> otlp_headers;  // extra HTTP headers; values are secrets
  int64_t otlp_timeout_ms = 5000;
  bool otlp_gzip = false;  // otlp_compression = "gzip"
  double sample_ratio = 0.1;
  bool parent_based = true;
  bool internal_spans = true;
  int64_t batch_max_spans = 512;
  int64_t batch_interval_ms = 1000;
  int64_t queue_max_spans = 8192;  // export queue bound and span pool size
  std::string service_name = "beamline-router";
  std::map<std::string, std::string> resource_attributes;

  // Resource attributes from outside `[tracing]` (OBS §6.4); empty ones are omitted, except
  // host_name, which defaults to gethostname().
  std::string service_version;      // project version
  std::string service_instance_id;  // node_id
  std::string host_name;

  // Not a configuration key: first retry delay after 429/502/503/504 or a connection error,
  // doubled for the second retry; a Retry-After header replaces it; capped at 5 s (OBS §6.6).
  int64_t retry_backoff_ms = 200;
};

// Counter snapshot. Accounting identity at quiescence (after Shutdown, OBS O3):
//   spans_recorded = spans_exported + dropped_export_failed + dropped_rejected + dropped_shutdown
//                    + (queue_full drops at End, which the ring sizing makes impossible)
// A span refused a pool record at start is not in spans_recorded, only in dropped_queue_full.
// Unsampled spans are neither recorded nor dropped.
struct TracerCounters {
  int64_t spans_recorded = 0;         // started with a pool record
  int64_t spans_exported = 0;         // accepted by the collector
  int64_t dropped_queue_full = 0;     // pool empty at start or queue full at End
  int64_t dropped_export_failed = 0;  // batch failed after retries, or non-retryable status
  int64_t dropped_rejected = 0;       // partialSuccess.rejectedSpans
  int64_t dropped_shutdown = 0;       // left over when the final flush ran out of time, or ended
                                      // after Shutdown
  int64_t queue_spans = 0;            // ended spans waiting for export (gauge)
  int64_t export_requests = 0;        // HTTP attempts made (each retry counts)
  double export_seconds_sum = 0;      // total time of those attempts
};

// Optional observers, called on the exporter thread (never on a request thread).
struct TracerHooks {
  // Each OTLP HTTP attempt's duration (router_tracing_export_duration_seconds, layout `io`).
  std::function<void(double seconds)> export_duration;
  // A batch was dropped as export_failed: a short reason ("http status 500", "connection
  // refused ...") and the span count; the app logs `tracing.export_failed` (OBS §5.2).
  std::function<void(std::string_view reason, int64_t spans)> export_failed;
};

}  // namespace router::obs
