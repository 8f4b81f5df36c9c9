#pragma once
// CircuitBreaker: the state machine of one (tenant, provider) breaker (POL §6): closed / open /
// half_open, the consecutive-failure, error-rate and latency triggers over a sliding window of
// B = min(window_seconds, 60) buckets, min_requests, open -> half_open after timeout_ms (lazily
// at the next check, or by the registry's sweep), half-open probe slots (taken by a decision,
// released by the next outcome for the pair, by a failed later decide step, or after
// probe_timeout_ms), the trigger reasons and the admin-forced states.
//
// Pure: time comes from the `now` arguments (monotonic), never from a clock read, so tests drive
// it with a FakeClock. Every mutating call returns what happened (transitions, events) so the
// caller (BreakerRegistry) records metrics and logs; the breaker itself records nothing.
//
// Thread-safety: thread-safe. The closed check of the decide path (state()) is one atomic load
// without a lock; everything else takes the breaker's own mutex. Exactly one caller performs a
// given transition (it is decided under the mutex) and receives it in its result.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <optional>
#include <string_view>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "base/clock.h"
#include "core/outcome_classification.h"
#include "core/provider_health.h"
#include "policy/compiled_policy.h"

namespace router::core {

// Cause of an automatic transition (observability.md `reason` of breaker triggers). Manual
// changes carry kNone.
enum class TriggerReason : uint8_t {
  kNone,
  kFailureThreshold,  // failure_threshold_exceeded
  kErrorRate,         // error_rate_threshold_exceeded
  kLatency,           // latency_threshold_exceeded
  kHalfOpenFailure,   // half_open_failure
  kTimeoutElapsed,    // timeout_elapsed
};

// Who performed a transition: an outcome, a lazy check on a read, the sweep, an admin reset.
enum class TransitionCause : uint8_t { kOutcome, kLazy, kSweep, kManual };

// Admin target of ResetCircuitBreaker.
enum class BreakerTarget : uint8_t { kClosed, kHalfOpen, kOpen };

struct BreakerTransition {
  BreakerState from = BreakerState::kClosed;
  BreakerState to = BreakerState::kClosed;
  TriggerReason reason = TriggerReason::kNone;
  TransitionCause cause = TransitionCause::kOutcome;
};

// What one call did; the registry turns it into metrics (POL §6 "Metrics").
struct BreakerEffects {
  std::vector<BreakerTransition> transitions;  // in order (at most 2: a due half-open + outcome)
  int probes_expired = 0;                      // event probe_expired
};

// Read-out for GetCircuitBreakerStates and the gauges (grpc-api.md CircuitBreakerState).
struct BreakerSnapshot {
  BreakerState state = BreakerState::kClosed;
  int64_t state_changed_at_wall_ms = 0;
  int64_t consecutive_failures = 0;
  int64_t half_open_successes = 0;
  int64_t half_open_in_flight = 0;
  int64_t window_requests = 0;
  int64_t window_failures = 0;
  double error_rate = 0;          // window_failures / window_requests, 0 when empty
  int64_t open_remaining_ms = 0;  // 0 unless open (and not forced)
  TriggerReason last_trigger = TriggerReason::kNone;
  bool forced_open = false;
};

std::string_view TriggerReasonName(TriggerReason reason);  // "" for kNone
std::string_view BreakerStateLabel(BreakerState state);    // closed | open | half_open

class CircuitBreaker {
 public:
  // `wall_ms_at_creation` stamps state_changed_at for a fresh (closed) breaker.
  CircuitBreaker(const policy::BreakerConfig& config, int64_t wall_ms_at_creation);
  CircuitBreaker(const CircuitBreaker&) = delete;
  CircuitBreaker& operator=(const CircuitBreaker&) = delete;

  // The stored state, without applying a due transition: one relaxed-acquire atomic load.
  BreakerState state() const { return state_.load(std::memory_order_acquire); }

