#pragma once
// DecideTelemetry: the metrics and spans of one Decide, shared by both transports
// (OBS §2.5 decide and decision-core families, §6.4 decide / policy.lookup / provider.select
// spans). DecisionService creates one per call: it starts the decide span at the handler start
// and, on Finish, records router_decide_requests_total / _duration_seconds for the terminal
// outcome (exactly one increment, O3), the decision-core counters of a fresh decision, and ends
// the span with the outcome's attributes. Both dependencies are optional (null = off).
// Confined to the calling thread; the RouterMetrics and Tracer are thread-safe.

#include <atomic>
#include <memory>
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

// The terminal decide outcome of a NATS pushing decide in `after_publish` mode, known only when
// its reply is sent (PubAck -> `ok`, publish_timeout_ms -> `assignment_not_persisted`;
// nats-contracts.md §5.1, OBS §2.4): router_decide_requests_total, _duration_seconds (PubAck
// wait included) and the inflight gauge are recorded by Finish, exactly once (O3). Destroyed
// unfinished it counts `internal` (a transport bug, still one terminal outcome).
// Thread-safe: Finish may run on any thread (e.g. the PubAck callback).
class DeferredDecideOutcome {
 public:
  DeferredDecideOutcome(obs::RouterMetrics* metrics, const Clock& clock, Transport transport,
                        MonoTime start)
      : metrics_(metrics), clock_(clock), transport_(transport), start_(start) {}
  ~DeferredDecideOutcome();
  DeferredDecideOutcome(const DeferredDecideOutcome&) = delete;
  DeferredDecideOutcome& operator=(const DeferredDecideOutcome&) = delete;

  // `outcome`: an OBS §2.4 decide outcome (`ok`, `assignment_not_persisted`, an error tag).
  void Finish(std::string_view outcome);

 private:
  friend class DecideTelemetry;
  obs::RouterMetrics* const metrics_;
  const Clock& clock_;
  const Transport transport_;
  const MonoTime start_;
  std::atomic<bool> finished_{false};
};

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

  // Before Finish: an OK outcome leaves the decide counters to the returned object (see
  // DeferredDecideOutcome); an error outcome is counted by Finish as usual and the object is
  // left finished. Null without metrics.
  std::shared_ptr<DeferredDecideOutcome> DeferOutcome();

 private:
  std::shared_ptr<DeferredDecideOutcome> deferred_;
  const Observability& obs_;
  const Clock& clock_;
  const Transport transport_;
  const MonoTime start_;
  obs::TraceContext parent_;
  obs::Span span_;
  bool finished_ = false;
};

}  // namespace router::service
