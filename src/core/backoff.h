#pragma once
// Retry backoff of a fallback rule (POL §1.3). For retry n >= 1 the delay is base*2^(n-1)
// (exponential), base*n (linear) or base (fixed); with jitter a uniform integer from
// [0, floor(delay/10)] (calling thread's PRNG, core/random.h) is added; the result is capped at
// max(max_ms, base_ms). The router returns it as backoff_ms and never sleeps.
// Pure functions; thread-safe; no allocation.

#include <cstdint>

#include "policy/compiled_policy.h"

namespace router::core {

// The delay before jitter and cap. n < 1 is treated as 1.
int64_t BackoffBaseDelayMs(const policy::Backoff& backoff, int n);

// The backoff_ms for retry n: base delay, plus jitter when enabled, capped.
int64_t BackoffMs(const policy::Backoff& backoff, int n);

}  // namespace router::core
