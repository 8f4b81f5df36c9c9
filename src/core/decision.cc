// Wire names and priorities of reasons and exclusions (POL §3.3): the one table where they are
// spelled.
#include "core/decision.h"

#include <algorithm>
#include <cstring>
#include <functional>

namespace router::core {

std::string_view ReasonName(Reason r) {
  switch (r) {
    case Reason::kSticky:
      return "sticky";
    case Reason::kWeighted:
      return "weighted";
    case Reason::kBestScore:
      return "best_score";
    case Reason::kRetry:
      return "retry";
    case Reason::kFallback:
      return "fallback";
    case Reason::kCircuitBreakerFallback:
      return "circuit_breaker_fallback";
  }
  return "weighted";
}

int ReasonPriority(Reason r) {
  switch (r) {
    case Reason::kSticky:
      return 100;
    case Reason::kWeighted:
    case Reason::kBestScore:
    case Reason::kRetry:
      return 50;
    case Reason::kFallback:
      return 25;
    case Reason::kCircuitBreakerFallback:
      return 20;
  }
  return 50;
}

std::string_view ExclusionName(Exclusion e) {
  switch (e) {
    case Exclusion::kZeroWeight:
      return "zero_weight";
    case Exclusion::kCircuitOpen:
      return "circuit_open";
    case Exclusion::kHalfOpenFull:
      return "half_open_full";
    case Exclusion::kNotInPolicy:
      return "not_in_policy";
    case Exclusion::kRetriesExhausted:
      return "retries_exhausted";
    case Exclusion::kPreviousAttemptFailed:
      return "previous_attempt_failed";
    case Exclusion::kOutsideTieBand:
      return "outside_tie_band";
  }
  return "zero_weight";
}

std::string_view StickyOutcomeName(StickyOutcome s) {
  switch (s) {
    case StickyOutcome::kOff:
      return "off";
    case StickyOutcome::kHit:
      return "hit";
    case StickyOutcome::kMiss:
      return "miss";
    case StickyOutcome::kRepin:
      return "repin";
  }
  return "off";
}

std::string_view DecideResult::pinned_foreign_name() const {
  return std::string_view(foreign_name_.data(), foreign_name_size_);
}

void DecideResult::SetForeignName(std::string_view name) {
  foreign_name_size_ = static_cast<uint8_t>(std::min(name.size(), foreign_name_.size()));
  std::memcpy(foreign_name_.data(), name.data(), foreign_name_size_);
}

void DecideResult::CopyFrom(const DecideResult& other) {
  status = other.status;
  provider = other.provider;
  reason = other.reason;
  expected_latency_ms = other.expected_latency_ms;
  expected_cost = other.expected_cost;
  from_failure_path = other.from_failure_path;
  retry_attempt = other.retry_attempt;
  retry_max = other.retry_max;
  backoff_ms = other.backoff_ms;
  fallback_rule = other.fallback_rule;
  probe_taken = other.probe_taken;
  sticky = other.sticky;
  repin_reason = other.repin_reason;
  excluded_count = std::min(other.excluded_count, excluded.size());
  std::copy_n(other.excluded.begin(), excluded_count, excluded.begin());
  foreign_name_ = other.foreign_name_;
  foreign_name_size_ = other.foreign_name_size_;
  // Views into `other`'s own buffer are rebound to ours.
  // std::less gives a total order over pointers into unrelated objects.
  const char* begin = other.foreign_name_.data();
  const char* end = begin + other.foreign_name_.size();
  auto inside = [&](std::string_view v) {
    std::less<const char*> lt;
    return !v.empty() && !lt(v.data(), begin) && lt(v.data(), end);
  };
  for (size_t i = 0; i < excluded_count; ++i) {
    if (inside(excluded[i].provider)) excluded[i].provider = pinned_foreign_name();
  }
  if (inside(provider)) provider = pinned_foreign_name();
}

}  // namespace router::core
