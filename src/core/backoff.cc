// Backoff delays (POL §1.3).
#include "core/backoff.h"

#include <algorithm>
#include <limits>

#include "core/random.h"

namespace router::core {
namespace {
constexpr int64_t kSaturated = std::numeric_limits<int64_t>::max() / 4;
}  // namespace

int64_t BackoffBaseDelayMs(const policy::Backoff& backoff, int n) {
  if (n < 1) n = 1;
  const int64_t base = std::max<int64_t>(backoff.base_ms, 0);
  switch (backoff.strategy) {
    case policy::BackoffStrategy::kExponential: {
      int64_t delay = base;
      for (int i = 1; i < n; ++i) {
        if (delay > kSaturated / 2) return kSaturated;
        delay *= 2;
      }
      return delay;
    }
    case policy::BackoffStrategy::kLinear:
      if (base != 0 && n > kSaturated / base) return kSaturated;
      return base * n;
    case policy::BackoffStrategy::kFixed:
      return base;
  }
  return base;
}

int64_t BackoffMs(const policy::Backoff& backoff, int n) {
  int64_t delay = BackoffBaseDelayMs(backoff, n);
  const int64_t cap = std::max(backoff.max_ms, backoff.base_ms);
  if (backoff.jitter) {
    const uint64_t span = static_cast<uint64_t>(std::min(delay, kSaturated) / 10) + 1;
    delay += static_cast<int64_t>(UniformBelow(span));
  }
  return std::min(delay, cap);
}

}  // namespace router::core
