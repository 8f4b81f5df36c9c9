#pragma once
// NatsStats: the transport's counters, kept as relaxed atomics and exported at scrape time under
// the observability.md §2.5 names noted beside each field (nats_metrics.h). Thread-safe:
// every field is an independent relaxed atomic (no ordering is implied between counters).

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>

namespace router::nats_adapter {

struct NatsStats {
  // Connection lifecycle (router_nats_connection_*; router_nats_reconnect_attempts_total).
  std::atomic<uint64_t> connections_established{0};
  std::atomic<uint64_t> connections_lost{0};
  std::atomic<uint64_t> reconnect_attempts{0};
  std::atomic<uint64_t> connect_failures{0};
  // router_nats_connect_failures_total{reason}: index = ConnectFailureReason (connection.h).
  static constexpr size_t kConnectFailureReasons = 6;
  std::array<std::atomic<uint64_t>, kConnectFailureReasons> connect_failures_by_reason{};
  std::atomic<uint64_t> slow_consumer{0};  // all subscriptions
  // router_nats_slow_consumer_total{subscription}: index = SlowConsumerSubscription
  // (connection.h: decide, fanout, status); drops on other subscriptions count in the total only.
  static constexpr size_t kSlowConsumerSubscriptions = 3;
  std::array<std::atomic<uint64_t>, kSlowConsumerSubscriptions> slow_consumer_by_subscription{};

  // Decide (S1/S2).
  std::atomic<uint64_t> decide_received{0};
  std::atomic<int64_t> decide_inflight{0};
  std::atomic<uint64_t> decide_ok{0};
  std::atomic<uint64_t> decide_errors{0};             // every error reply (intake included)
  std::atomic<uint64_t> intake_validation_errors{0};  // all codes
  // router_intake_validation_errors_total{source="decide",code}: index = IntakeCode value
  // (decide_request.h; IntakeCodeName() gives the label).
  static constexpr size_t kIntakeCodes = 7;
  std::array<std::atomic<uint64_t>, kIntakeCodes> intake_errors_by_code{};
  std::atomic<uint64_t> trace_id_nonconforming{0};  // router_intake_trace_id_nonconforming_total
  std::atomic<uint64_t> ctx_missing_headers{0};     // ctx_missing_headers_total
  std::atomic<uint64_t> invalid_traceparent{0};
  std::atomic<uint64_t> internal_errors{0};
  // router_nats_reply_failures_total{reason}
  std::atomic<uint64_t> reply_no_subject{0};    // no reply-to and reply_fallback = false
  std::atomic<uint64_t> reply_disconnected{0};  // dropped: connection down (§8)
  std::atomic<uint64_t> reply_publish_failed{0};

  // Pushing decides answered without an assignment (§5 step 11): router_assignment_skipped_total
  // (push disabled or JetStream off) and router_assignment_blocked_total (tenant not in
  // nats.assignments.allowed_tenants).
  std::atomic<uint64_t> assignment_skipped{0};
  std::atomic<uint64_t> assignment_blocked{0};

  // Decide DLQ (S8 envelope A).
  std::atomic<uint64_t> dlq_enqueued{0};
  std::atomic<uint64_t> dlq_rate_dropped{0};  // router_intake_dlq_dropped_total
  std::atomic<uint64_t> dlq_queue_dropped{0};
  std::atomic<uint64_t> dlq_published{0};
  std::atomic<uint64_t> dlq_publish_failed{0};  // router_dlq_publish_failed_total

  // Streams (router_jetstream_stream_config_drift{stream} is a per-stream gauge; this counts
  // ensure runs that found drift).
  std::atomic<uint64_t> stream_ensure_runs{0};
  std::atomic<uint64_t> stream_ensure_failures{0};
  std::atomic<uint64_t> stream_drift_reports{0};
  // router_jetstream_stream_ensure_total{stream,result}: [role][result], roles in §6.1 order
  // (assignments, results, acks, usage, dlq), results created, updated, unchanged, error.
  static constexpr size_t kStreamRoles = 5;
  static constexpr size_t kEnsureResults = 4;
  std::array<std::array<std::atomic<uint64_t>, kEnsureResults>, kStreamRoles> stream_ensure{};
  // router_jetstream_stream_config_drift{stream}: 1 while the last ensure saw drift.
  std::array<std::atomic<uint64_t>, kStreamRoles> stream_drift{};
};

inline void Inc(std::atomic<uint64_t>& counter) { counter.fetch_add(1, std::memory_order_relaxed); }

}  // namespace router::nats_adapter
