#pragma once
// RateLimiter: the token buckets of POL §7 (policy buckets keyed by (tenant_id, policy_id),
// the optional tenant bucket keyed by tenant_id), per replica.
//
// Algorithm (POL §7): continuous refill on the monotonic clock of the injected Clock; a check
// sets tokens = min(burst, tokens + (now - last) x rps), last = now, then allows and subtracts
// one token if tokens >= 1, else rejects with retry_after_ms = max(1, ceil((1 - tokens) / rps x
// 1000)). A new bucket starts full. New parameters apply at the next check: the bucket refills
// at its old rate up to now, then is clamped to the new burst.
//
// Arithmetic is exact integer fixed point: the rate is held in micro-tokens per second
// (round(rps x 10^6)) and the tokens in units of 10^-15 token (one nanosecond of refill at one
// micro-token per second), so refill never loses a fraction and a caller that waits exactly
// the retry-after it was given finds a whole token (no float rounding can refuse it).
//
// Bounds: at most `max_buckets` buckets (split evenly over the shards); a shard at its cap
// evicts its least recently used bucket (counted). Sweep() evicts buckets idle for >= 60 s
// that would already be refilled to burst (unobservable); each shard also sweeps itself on the
// first check at least 60 s after its previous sweep, so no thread is needed.
//
// Thread-safety: thread-safe; no global lock. Buckets are spread over a power-of-two number of
// shards, each with its own mutex; a check locks one shard, so a check is atomic per bucket
// (with burst B and N >= B concurrent checks and no refill, exactly B are allowed). A check on
// an existing bucket does not allocate (the composite key is built on the stack).

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>

#include "base/clock.h"

namespace router::core {

enum class RateScope : uint8_t { kTenant, kPolicy };
std::string_view RateScopeName(RateScope scope);  // "tenant" | "policy" (metrics label)

struct RateLimitParams {
  double requests_per_second = 100;  // > 0 (policy 0.01..1,000,000)
  int64_t burst = 50;                // >= 1
};

// Identifies one bucket; the views need only live for the call. `policy` is ignored for the
// tenant scope.
struct RateKey {
  RateScope scope = RateScope::kPolicy;
  std::string_view tenant;
  std::string_view policy;
};

struct RateDecision {
  bool allowed = true;
  int64_t retry_after_ms = 0;  // >= 1 when refused, 0 when allowed
  double tokens = 0;           // tokens left after the check (diagnostics)
};

class RateLimiter {
 public:
  static constexpr size_t kDefaultMaxBuckets = 100'000;
  static constexpr size_t kDefaultShards = 64;
  static constexpr std::chrono::seconds kIdleEviction{60};

  // `shards` is rounded up to a power of two; each shard holds max(1, max_buckets / shards).
  explicit RateLimiter(const Clock& clock, size_t max_buckets = kDefaultMaxBuckets,
                       size_t shards = kDefaultShards);
  ~RateLimiter();
  RateLimiter(const RateLimiter&) = delete;
  RateLimiter& operator=(const RateLimiter&) = delete;

  // One check (consumes a token when allowed).
  RateDecision Check(const RateKey& key, const RateLimitParams& params);
  // What Check would answer now, without consuming or creating anything (DryRun, POL §3.4).
  RateDecision Peek(const RateKey& key, const RateLimitParams& params) const;

  // Evicts idle, refilled buckets from every shard; returns how many.
  size_t Sweep();

  // Live buckets of one scope.
  size_t Size(RateScope scope) const;
  // Buckets evicted by the cap (LRU), since start.
  uint64_t evictions() const { return evictions_.load(std::memory_order_relaxed); }
  size_t shard_count() const { return shard_count_; }

 private:
  struct Bucket;
  struct Shard;

  size_t SweepShardLocked(Shard& shard, MonoTime now);

  const Clock& clock_;
  const size_t shard_count_;
  const size_t shard_capacity_;
  std::unique_ptr<Shard[]> shards_;
  std::atomic<size_t> size_[2] = {0, 0};
  std::atomic<uint64_t> evictions_{0};
};

}  // namespace router::core
