// Sharded sticky pins (POL §5).
#include "core/sticky_table.h"

#include <algorithm>
#include <bit>
#include <cstring>
#include <memory>
#include <utility>

#include "absl/hash/hash.h"
#include "base/errors.h"

namespace router::core {
namespace {

// Tenant and policy ids never contain NUL (POL §0 character classes), so NUL-separating them
// makes the composite key unambiguous while the session value may hold any byte.
constexpr size_t kInlineKeyBytes = 255 + 1 + 255 + 1 + kMaxSessionValueBytes;

// The composite key, assembled on the stack; a (never valid) oversized key falls back to the heap.
class KeyBuffer {
 public:
  explicit KeyBuffer(const PinKey& key) {
    const size_t total = key.tenant.size() + key.policy.size() + key.session.size() + 2;
    char* out = inline_.data();
    if (total > inline_.size()) {
      heap_.resize(total);
      out = heap_.data();
    }
    char* p = out;
    std::memcpy(p, key.tenant.data(), key.tenant.size());
    p += key.tenant.size();
    *p++ = '\0';
    std::memcpy(p, key.policy.data(), key.policy.size());
    p += key.policy.size();
    *p++ = '\0';
    std::memcpy(p, key.session.data(), key.session.size());
    view_ = absl::string_view(out, total);
    hash_ = absl::Hash<absl::string_view>{}(view_);
  }
  absl::string_view view() const { return view_; }
  // The key's hash, computed once: it picks the shard and is handed to the shard's map (the
  // map's own hasher, absl::Hash of the string view, gives the same value).
  size_t hash() const { return hash_; }

 private:
  std::array<char, kInlineKeyBytes> inline_;
  std::string heap_;
  absl::string_view view_;
  size_t hash_ = 0;
};

// Multiply-shift takes the shard from the top bits of a remix, so the shard index does not
// correlate with the low bits the hash map itself uses for control bytes.
size_t ShardOfHash(uint64_t h, int shard_bits) {
  if (shard_bits == 0) return 0;
  return static_cast<size_t>((h * 0x9E3779B97F4A7C15ull) >> (64 - shard_bits));
}

// A composite key as stored in a shard's map: up to kInlineBytes inline in the map slot (the
// usual tenant/policy/session sizes), longer keys on the heap. Inline keys spare a lookup the
// cache miss of a heap-allocated std::string key (issue #6 profile: a sticky hit is memory-bound).
class StoredKey {
 public:
  explicit StoredKey(absl::string_view v) : size_(static_cast<uint32_t>(v.size())) {
    char* out = inline_;
    if (size_ > kInlineBytes) {
      heap_ = std::make_unique<char[]>(size_);
      out = heap_.get();
    }
    std::memcpy(out, v.data(), size_);
  }
  StoredKey(const StoredKey& other) : StoredKey(other.view()) {}
  StoredKey& operator=(const StoredKey& other) {
    if (this != &other) *this = StoredKey(other.view());
    return *this;
  }
  StoredKey(StoredKey&& other) noexcept
      : size_(std::exchange(other.size_, 0)), heap_(std::move(other.heap_)) {
    std::memcpy(inline_, other.inline_, sizeof(inline_));
  }
  StoredKey& operator=(StoredKey&& other) noexcept {
    size_ = std::exchange(other.size_, 0);
    std::memcpy(inline_, other.inline_, sizeof(inline_));
    heap_ = std::move(other.heap_);
    return *this;
  }

  absl::string_view view() const {
    return absl::string_view(size_ > kInlineBytes ? heap_.get() : inline_, size_);
  }

