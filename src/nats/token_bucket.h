#pragma once
// TokenBucket: a per-replica rate limit for best-effort side traffic, e.g. decide DLQ
// envelopes at most `nats.dlq.decide_rate_per_s` per replica (nats-contracts.md §4.3).
// Time comes from the injected Clock (MonoNow). Thread-safe (one small mutex; only taken on
// the rejection path of a decide, never on a successful one).

#include <algorithm>
#include <chrono>
#include <cstdint>

#include "absl/synchronization/mutex.h"
#include "base/clock.h"

namespace router::nats_adapter {

class TokenBucket {
 public:
  // `rate_per_s` tokens per second, at most `burst` stored; starts full. rate <= 0 = never.
  TokenBucket(const Clock& clock, double rate_per_s, double burst)
      : clock_(clock), rate_per_s_(rate_per_s), burst_(burst), tokens_(burst) {}

  // Takes one token if available.
  bool TryTake() {
    if (rate_per_s_ <= 0) return false;
    const MonoTime now = clock_.MonoNow();
    absl::MutexLock lock(&mu_);
    if (started_) {
      const double elapsed_s = std::chrono::duration<double>(now - last_).count();
      if (elapsed_s > 0) tokens_ = std::min(burst_, tokens_ + elapsed_s * rate_per_s_);
    }
    started_ = true;
    last_ = std::max(last_, now);
    if (tokens_ < 1.0) return false;
    tokens_ -= 1.0;
    return true;
  }

 private:
  const Clock& clock_;
  const double rate_per_s_;
  const double burst_;
  absl::Mutex mu_;
  double tokens_ ABSL_GUARDED_BY(mu_);
  MonoTime last_ ABSL_GUARDED_BY(mu_){0};
  bool started_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace router::nats_adapter
