#pragma once
// Builds the process's metrics registry and tracer from the configuration and connects the
// components that keep their own counters (sticky table, snapshot, tracer, readiness) to
// scrape-time callbacks, so recording never touches the registry on their hot paths.
// Called once by Application during startup, from the main thread.

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "config/config.h"
#include "core/snapshot.h"
#include "core/sticky_table.h"
#include "obs/logging/logger.h"
#include "obs/metrics/router_metrics.h"
#include "obs/tracing/tracer.h"
#include "service/readiness.h"

namespace router::app {

// The process logger from `[log]` (output, level, queue, rate limits, redaction with the
// configuration's secrets as known values).
absl::StatusOr<std::unique_ptr<obs::Logger>> CreateLogger(const config::Config& config);
obs::LogLevel ToLogLevel(config::LogLevel level);

absl::StatusOr<std::unique_ptr<obs::RouterMetrics>> CreateMetrics(const config::Config& config,
                                                                  const Clock& clock);

// The tracer records nothing without tracing.otlp_endpoint; ids still propagate.
absl::StatusOr<std::unique_ptr<obs::Tracer>> CreateTracer(const config::Config& config,
                                                          const Clock& clock,
                                                          obs::RouterMetrics& metrics);

// Scrape-time gauges and counters over state owned elsewhere. Every referenced object must
// outlive `metrics`' last scrape (Application destroys the HTTP server first).
void WireCallbacks(obs::RouterMetrics& metrics, const core::StickyTable& sticky,
                   const core::SnapshotHolder& snapshots, const obs::Tracer& tracer,
                   const service::Readiness& readiness, const std::string& sqlite_path);

}  // namespace router::app
