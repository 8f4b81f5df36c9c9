#pragma once
// ExecAssignment (nats-contracts.md §3.4, S3) and its publish headers (§2): building and
// serializing the message a pushing decide hands to the outbox (§5 step 11), with the
// pre-publish checks of §5 step 11 (tenant_id pattern, provider pattern, expected_latency_ms
// 0..3,600,000, size <= the server's max payload).
//
//   D = clamp(expected_latency_ms x deadline_multiplier, deadline_min_ms, deadline_max_ms);
//   without a latency estimate (expected_latency_ms <= 0) D = 5000 (the §3.4 literal).
//   options = {priority: <decision priority>, deadline_ms: D, retry: {max_attempts: 2,
//   backoff_ms: 200}} with the request's `options` shallow-merged over them (request wins;
//   default keys keep their place, extra request keys follow in document order).
//
// Pure functions; thread-safe. Writing appends to a caller-owned buffer.

#include <simdjson.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "service/decision_service.h"

namespace router::nats_adapter {

inline constexpr int64_t kNoEstimateDeadlineMs = 5000;
inline constexpr int64_t kMaxExpectedLatencyMs = 3'600'000;

struct AssignmentDeadlineOptions {
  int64_t multiplier = 5;  // nats.assignments.deadline_multiplier
  int64_t min_ms = 5000;   // nats.assignments.deadline_min_ms
  int64_t max_ms = 60000;  // nats.assignments.deadline_max_ms
};

// The §3.4 `deadline_ms` default D.
int64_t AssignmentDeadlineMs(int64_t expected_latency_ms, const AssignmentDeadlineOptions& o);

// What §3.4 needs from the request and the decision. Views valid for the call.
struct ExecAssignmentInput {
  std::string_view assignment_id;
  std::string_view request_id;
  std::string_view tenant_id;
  int64_t issued_at_ms = 0;                         // decision time (wall ms)
  simdjson::dom::element task;                      // copied verbatim into `job`
  std::optional<simdjson::dom::object> options;     // request `options`
  std::optional<simdjson::dom::object> metadata;    // request `metadata` ({} when absent)
  std::string_view correlation_trace_id;            // request trace_id verbatim, else trace32
  std::string_view run_id, flow_id, step_id;        // "" = not sent
  const service::DecideOutput* decision = nullptr;  // required
};

// Appends the §3.4 body. No checks (see BuildExecAssignment).
void WriteExecAssignment(const ExecAssignmentInput& input, const AssignmentDeadlineOptions& o,
                         std::string& out);

// ^[A-Za-z0-9_.:/-]{1,128}$ (provider_id, §3 shared constraints).
bool IsValidProviderId(std::string_view s);

// Builds the body into `out` (cleared first) and runs the pre-publish checks: INTERNAL for a
// bad tenant / provider / expected_latency_ms; INVALID_ARGUMENT tag invalid_request with
// details.reason `assignment_too_large` when the body exceeds `max_payload_bytes`.
absl::Status BuildExecAssignment(const ExecAssignmentInput& input,
                                 const AssignmentDeadlineOptions& o, int64_t max_payload_bytes,
                                 std::string& out);

// The §2 publish headers of an ExecAssignment, in the order written.
struct AssignmentTrace {
  std::string trace32;                               // propagation trace id (32 hex)
  std::optional<std::string_view> request_trace_id;  // payload trace_id as received
  uint8_t flags = 0;                                 // sampling decision (00 / 01)
  std::string_view tracestate;                       // "" = none received
};
using HeaderList = std::vector<std::pair<std::string, std::string>>;
// Nats-Msg-Id, tenant_id, version, request_id, traceparent (fresh span), tracestate (when
// received), trace_id (the request's value when <= 128 printable ASCII bytes, else trace32),
// span_id, X-Trace-Id, X-Span-Id.
HeaderList ExecAssignmentHeaders(std::string_view assignment_id, std::string_view tenant_id,
                                 std::string_view request_id, const AssignmentTrace& trace);

}  // namespace router::nats_adapter
