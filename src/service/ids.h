#pragma once
// Identifier formats shared by both transports: UUID v4 decision ids, W3C trace ids, and the
// ID / provider-name patterns of the spec (grpc-api.md §1, POL §0). Thread-safe (ids come from
// the thread-local PRNG of core/random.h).

#include <string>
#include <string_view>

namespace router::service {

// Lowercase RFC 4122 version 4 UUID.
std::string NewUuidV4();
// 32 lowercase hex chars, not all zero.
std::string NewTraceId();

// ^[A-Za-z0-9_.-]{1,255}$ and not "." or ".." (tenant_id, policy_id).
bool IsValidId(std::string_view s);
// 32 lowercase hex chars, not all zero.
bool IsValidTraceId(std::string_view s);
// Extracts the trace id of a W3C `traceparent` (version 00 format), or "" when malformed.
std::string_view TraceIdFromTraceparent(std::string_view traceparent);

}  // namespace router::service
