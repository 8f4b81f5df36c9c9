#pragma once
// Decider: selection steps S1-S6 of one decision (POL §3.2), with reasons, exclusions and the
// explanation (POL §3.3), S6 errors and DryRun semantics (POL §3.4).
//
// Pure decision core: no I/O, no threads, no clock reads other than the injected Clock. The
// caller holds the CompiledPolicy (through its snapshot) and the context for the whole call;
// result views point into them (see DecideResult).
//
// Side effects, all only for a successful, non-DryRun decision: the sticky pin is renewed (S3)
// or written (S4); a half-open probe slot is taken for the chosen provider (result.probe_taken;
// the service releases it if a later request step fails). S2 and S5 never move a session.
//
// Thread-safe: Decide() is const and may run concurrently; the dependencies are thread-safe.
// Hot path: a decision without explanation does not allocate (sticky insert of a new session
// aside) and takes no lock other than one sticky shard mutex per table access.

#include "base/clock.h"
#include "core/decision.h"
#include "core/provider_health.h"
#include "core/sticky_table.h"

namespace router::core {

class Decider {
 public:
  // Every reference must outlive the decider.
  Decider(const Clock& clock, ProviderHealth& health, const StatisticsView& stats,
          StickyTable& sticky);

  // Runs S1-S6 for request.policy against request.context.
  // status: OK with `provider` and `reason`; INVALID_ARGUMENT invalid_request
  // `context.attempt: must be a non-negative integer`; FAILED_PRECONDITION no_provider_configured;
  // UNAVAILABLE no_provider_available with details `excluded` and, when computable,
  // `retry_after_ms`. `excluded` is filled on every path; `steps` when request.explain is not
  // kNone or request.dry_run (DryRun's own `dry_run:` step is added by the service).
  // REQUIRES: request.policy and request.context are non-null.
  DecideResult Decide(const DecideRequest& request) const;

 private:
  friend class DecisionRun;
  const Clock& clock_;
  ProviderHealth& health_;
  const StatisticsView& stats_;
  StickyTable& sticky_;
};

// "weighted", "least_latency" or "lowest_cost".
std::string_view StrategyName(policy::Strategy strategy);

// A micro-share amount as a fraction: at most 6 decimals, trailing zeros trimmed, at least one
// decimal ("0.9", "1.0"; POL §3.3 <T>).
std::string FormatMicroShares(uint64_t micro);

}  // namespace router::core
