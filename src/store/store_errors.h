#pragma once
// Errors the policy store answers (POL §10 Writes, grpc-api.md §6.1 and §6.3). Each factory is
// the only place its exact message is formatted. Pure functions; thread-safe.

#include <cstdint>
#include <string_view>

#include "absl/status/status.h"

namespace router::store {

// ABORTED, tag version_conflict: `version conflict: current version is <n>` (0 when absent).
absl::Status VersionConflictError(int64_t current_version);

// RESOURCE_EXHAUSTED, tag quota_exceeded:
// `policy quota exceeded: tenant "<t>" has <n> policies (max <m>)`.
absl::Status QuotaExceededError(std::string_view tenant_id, int64_t count, int64_t max);

// NOT_FOUND, tag not_found: `policy "<policy_id>" not found for tenant "<tenant_id>"`.
absl::Status PolicyNotFoundError(std::string_view tenant_id, std::string_view policy_id);

// INTERNAL, tag internal, `internal error`, with `cause` as the error detail "cause" (for logs
// only; never shown to a client).
absl::Status StoreInternalError(std::string_view cause);

}  // namespace router::store
