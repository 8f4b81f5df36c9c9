#pragma once
// DecisionService: the one Decide path both transports call (POL §3.1, grpc-api.md §3). It
// validates the request, resolves the policy id, applies the tenant allowlist, looks the policy
// up in the current snapshot (loaded once per decision), checks the deadline, runs the decider
// and builds the transport-neutral output (metadata, decision id, trace id, explanation).
// DryRun (grpc-api.md §7) runs the same steps without side effects.
//
// Step 4 (backpressure, nats-contracts.md §9) consults the BackpressureMonitor set with
// SetBackpressure(); steps 5 and 7 (tenant and policy token buckets, POL §7) the RateLimiter set
// with SetRateLimiter(); without them the steps are skipped. DryRun peeks the buckets (never
// charged, reported as a `dry_run:` explanation step) and skips backpressure.
// Step 8 (idempotency, grpc-api §3.7 / NATS §7.1) runs when an IdempotencyStore is set and the
// call carries a key: a replay returns OK with `replay` set (nothing decided), a fresh keyed
// decision returns `idempotency` for the transport to Complete with the bytes it answers; a
// concurrent duplicate blocks (bounded) behind the first. DryRun never consults it.
// Thread-safe: all state it touches is immutable (snapshots) or internally synchronized.

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "base/clock.h"
#include "core/decider.h"
#include "core/rate_limiter.h"
#include "core/snapshot.h"
#include "service/backpressure.h"
#include "service/decide_telemetry.h"
#include "service/idempotency_store.h"
#include "service/request_context.h"

namespace router::service {

// The optional per-tenant bucket of step 5 (configuration.md [rate_limit] tenant.*).
struct TenantRateLimits {
  bool enabled = false;
  core::RateLimitParams defaults{1000, 2000};
  std::map<std::string, core::RateLimitParams, std::less<>> overrides;  // tenant -> parameters
};

struct DecisionServiceOptions {
  std::vector<std::string> tenant_allowlist;  // empty = every tenant
  size_t max_context_entries = 64;
  size_t max_context_key_bytes = 128;
  size_t max_context_value_bytes = 1024;
};

// One Decide or DryRun call, as the transport decoded it. Views into transport-owned memory.
struct DecideCall {
  bool has_message = true;  // RouteRequest.message present
  std::string_view tenant_id;
  std::string_view policy_id;  // request field; may be empty
  std::string_view message_type;
  std::string_view message_trace_id;        // Message.trace_id (last trace-context source)
  const RequestContext* context = nullptr;  // required
  std::string_view correlation_id;          // header value; empty = none
  std::string_view traceparent;             // W3C header value; empty = none
  std::string_view tracestate;              // W3C header value; empty = none
  Transport transport = Transport::kGrpc;
  // Trace context already extracted by the transport (NATS: OBS §6.2 NATS order); null = the
  // service extracts it gRPC-style from traceparent/tracestate, the context and
  // message_trace_id.
  const obs::ExtractedTrace* trace = nullptr;
  // DryRun only: evaluate this unsaved, already compiled document (version 0) instead of the
  // stored policy.
  const policy::CompiledPolicy* inline_policy = nullptr;
  // Step 8 (idempotency). gRPC: the key is context `idempotency_key` (read by the service) and
  // the fingerprint is GrpcDecideFingerprint over `message_payload`. NATS: the transport sets
  // `idempotency_key` (payload, else header) and `idempotency_fingerprint`
  // (NatsDecideFingerprint). Empty key = no idempotency. Never consulted by DryRun.
  std::string_view idempotency_key;
  std::string_view idempotency_fingerprint;
  std::string_view message_payload;  // gRPC Message.payload
  // NATS pushing decide answered after its PubAck (`after_publish`, nats-contracts.md §5.1):
  // an OK outcome is counted when the reply is sent, through DecideOutput::deferred_outcome.
  bool defer_ok_outcome = false;
};

struct DecideOutput {
  absl::Status status;  // OK or the exact error of grpc-api.md §3.1 (tag, details)
  std::string provider_id;
  std::string reason;
  int priority = 0;
  int64_t expected_latency_ms = 0;
  double expected_cost = 0;
  int64_t policy_version = 0;
  std::string decision_id;
  std::string trace_id;
  std::vector<std::pair<std::string, std::string>> metadata;  // router keys last, override
  bool has_explanation = false;
  std::vector<std::string> steps;
  std::vector<std::pair<std::string, std::string>> excluded;  // (provider, reason)
  // Step 8. `replay` set (status OK): answer replay->response verbatim, nothing else is filled.
  std::shared_ptr<const IdempotencyRecord> replay;
  // A fresh keyed success: Complete it with the record to replay (the answered bytes); left
  // alone it abandons when the last copy is destroyed (errors are never stored).
  std::shared_ptr<IdempotencySlot> idempotency;
  // Set for an OK outcome of a call with `defer_ok_outcome` (and metrics on): the transport
  // Finishes it with the outcome of the reply it finally sends (OBS O3: exactly once).
  std::shared_ptr<DeferredDecideOutcome> deferred_outcome;
};

class DecisionService {
 public:
  // All references must outlive the service (Application owns them).
  DecisionService(DecisionServiceOptions options, const Clock& clock,
                  core::SnapshotHolder& snapshots, core::Decider& decider,
                  Observability observability = {});

