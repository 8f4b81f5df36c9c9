#pragma once
// Exports the idempotency and correlation stores through the metrics registry (observability.md
// §2.5: router_idempotency_hits_total / _conflicts_total{transport}, router_idempotency_entries,
// router_idempotency_evictions_total{reason}, router_correlation_entries,
// router_correlation_evictions_total{reason}, router_correlation_misses_total{source}). Every
// series is a scrape-time callback reading the stores' own counters, so the stores stay free
// of metrics code. Families not exported by the catalogue are skipped.
// Call once at startup; the stores must outlive `metrics`' last scrape. Thread-safe thereafter.

#include "obs/metrics/router_metrics.h"
#include "service/correlation_store.h"
#include "service/idempotency_store.h"

namespace router::app {

void WireStoreMetrics(obs::RouterMetrics& metrics, const service::IdempotencyStore& idempotency,
                      const service::CorrelationStore& correlation);

}  // namespace router::app
