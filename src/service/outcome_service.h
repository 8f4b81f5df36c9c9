#pragma once
// OutcomeService: intake of ReportOutcome (grpc-api.md §4) and of ExecResults (the NATS fan-out
// calls Report too). Validates in the spec's order and records the outcome: it is classified
// (core/outcome_classification.h, POL §6), fed to the pair's circuit breaker (created when the
// pair has an effective configuration) and, for `success`, to the EWMA statistics (POL §8);
// circuit_state is the breaker state after recording, "" when the pair has no breaker.
// Without SetResilience (unit tests of validation) an accepted outcome is counted and dropped.
// Thread-safe.

#include <atomic>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "core/breaker_registry.h"
#include "core/provider_stats.h"

namespace router::service {

struct OutcomeReport {
  std::string_view tenant_id;
  std::string_view provider_id;
  std::string_view status;  // success | error | timeout | cancelled
  int64_t latency_ms = 0;
  double cost = 0;
  std::string_view error_code;
  // --- additions for the ExecResult path (defaults = gRPC ReportOutcome)
  std::string_view error_type;  // JSON-only fallback of error_code (NATS §6.6)
  bool cost_present = false;    // cost was present (ExecResult JSON): 0 is a real cost
  std::string_view source = "report_outcome";  // router_provider_outcomes_total source label
};

struct OutcomeAck {
  std::string circuit_state;  // "" when the pair has no breaker
};

class BreakerMetrics;  // service/breaker_metrics.h

// ^[A-Za-z0-9_.:/-]{1,128}$
bool IsValidProviderName(std::string_view s);

class OutcomeService {
 public:
  explicit OutcomeService(std::vector<std::string> tenant_allowlist)
      : allowlist_(std::move(tenant_allowlist)) {}

  // INVALID_ARGUMENT / PERMISSION_DENIED with the exact texts of grpc-api.md §4.
  absl::StatusOr<OutcomeAck> Report(const OutcomeReport& report);

  uint64_t accepted() const { return accepted_.load(std::memory_order_relaxed); }

  // Wires the breakers, statistics and their metrics (Application, before Start; all must
  // outlive this service; `metrics` may be null).
  void SetResilience(core::BreakerRegistry* breakers, core::ProviderStats* stats,
                     BreakerMetrics* metrics) {
    breakers_ = breakers;
    stats_ = stats;
    breaker_metrics_ = metrics;
  }

 private:
  const std::vector<std::string> allowlist_;
  core::BreakerRegistry* breakers_ = nullptr;
  core::ProviderStats* stats_ = nullptr;
  BreakerMetrics* breaker_metrics_ = nullptr;
  std::atomic<uint64_t> accepted_{0};
};

}  // namespace router::service
