#pragma once
// Delivery policy pieces of the durable pull consumers (nats-contracts.md §6.3, §6.4, §6.5,
// §7.1): the router-side NAK delay table with ±10 % jitter, the last-delivery rule, and the
// bounded TTL dedup set used for processed results / acks (per replica) and the fan-out LRU
// (100,000 keys, 1 h).
// NakDelayMs / JitteredNakDelayMs / IsLastDelivery: pure, thread-safe. DedupSet: thread-safe.

#include <cstddef>
#include <cstdint>
#include <list>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "absl/synchronization/mutex.h"

namespace router::nats_adapter {

// Delay after delivery n (1-based num_delivered): nak_delays_ms[n-1], the last entry repeating;
// 0 for an empty table.
int64_t NakDelayMs(const std::vector<int64_t>& nak_delays_ms, uint64_t num_delivered);

// `base_ms` ± 10 %: base + (random mod (2*floor(base/10)+1)) - floor(base/10).
int64_t JitteredNakDelayMs(int64_t base_ms, uint64_t random);

// §6.3: the last delivery is num_delivered >= max_deliver (max_deliver <= 0: unlimited).
inline bool IsLastDelivery(uint64_t num_delivered, int64_t max_deliver) {
  return max_deliver > 0 && num_delivered >= static_cast<uint64_t>(max_deliver);
}

// A set of keys with a TTL from insertion and a size bound (least recently used evicted first;
// a hit refreshes recency, not the TTL). Expired keys count as absent.
class DedupSet {
 public:
  DedupSet(size_t max_entries, int64_t ttl_ms);

  // True if `key` is present and not expired at `now_ms` (marks it recently used).
  bool Contains(std::string_view key, int64_t now_ms);
  // Adds (or refreshes) `key` with expiry now + ttl.
  void Insert(std::string_view key, int64_t now_ms);
  // Contains() else Insert(); true when the key was already present.
  bool TestAndInsert(std::string_view key, int64_t now_ms);

  size_t Size() const;
  uint64_t Evictions() const;

 private:
  struct Entry {
    std::string key;
    int64_t expires_ms;
  };
  void EvictLocked(int64_t now_ms) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const size_t max_entries_;
  const int64_t ttl_ms_;
  mutable absl::Mutex mu_;
  std::list<Entry> lru_ ABSL_GUARDED_BY(mu_);  // front = most recently used
  std::unordered_map<std::string_view, std::list<Entry>::iterator> index_ ABSL_GUARDED_BY(mu_);
  uint64_t evictions_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace router::nats_adapter
