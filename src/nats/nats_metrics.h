#pragma once
// ExportNatsStats: makes the transport's relaxed-atomic counters (nats_stats.h) and the
// connection state scrape-time series of the RouterMetrics registry (observability.md §2.5,
// nats-contracts.md §4, §6.1, §8): router_intake_validation_errors_total{source="decide",code},
// router_intake_trace_id_nonconforming_total{source="decide"}, ctx_missing_headers_total,
// router_intake_dlq_dropped_total, router_nats_reply_failures_total{reason},
// router_assignment_skipped_total, router_assignment_blocked_total,
// router_nats_connection_status, router_nats_connection_established_total,
// router_nats_connection_lost_total, router_nats_reconnect_attempts_total,
// router_nats_connect_failures_total{reason}, router_nats_slow_consumer_total{subscription},
// router_jetstream_stream_ensure_total{stream,result}, router_jetstream_stream_config_drift.
// A family the catalogue does not export is skipped. The series of other sources of the same
// families (results / acks intake errors) stay stored cells recorded elsewhere.
//
// Thread-safety: call once, before scraping starts (Application wiring); `stats` and
// `connection` must outlive `metrics`' last scrape. The callbacks only load atomics.

#include "nats/connection.h"
#include "nats/nats_stats.h"

namespace router::obs {
struct RouterMetrics;
}

namespace router::nats_adapter {

// `connection` null = router_nats_connection_status stays 0.
void ExportNatsStats(obs::RouterMetrics& metrics, const NatsStats& stats,
                     const NatsConnection* connection);

}  // namespace router::nats_adapter
