// Token buckets of POL §7: sharded, exact fixed point, LRU cap and idle sweep.
#include "core/rate_limiter.h"

#include <algorithm>
#include <array>
#include <bit>
#include <cmath>
#include <cstring>
#include <string>

#include "absl/container/node_hash_map.h"
#include "absl/hash/hash.h"
#include "absl/synchronization/mutex.h"

namespace router::core {
namespace {

using Units = __int128;  // 10^-15 token
constexpr Units kUnitsPerToken = static_cast<Units>(1'000'000'000'000'000LL);
constexpr int64_t kMicro = 1'000'000;

// Scope byte, tenant, NUL, policy: ids never contain NUL (POL §0), so the key is unambiguous.
constexpr size_t kInlineKeyBytes = 1 + 255 + 1 + 255;

class KeyBuffer {
 public:
  explicit KeyBuffer(const RateKey& key) {
    const std::string_view policy =
        key.scope == RateScope::kTenant ? std::string_view() : key.policy;
    const size_t total = 1 + key.tenant.size() + 1 + policy.size();
    char* out = inline_.data();
    if (total > inline_.size()) {
      heap_.resize(total);
      out = heap_.data();
    }
    char* p = out;
    *p++ = key.scope == RateScope::kTenant ? 't' : 'p';
    std::memcpy(p, key.tenant.data(), key.tenant.size());
    p += key.tenant.size();
    *p++ = '\0';
    if (!policy.empty()) std::memcpy(p, policy.data(), policy.size());
    view_ = absl::string_view(out, total);
  }
  absl::string_view view() const { return view_; }

 private:
  std::array<char, kInlineKeyBytes> inline_;
  std::string heap_;
  absl::string_view view_;
};

int64_t RateMicro(double rps) {
  if (!(rps > 0)) return 1;
  const double u = std::llround(rps * static_cast<double>(kMicro));
  return std::max<int64_t>(1, static_cast<int64_t>(u));
}

Units Cap(int64_t burst) {
  return static_cast<Units>(std::max<int64_t>(burst, 1)) * kUnitsPerToken;
}

size_t RoundUpPow2(size_t n) { return n <= 1 ? 1 : std::bit_ceil(n); }

// The answer for a bucket holding `units` after refill (POL §7), consuming when allowed.
RateDecision Judge(Units& units, int64_t rate_u, bool consume) {
  RateDecision d;
  if (units >= kUnitsPerToken) {
    if (consume) units -= kUnitsPerToken;
    d.allowed = true;
  } else {
    // Every millisecond adds rate_u * 10^6 units.
    const Units per_ms = static_cast<Units>(rate_u) * kMicro;
    const Units deficit = kUnitsPerToken - units;
    const Units ms = (deficit + per_ms - 1) / per_ms;
    d.allowed = false;
    d.retry_after_ms = std::max<int64_t>(1, static_cast<int64_t>(ms));
  }
  d.tokens = static_cast<double>(units) / static_cast<double>(kUnitsPerToken);
  return d;
}

}  // namespace

std::string_view RateScopeName(RateScope scope) {
  return scope == RateScope::kTenant ? "tenant" : "policy";
}

struct RateLimiter::Bucket {
  Units units = 0;
  int64_t rate_u = 1;
  int64_t burst = 1;
  MonoTime last{};
  RateScope scope = RateScope::kPolicy;
  // LRU list of the shard: head = most recently used.
  Bucket* prev = nullptr;
  Bucket* next = nullptr;
  const std::string* key = nullptr;  // the map node's key (node_hash_map: stable)

  // Tokens at `now` under the stored parameters (POL §7 refill), capped at burst.
  Units RefilledAt(MonoTime now) const {
    const int64_t elapsed = std::max<int64_t>(0, (now - last).count());
    const Units cap = Cap(burst);
    // elapsed < 2^63 ns and rate_u <= 10^12: the product fits in 128 bits.
    const Units refilled = units + static_cast<Units>(elapsed) * rate_u;
    return std::min(refilled, cap);
  }
};

struct alignas(64) RateLimiter::Shard {
  mutable absl::Mutex mu;
  absl::node_hash_map<std::string, Bucket> map ABSL_GUARDED_BY(mu);
  Bucket* head ABSL_GUARDED_BY(mu) = nullptr;
  Bucket* tail ABSL_GUARDED_BY(mu) = nullptr;
  MonoTime next_sweep ABSL_GUARDED_BY(mu){};

