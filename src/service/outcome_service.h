#pragma once
// OutcomeService: intake of ReportOutcome (grpc-api.md §4). Validates in the spec's order and
// records the outcome. Recording feeds circuit breakers and provider statistics, which arrive
// with the resilience issue (#5); until then an accepted outcome is counted and dropped, and
// circuit_state is "" because no breaker exists. Thread-safe.

#include <atomic>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace router::service {

struct OutcomeReport {
  std::string_view tenant_id;
  std::string_view provider_id;
  std::string_view status;  // success | error | timeout | cancelled
  int64_t latency_ms = 0;
  double cost = 0;
  std::string_view error_code;
};

struct OutcomeAck {
  std::string circuit_state;  // "" when the pair has no breaker
};

// ^[A-Za-z0-9_.:/-]{1,128}$
bool IsValidProviderName(std::string_view s);

class OutcomeService {
 public:
  explicit OutcomeService(std::vector<std::string> tenant_allowlist)
      : allowlist_(std::move(tenant_allowlist)) {}

  // INVALID_ARGUMENT / PERMISSION_DENIED with the exact texts of grpc-api.md §4.
  absl::StatusOr<OutcomeAck> Report(const OutcomeReport& report);

  uint64_t accepted() const { return accepted_.load(std::memory_order_relaxed); }

 private:
  const std::vector<std::string> allowlist_;
  std::atomic<uint64_t> accepted_{0};
};

}  // namespace router::service
