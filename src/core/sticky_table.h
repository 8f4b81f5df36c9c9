#pragma once
// StickyTable: per-process session pins (tenant, policy, session value bytes) -> provider with a
// sliding TTL (POL §5).
//
// Sharded: a power-of-two number of shards (default 64), each with its own absl::Mutex and a
// flat hash map; the cap `max_entries` (default 1,000,000) is split evenly over the shards. An
// insert into a full shard first purges that shard's expired entries and, if none expired, evicts
// the entry with the earliest expires_at (exact scan of the one shard). Expired pins are never
// returned. Sweep() removes expired entries shard by shard; the service's background thread calls
// it (this class creates no thread).
//
// Thread-safe: every method locks at most one shard at a time. A lookup (hit or miss) and the
// renewal of an existing pin do not allocate: the composite key is assembled in a stack buffer
// and looked up heterogeneously. Only inserting a new key may allocate: composite keys up to 52
// bytes are stored inline in the map slot, longer ones and table growth allocate.
//
// Counters are plain relaxed atomics for metrics; per-tenant labels come from DecideResult.

#include <array>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "absl/container/flat_hash_map.h"
#include "absl/functional/function_ref.h"
#include "absl/synchronization/mutex.h"
#include "base/clock.h"

namespace router::core {

// Key of one pin. The views need only live for the call.
struct PinKey {
  std::string_view tenant;
  std::string_view policy;
  std::string_view session;
};

inline constexpr size_t kMaxSessionValueBytes = 256;  // POL §3.2 S3
inline constexpr size_t kMaxPinProviderBytes = 128;   // provider names are 1..128 bytes (POL §0)

// A pinned provider name copied out of the table (no allocation; the table entry may be evicted
// as soon as the shard lock is released).
struct PinnedProvider {
  std::array<char, kMaxPinProviderBytes> bytes{};
  uint8_t size = 0;
  std::string_view name() const { return std::string_view(bytes.data(), size); }
};

// Monotonic counters (relaxed; read by metrics).
struct StickyCounters {
  std::atomic<uint64_t> hits{0};                // live pin used (LookupAndRenew accepted, or Renew)
  std::atomic<uint64_t> misses{0};              // LookupAndRenew found no live pin
  std::atomic<uint64_t> repins{0};              // Put replaced a live pin naming another provider
  std::atomic<uint64_t> evictions_capacity{0};  // evicted from a full shard
  std::atomic<uint64_t> evictions_expired{0};   // removed because expired (purge, sweep, lookup)
};

class StickyTable {
 public:
  static constexpr size_t kDefaultShards = 64;
  static constexpr size_t kDefaultMaxEntries = 1'000'000;
  // A renewal is skipped when less than this has passed since the previous one (POL §5 MAY).
  static constexpr std::chrono::seconds kMinRenewInterval{1};

  // `shards` is rounded up to a power of two (at least 1); each shard holds at most
  // max(1, max_entries / shards) pins.
  explicit StickyTable(size_t shards = kDefaultShards, size_t max_entries = kDefaultMaxEntries);
  ~StickyTable();
  StickyTable(const StickyTable&) = delete;
  StickyTable& operator=(const StickyTable&) = delete;

  // The live pin's provider, or nullopt. Never writes (DryRun reads pins through this). Moves no
  // counter.
  std::optional<PinnedProvider> Peek(const PinKey& key, MonoTime now) const;

  // The live pin's provider, or nullopt (counted as a miss; an expired entry is dropped). On a
  // hit the TTL slides to now + ttl (counted as a hit), unless the previous renewal was less
  // than kMinRenewInterval ago.
  std::optional<PinnedProvider> LookupAndRenew(const PinKey& key, MonoTime now,
                                               std::chrono::seconds ttl);
  // As above, but renews (and counts a hit) only if `renew_if(provider)` returns true; it runs
  // under the shard lock and must not call out. A found pin that is not renewed counts nothing.
  std::optional<PinnedProvider> LookupAndRenew(
      const PinKey& key, MonoTime now, std::chrono::seconds ttl,
      absl::FunctionRef<bool(std::string_view provider)> renew_if);

  // Slides the TTL of the live pin if it still names `provider` (counted as a hit). False when
  // there is no such live pin.
  bool Renew(const PinKey& key, std::string_view provider, MonoTime now, std::chrono::seconds ttl);

  enum class PutResult : uint8_t {
    kCreated,    // no live pin existed
    kReplaced,   // a live pin naming another provider was replaced (counted as a repin)
    kRefreshed,  // the live pin already named `provider`; its TTL was reset
    kRejected,   // empty or over-long session value or provider name; nothing stored
  };
  // Creates or replaces the pin with expires_at = now + ttl. May evict (see class comment).
  PutResult Put(const PinKey& key, std::string_view provider, MonoTime now,
                std::chrono::seconds ttl);

  // Removes every pin of (tenant, policy) (POL §5: deleting a policy MAY purge its pins).
  size_t ErasePolicy(std::string_view tenant, std::string_view policy);

  // Removes expired entries from every shard, one shard lock at a time; returns how many.
  size_t Sweep(MonoTime now);
  // Removes expired entries from one shard (index < shard_count()).
  size_t SweepShard(size_t shard, MonoTime now);

  size_t Size() const { return size_.load(std::memory_order_relaxed); }
  size_t shard_count() const { return shard_count_; }
  size_t shard_capacity() const { return shard_capacity_; }
  // Entries currently in one shard (locks it).
  size_t ShardSizeForTest(size_t shard) const;
  // The shard `key` maps to.
  size_t ShardOf(const PinKey& key) const;

  const StickyCounters& counters() const { return counters_; }

 private:
  struct Entry {
    std::string provider;
    MonoTime expires_at{};
    MonoTime renewed_at{};
  };
  struct Shard;

  size_t ShardIndex(absl::string_view composite_key) const;
  // Purges expired entries of a full shard, else evicts its earliest-expiring entry.
  void MakeRoomLocked(Shard& shard, MonoTime now);
  size_t SweepShardLocked(Shard& shard, MonoTime now);

  const size_t shard_count_;
  const size_t shard_capacity_;
  const int shard_bits_;
  std::unique_ptr<Shard[]> shards_;
  std::atomic<size_t> size_{0};
  StickyCounters counters_;
};

}  // namespace router::core