 private:
  static constexpr uint32_t kInlineBytes = 52;
  uint32_t size_;
  char inline_[kInlineBytes];
  std::unique_ptr<char[]> heap_;
};

// Transparent hash and equality: lookups take the composite key as an absl::string_view; the
// hash equals absl::Hash<absl::string_view> of the bytes (KeyBuffer::hash() relies on it).
struct StoredKeyHash {
  using is_transparent = void;
  size_t operator()(absl::string_view v) const { return absl::Hash<absl::string_view>{}(v); }
  size_t operator()(const StoredKey& k) const { return (*this)(k.view()); }
};
struct StoredKeyEq {
  using is_transparent = void;
  static absl::string_view View(absl::string_view v) { return v; }
  static absl::string_view View(const StoredKey& k) { return k.view(); }
  template <class A, class B>
  bool operator()(const A& a, const B& b) const {
    return View(a) == View(b);
  }
};

bool ValidProvider(std::string_view provider) {
  return !provider.empty() && provider.size() <= kMaxPinProviderBytes;
}

PinnedProvider CopyOut(const std::string& provider) {
  PinnedProvider out;
  const size_t n = std::min(provider.size(), kMaxPinProviderBytes);
  std::memcpy(out.bytes.data(), provider.data(), n);
  out.size = static_cast<uint8_t>(n);
  return out;
}

size_t RoundUpPow2(size_t n) { return n <= 1 ? 1 : std::bit_ceil(n); }

}  // namespace

struct alignas(64) StickyTable::Shard {
  mutable absl::Mutex mu;
  absl::flat_hash_map<StoredKey, Entry, StoredKeyHash, StoredKeyEq> map ABSL_GUARDED_BY(mu);
};

StickyTable::StickyTable(size_t shards, size_t max_entries)
    : shard_count_(RoundUpPow2(shards)),
      shard_capacity_(std::max<size_t>(1, max_entries / RoundUpPow2(shards))),
      shard_bits_(std::countr_zero(RoundUpPow2(shards))),
      shards_(std::make_unique<Shard[]>(RoundUpPow2(shards))) {}

StickyTable::~StickyTable() = default;

size_t StickyTable::ShardOf(const PinKey& key) const {
  KeyBuffer buf(key);
  return ShardIndex(buf.view());
}

size_t StickyTable::ShardIndex(absl::string_view composite_key) const {
  return ShardOfHash(absl::Hash<absl::string_view>{}(composite_key), shard_bits_);
}

std::optional<PinnedProvider> StickyTable::Peek(const PinKey& key, MonoTime now) const {
  KeyBuffer buf(key);
  const Shard& shard = shards_[ShardOfHash(buf.hash(), shard_bits_)];
  absl::MutexLock lock(&shard.mu);
  auto it = shard.map.find(buf.view(), buf.hash());
  if (it == shard.map.end() || now >= it->second.expires_at) return std::nullopt;
  return CopyOut(it->second.provider);
}

std::optional<PinnedProvider> StickyTable::LookupAndRenew(const PinKey& key, MonoTime now,
                                                          std::chrono::seconds ttl) {
  return LookupAndRenew(key, now, ttl, [](std::string_view) { return true; });
}

std::optional<PinnedProvider> StickyTable::LookupAndRenew(
    const PinKey& key, MonoTime now, std::chrono::seconds ttl,
    absl::FunctionRef<bool(std::string_view provider)> renew_if) {
  KeyBuffer buf(key);
  Shard& shard = shards_[ShardOfHash(buf.hash(), shard_bits_)];
  absl::MutexLock lock(&shard.mu);
  auto it = shard.map.find(buf.view(), buf.hash());
  if (it == shard.map.end()) {
    counters_.misses.fetch_add(1, std::memory_order_relaxed);
    return std::nullopt;
  }
  Entry& entry = it->second;
  if (now >= entry.expires_at) {
    shard.map.erase(it);
    size_.fetch_sub(1, std::memory_order_relaxed);
    counters_.evictions_expired.fetch_add(1, std::memory_order_relaxed);
    counters_.misses.fetch_add(1, std::memory_order_relaxed);
    return std::nullopt;
  }
  if (renew_if(entry.provider)) {
    counters_.hits.fetch_add(1, std::memory_order_relaxed);
    if (now - entry.renewed_at >= kMinRenewInterval) {
      entry.expires_at = now + ttl;
      entry.renewed_at = now;
    }
  }
  return CopyOut(entry.provider);
}

bool StickyTable::Renew(const PinKey& key, std::string_view provider, MonoTime now,
                        std::chrono::seconds ttl) {
  KeyBuffer buf(key);
  Shard& shard = shards_[ShardOfHash(buf.hash(), shard_bits_)];
  absl::MutexLock lock(&shard.mu);
  auto it = shard.map.find(buf.view(), buf.hash());
  if (it == shard.map.end() || now >= it->second.expires_at || it->second.provider != provider) {
    return false;
  }
  counters_.hits.fetch_add(1, std::memory_order_relaxed);
  if (now - it->second.renewed_at >= kMinRenewInterval) {
    it->second.expires_at = now + ttl;
    it->second.renewed_at = now;
  }
  return true;
}

StickyTable::PutResult StickyTable::Put(const PinKey& key, std::string_view provider, MonoTime now,
                                        std::chrono::seconds ttl) {
  if (key.session.empty() || key.session.size() > kMaxSessionValueBytes ||
      !ValidProvider(provider)) {
    return PutResult::kRejected;
  }
  KeyBuffer buf(key);
  Shard& shard = shards_[ShardOfHash(buf.hash(), shard_bits_)];
  absl::MutexLock lock(&shard.mu);
  auto it = shard.map.find(buf.view(), buf.hash());
  if (it != shard.map.end()) {
    Entry& entry = it->second;
    PutResult result = PutResult::kCreated;  // an expired pin is replaced as if absent
    if (now < entry.expires_at) {
      result = entry.provider == provider ? PutResult::kRefreshed : PutResult::kReplaced;
    }
    if (entry.provider != provider) entry.provider.assign(provider.data(), provider.size());
    entry.expires_at = now + ttl;
    entry.renewed_at = now;
    if (result == PutResult::kReplaced) {
      counters_.repins.fetch_add(1, std::memory_order_relaxed);
    }
    return result;
  }
  if (shard.map.size() >= shard_capacity_) MakeRoomLocked(shard, now);
  shard.map.emplace(StoredKey(buf.view()), Entry{std::string(provider), now + ttl, now});
  size_.fetch_add(1, std::memory_order_relaxed);
  return PutResult::kCreated;
}

void StickyTable::MakeRoomLocked(Shard& shard, MonoTime now) ABSL_NO_THREAD_SAFETY_ANALYSIS {
  // One pass: drop every expired entry and remember the earliest-expiring live one.
  size_t purged = 0;
  auto earliest = shard.map.end();
  for (auto it = shard.map.begin(); it != shard.map.end();) {
    if (now >= it->second.expires_at) {
      shard.map.erase(it++);
      ++purged;
      continue;
    }
    if (earliest == shard.map.end() || it->second.expires_at < earliest->second.expires_at) {
      earliest = it;
    }
    ++it;
  }
  if (purged > 0) {
    size_.fetch_sub(purged, std::memory_order_relaxed);
    counters_.evictions_expired.fetch_add(purged, std::memory_order_relaxed);
  }
  // `earliest` is still valid: erase(iterator) never rehashes and invalidates only the erased
  // element.
  if (shard.map.size() < shard_capacity_) return;
  if (earliest != shard.map.end()) {
    shard.map.erase(earliest);
    size_.fetch_sub(1, std::memory_order_relaxed);
    counters_.evictions_capacity.fetch_add(1, std::memory_order_relaxed);
  }
}

size_t StickyTable::SweepShardLocked(Shard& shard, MonoTime now) ABSL_NO_THREAD_SAFETY_ANALYSIS {
  size_t removed = 0;
  for (auto it = shard.map.begin(); it != shard.map.end();) {
    if (now >= it->second.expires_at) {
      shard.map.erase(it++);
      ++removed;
    } else {
      ++it;
    }
  }
  if (removed > 0) {
    size_.fetch_sub(removed, std::memory_order_relaxed);
    counters_.evictions_expired.fetch_add(removed, std::memory_order_relaxed);
  }
  return removed;
}

size_t StickyTable::SweepShard(size_t shard_index, MonoTime now) {
  if (shard_index >= shard_count_) return 0;
  Shard& shard = shards_[shard_index];
  absl::MutexLock lock(&shard.mu);
  return SweepShardLocked(shard, now);
}

size_t StickyTable::Sweep(MonoTime now) {
  size_t removed = 0;
  for (size_t i = 0; i < shard_count_; ++i) removed += SweepShard(i, now);
  return removed;
}

size_t StickyTable::ErasePolicy(std::string_view tenant, std::string_view policy) {
  // Keys start with "<tenant>\0<policy>\0".
  std::string prefix;
  prefix.reserve(tenant.size() + policy.size() + 2);
  prefix.append(tenant).push_back('\0');
  prefix.append(policy).push_back('\0');
  size_t removed = 0;
  for (size_t i = 0; i < shard_count_; ++i) {
    Shard& shard = shards_[i];
    absl::MutexLock lock(&shard.mu);
    for (auto it = shard.map.begin(); it != shard.map.end();) {
      if (std::string_view(it->first.view().data(), it->first.view().size())
              .substr(0, prefix.size()) == prefix) {
        shard.map.erase(it++);
        ++removed;
      } else {
        ++it;
      }
    }
  }
  size_.fetch_sub(removed, std::memory_order_relaxed);
  return removed;
}

size_t StickyTable::ShardSizeForTest(size_t shard_index) const {
  if (shard_index >= shard_count_) return 0;
  const Shard& shard = shards_[shard_index];
  absl::MutexLock lock(&shard.mu);
  return shard.map.size();
}

}  // namespace router::core
