#include "nats/consumer_policy.h"

#include <algorithm>

namespace router::nats_adapter {

int64_t NakDelayMs(const std::vector<int64_t>& delays, uint64_t num_delivered) {
  if (delays.empty()) return 0;
  const uint64_t n = std::max<uint64_t>(num_delivered, 1);
  const size_t index = static_cast<size_t>(std::min<uint64_t>(n - 1, delays.size() - 1));
  return std::max<int64_t>(delays[index], 0);
}

int64_t JitteredNakDelayMs(int64_t base_ms, uint64_t random) {
  if (base_ms <= 0) return 0;
  const int64_t spread = base_ms / 10;
  if (spread == 0) return base_ms;
  const uint64_t width = static_cast<uint64_t>(2 * spread + 1);
  return base_ms + static_cast<int64_t>(random % width) - spread;
}

DedupSet::DedupSet(size_t max_entries, int64_t ttl_ms)
    : max_entries_(std::max<size_t>(max_entries, 1)), ttl_ms_(ttl_ms) {}

void DedupSet::EvictLocked(int64_t now_ms) {
  // Expired entries at the cold end first, then the bound.
  while (!lru_.empty() && (lru_.back().expires_ms <= now_ms || lru_.size() > max_entries_)) {
    index_.erase(lru_.back().key);
    lru_.pop_back();
    ++evictions_;
  }
}

bool DedupSet::Contains(std::string_view key, int64_t now_ms) {
  absl::MutexLock lock(&mu_);
  auto it = index_.find(key);
  if (it == index_.end()) return false;
  if (it->second->expires_ms <= now_ms) {
    lru_.erase(it->second);
    index_.erase(it);
    return false;
  }
  lru_.splice(lru_.begin(), lru_, it->second);
  return true;
}

void DedupSet::Insert(std::string_view key, int64_t now_ms) {
  absl::MutexLock lock(&mu_);
  auto it = index_.find(key);
  if (it != index_.end()) {
    it->second->expires_ms = now_ms + ttl_ms_;
    lru_.splice(lru_.begin(), lru_, it->second);
    return;
  }
  lru_.push_front(Entry{std::string(key), now_ms + ttl_ms_});
  index_.emplace(std::string_view(lru_.front().key), lru_.begin());
  EvictLocked(now_ms);
}

bool DedupSet::TestAndInsert(std::string_view key, int64_t now_ms) {
  absl::MutexLock lock(&mu_);
  auto it = index_.find(key);
  if (it != index_.end() && it->second->expires_ms > now_ms) {
    lru_.splice(lru_.begin(), lru_, it->second);
    return true;
  }
  if (it != index_.end()) {
    lru_.erase(it->second);
    index_.erase(it);
  }
  lru_.push_front(Entry{std::string(key), now_ms + ttl_ms_});
  index_.emplace(std::string_view(lru_.front().key), lru_.begin());
  EvictLocked(now_ms);
  return false;
}

size_t DedupSet::Size() const {
  absl::MutexLock lock(&mu_);
  return lru_.size();
}

uint64_t DedupSet::Evictions() const {
  absl::MutexLock lock(&mu_);
  return evictions_;
}

}  // namespace router::nats_adapter
