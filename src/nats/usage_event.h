#pragma once
// Usage event (nats-contracts.md §3.7, S7) of a processed ExecResult, and its §2 headers:
// `Nats-Msg-Id: usage-<assignment_id or request_id>`, `tenant_id`, `version: 1`, `traceparent`
// when the result carried a well-formed one. Every key is always present; unknown values null.
// Pure functions; thread-safe.

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "nats/exec_result.h"

namespace router::nats_adapter {

// "usage-" + DedupKey().
std::string UsageId(const ExecResult& result);

// The compact JSON body (key order of the §3.7 example).
std::string BuildUsageEvent(const ExecResult& result);

// The headers of the usage publish; `traceparent` is forwarded only when well-formed W3C.
std::vector<std::pair<std::string, std::string>> UsageHeaders(
    const ExecResult& result, const std::optional<std::string>& traceparent);

// True for `00-<32 hex, not all 0>-<16 hex, not all 0>-<2 hex>` (lowercase hex).
bool IsWellFormedTraceparent(std::string_view value);

}  // namespace router::nats_adapter
