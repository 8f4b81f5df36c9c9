#include "service/outcome_service.h"

#include <algorithm>
#include <cmath>

#include "base/errors.h"
#include "core/outcome_classification.h"
#include "service/breaker_metrics.h"
#include "service/decision_service.h"

namespace router::service {

bool IsValidProviderName(std::string_view s) {
  if (s.empty() || s.size() > 128) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '.' || c == ':' || c == '/' || c == '-';
  });
}

absl::StatusOr<OutcomeAck> OutcomeService::Report(const OutcomeReport& r) {
  auto invalid = [](std::string_view m) {
    return MakeError(absl::StatusCode::kInvalidArgument, m, tag::kInvalidRequest);
  };
  if (auto s = DecisionService::ValidateTenant(r.tenant_id); !s.ok()) return s;
  if (!IsValidProviderName(r.provider_id)) {
    return invalid("provider_id must match ^[A-Za-z0-9_.:/-]{1,128}$");
  }
  if (r.status != "success" && r.status != "error" && r.status != "timeout" &&
      r.status != "cancelled") {
    return invalid("status must be one of \"success\", \"error\", \"timeout\", \"cancelled\"");
  }
  if (r.latency_ms < 0) return invalid("latency_ms must not be negative");
  if (!std::isfinite(r.cost) || r.cost < 0)
    return invalid("cost must be a finite non-negative number");
  if (!allowlist_.empty() &&
      std::find(allowlist_.begin(), allowlist_.end(), r.tenant_id) == allowlist_.end()) {
    return MakeError(absl::StatusCode::kPermissionDenied, "tenant not allowed",
                     tag::kTenantNotAllowed);
  }
  accepted_.fetch_add(1, std::memory_order_relaxed);
  OutcomeAck ack;
  if (breaker_metrics_ != nullptr) {
    breaker_metrics_->OnOutcome(r.tenant_id, r.provider_id, r.status, r.source);
  }
  const core::BreakerInput input = core::ClassifyOutcome(r.status, r.error_code, r.error_type);
  // Latency and cost feed the statistics whatever the breaker effect; only successes count
  // (POL §8). latency 0 / cost 0 mean "not measured" unless the cost's presence is known.
  if (stats_ != nullptr && input == core::BreakerInput::kSuccess) {
    std::optional<double> cost;
    if (r.cost > 0 || r.cost_present) cost = r.cost;
    if (r.latency_ms > 0 || cost.has_value()) {
      const core::StatsRecord rec =
          stats_->RecordSuccess(r.tenant_id, r.provider_id, r.latency_ms, cost);
      if (breaker_metrics_ != nullptr) {
        breaker_metrics_->OnStatistics(r.tenant_id, r.provider_id, rec);
      }
    }
  }
  if (breakers_ != nullptr) {
    if (std::optional<core::BreakerState> state =
            breakers_->Record(r.tenant_id, r.provider_id, input, r.latency_ms)) {
      ack.circuit_state = std::string(core::BreakerStateLabel(*state));
    }
  }
  return ack;
}

}  // namespace router::service
