#pragma once
// NatsStats: the transport's counters, kept as relaxed atomics until the metrics registry
// (issue #3) exports them under the OBS §3 names noted beside each field. Thread-safe:
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
  std::atomic<uint64_t> slow_consumer{0};  // router_nats_slow_consumer_total

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
};

inline void Inc(std::atomic<uint64_t>& counter) { counter.fetch_add(1, std::memory_order_relaxed); }

}  // namespace router::nats_adapter