  // Replaces the parameters (effective configuration recomputed on a snapshot publish). The
  // state, window and slots are kept; a smaller window length restarts the window.
  void UpdateConfig(const policy::BreakerConfig& config);
  policy::BreakerConfig config() const;

  // The decide-path view: closed is one atomic load; otherwise the due open -> half_open
  // transition (cause kLazy) and probe expiry are applied first and reported in `effects`.
  BreakerView View(MonoTime now, int64_t wall_ms, BreakerEffects* effects);

  // Takes a half-open probe slot (POL §3.2 S1); false when not half-open or no slot is free.
  bool TryAcquireProbe(MonoTime now, int64_t wall_ms, BreakerEffects* effects);
  // Gives back the most recently taken slot (a later decide step failed).
  void ReleaseProbe();

  // Applies one classified outcome (POL §6 Closed / Open / Half-open). `latency_ms` > 0 feeds
  // the window's latency sum for the latency trigger. Returns the state after recording.
  BreakerState Record(BreakerInput input, int64_t latency_ms, MonoTime now, int64_t wall_ms,
                      BreakerEffects* effects);

  // Applies the due open -> half_open transition (cause kSweep) and probe expiry.
  void Sweep(MonoTime now, int64_t wall_ms, BreakerEffects* effects);

  // Admin reset / force (POL §6 "Admin operations"). The transition (if the state changed) has
  // cause kManual and reason kNone.
  void Reset(BreakerTarget target, MonoTime now, int64_t wall_ms, BreakerEffects* effects);

  // Effective state at read time (a due transition is applied, cause kLazy); slots untouched.
  BreakerSnapshot Read(MonoTime now, int64_t wall_ms, BreakerEffects* effects);

  // Monotonic time of the last outcome, probe or admin touch (idle eviction of closed breakers).
  MonoTime last_used() const;

 private:
  struct Bucket {
    int64_t epoch = -1;  // bucket index since the monotonic epoch; -1 = empty
    int64_t successes = 0;
    int64_t failures = 0;
    int64_t latency_sum_ms = 0;
    int64_t latency_count = 0;
  };
  struct WindowTotals {
    int64_t requests = 0;
    int64_t failures = 0;
    int64_t latency_sum_ms = 0;
    int64_t latency_count = 0;
  };

  void SetState(BreakerState to, TriggerReason reason, TransitionCause cause, MonoTime now,
                int64_t wall_ms, BreakerEffects* effects) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void ApplyDueLocked(TransitionCause cause, MonoTime now, int64_t wall_ms, BreakerEffects* effects)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void ResizeWindowLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void ClearWindowLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  int64_t BucketWidthNs() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void AddToWindowLocked(bool failure, int64_t latency_ms, MonoTime now)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  WindowTotals WindowLocked(MonoTime now) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  std::optional<TriggerReason> ClosedTriggerLocked(MonoTime now) const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  bool ProbeFreeLocked() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  int64_t OpenRemainingMsLocked(MonoTime now) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  std::atomic<BreakerState> state_{BreakerState::kClosed};
  std::atomic<int64_t> last_used_ns_{0};

  mutable absl::Mutex mu_;
  policy::BreakerConfig config_ ABSL_GUARDED_BY(mu_);
  int64_t consecutive_failures_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t half_open_successes_ ABSL_GUARDED_BY(mu_) = 0;
  std::deque<MonoTime> probes_ ABSL_GUARDED_BY(mu_);  // acquisition times, oldest first
  std::vector<Bucket> buckets_ ABSL_GUARDED_BY(mu_);
  MonoTime opened_at_ ABSL_GUARDED_BY(mu_){};
  int64_t changed_at_wall_ms_ ABSL_GUARDED_BY(mu_) = 0;
  TriggerReason last_trigger_ ABSL_GUARDED_BY(mu_) = TriggerReason::kNone;
  bool forced_open_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace router::core
