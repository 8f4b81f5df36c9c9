#pragma once
// Error tags and details carried on absl::Status (grpc-api.md §1, POL §3.4).
//
// Every error the spec names is an absl::Status whose code and message are exact, plus:
//  - a tag (the ErrorInfo `reason`, e.g. "policy_not_found"), attached as a payload;
//  - ordered string details (ErrorInfo `metadata`, e.g. retry_after_ms, excluded);
//  - optional field violations (google.rpc.BadRequest), at most 20.
// Transports read them back with ErrorTag() / ErrorDetails() / ErrorViolations() and map them
// to gRPC trailers or NATS error replies. Pure value functions; thread-safe.

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"

namespace router {

// Debian's absl is built with its own absl::string_view (not std::string_view); convert at the
// boundary with these two helpers.
inline absl::string_view AbslView(std::string_view s) {
  return absl::string_view(s.data(), s.size());
}
inline std::string_view StdView(absl::string_view s) {
  return std::string_view(s.data(), s.size());
}

// Canonical error tags (the one table where these wire strings are spelled).
namespace tag {
inline constexpr std::string_view kInvalidRequest = "invalid_request";
inline constexpr std::string_view kTenantNotAllowed = "tenant_not_allowed";
inline constexpr std::string_view kOverloaded = "overloaded";
inline constexpr std::string_view kRateLimitExceeded = "rate_limit_exceeded";
inline constexpr std::string_view kPolicyNotFound = "policy_not_found";
inline constexpr std::string_view kDeadlineExceeded = "deadline_exceeded";
inline constexpr std::string_view kNoProviderConfigured = "no_provider_configured";
inline constexpr std::string_view kNoProviderAvailable = "no_provider_available";
inline constexpr std::string_view kIdempotencyKeyReused = "idempotency_key_reused";
inline constexpr std::string_view kInternal = "internal";
inline constexpr std::string_view kAdminDisabled = "admin_disabled";
inline constexpr std::string_view kUnauthenticated = "unauthenticated";
inline constexpr std::string_view kPermissionDenied = "permission_denied";
inline constexpr std::string_view kQuotaExceeded = "quota_exceeded";
inline constexpr std::string_view kInvalidPolicy = "invalid_policy";
inline constexpr std::string_view kNotFound = "not_found";
inline constexpr std::string_view kVersionConflict = "version_conflict";
inline constexpr std::string_view kAssignmentsDisabled = "assignments_disabled";
}  // namespace tag

struct FieldViolation {
  std::string field;        // JSON path, e.g. "providers[1].weight" or "$"
  std::string description;  // catalogue text, e.g. "must be between 0 and 100"
};

using ErrorDetailList = std::vector<std::pair<std::string, std::string>>;

// Builds a status with code, exact message and tag.
absl::Status MakeError(absl::StatusCode code, std::string_view message, std::string_view tag);

// Appends one ErrorInfo metadata pair (keeps insertion order; a repeated key is replaced).
void AddErrorDetail(absl::Status& status, std::string_view key, std::string_view value);

// Replaces the field violations (only the first 20 are kept).
void SetViolations(absl::Status& status, const std::vector<FieldViolation>& violations);

// The tag; "internal" for a non-OK status without one, "" for OK.
std::string ErrorTag(const absl::Status& status);
ErrorDetailList ErrorDetails(const absl::Status& status);
std::vector<FieldViolation> ErrorViolations(const absl::Status& status);

// retry_after_ms detail as an integer, or 0 when absent.
int64_t RetryAfterMs(const absl::Status& status);

}  // namespace router
