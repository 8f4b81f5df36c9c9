#pragma once
// Failure classification of an execution outcome into a circuit-breaker input
// (nats-contracts.md §6.6, policy-and-decisions.md §6 "Classification", grpc-api.md ReportOutcome).
// Shared by the ExecResult fan-out (src/nats) and gRPC ReportOutcome (src/service).
// The code is `error_code`, else `error_type` (empty counts as absent); codes are compared
// ASCII-case-insensitively with '-' read as '_'. `error_message` is never inspected.
// Pure functions; thread-safe; no allocation.

#include <cstdint>
#include <string_view>

namespace router::core {

enum class BreakerInput : uint8_t {
  kSuccess,       // status success (the latency-threshold rule is the breaker's business)
  kFailure,       // timeout, or error with a failure code
  kIgnored,       // cancelled, or error with a known non-failure code (event `ignored`)
  kUnclassified,  // error without code or with an unknown code (event `unclassified`)
};

// Classifies one outcome. `status` is one of success | error | timeout | cancelled (matched
// case-insensitively); any other status (rejected at intake by callers) yields kUnclassified.
BreakerInput ClassifyOutcome(std::string_view status, std::string_view error_code,
                             std::string_view error_type);

// Classifies an `error` outcome's code alone (already chosen between error_code/error_type):
// kFailure, kIgnored or kUnclassified (also for an empty code).
BreakerInput ClassifyErrorCode(std::string_view code);

// The breaker event name of an input: "success", "failure", "ignored", "unclassified"
// (observability.md `event_type`).
std::string_view BreakerInputName(BreakerInput input);

}  // namespace router::core
