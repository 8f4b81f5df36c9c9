#pragma once
// DecisionService: the one Decide path both transports call (POL §3.1, grpc-api.md §3). It
// validates the request, resolves the policy id, applies the tenant allowlist, looks the policy
// up in the current snapshot (loaded once per decision), checks the deadline, runs the decider
// and builds the transport-neutral output (metadata, decision id, trace id, explanation).
// DryRun (grpc-api.md §7) runs the same steps without side effects.
//
// Seams not filled in this build (issue #5): backpressure (step 4), tenant and policy token
// buckets (steps 5, 7); issue #4: idempotency replay (step 8) — the key is format-checked.
// Thread-safe: all state it touches is immutable (snapshots) or internally synchronized.

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "base/clock.h"
#include "core/decider.h"
#include "core/snapshot.h"
#include "service/decide_telemetry.h"
#include "service/request_context.h"

namespace router::service {

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
};

class DecisionService {
 public:
  // All references must outlive the service (Application owns them).
  DecisionService(DecisionServiceOptions options, const Clock& clock,
                  core::SnapshotHolder& snapshots, core::Decider& decider,
                  Observability observability = {});

  DecideOutput Decide(const DecideCall& call) const;

  // Counts a Decide the transport rejected before it could build a DecideCall (undecodable
  // body): one terminal outcome with the status's tag (OBS O3).
  void CountUndecodable(Transport transport, const absl::Status& status) const;

  // DryRun: same evaluation, no side effects; the explanation is always filled (level from
  // context, default detailed).
  DecideOutput DryRun(const DecideCall& call) const;

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

  const DecisionServiceOptions options_;
  const Clock& clock_;
  core::SnapshotHolder& snapshots_;
  core::Decider& decider_;
  const Observability obs_;
};

}  // namespace router::service
