#include "service/outcome_service.h"

#include <algorithm>
#include <cmath>

#include "base/errors.h"
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
  return OutcomeAck{};
}

}  // namespace router::service
