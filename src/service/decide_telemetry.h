#pragma once
// DecideTelemetry: the metrics and spans of one Decide, shared by both transports
// (OBS §2.5 decide and decision-core families, §6.4 decide / policy.lookup / provider.select
// spans). DecisionService creates one per call: it starts the decide span at the handler start
// and, on Finish, records router_decide_requests_total / _duration_seconds for the terminal
// outcome (exactly one increment, O3), the decision-core counters of a fresh decision, and ends
// the span with the outcome's attributes. Both dependencies are optional (null = off).
// Confined to the calling thread; the RouterMetrics and Tracer are thread-safe.

#include <string_view>

#include "base/clock.h"
#include "core/decision.h"
#include "obs/metrics/router_metrics.h"
#include "obs/tracing/trace_extraction.h"
#include "obs/tracing/tracer.h"

namespace router::service {

struct Observability {
  obs::RouterMetrics* metrics = nullptr;  // not owned; null = no metrics
  obs::Tracer* tracer = nullptr;          // not owned; null = no spans (ids still propagate)
};

enum class Transport : uint8_t { kGrpc, kNats };
std::string_view TransportName(Transport t);  // "grpc" | "nats"

class DecideTelemetry {
 public:
  DecideTelemetry(const Observability& obs, const Clock& clock, Transport transport,
                  const obs::ExtractedTrace& trace);
  ~DecideTelemetry();
  DecideTelemetry(const DecideTelemetry&) = delete;
  DecideTelemetry& operator=(const DecideTelemetry&) = delete;

  // 32-hex trace id used for the decision (decide span's, else the extracted one).
  std::string TraceIdHex() const;

  // The policy lookup finished (policy.lookup span when internal spans are on).
  void PolicyLookup(std::string_view policy_id, int64_t version, bool found);
  // Selection finished (provider.select span); `result` is the decider's output.
  void Selection(const core::DecideResult& result);

  // The terminal outcome: OK with the chosen provider, or the error. Counts the decision-core
  // families only for a fresh successful decision. Call once.
  // At DEBUG it also logs decide.completed / decide.rejected with the trace id and the request
  // context (redacted by the logger, OBS §5.3); nothing is logged per request at INFO.
  void Finish(const absl::Status& status, std::string_view tenant_id, std::string_view policy_id,
              int64_t policy_version, const core::DecideResult* result,
              std::string_view decision_id, std::string_view correlation_id,
              const class RequestContext* context = nullptr);

 private:
  const Observability& obs_;
  const Clock& clock_;
  const Transport transport_;
  const MonoTime start_;
  obs::TraceContext parent_;
  obs::Span span_;
  bool finished_ = false;
};

}  // namespace router::service