  void Unlink(Bucket* b) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
    (b->prev ? b->prev->next : head) = b->next;
    (b->next ? b->next->prev : tail) = b->prev;
    b->prev = b->next = nullptr;
  }
  void PushFront(Bucket* b) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
    b->prev = nullptr;
    b->next = head;
    if (head != nullptr) head->prev = b;
    head = b;
    if (tail == nullptr) tail = b;
  }
};

RateLimiter::RateLimiter(const Clock& clock, size_t max_buckets, size_t shards)
    : clock_(clock),
      shard_count_(RoundUpPow2(shards)),
      shard_capacity_(std::max<size_t>(1, max_buckets / RoundUpPow2(shards))),
      shards_(std::make_unique<Shard[]>(RoundUpPow2(shards))) {}

RateLimiter::~RateLimiter() = default;

RateDecision RateLimiter::Check(const RateKey& key, const RateLimitParams& params) {
  const MonoTime now = clock_.MonoNow();
  KeyBuffer buf(key);
  const size_t h = absl::Hash<absl::string_view>{}(buf.view());
  Shard& shard = shards_[h & (shard_count_ - 1)];
  const int64_t rate_u = RateMicro(params.requests_per_second);
  const int64_t burst = std::max<int64_t>(1, params.burst);

  absl::MutexLock lock(&shard.mu);
  if (now >= shard.next_sweep) {
    SweepShardLocked(shard, now);
    shard.next_sweep = now + kIdleEviction;
  }
  Bucket* b = nullptr;
  if (auto it = shard.map.find(buf.view()); it != shard.map.end()) {
    b = &it->second;
    // Refill at the old rate up to now, then clamp to the new burst (parameter change).
    b->units = std::min(b->RefilledAt(now), Cap(burst));
    shard.Unlink(b);
  } else {
    if (shard.map.size() >= shard_capacity_ && shard.tail != nullptr) {
      Bucket* victim = shard.tail;
      shard.Unlink(victim);
      size_[static_cast<size_t>(victim->scope)].fetch_sub(1, std::memory_order_relaxed);
      shard.map.erase(shard.map.find(*victim->key));
      evictions_.fetch_add(1, std::memory_order_relaxed);
    }
    auto inserted = shard.map.try_emplace(std::string(buf.view())).first;
    b = &inserted->second;
    b->key = &inserted->first;
    b->scope = key.scope;
    b->units = Cap(burst);  // a new bucket starts full
    size_[static_cast<size_t>(key.scope)].fetch_add(1, std::memory_order_relaxed);
  }
  b->rate_u = rate_u;
  b->burst = burst;
  b->last = std::max(b->last, now);
  shard.PushFront(b);
  return Judge(b->units, rate_u, /*consume=*/true);
}

RateDecision RateLimiter::Peek(const RateKey& key, const RateLimitParams& params) const {
  const MonoTime now = clock_.MonoNow();
  KeyBuffer buf(key);
  const size_t h = absl::Hash<absl::string_view>{}(buf.view());
  const Shard& shard = shards_[h & (shard_count_ - 1)];
  const int64_t rate_u = RateMicro(params.requests_per_second);
  const int64_t burst = std::max<int64_t>(1, params.burst);
  Units units = Cap(burst);
  {
    absl::MutexLock lock(&shard.mu);
    if (auto it = shard.map.find(buf.view()); it != shard.map.end()) {
      units = std::min(it->second.RefilledAt(now), Cap(burst));
    }
  }
  return Judge(units, rate_u, /*consume=*/false);
}

size_t RateLimiter::SweepShardLocked(Shard& shard, MonoTime now) ABSL_NO_THREAD_SAFETY_ANALYSIS {
  size_t removed = 0;
  for (auto it = shard.map.begin(); it != shard.map.end();) {
    Bucket& b = it->second;
    if (now - b.last >= kIdleEviction && b.RefilledAt(now) >= Cap(b.burst)) {
      shard.Unlink(&b);
      size_[static_cast<size_t>(b.scope)].fetch_sub(1, std::memory_order_relaxed);
      shard.map.erase(it++);
      ++removed;
    } else {
      ++it;
    }
  }
  return removed;
}

size_t RateLimiter::Sweep() {
  const MonoTime now = clock_.MonoNow();
  size_t removed = 0;
  for (size_t i = 0; i < shard_count_; ++i) {
    absl::MutexLock lock(&shards_[i].mu);
    removed += SweepShardLocked(shards_[i], now);
  }
  return removed;
}

size_t RateLimiter::Size(RateScope scope) const {
  return size_[static_cast<size_t>(scope)].load(std::memory_order_relaxed);
}

}  // namespace router::core
