#include "nats/nats_metrics.h"

#include <atomic>
#include <iterator>
#include <span>
#include <string_view>

#include "nats/decide_request.h"
#include "obs/metrics/label_values.h"
#include "obs/metrics/router_metrics.h"

namespace router::nats_adapter {
namespace {

double Load(const std::atomic<uint64_t>& a) {
  return static_cast<double>(a.load(std::memory_order_relaxed));
}

// Binds one counter series to an atomic (family skipped when not exported).
void Bind(obs::Registry& r, std::string_view name, std::initializer_list<std::string_view> labels,
          const std::atomic<uint64_t>& value) {
  if (obs::CounterFamily* f = r.FindCounter(name); f != nullptr) {
    f->SetCallback(labels, [&value] { return Load(value); });
  }
}

}  // namespace

void ExportNatsStats(obs::RouterMetrics& metrics, const NatsStats& stats,
                     const NatsConnection* connection) {
  if (!metrics.registry) return;
  obs::Registry& r = *metrics.registry;
  namespace v = obs::values;
  static_assert(std::size(v::kIntakeCode) == NatsStats::kIntakeCodes);
  static_assert(std::size(v::kNatsConnectFailureReason) == NatsStats::kConnectFailureReasons);
  static_assert(std::size(v::kNatsSubscription) == NatsStats::kSlowConsumerSubscriptions);
  static_assert(std::size(v::kStreamRole) == NatsStats::kStreamRoles);
  static_assert(std::size(v::kStreamEnsureResult) == NatsStats::kEnsureResults);

  // Decide intake (NATSD; §4).
  for (size_t i = 0; i < NatsStats::kIntakeCodes; ++i) {
    Bind(r, "router_intake_validation_errors_total",
         {"decide", IntakeCodeName(static_cast<IntakeCode>(i))}, stats.intake_errors_by_code[i]);
  }
  Bind(r, "router_intake_trace_id_nonconforming_total", {"decide"}, stats.trace_id_nonconforming);
  Bind(r, "ctx_missing_headers_total", {}, stats.ctx_missing_headers);
  Bind(r, "router_intake_dlq_dropped_total", {}, stats.dlq_rate_dropped);
  Bind(r, "router_nats_reply_failures_total", {"no_reply_subject"}, stats.reply_no_subject);
  Bind(r, "router_nats_reply_failures_total", {"disconnected"}, stats.reply_disconnected);
  Bind(r, "router_nats_reply_failures_total", {"publish_error"}, stats.reply_publish_failed);
  Bind(r, "router_assignment_skipped_total", {}, stats.assignment_skipped);
  Bind(r, "router_assignment_blocked_total", {}, stats.assignment_blocked);

  // Connection (§8).
  Bind(r, "router_nats_connection_established_total", {}, stats.connections_established);
  Bind(r, "router_nats_connection_lost_total", {}, stats.connections_lost);
  Bind(r, "router_nats_reconnect_attempts_total", {}, stats.reconnect_attempts);
  for (size_t i = 0; i < NatsStats::kConnectFailureReasons; ++i) {
    Bind(r, "router_nats_connect_failures_total", {v::kNatsConnectFailureReason[i]},
         stats.connect_failures_by_reason[i]);
  }
  for (size_t i = 0; i < NatsStats::kSlowConsumerSubscriptions; ++i) {
    Bind(r, "router_nats_slow_consumer_total", {v::kNatsSubscription[i]},
         stats.slow_consumer_by_subscription[i]);
  }
  if (obs::GaugeFamily* g = r.FindGauge("router_nats_connection_status");
      g != nullptr && connection != nullptr) {
    g->SetCallback(std::span<const std::string_view>(),
                   [connection] { return connection->StatusGauge(); });
  }

  // Streams (§6.1).
  for (size_t role = 0; role < NatsStats::kStreamRoles; ++role) {
    for (size_t res = 0; res < NatsStats::kEnsureResults; ++res) {
      Bind(r, "router_jetstream_stream_ensure_total",
           {v::kStreamRole[role], v::kStreamEnsureResult[res]}, stats.stream_ensure[role][res]);
    }
    if (obs::GaugeFamily* g = r.FindGauge("router_jetstream_stream_config_drift")) {
      const std::atomic<uint64_t>& drift = stats.stream_drift[role];
      g->SetCallback({v::kStreamRole[role]}, [&drift] { return Load(drift); });
    }
  }
}

}  // namespace router::nats_adapter
