#pragma once
// DecideRequest intake (nats-contracts.md §3.1 and §4): parses the JSON body of a decide (S1)
// with simdjson and applies the ordered intake rules 1-16 of §4.1, first failure wins, with the
// exact §4.2 messages. Rules 17 (tenant allowlist) and 18 (idempotency) run later, in the
// decide flow (§5 steps 4 and 9).
//
// An intake failure is an absl::Status built by IntakeError(): INVALID_ARGUMENT with tag
// `invalid_request` (or PERMISSION_DENIED / `tenant_not_allowed` for TENANT_FORBIDDEN), the
// §4.2 message, and details `intake_error_code`, `reason` and (when the rule concerns a field)
// `field` (JSON path). decide_codec.h turns it into the ErrorResponse.
//
// Thread-compatible: one DecideRequestParser per decide worker; it owns the simdjson parser and
// reusable buffers, so a warm parser allocates nothing for typical bodies. The views in
// DecideRequest point into the parser's document and stay valid until the next Parse().

#include <simdjson.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "nats/flat_context.h"

namespace router::nats_adapter {

// §4.1 intake codes (values index NatsStats::intake_errors_by_code).
enum class IntakeCode : uint8_t {
  kPayloadTooSmall,
  kSchemaValidationFailed,
  kVersionUnsupported,
  kCorrelationFieldsInvalid,
  kTenantForbidden,
  kIdempotencyViolation,
  kInternalValidationError,
};

// "PAYLOAD_TOO_SMALL", "SCHEMA_VALIDATION_FAILED", ...
std::string_view IntakeCodeName(IntakeCode code);

// Builds the intake error of §4.1/§4.2. `detail` is the `<v>` of VERSION_UNSUPPORTED and the
// `<n>` of PAYLOAD_TOO_SMALL; ignored otherwise. `field` "" = no `field` detail.
absl::Status IntakeError(IntakeCode code, std::string_view reason, std::string_view field = {},
                         std::string_view detail = {});

// The §2 headers a decide reads, matched case-insensitively by the caller. Views valid for the
// duration of the call.
struct DecideHeaders {
  std::optional<std::string_view> version;
  std::optional<std::string_view> traceparent;
  std::optional<std::string_view> tracestate;
  std::optional<std::string_view> trace_id;
  std::optional<std::string_view> span_id;
  std::optional<std::string_view> tenant_id;
  std::optional<std::string_view> idempotency_key;  // `Idempotency-Key`
  std::optional<std::string_view> correlation_id;   // `x-correlation-id`
};

// A parsed decide. Fields marked "partial" are filled as far as parsing got, also when a rule
// failed, for the error reply and the DLQ envelope context.
struct DecideRequest {
  std::string_view request_id;  // partial: set only when it is valid
  bool request_id_valid = false;
  std::string_view tenant_id;  // partial: set when it is a string (valid or not)
  bool tenant_id_valid = false;
  std::optional<std::string_view> trace_id;  // partial: the payload trace_id when a string
  bool payload_has_span_id = false;          // partial (ctx_missing_headers diagnostics)

  std::string_view policy_id;  // "" = resolve from context, then "default"
  std::string_view task_type;
  simdjson::dom::element task;  // the `task` object, for ExecAssignment `job`
  std::optional<simdjson::dom::object> constraints;
  std::optional<simdjson::dom::object> metadata;
  std::optional<simdjson::dom::object> options;
  std::optional<int64_t> deadline_ms;  // options.deadline_ms
  bool push_assignment = false;
  std::string_view assignment_subject;  // effective: the request's, else the configured one
  std::optional<std::string_view> idempotency_key;  // payload, else header
  std::string_view run_id;
  std::string_view flow_id;
  std::string_view step_id;
};

struct IntakeOptions {
  int64_t max_payload_bytes = 1048576;                    // nats.max_payload_bytes (rule 2)
  int64_t min_task_payload_bytes = 10;                    // nats.decide.min_payload_bytes (rule 13)
  FlatContext::Limits context_limits;                     // decide.max_context_* (rule 15)
  std::string assignment_subject = "caf.exec.assign.v1";  // nats.assignments.subject
  std::vector<std::string> assignment_stream_subjects{"caf.exec.assign.v1"};  // rule 16
};

class DecideRequestParser {
 public:
  explicit DecideRequestParser(IntakeOptions options);

  // Runs intake rules 1-16 on `body` received on `subject`. OK: `request` and `context` (the
  // flattened constraints ∪ metadata) are filled. Otherwise the IntakeError of the first
  // failing rule; `request` then holds the partial fields. Never throws and never crashes on
  // any input (malformed JSON, invalid UTF-8, huge or deep documents).
  absl::Status Parse(std::string_view subject, std::string_view body, const DecideHeaders& headers,
                     DecideRequest* request, FlatContext* context);

  const IntakeOptions& options() const { return options_; }

 private:
  bool HasDuplicateKeys(simdjson::dom::object object);

  const IntakeOptions options_;
  simdjson::dom::parser parser_;
  std::string padded_;                  // body copy with SIMDJSON_PADDING
  std::string scratch_;                 // compact encoding of task.payload
  std::vector<std::string_view> keys_;  // duplicate-key check
};

// Validators shared with other intake paths (ExecResult, ExecAssignmentAck).
bool IsUuidV4AnyCase(std::string_view s);
bool IsUlid(std::string_view s);
// 1..max_bytes bytes, no control characters (U+0000-U+001F, U+007F).
bool IsBoundedPrintable(std::string_view s, size_t max_bytes);

}  // namespace router::nats_adapter
