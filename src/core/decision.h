#pragma once
// Decision: the input and output of one selection (POL §3.2–3.4), as value types shared by the
// decider and the service layer. An output's string_views point into the CompiledPolicy the
// caller holds (through its snapshot) for the whole decision.

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "policy/compiled_policy.h"
#include "policy/condition.h"

namespace router::core {

enum class Reason : uint8_t {
  kSticky,
  kWeighted,
  kBestScore,
  kRetry,
  kFallback,
  kCircuitBreakerFallback
};
std::string_view ReasonName(Reason r);  // "sticky", "weighted", ...
int ReasonPriority(Reason r);           // 100, 50, 50, 50, 25, 20

enum class Exclusion : uint8_t {
  kZeroWeight,
  kCircuitOpen,
  kHalfOpenFull,
  kNotInPolicy,
  kRetriesExhausted,
  kPreviousAttemptFailed,
  kOutsideTieBand
};
std::string_view ExclusionName(Exclusion e);  // "zero_weight", ...

enum class ExplainLevel : uint8_t { kNone, kDetailed, kVerbose };

// What S3 did (OBS `sticky.result`; the service counts router_sticky_* per tenant from it).
enum class StickyOutcome : uint8_t {
  kOff,    // sticky disabled, or no usable session value
  kHit,    // a live pin's provider was chosen (reason sticky)
  kMiss,   // no live pin
  kRepin,  // a live pin's provider was not a candidate (repin_reason says why)
};
std::string_view StickyOutcomeName(StickyOutcome s);  // "off", "hit", "miss", "repin"

struct ExcludedProvider {
  std::string_view provider;
  Exclusion reason;
};

struct DecideRequest {
  const policy::CompiledPolicy* policy = nullptr;  // required; held by the caller's snapshot
  // Evaluation context (POL §2): the request context with tenant_id, policy_id and message_type
  // already overridden by the router. Required.
  const policy::ContextView* context = nullptr;
  ExplainLevel explain = ExplainLevel::kNone;
  // DryRun (POL §3.4): reads pins but writes none, takes no probe slot (a half-open provider
  // with a free slot counts as allowed), updates nothing.
  bool dry_run = false;
};

struct DecideResult {
  DecideResult() = default;
  // Copies rebind views that point into the source's own name buffer (see pinned_foreign_name).
  DecideResult(const DecideResult& other) {
    CopyFrom(other);
    steps = other.steps;
  }
  DecideResult(DecideResult&& other) noexcept {
    CopyFrom(other);
    steps = std::move(other.steps);
  }
  DecideResult& operator=(const DecideResult& other) {
    if (this != &other) {
      CopyFrom(other);
      steps = other.steps;
    }
    return *this;
  }
  DecideResult& operator=(DecideResult&& other) noexcept {
    if (this != &other) {
      CopyFrom(other);
      steps = std::move(other.steps);
    }
    return *this;
  }

  // OK, or FAILED_PRECONDITION no_provider_configured / UNAVAILABLE no_provider_available with
  // exact messages, `excluded` detail and (UNAVAILABLE) retry_after_ms when computable.
  // INVALID_ARGUMENT `context.attempt: must be a non-negative integer` for a bad attempt.
  absl::Status status;

  std::string_view provider;  // chosen provider (OK only)
  Reason reason = Reason::kWeighted;
  int64_t expected_latency_ms = 0;
  double expected_cost = 0;

  // Re-decision metadata (S2): set when reason is kRetry, or kFallback from S2 (c).
  bool from_failure_path = false;
  int retry_attempt = 0;   // kRetry only
  int retry_max = 0;       // kRetry only
  int64_t backoff_ms = 0;  // kRetry only
  int fallback_rule = -1;  // rule index (S2)

  bool probe_taken = false;  // a half-open probe slot is held for `provider`

  // S3 outcome; repin_reason is meaningful for kRepin only. With DryRun these describe what
  // would have happened (no pin was written or renewed).
  StickyOutcome sticky = StickyOutcome::kOff;
  Exclusion repin_reason = Exclusion::kNotInPolicy;

  // Each provider at most once, first reason, evaluation order. Fixed capacity: providers and
  // fallback targets are each at most 32, plus a previous_provider and a pinned provider that
  // are in neither, so no allocation on the decide path.
  std::array<ExcludedProvider, 2 * policy::kMaxProviders + 2> excluded{};
  size_t excluded_count = 0;

  // Explanation steps (only when requested or dry_run; may allocate then).
  std::vector<std::string> steps;

  // The provider of a live pin that is no longer in the policy (excluded as not_in_policy) is
  // copied here, and its `excluded` entry views this buffer; copies of the result rebind it.
  // An excluded previous_provider that is not in the policy views the request context instead.
  std::string_view pinned_foreign_name() const;
  void SetForeignName(std::string_view name);

 private:
  void CopyFrom(const DecideResult& other);
  std::array<char, 128> foreign_name_{};
  uint8_t foreign_name_size_ = 0;
};

}  // namespace router::core