  DecideOutput Decide(const DecideCall& call) const;

  // Enables step 8; call before serving. Null = off. Not owned; must outlive the service.
  void SetIdempotencyStore(IdempotencyStore* store) { idempotency_ = store; }

  // Counts a Decide the transport rejected before it could build a DecideCall (undecodable
  // body): one terminal outcome with the status's tag (OBS O3).
  void CountUndecodable(Transport transport, const absl::Status& status) const;

  // DryRun: same evaluation, no side effects; the explanation is always filled (level from
  // context, default detailed).
  DecideOutput DryRun(const DecideCall& call) const;

  // Wiring (Application, before serving; not thread-safe against Decide). Null = step skipped.
  // Steps 5 and 7: the buckets (POL §7); also wires the rate-limit bucket/eviction metrics.
  void SetRateLimiter(core::RateLimiter* limiter, TenantRateLimits tenant_limits = {});
  // Step 4: the backpressure status (nats-contracts.md §9).
  void SetBackpressure(BackpressureMonitor* monitor) { backpressure_ = monitor; }

  // Step 1 + 2 validation shared with DryRun's RPC-level checks: tenant present and valid.
  static absl::Status ValidateTenant(std::string_view tenant_id);

 private:
  // What one run leaves for telemetry: the snapshot it read (keeps the policy alive), the
  // resolved policy, and the decider's result.
  struct RunState {
    core::SnapshotPtr snapshot;
    std::string_view policy_id;
    const policy::CompiledPolicy* policy = nullptr;
    core::DecideResult result;
    bool selected = false;  // result holds a successful selection
  };
  DecideOutput Run(const DecideCall& call, bool dry_run, DecideTelemetry* telemetry,
                   RunState& run) const;
  obs::ExtractedTrace ExtractTrace(const DecideCall& call) const;
  absl::Status ValidateContext(const RequestContext& context) const;
  bool TenantAllowed(std::string_view tenant_id) const;
  // One bucket check (Check, or Peek when dry_run); counts the rate-limit metrics.
  core::RateDecision CheckBucket(const core::RateKey& key, const core::RateLimitParams& params,
                                 bool dry_run) const;

  const DecisionServiceOptions options_;
  const Clock& clock_;
  core::SnapshotHolder& snapshots_;
  core::Decider& decider_;
  const Observability obs_;
  core::RateLimiter* limiter_ = nullptr;
  TenantRateLimits tenant_limits_;
  obs::CounterFamily* rate_allowed_ = nullptr;   // router_rate_limit_allowed_total
  obs::CounterFamily* rate_exceeded_ = nullptr;  // router_rate_limit_exceeded_total
  BackpressureMonitor* backpressure_ = nullptr;
  IdempotencyStore* idempotency_ = nullptr;
};

}  // namespace router::service
