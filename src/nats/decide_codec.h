#pragma once
// Wire encoding of decide replies and the decide DLQ envelope (nats-contracts.md §3.2
// DecideResponse, §3.3 ErrorResponse, §3.8 envelope A, §4.3 reply codes; POL §3.4).
//
// Errors travel as absl::Status (tag + details, base/errors.h) from the intake
// (decide_request.h) and from DecisionService; MapDecideError() is the one table that turns a
// status into the NATS reply code, and the writers append JSON to a caller-owned buffer (no
// DOM; see json_writer.h). Pure functions; thread-safe.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "service/decision_service.h"

namespace router::nats_adapter {

// §4.3 `error.code` values (the one place these wire strings are spelled).
namespace reply_code {
inline constexpr std::string_view kInvalidRequest = "invalid_request";
inline constexpr std::string_view kUnauthorized = "unauthorized";
inline constexpr std::string_view kOverloaded = "overloaded";
inline constexpr std::string_view kRateLimited = "rate_limited";
inline constexpr std::string_view kPolicyNotFound = "policy_not_found";
inline constexpr std::string_view kDeadlineExceeded = "deadline_exceeded";
inline constexpr std::string_view kDecisionFailed = "decision_failed";
inline constexpr std::string_view kUnavailable = "unavailable";
inline constexpr std::string_view kInternal = "internal";
inline constexpr std::string_view kExtensionNotFound = "extension_not_found";
inline constexpr std::string_view kExtensionTimeout = "extension_timeout";
inline constexpr std::string_view kExtensionUnavailable = "extension_unavailable";
inline constexpr std::string_view kExtensionError = "extension_error";
inline constexpr std::string_view kValidatorBlocked = "validator_blocked";
}  // namespace reply_code

// Error tag of transport-level `unavailable` replies (assignment not persisted / publishing
// not available); the status message is the reply message.
inline constexpr std::string_view kUnavailableTag = "unavailable";

// One ErrorResponse `error` object, before encoding.
struct MappedError {
  std::string_view code;                                     // reply_code::*
  std::string message;                                       // exact reply message
  std::string intake_error_code;                             // "" = not an intake failure
  int64_t retry_after_ms = 0;                                // 0 = absent
  std::vector<std::pair<std::string, std::string>> details;  // in order; empty = omitted
};

// Maps a non-OK status to the §4.3 reply: intake failures (detail `intake_error_code`) keep
// their §4.2 message and become invalid_request / unauthorized / internal; routing errors keep
// the exact gRPC message (grpc-api.md §3.1); INTERNAL and unknown tags become `internal`
// "internal error" without details. `retry_after_ms` is lifted out of the details.
MappedError MapDecideError(const absl::Status& status);

// What the reply's `context` object carries.
struct ReplyContext {
  std::optional<std::string_view> request_id;  // null when absent (ErrorResponse only)
  std::optional<std::string_view> trace_id;    // omitted when absent
  bool replayed = false;                       // `replayed: true` (idempotent replay)
};

// `assignment` object of a pushing decide (§3.2).
struct AssignmentStatus {
  std::string_view status;         // published | pending | disabled | tenant_blocked
  std::string_view assignment_id;  // "" = omitted
  std::string_view subject;        // "" = omitted
};

// Appends an ErrorResponse.
void WriteErrorResponse(const MappedError& error, const ReplyContext& context, std::string& out);

// Appends a DecideResponse for a successful decision. `policy_id` is the resolved one.
// Metadata keys repeated in `decision.metadata` keep their last value (router keys win).
void WriteDecideResponse(const service::DecideOutput& decision,
                         const std::optional<AssignmentStatus>& assignment,
                         const ReplyContext& context, std::string& out);

// Envelope A of a rejected decide (§3.8): reason `intake_validation`, source null, no payload.
struct DecideDlqEnvelope {
  std::string_view original_subject;
  std::string_view original_payload;  // hashed, never copied
  std::string_view code;              // intake code
  std::string_view message;           // §4.2 text
  std::optional<std::string_view> request_id;
  std::optional<std::string_view> tenant_id;
  std::optional<std::string_view> trace_id;
  int64_t received_at_ms = 0;
  std::string_view node_id;
};
void WriteDecideDlqEnvelope(const DecideDlqEnvelope& envelope, std::string& out);

// The resolved policy id of a successful decision (metadata `policy_id`, last occurrence).
std::string_view ResolvedPolicyId(const service::DecideOutput& decision);

}  // namespace router::nats_adapter
