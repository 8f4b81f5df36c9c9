#include "core/circuit_breaker.h"

#include <algorithm>

namespace router::core {
namespace {

constexpr int64_t kNsPerMs = 1'000'000;

int64_t BucketCount(const policy::BreakerConfig& c) {
  return std::clamp<int64_t>(c.error_rate_window_seconds, 1, 60);
}

}  // namespace

std::string_view TriggerReasonName(TriggerReason reason) {
  switch (reason) {
    case TriggerReason::kFailureThreshold:
      return "failure_threshold_exceeded";
    case TriggerReason::kErrorRate:
      return "error_rate_threshold_exceeded";
    case TriggerReason::kLatency:
      return "latency_threshold_exceeded";
    case TriggerReason::kHalfOpenFailure:
      return "half_open_failure";
    case TriggerReason::kTimeoutElapsed:
      return "timeout_elapsed";
    case TriggerReason::kNone:
      break;
  }
  return "";
}

std::string_view BreakerStateLabel(BreakerState state) {
  switch (state) {
    case BreakerState::kOpen:
      return "open";
    case BreakerState::kHalfOpen:
      return "half_open";
    case BreakerState::kClosed:
      break;
  }
  return "closed";
}

CircuitBreaker::CircuitBreaker(const policy::BreakerConfig& config, int64_t wall_ms_at_creation)
    : config_(config), changed_at_wall_ms_(wall_ms_at_creation) {
  absl::MutexLock lock(&mu_);
  ResizeWindowLocked();
}

void CircuitBreaker::UpdateConfig(const policy::BreakerConfig& config) {
  absl::MutexLock lock(&mu_);
  const bool window_changed = config.error_rate_window_seconds != config_.error_rate_window_seconds;
  config_ = config;
  if (window_changed) ResizeWindowLocked();
  while (static_cast<int64_t>(probes_.size()) > config_.half_open_max_calls) probes_.pop_front();
}

policy::BreakerConfig CircuitBreaker::config() const {
  absl::MutexLock lock(&mu_);
  return config_;
}

MonoTime CircuitBreaker::last_used() const {
  return MonoTime(last_used_ns_.load(std::memory_order_relaxed));
}

void CircuitBreaker::ResizeWindowLocked() {
  buckets_.assign(static_cast<size_t>(BucketCount(config_)), Bucket{});
}

void CircuitBreaker::ClearWindowLocked() { std::fill(buckets_.begin(), buckets_.end(), Bucket{}); }

int64_t CircuitBreaker::BucketWidthNs() const {
  const int64_t window_ns =
      static_cast<int64_t>(config_.error_rate_window_seconds) * 1000 * kNsPerMs;
  return std::max<int64_t>(1, window_ns / static_cast<int64_t>(buckets_.size()));
}

void CircuitBreaker::AddToWindowLocked(bool failure, int64_t latency_ms, MonoTime now) {
  const int64_t epoch = now.count() / BucketWidthNs();
  Bucket& b = buckets_[static_cast<size_t>(epoch % static_cast<int64_t>(buckets_.size()))];
  if (b.epoch != epoch) b = Bucket{epoch, 0, 0, 0, 0};
  if (failure) {
    ++b.failures;
  } else {
    ++b.successes;
  }
  if (latency_ms > 0) {
    b.latency_sum_ms += latency_ms;
    ++b.latency_count;
  }
}

CircuitBreaker::WindowTotals CircuitBreaker::WindowLocked(MonoTime now) const {
  const int64_t epoch = now.count() / BucketWidthNs();
  const int64_t oldest = epoch - static_cast<int64_t>(buckets_.size()) + 1;
  WindowTotals t;
  for (const Bucket& b : buckets_) {
    if (b.epoch < oldest || b.epoch > epoch) continue;
    t.requests += b.successes + b.failures;
    t.failures += b.failures;
    t.latency_sum_ms += b.latency_sum_ms;
    t.latency_count += b.latency_count;
  }
  return t;
}

// The three closed-state checks of POL §6, first that holds.
std::optional<TriggerReason> CircuitBreaker::ClosedTriggerLocked(MonoTime now) const {
  if (consecutive_failures_ >= config_.failure_threshold) return TriggerReason::kFailureThreshold;
  const WindowTotals w = WindowLocked(now);
  if (w.requests >= config_.min_requests && w.requests > 0 &&
      static_cast<double>(w.failures) / static_cast<double>(w.requests) >=
          config_.error_rate_threshold) {
    return TriggerReason::kErrorRate;
  }
  if (config_.latency_threshold_ms.has_value() && w.latency_count >= config_.min_requests &&
      w.latency_count > 0 &&
      static_cast<double>(w.latency_sum_ms) / static_cast<double>(w.latency_count) >=
          static_cast<double>(*config_.latency_threshold_ms)) {
    return TriggerReason::kLatency;
  }
  return std::nullopt;
}

void CircuitBreaker::SetState(BreakerState to, TriggerReason reason, TransitionCause cause,
                              MonoTime now, int64_t wall_ms, BreakerEffects* effects) {
  const BreakerState from = state_.load(std::memory_order_relaxed);
  if (reason != TriggerReason::kNone) last_trigger_ = reason;
  if (from == to) return;
  changed_at_wall_ms_ = wall_ms;
  if (to == BreakerState::kOpen) opened_at_ = now;
  if (to == BreakerState::kHalfOpen || to == BreakerState::kClosed) {
    // Entering half-open resets failures, successes and slots; closing also clears the window.
    consecutive_failures_ = 0;
    half_open_successes_ = 0;
    probes_.clear();
  }
  if (to == BreakerState::kClosed) ClearWindowLocked();
  if (to == BreakerState::kOpen) {
    probes_.clear();
    half_open_successes_ = 0;
  }
  state_.store(to, std::memory_order_release);
  if (effects != nullptr) effects->transitions.push_back({from, to, reason, cause});
}

void CircuitBreaker::ApplyDueLocked(TransitionCause cause, MonoTime now, int64_t wall_ms,
                                    BreakerEffects* effects) {
  const BreakerState s = state_.load(std::memory_order_relaxed);
  if (s == BreakerState::kOpen && !forced_open_ &&
      now >= opened_at_ + std::chrono::milliseconds(config_.timeout_ms)) {
    SetState(BreakerState::kHalfOpen, TriggerReason::kTimeoutElapsed, cause, now, wall_ms, effects);
    return;
  }
  if (s == BreakerState::kHalfOpen) {
    const MonoTime limit = now - std::chrono::milliseconds(config_.probe_timeout_ms);
    while (!probes_.empty() && probes_.front() <= limit) {
      probes_.pop_front();
      if (effects != nullptr) ++effects->probes_expired;
    }
  }
}

bool CircuitBreaker::ProbeFreeLocked() const {
  return static_cast<int64_t>(probes_.size()) < config_.half_open_max_calls;
}

int64_t CircuitBreaker::OpenRemainingMsLocked(MonoTime now) const {
  if (state_.load(std::memory_order_relaxed) != BreakerState::kOpen || forced_open_) return 0;
  const MonoTime until = opened_at_ + std::chrono::milliseconds(config_.timeout_ms);
  if (until <= now) return 0;
  // Rounded up, so a positive remainder never reads as 0.
  return ((until - now).count() + kNsPerMs - 1) / kNsPerMs;
}

BreakerView CircuitBreaker::View(MonoTime now, int64_t wall_ms, BreakerEffects* effects) {
  BreakerView view;
  if (state() == BreakerState::kClosed) return view;  // the lock-free closed check
  absl::MutexLock lock(&mu_);
  ApplyDueLocked(TransitionCause::kLazy, now, wall_ms, effects);
  view.state = state_.load(std::memory_order_relaxed);
  if (view.state == BreakerState::kHalfOpen) view.probe_slot_free = ProbeFreeLocked();
  if (view.state == BreakerState::kOpen && !forced_open_) {
    view.open_remaining_ms = OpenRemainingMsLocked(now);
  }
  return view;
}

bool CircuitBreaker::TryAcquireProbe(MonoTime now, int64_t wall_ms, BreakerEffects* effects) {
  if (state() == BreakerState::kClosed) return false;
  absl::MutexLock lock(&mu_);
  ApplyDueLocked(TransitionCause::kLazy, now, wall_ms, effects);
  if (state_.load(std::memory_order_relaxed) != BreakerState::kHalfOpen) return false;
  if (!ProbeFreeLocked()) return false;
  probes_.push_back(now);
  last_used_ns_.store(now.count(), std::memory_order_relaxed);
  return true;
}

void CircuitBreaker::ReleaseProbe() {
  absl::MutexLock lock(&mu_);
  if (!probes_.empty()) probes_.pop_back();
}

BreakerState CircuitBreaker::Record(BreakerInput input, int64_t latency_ms, MonoTime now,
                                    int64_t wall_ms, BreakerEffects* effects) {
  absl::MutexLock lock(&mu_);
  last_used_ns_.store(now.count(), std::memory_order_relaxed);
  ApplyDueLocked(TransitionCause::kLazy, now, wall_ms, effects);
  // Any outcome for the pair releases the oldest held slot.
  if (!probes_.empty()) probes_.pop_front();
  const bool counted = input == BreakerInput::kSuccess || input == BreakerInput::kFailure;
  const bool failure = input == BreakerInput::kFailure;
  switch (state_.load(std::memory_order_relaxed)) {
    case BreakerState::kClosed:
      if (!counted) break;
      consecutive_failures_ = failure ? consecutive_failures_ + 1 : 0;
      AddToWindowLocked(failure, latency_ms, now);
      if (std::optional<TriggerReason> reason = ClosedTriggerLocked(now)) {
        SetState(BreakerState::kOpen, *reason, TransitionCause::kOutcome, now, wall_ms, effects);
      }
      break;
    case BreakerState::kOpen:
      break;  // statistics only
    case BreakerState::kHalfOpen:
      if (!counted) break;
      if (failure) {
        SetState(BreakerState::kOpen, TriggerReason::kHalfOpenFailure, TransitionCause::kOutcome,
                 now, wall_ms, effects);
      } else if (++half_open_successes_ >= config_.success_threshold) {
        SetState(BreakerState::kClosed, TriggerReason::kNone, TransitionCause::kOutcome, now,
                 wall_ms, effects);
      }
      break;
  }
  return state_.load(std::memory_order_relaxed);
}

void CircuitBreaker::Sweep(MonoTime now, int64_t wall_ms, BreakerEffects* effects) {
  if (state() == BreakerState::kClosed) return;
  absl::MutexLock lock(&mu_);
  ApplyDueLocked(TransitionCause::kSweep, now, wall_ms, effects);
}

void CircuitBreaker::Reset(BreakerTarget target, MonoTime now, int64_t wall_ms,
                           BreakerEffects* effects) {
  absl::MutexLock lock(&mu_);
  last_used_ns_.store(now.count(), std::memory_order_relaxed);
  forced_open_ = false;
  switch (target) {
    case BreakerTarget::kClosed:
      SetState(BreakerState::kClosed, TriggerReason::kNone, TransitionCause::kManual, now, wall_ms,
               effects);
      // Already closed: still clear counters, window and slots.
      consecutive_failures_ = 0;
      half_open_successes_ = 0;
      probes_.clear();
      ClearWindowLocked();
      break;
    case BreakerTarget::kHalfOpen:
      SetState(BreakerState::kHalfOpen, TriggerReason::kNone, TransitionCause::kManual, now,
               wall_ms, effects);
      consecutive_failures_ = 0;
      half_open_successes_ = 0;
      probes_.clear();
      break;
    case BreakerTarget::kOpen:
      SetState(BreakerState::kOpen, TriggerReason::kNone, TransitionCause::kManual, now, wall_ms,
               effects);
      forced_open_ = true;
      opened_at_ = now;
      break;
  }
}

BreakerSnapshot CircuitBreaker::Read(MonoTime now, int64_t wall_ms, BreakerEffects* effects) {
  absl::MutexLock lock(&mu_);
  // A due open -> half_open transition is applied; probe slots are untouched.
  const BreakerState s = state_.load(std::memory_order_relaxed);
  if (s == BreakerState::kOpen && !forced_open_ &&
      now >= opened_at_ + std::chrono::milliseconds(config_.timeout_ms)) {
    SetState(BreakerState::kHalfOpen, TriggerReason::kTimeoutElapsed, TransitionCause::kLazy, now,
             wall_ms, effects);
  }
  BreakerSnapshot out;
  out.state = state_.load(std::memory_order_relaxed);
  out.state_changed_at_wall_ms = changed_at_wall_ms_;
  out.consecutive_failures = consecutive_failures_;
  out.half_open_successes = half_open_successes_;
  out.half_open_in_flight = static_cast<int64_t>(probes_.size());
  const WindowTotals w = WindowLocked(now);
  out.window_requests = w.requests;
  out.window_failures = w.failures;
  out.error_rate =
      w.requests > 0 ? static_cast<double>(w.failures) / static_cast<double>(w.requests) : 0.0;
  out.open_remaining_ms = OpenRemainingMsLocked(now);
  out.last_trigger = last_trigger_;
  out.forced_open = forced_open_;
  return out;
}

}  // namespace router::core
