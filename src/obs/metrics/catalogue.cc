#include "obs/metrics/catalogue.h"

#include <algorithm>
#include <initializer_list>

#include "obs/metrics/exposition.h"
#include "obs/metrics/label_values.h"

namespace router::obs {
namespace {

namespace v = values;

// Whether the family is registered by this build (OBS O4). Flip to kNow when its code lands.
constexpr bool kNow = true;
constexpr bool kLater = false;

LabelDef Enum(std::string_view name, std::span<const std::string_view> set) {
  return LabelDef{name, LabelClass::kEnum, set};
}
const LabelDef kTenantId{"tenant_id", LabelClass::kTenant, {}};
const LabelDef kPolicyId{"policy_id", LabelClass::kOpen, {}};
const LabelDef kProviderId{"provider_id", LabelClass::kOpen, {}};
const LabelDef kExtensionId{"extension_id", LabelClass::kOpen, {}};
const LabelDef kMetricName{"metric", LabelClass::kFamilyName, {}};

MetricDef Counter(std::string_view name, std::string_view help,
                  std::initializer_list<LabelDef> labels, bool exported,
                  PreinitFilter filter = nullptr) {
  return MetricDef{name, MetricType::kCounter, help, labels, BucketLayout::kNone, exported, filter};
}

MetricDef Gauge(std::string_view name, std::string_view help,
                std::initializer_list<LabelDef> labels, bool exported) {
  return MetricDef{name, MetricType::kGauge, help, labels, BucketLayout::kNone, exported, nullptr};
}

MetricDef Histogram(std::string_view name, std::string_view help, BucketLayout layout,
                    std::initializer_list<LabelDef> labels, bool exported) {
  return MetricDef{name, MetricType::kHistogram, help, labels, layout, exported, nullptr};
}

bool Contains(std::span<const std::string_view> set, std::string_view value) {
  return std::find(set.begin(), set.end(), value) != set.end();
}

// router_grpc_requests_total: pre-initialise only the methods of each service.
bool GrpcMethodOfService(std::span<const std::string_view> values) {
  const std::string_view service = values[0];
  const std::string_view method = values[1];
  if (service == v::kGrpcServiceRouter) return Contains(v::kRouterMethod, method);
  if (service == v::kGrpcServiceRouterAdmin) return Contains(v::kRouterAdminMethod, method);
  if (service == v::kGrpcServiceHealth) return Contains(v::kHealthMethod, method);
  if (service == v::kGrpcServiceReflection) return Contains(v::kReflectionMethod, method);
  return false;
}

std::vector<MetricDef> Build() {
  const LabelDef transport = Enum("transport", v::kTransport);
  const LabelDef consumer = Enum("consumer", v::kConsumer);
  const LabelDef intake_source = Enum("source", v::kIntakeSource);

  std::vector<MetricDef> c = {
      // ---------------------------------------------------------------- decide (GRPC, NATSD)
      Counter("router_decide_requests_total",
              "Decides finished, one increment at the terminal outcome (DryRun excluded).",
              {transport, Enum("outcome", v::kDecideOutcome)}, kNow),
      Histogram("router_decide_duration_seconds",
                "Decide handler start to response handed to the transport (PubAck wait "
                "included).",
                BucketLayout::kFast, {transport, Enum("outcome", v::kDecideOutcome)}, kNow),
      Gauge("router_decide_inflight", "Decides being processed.", {transport}, kNow),

      // ---------------------------------------------------------------- decision core (ENG)
      Counter("router_decisions_total", "Fresh decisions (replays and DryRun excluded).",
              {kTenantId, kPolicyId, Enum("reason", v::kDecisionReason)}, kNow),
      Counter("router_provider_selections_total", "Providers chosen by fresh decisions.",
              {kTenantId, kProviderId, Enum("reason", v::kDecisionReason)}, kNow),
      Counter("router_sticky_hits_total", "Decisions that used a live sticky pin.", {kTenantId},
              kNow),
      Counter("router_sticky_miss_total", "Sticky decisions that found no usable pin.", {kTenantId},
              kNow),
      Counter("router_sticky_repins_total",
              "Sticky pins replaced because their provider was not a candidate.",
              {kTenantId, Enum("reason", v::kRepinReason)}, kNow),
      Gauge("router_sticky_entries", "Sticky pins held.", {}, kNow),
      Counter("router_sticky_evictions_total", "Sticky pins removed.",
              {Enum("reason", v::kEvictionReason)}, kNow),
      Counter("router_rate_limit_allowed_total", "Rate limit tokens granted.",
              {Enum("scope", v::kScope), kTenantId}, kNow),
      Counter("router_rate_limit_exceeded_total", "Rate limit tokens refused.",
              {Enum("scope", v::kScope), kTenantId}, kNow),
      Gauge("router_rate_limit_buckets", "Live rate limit buckets.", {Enum("scope", v::kScope)},
            kNow),
      Counter("router_rate_limit_evictions_total", "Rate limit buckets evicted (LRU at the cap).",
              {}, kNow),
      Counter("router_idempotency_hits_total", "Stored decisions replayed for an idempotency key.",
              {transport}, kNow),
      Counter("router_idempotency_conflicts_total", "Idempotency keys reused with another request.",
              {transport}, kNow),
      Gauge("router_idempotency_entries", "Idempotency keys held.", {}, kNow),
      Counter("router_idempotency_evictions_total", "Idempotency keys removed.",
              {Enum("reason", v::kEvictionReason)}, kNow),

      // ---------------------------------------------------------------- breakers and stats (BRK)
      Counter("router_provider_outcomes_total", "Provider outcomes applied.",
              {kTenantId, kProviderId, Enum("status", v::kOutcomeStatus),
               Enum("source", v::kOutcomeSource)},
              kNow),
      Gauge("router_provider_latency_ewma_seconds",
            "Provider latency EWMA behind expected_latency_ms.", {kTenantId, kProviderId}, kNow),
      Gauge("router_provider_cost_ewma", "Provider cost EWMA behind expected_cost.",
            {kTenantId, kProviderId}, kNow),
      Gauge("router_circuit_breaker_state",
            "1 for the breaker's current state, 0 for the other two.",
            {kTenantId, kProviderId, Enum("state", v::kBreakerState)}, kNow),
      Counter(
          "router_circuit_breaker_state_transitions_total",
          "Circuit breaker state changes, manual ones included.",
          {kTenantId, kProviderId, Enum("from", v::kBreakerState), Enum("to", v::kBreakerState)},
          kNow),
      Counter("router_circuit_breaker_trigger_reason_total",
              "Automatic circuit breaker transitions by cause.",
              {kTenantId, kProviderId, Enum("reason", v::kBreakerTriggerReason)}, kNow),
      Counter("router_circuit_breaker_events_total",
              "Circuit breaker outcomes, exclusions and probe accounting.",
              {kTenantId, kProviderId, Enum("event_type", v::kBreakerEventType)}, kNow),
      Gauge("router_circuit_breaker_error_rate",
            "Failure share of the breaker's sliding window (0 when empty).",
            {kTenantId, kProviderId}, kNow),
      Gauge("router_circuit_breaker_window_requests",
            "Outcomes counted in the breaker's sliding window.", {kTenantId, kProviderId}, kNow),
      Gauge("router_circuit_breaker_window_failures", "Failures in the breaker's sliding window.",
            {kTenantId, kProviderId}, kNow),
      Gauge("router_circuit_breaker_timeout_remaining_seconds",
            "Time until the breaker goes half-open; 0 unless open.", {kTenantId, kProviderId},
            kNow),
      Gauge("router_circuit_breaker_last_transition_timestamp",
            "Epoch seconds of the breaker's last state change.", {kTenantId, kProviderId}, kNow),
      Counter("router_circuit_breaker_timeout_transitions_total",
              "Open to half-open transitions by what performed them.",
              {kTenantId, kProviderId, Enum("transition_type", v::kBreakerTransitionType)}, kNow),
      Counter("router_circuit_breaker_manual_operations_total", "Admin breaker resets and forcing.",
              {kTenantId, kProviderId, Enum("operation", v::kBreakerOperation)}, kNow),
      Gauge("router_circuit_breakers", "Circuit breakers per state.",
            {Enum("state", v::kBreakerState)}, kNow),

      // ---------------------------------------------------------------- NATS intake (NATSD, RES)
      Counter("router_intake_validation_errors_total", "NATS intake rejections.",
              {intake_source, Enum("code", v::kIntakeCode)}, kNow),
      Counter("router_intake_trace_id_nonconforming_total",
              "trace_id neither 32 hex nor UUID, accepted.", {intake_source}, kNow),
      Counter("ctx_missing_headers_total",
              "Decides without trace_id/span_id/tenant_id in headers and payload.", {}, kNow),
      Counter("router_intake_dlq_dropped_total",
              "Decide DLQ envelopes over nats.dlq.decide_rate_per_s.", {}, kNow),
      Histogram("router_intake_payload_bytes", "NATS message sizes.", BucketLayout::kBytes,
                {intake_source}, kNow),
      Counter("router_nats_reply_failures_total", "Decide replies not delivered.",
              {Enum("reason", v::kReplyFailureReason)}, kNow),
      Counter("router_nats_contract_violations_total", "Header contract breaches.", {intake_source},
              kNow),

      // ---------------------------------------------------------------- assignments (PUB, NATSD)
      Counter("router_assignment_enqueued_total",
              "Outbox entries created (re-enqueues of a retried decide included).", {kTenantId},
              kNow),
      Counter("router_assignment_outcomes_total",
              "Final fate of outbox entries, exactly one per entry.",
              {Enum("outcome", v::kAssignmentOutcome)}, kNow),
      Counter("router_assignment_published_total",
              "Assignments stored (fates published and deduplicated).", {kTenantId}, kNow),
      Counter("router_assignment_retry_total", "Assignment publish attempts repeated.",
              {Enum("reason", v::kPublishFailureReason)}, kNow),
      Counter("router_assignment_publish_failures_total", "Assignments not stored, by last error.",
              {Enum("reason", v::kPublishFailureReason)}, kNow),
      Counter("router_assignment_skipped_total", "Pushing decides with push disabled.", {}, kNow),
      Counter("router_assignment_blocked_total", "Pushing decides of tenants not allowed to push.",
              {}, kNow),
      Counter("router_assignment_outbox_rejected_total",
              "Pushing decides refused because the outbox was full.", {}, kNow),
      Histogram("router_assignment_publish_latency_seconds",
                "Decision to PubAck, retries included.", BucketLayout::kIo, {}, kNow),
      Histogram("router_assignment_reply_wait_seconds",
                "after_publish mode: outbox hand-off to the reply.", BucketLayout::kIo,
                {Enum("result", v::kReplyWaitResult)}, kNow),
      Gauge("router_assignment_outbox_depth", "Outbox entries not yet acknowledged.", {}, kNow),
      Gauge("router_assignment_outbox_capacity", "Outbox bound.", {}, kNow),
      Gauge("router_assignment_outbox_oldest_age_seconds", "Age of the oldest outbox entry.", {},
            kNow),

      // ---------------------------------------------------------------- NATS connection (NATS)
      Gauge("router_nats_connection_status",
            "1 connected, 0.5 reconnecting, 0 disconnected; absent without NATS.", {}, kNow),
      Counter("router_nats_connection_established_total", "NATS connections established.", {},
              kNow),
      Counter("router_nats_connection_lost_total", "NATS connections lost.", {}, kNow),
      Counter("router_nats_reconnect_attempts_total", "NATS reconnect attempts.", {}, kNow),
      Counter("router_nats_connect_failures_total", "Failed NATS connects.",
              {Enum("reason", v::kNatsConnectFailureReason)}, kNow),
      Counter("router_nats_slow_consumer_total", "Client-side slow consumer drops.",
              {Enum("subscription", v::kNatsSubscription)}, kNow),

      // ---------------------------------------------------------------- JetStream (JSC, NATS)
      Counter("router_jetstream_deliveries_total", "JetStream messages fetched.", {consumer}, kNow),
      Counter("router_jetstream_redelivered_messages_total",
              "JetStream messages fetched with num_delivered > 1.", {consumer}, kNow),
      Counter("router_jetstream_ack_total", "JetStream ACKs sent.", {consumer}, kNow),
      Counter("router_jetstream_redelivery_total", "JetStream NAKs sent.",
              {consumer, Enum("reason", v::kNakReason)}, kNow),
      Counter("router_jetstream_term_total", "JetStream TERMs sent.",
              {consumer, Enum("reason", v::kTermReason)}, kNow),
      Counter("router_jetstream_ack_failures_total", "JetStream ack operations that failed.",
              {consumer, Enum("op", v::kAckOp)}, kNow),
      Counter("router_jetstream_abandoned_total",
              "Fetched messages given up without ACK, NAK or TERM (disconnect).", {consumer}, kNow),
      Counter("router_jetstream_maxdeliver_exhausted_total", "Messages whose last delivery failed.",
              {consumer}, kNow),
      Gauge("router_jetstream_consumer_pending", "Consumer num_pending.", {consumer}, kNow),
      Gauge("router_jetstream_consumer_ack_pending", "Consumer num_ack_pending.", {consumer}, kNow),
      Gauge("router_jetstream_consumer_bound", "1 while the consumer is bound and fetching.",
            {consumer}, kNow),
      Counter("router_jetstream_stream_ensure_total", "Stream and durable management results.",
              {Enum("stream", v::kStreamRole), Enum("result", v::kStreamEnsureResult)}, kNow),
      Gauge("router_jetstream_stream_config_drift",
            "1 while the live stream config differs from the configured one.",
            {Enum("stream", v::kStreamRole)}, kNow),
      Counter("router_dlq_total", "DLQ envelopes stored (PubAck).",
              {intake_source, Enum("reason", v::kDlqReason)}, kNow),
      Counter("router_dlq_publish_failed_total", "DLQ publishes that failed.", {intake_source},
              kNow),

      // ---------------------------------------------------------------- results, acks (RES)
      Counter("router_results_total", "First-time results processed.",
              {Enum("status", v::kOutcomeStatus)}, kNow),
      Counter("router_acks_total", "First-time acks processed.", {Enum("status", v::kAckStatus)},
              kNow),
      Counter("router_results_duplicate_total", "Duplicate results ACKed without effect.", {},
              kNow),
      Counter("router_acks_duplicate_total", "Duplicate acks ACKed without effect.", {}, kNow),
      Counter("router_results_validation_failed_total", "Results TERMed as poison.",
              {Enum("error_code", v::kIntakeCode)}, kNow),
      Counter("router_acks_validation_failed_total", "Acks TERMed as poison.",
              {Enum("error_code", v::kIntakeCode)}, kNow),
      Counter("router_results_tenant_rejected_total", "Results of tenants not allowlisted.", {},
              kNow),
      Counter("router_assignments_rejected_total", "Worker acks with status rejected.", {}, kNow),
      Counter("router_assignments_ack_error_total", "Worker acks with status error.", {}, kNow),
      Histogram("router_result_latency_seconds", "Worker-reported latency.",
                BucketLayout::kProvider, {Enum("status", v::kOutcomeStatus)}, kNow),
      Counter("router_fanout_outcomes_total", "Fan-out messages applied.", {}, kNow),
      Counter("router_fanout_invalid_total", "Fan-out messages ignored as invalid.", {}, kNow),
      Counter("router_usage_emitted_total", "Usage events stored.", {}, kNow),
      Counter("router_usage_emit_failed_total", "Usage events that failed (result NAKed).",
              {Enum("reason", v::kPublishFailureReason)}, kNow),
      Gauge("router_correlation_entries", "Correlation records held.", {}, kNow),
      Counter("router_correlation_evictions_total", "Correlation records removed.",
              {Enum("reason", v::kEvictionReason)}, kNow),
      Counter("router_correlation_misses_total", "Unknown assignments looked up.",
              {Enum("source", v::kCorrelationSource)}, kNow),

      // ---------------------------------------------------------------- backpressure (BP)
      Gauge("router_backpressure_status", "0 inactive, 1 warning, 2 active.", {}, kNow),
      Gauge("router_backpressure_signal_overloaded",
            "1 while the signal is over its threshold (unknown counts as 0).",
            {Enum("signal", v::kBackpressureSignal)}, kNow),
      Gauge("router_backpressure_latency_p95_seconds", "Decide latency p95 of the 10 s window.", {},
            kNow),
      Counter("router_backpressure_rejections_total", "Decides refused as overloaded.", {transport},
              kNow),
      Counter("router_backpressure_events_total", "Backpressure state changes by state entered.",
              {Enum("event_type", v::kBackpressureEventType)}, kNow),
      Counter("router_backpressure_recovery_total", "Backpressure returns to inactive.", {}, kNow),

      // ---------------------------------------------------------------- policy store (STORE)
      Gauge("router_policy_store_policies", "Policies in the live snapshot.", {}, kNow),
      Gauge("router_policy_store_tenants", "Tenants in the live snapshot.", {}, kNow),
      Gauge("router_policy_store_version", "Store-wide change counter of the live snapshot.", {},
            kNow),
      Counter("router_policy_store_reloads_total", "Policy snapshot publications.",
              {Enum("trigger", v::kStoreReloadTrigger), Enum("result", v::kResult)}, kNow),
      Histogram("router_policy_store_reload_duration_seconds", "Policy snapshot build time.",
                BucketLayout::kIo, {}, kNow),
      Gauge("router_policy_store_last_reload_timestamp_seconds",
            "Epoch seconds of the last good snapshot publication.", {}, kNow),
      Gauge("router_policy_store_db_bytes", "Policy database size.", {}, kNow),
      Counter("router_policy_store_errors_total", "Policy store SQLite errors.",
              {Enum("op", v::kStoreOp)}, kNow),
      Counter("router_policy_load_errors_total", "Stored policy rows skipped as invalid at load.",
              {}, kNow),

      // ---------------------------------------------------------------- gRPC, admin, HTTP
      Counter("router_grpc_requests_total", "gRPC calls by service, method and status code.",
              {Enum("service", v::kGrpcService), Enum("method", v::kGrpcMethod),
               Enum("code", v::kGrpcCode)},
              kNow, &GrpcMethodOfService),
      Histogram("router_admin_request_duration_seconds", "RouterAdmin request latency.",
                BucketLayout::kIo, {Enum("method", v::kRouterAdminMethod)}, kNow),
      Counter("router_admin_auth_failures_total", "Rejected admin credentials.",
              {Enum("reason", v::kAdminAuthFailureReason)}, kNow),
      Counter(
          "router_extension_execution_total", "Extension calls.",
          {kExtensionId, Enum("stage", v::kExtensionStage), Enum("status", v::kExtensionStatus)},
          kLater),
      Histogram("router_extension_latency_seconds", "Extension call latency.", BucketLayout::kIo,
                {Enum("stage", v::kExtensionStage)}, kLater),
      Counter("router_extension_reserved_key_dropped_total",
              "Reserved keys dropped from pre-processor replies.", {kExtensionId}, kLater),
      Counter("router_http_requests_total", "Requests on the HTTP port.",
              {Enum("path", v::kHttpPath), Enum("code", v::kHttpCode)}, kNow),
      Gauge("router_ready", "1 when the router is ready, else 0.", {}, kNow),
      Gauge("router_ready_check", "1 when the readiness check passes, else 0.",
            {Enum("check", v::kReadyCheck)}, kNow),
      Counter("router_config_reloads_total", "SIGHUP configuration reloads.",
              {Enum("result", v::kResult)}, kNow),

      // ---------------------------------------------------------------- registry (REG), LOG, TRC
      Gauge("router_metrics_series", "Live series per metric family.", {kMetricName}, kNow),
      Counter("router_metrics_series_overflow_total",
              "Observations redirected to the overflow series (open labels \"other\").",
              {kMetricName}, kNow),
      Histogram("router_metrics_scrape_duration_seconds", "Metrics exposition render time.",
                BucketLayout::kFast, {}, kNow),
      Counter("router_log_records_total", "Log records written.", {Enum("level", v::kLogLevel)},
              kNow),
      Counter("router_log_suppressed_total", "Log records suppressed by rate limiting.",
              {Enum("level", v::kLogLevel)}, kNow),
      Counter("router_log_dropped_total", "Log records dropped because the queue was full.",
              {Enum("level", v::kLogLevel)}, kNow),
      Counter("router_tracing_spans_exported_total", "Spans accepted by the collector.", {}, kNow),
      Counter("router_tracing_spans_dropped_total", "Spans lost.",
              {Enum("reason", v::kSpanDropReason)}, kNow),
      Histogram("router_tracing_export_duration_seconds", "OTLP export request time.",
                BucketLayout::kIo, {}, kNow),
      Gauge("router_tracing_queue_spans", "Spans waiting for export.", {}, kNow),

      // ---------------------------------------------------------------- process (PROC)
      Gauge("process_resident_memory_bytes", "Resident memory size in bytes.", {}, kNow),
      Gauge("process_virtual_memory_bytes", "Virtual memory size in bytes.", {}, kNow),
      Gauge("process_open_fds", "Open file descriptors.", {}, kNow),
      Gauge("process_max_fds", "Maximum number of open file descriptors.", {}, kNow),
      Gauge("process_threads", "Threads of the process.", {}, kNow),
      Gauge("process_start_time_seconds", "Start time of the process since the Unix epoch.", {},
            kNow),
      Counter("process_cpu_seconds_total", "User and system CPU time spent in seconds.", {}, kNow),
      Gauge(
          "router_build_info", "Constant 1, labelled with the build.",
          {LabelDef{"version", LabelClass::kInfo, {}}, LabelDef{"revision", LabelClass::kInfo, {}},
           LabelDef{"build_type", LabelClass::kInfo, {}},
           LabelDef{"compiler", LabelClass::kInfo, {}}},
          kNow),
  };
  std::sort(c.begin(), c.end(),
            [](const MetricDef& a, const MetricDef& b) { return a.name < b.name; });
  return c;
}

void AppendJsonString(std::string& out, std::string_view s) {
  out.push_back('"');
  for (char ch : s) {
    const auto u = static_cast<unsigned char>(ch);
    if (ch == '"' || ch == '\\') {
      out.push_back('\\');
      out.push_back(ch);
    } else if (u < 0x20) {
      static constexpr char kHex[] = "0123456789abcdef";
      out.append("\\u00");
      out.push_back(kHex[u >> 4]);
      out.push_back(kHex[u & 0xf]);
    } else {
      out.push_back(ch);
    }
  }
  out.push_back('"');
}

}  // namespace

const std::vector<MetricDef>& Catalogue() {
  static const std::vector<MetricDef> catalogue = Build();
  return catalogue;
}

const MetricDef* FindCatalogueEntry(std::string_view name) {
  const std::vector<MetricDef>& catalogue = Catalogue();
  auto it = std::lower_bound(catalogue.begin(), catalogue.end(), name,
                             [](const MetricDef& def, std::string_view n) { return def.name < n; });
  return it != catalogue.end() && it->name == name ? &*it : nullptr;
}

std::string CatalogueJson() {
  std::string out = "{\"metrics\":[\n";
  bool first = true;
  for (const MetricDef& def : Catalogue()) {
    if (!first) out.append(",\n");
    first = false;
    out.append("{\"name\":");
    AppendJsonString(out, def.name);
    out.append(",\"type\":");
    AppendJsonString(out, MetricTypeName(def.type));
    out.append(",\"help\":");
    AppendJsonString(out, def.help);
    out.append(",\"labels\":[");
    for (size_t i = 0; i < def.labels.size(); ++i) {
      const LabelDef& label = def.labels[i];
      if (i > 0) out.push_back(',');
      out.append("{\"name\":");
      AppendJsonString(out, label.name);
      out.append(",\"class\":");
      AppendJsonString(out, LabelClassName(label.label_class));
      if (label.label_class == LabelClass::kEnum) {
        out.append(",\"values\":[");
        for (size_t j = 0; j < label.values.size(); ++j) {
          if (j > 0) out.push_back(',');
          AppendJsonString(out, label.values[j]);
        }
        out.push_back(']');
      }
      out.push_back('}');
    }
    out.append("],\"buckets\":");
    if (def.buckets == BucketLayout::kNone) {
      out.append("null");
    } else {
      out.append("{\"layout\":");
      AppendJsonString(out, BucketLayoutName(def.buckets));
      out.append(",\"bounds\":[");
      const std::span<const double> bounds = BucketBounds(def.buckets);
      for (size_t j = 0; j < bounds.size(); ++j) {
        if (j > 0) out.push_back(',');
        AppendDouble(out, bounds[j]);
      }
      out.append("]}");
    }
    out.append(",\"exported\":");
    out.append(def.exported ? "true" : "false");
    out.push_back('}');
  }
  out.append("\n]}\n");
  return out;
}

}  // namespace router::obs
