#include "service/idempotency_store.h"

#include <algorithm>
#include <deque>
#include <unordered_map>
#include <utility>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "policy/json_tree.h"
#include "policy/policy_compiler.h"
#include "policy/sha256.h"

namespace router::service {

namespace {

size_t ShardCount(size_t requested, size_t max_entries) {
  if (max_entries < 1024) return 1;
  size_t n = 1;
  while (n < requested && n < 1024) n <<= 1;
  return n;
}

size_t ShardCapacity(size_t max_entries, size_t shards) {
  return std::max<size_t>(1, (max_entries + shards - 1) / shards);
}

struct EvictTally {
  size_t expired = 0;
  size_t capacity = 0;
};

}  // namespace

// One shard of a table. Decide entries carry a fingerprint, a record (null while in progress)
// and the owner token; result entries carry only the expiry. `fifo` lists completed entries in
// completion order (= expiry order, the TTL is uniform); a stale fifo element (its entry was
// removed or re-created since) is recognised by its sequence number and skipped.
struct IdempotencyStore::Shard {
  struct Entry {
    std::string fingerprint;
    std::shared_ptr<const IdempotencyRecord> record;  // null = in progress (decide table)
    bool completed = false;
    uint64_t token = 0;
    MonoTime expires{};
    uint64_t seq = 0;
  };

  explicit Shard(size_t cap) : capacity(cap) {}

  mutable absl::Mutex mu;
  absl::CondVar cv;
  std::unordered_map<std::string, Entry> map ABSL_GUARDED_BY(mu);
  std::deque<std::pair<uint64_t, std::string>> fifo ABSL_GUARDED_BY(mu);
  uint64_t next_seq ABSL_GUARDED_BY(mu) = 1;
  uint64_t next_token ABSL_GUARDED_BY(mu) = 1;
  size_t completed ABSL_GUARDED_BY(mu) = 0;
  const size_t capacity;

  // Removes the completed entry `it` (bookkeeping only; the fifo element goes stale).
  void EraseCompleted(std::unordered_map<std::string, Entry>::iterator it)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
    map.erase(it);
    --completed;
  }

  // Pops expired entries from the fifo front, then evicts the oldest while over capacity.
  void Trim(MonoTime now, EvictTally& tally) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
    while (!fifo.empty()) {
      auto it = map.find(fifo.front().second);
      if (it == map.end() || !it->second.completed || it->second.seq != fifo.front().first) {
        fifo.pop_front();  // stale
        continue;
      }
      if (it->second.expires <= now) {
        EraseCompleted(it);
        fifo.pop_front();
        ++tally.expired;
        continue;
      }
      if (completed > capacity) {
        EraseCompleted(it);
        fifo.pop_front();
        ++tally.capacity;
        continue;
      }
      break;
    }
  }

  // Marks `entry` (already in `map` under `key`) completed and appends it to the fifo.
  void Commit(const std::string& key, Entry& entry, MonoTime expires)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
    entry.completed = true;
    entry.expires = expires;
    entry.seq = next_seq++;
    fifo.emplace_back(entry.seq, key);
    ++completed;
  }
};

// ---------------------------------------------------------------- IdempotencySlot

IdempotencySlot::IdempotencySlot(IdempotencySlot&& other) noexcept
    : store_(std::exchange(other.store_, nullptr)),
      internal_key_(std::move(other.internal_key_)),
      fingerprint_(std::move(other.fingerprint_)),
      token_(other.token_) {}

IdempotencySlot& IdempotencySlot::operator=(IdempotencySlot&& other) noexcept {
  if (this != &other) {
    Abandon();
    store_ = std::exchange(other.store_, nullptr);
    internal_key_ = std::move(other.internal_key_);
    fingerprint_ = std::move(other.fingerprint_);
    token_ = other.token_;
  }
  return *this;
}

IdempotencySlot::~IdempotencySlot() { Abandon(); }

void IdempotencySlot::Complete(IdempotencyRecord record) {
  if (store_ == nullptr) return;
  IdempotencyStore* store = std::exchange(store_, nullptr);
  store->Finish(*this, std::make_shared<const IdempotencyRecord>(std::move(record)));
}

void IdempotencySlot::Abandon() {
  if (store_ == nullptr) return;
  IdempotencyStore* store = std::exchange(store_, nullptr);
  store->Finish(*this, nullptr);
}

// ---------------------------------------------------------------- IdempotencyStore

IdempotencyStore::IdempotencyStore(IdempotencyStoreOptions options, const Clock& clock)
    : options_(std::move(options)), clock_(clock) {
  const size_t n = ShardCount(options_.shards, options_.max_entries);
  const size_t cap = ShardCapacity(options_.max_entries, n);
  shards_.reserve(n);
  result_shards_.reserve(n);
  for (size_t i = 0; i < n; ++i) {
    shards_.push_back(std::make_unique<Shard>(cap));
    result_shards_.push_back(std::make_unique<Shard>(cap));
  }
}

IdempotencyStore::~IdempotencyStore() = default;

void IdempotencyStore::Account(size_t added, size_t expired, size_t capacity) {
  size_.fetch_add(added, std::memory_order_relaxed);
  size_.fetch_sub(expired + capacity, std::memory_order_relaxed);
  evicted_expired_.fetch_add(expired, std::memory_order_relaxed);
  evicted_capacity_.fetch_add(capacity, std::memory_order_relaxed);
  if (!options_.on_evict) return;
  for (size_t i = 0; i < expired; ++i) options_.on_evict("expired");
  for (size_t i = 0; i < capacity; ++i) options_.on_evict("capacity");
}

std::string IdempotencyStore::InternalKey(const IdempotencyKey& key) {
  std::string out;
  out.reserve(key.tenant_id.size() + key.key.size() + 3);
  out.push_back(key.transport == Transport::kGrpc ? 'g' : 'n');
  out.push_back('\x01');
  out.append(key.tenant_id);
  out.push_back('\x01');  // tenant ids never contain control characters
  out.append(key.key);
  return out;
}

IdempotencyStore::Shard& IdempotencyStore::ShardFor(std::string_view internal_key) const {
  const size_t h = std::hash<std::string_view>{}(internal_key);
  return *shards_[h & (shards_.size() - 1)];
}

IdempotencyAcquire IdempotencyStore::Acquire(const IdempotencyKey& key,
                                             std::string_view fingerprint) {
  std::string internal = InternalKey(key);
  Shard& shard = ShardFor(internal);
  EvictTally tally;
  IdempotencyAcquire out;
  const absl::Time deadline =
      absl::Now() + absl::Milliseconds(std::max<int64_t>(0, options_.wait_timeout_ms));
  {
    absl::MutexLock lock(&shard.mu);
    for (;;) {
      const MonoTime now = clock_.MonoNow();
      shard.Trim(now, tally);
      auto it = shard.map.find(internal);
      if (it != shard.map.end() && it->second.completed && it->second.expires <= now) {
        shard.EraseCompleted(it);
        ++tally.expired;
        it = shard.map.end();
      }
      if (it == shard.map.end()) {
        Shard::Entry entry;
        entry.fingerprint = std::string(fingerprint);
        entry.token = shard.next_token++;
        const uint64_t token = entry.token;
        shard.map.emplace(internal, std::move(entry));
        out.kind = IdempotencyAcquire::Kind::kFresh;
        out.slot = IdempotencySlot(this, std::move(internal), std::string(fingerprint), token);
        break;
      }
      if (it->second.completed) {
        if (it->second.fingerprint == fingerprint) {
          out.kind = IdempotencyAcquire::Kind::kReplay;
          out.record = it->second.record;
        } else {
          out.kind = IdempotencyAcquire::Kind::kMismatch;
        }
        break;
      }
      // In progress: wait for the owner's Complete / Abandon.
      if (shard.cv.WaitWithDeadline(&shard.mu, deadline)) {
        // Timed out; re-check once more in case the wake-up raced the deadline.
        auto again = shard.map.find(internal);
        if (again != shard.map.end() && !again->second.completed) {
          out.kind = IdempotencyAcquire::Kind::kInProgress;
          break;
        }
      }
    }
  }
  Account(0, tally.expired, tally.capacity);
  const size_t t = key.transport == Transport::kGrpc ? 0 : 1;
  if (out.kind == IdempotencyAcquire::Kind::kReplay)
    hits_[t].fetch_add(1, std::memory_order_relaxed);
  if (out.kind == IdempotencyAcquire::Kind::kMismatch) {
    conflicts_[t].fetch_add(1, std::memory_order_relaxed);
  }
  return out;
}

void IdempotencyStore::Finish(const IdempotencySlot& slot,
                              std::shared_ptr<const IdempotencyRecord> record) {
  Shard& shard = ShardFor(slot.internal_key_);
  EvictTally tally;
  bool stored = false;
  {
    absl::MutexLock lock(&shard.mu);
    auto it = shard.map.find(slot.internal_key_);
    if (it != shard.map.end() && !it->second.completed && it->second.token == slot.token_) {
      if (record != nullptr) {
        if (record->created_at_ms == 0) {
          auto copy = std::make_shared<IdempotencyRecord>(*record);
          copy->created_at_ms = clock_.WallMs();
          record = std::move(copy);
        }
        it->second.record = std::move(record);
        const MonoTime now = clock_.MonoNow();
        shard.Commit(it->first, it->second,
                     now + std::chrono::seconds(std::max<int64_t>(0, options_.ttl_s)));
        stored = true;
        shard.Trim(now, tally);
      } else {
        shard.map.erase(it);
      }
    }
    shard.cv.SignalAll();
  }
  Account(stored ? 1 : 0, tally.expired, tally.capacity);
}

std::shared_ptr<const IdempotencyRecord> IdempotencyStore::Peek(const IdempotencyKey& key) const {
  const std::string internal = InternalKey(key);
  Shard& shard = ShardFor(internal);
  absl::MutexLock lock(&shard.mu);
  auto it = shard.map.find(internal);
  if (it == shard.map.end() || !it->second.completed) return nullptr;
  if (it->second.expires <= clock_.MonoNow()) return nullptr;
  return it->second.record;
}

bool IdempotencyStore::IsResultProcessed(std::string_view result_key) const {
  const size_t h = std::hash<std::string_view>{}(result_key);
  Shard& shard = *result_shards_[h & (result_shards_.size() - 1)];
  absl::MutexLock lock(&shard.mu);
  auto it = shard.map.find(std::string(result_key));
  return it != shard.map.end() && it->second.expires > clock_.MonoNow();
}

void IdempotencyStore::MarkResultProcessed(std::string_view result_key) {
  const size_t h = std::hash<std::string_view>{}(result_key);
  Shard& shard = *result_shards_[h & (result_shards_.size() - 1)];
  EvictTally tally;
  bool added = false;
  {
    absl::MutexLock lock(&shard.mu);
    const MonoTime now = clock_.MonoNow();
    const MonoTime expires = now + std::chrono::seconds(std::max<int64_t>(0, options_.ttl_s));
    std::string key(result_key);
    auto it = shard.map.find(key);
    if (it != shard.map.end()) {
      // Refresh: re-append with a new sequence (the old fifo element goes stale).
      shard.EraseCompleted(it);
    } else {
      added = true;
    }
    auto [pos, inserted] = shard.map.emplace(key, Shard::Entry{});
    (void)inserted;
    shard.Commit(pos->first, pos->second, expires);
    shard.Trim(now, tally);
  }
  Account(added ? 1 : 0, tally.expired, tally.capacity);
}

size_t IdempotencyStore::Sweep() {
  EvictTally tally;
  const MonoTime now = clock_.MonoNow();
  for (const auto* table : {&shards_, &result_shards_}) {
    for (const auto& shard : *table) {
      absl::MutexLock lock(&shard->mu);
      shard->Trim(now, tally);
    }
  }
  Account(0, tally.expired, tally.capacity);
  return tally.expired + tally.capacity;
}

size_t IdempotencyStore::Size() const { return size_.load(std::memory_order_relaxed); }
uint64_t IdempotencyStore::EvictedExpired() const {
  return evicted_expired_.load(std::memory_order_relaxed);
}
uint64_t IdempotencyStore::EvictedCapacity() const {
  return evicted_capacity_.load(std::memory_order_relaxed);
}

uint64_t IdempotencyStore::Hits(Transport transport) const {
  return hits_[transport == Transport::kGrpc ? 0 : 1].load(std::memory_order_relaxed);
}
uint64_t IdempotencyStore::Conflicts(Transport transport) const {
  return conflicts_[transport == Transport::kGrpc ? 0 : 1].load(std::memory_order_relaxed);
}

// ---------------------------------------------------------------- fingerprints

std::string CanonicalJsonFingerprint(std::string_view json) {
  absl::StatusOr<std::string> canonical = policy::CanonicalJson(json);
  if (!canonical.ok()) return policy::Sha256Hex(json);
  return policy::Sha256Hex(*canonical);
}

std::string GrpcDecideFingerprint(std::string_view tenant_id, std::string_view policy_id,
                                  const RequestContext& context, std::string_view message_type,
                                  std::string_view payload) {
  std::vector<std::pair<std::string_view, std::string_view>> entries;
  entries.reserve(context.Size());
  context.ForEach([&](std::string_view k, std::string_view v) {
    if (k != "idempotency_key") entries.emplace_back(k, v);
  });
  std::sort(entries.begin(), entries.end());  // bytewise (char_traits compares as unsigned)
  // Members in canonical (sorted) order: context, message_type, payload, policy_id, tenant_id.
  std::string out = "{\"context\":{";
  for (size_t i = 0; i < entries.size(); ++i) {
    if (i > 0) out.push_back(',');
    policy::AppendJsonString(out, entries[i].first);
    out.push_back(':');
    policy::AppendJsonString(out, entries[i].second);
  }
  out.append("},\"message_type\":");
  policy::AppendJsonString(out, message_type);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string hex;
  hex.reserve(payload.size() * 2);
  for (unsigned char c : payload) {
    hex.push_back(kHex[c >> 4]);
    hex.push_back(kHex[c & 15]);
  }
  out.append(",\"payload\":");
  policy::AppendJsonString(out, hex);
  out.append(",\"policy_id\":");
  policy::AppendJsonString(out, policy_id);
  out.append(",\"tenant_id\":");
  policy::AppendJsonString(out, tenant_id);
  out.push_back('}');
  return policy::Sha256Hex(out);
}

std::string NatsDecideFingerprint(std::string_view tenant_id, std::string_view policy_id,
                                  std::string_view task_json, std::string_view constraints_json,
                                  std::string_view metadata_json, bool push_assignment,
                                  std::string_view assignment_subject,
                                  std::string_view options_json) {
  auto raw = [](std::string& out, std::string_view json) {
    if (json.empty()) {
      out.append("null");
    } else {
      out.append(json);
    }
  };
  std::string out = "{\"assignment_subject\":";
  policy::AppendJsonString(out, assignment_subject);
  out.append(",\"constraints\":");
  raw(out, constraints_json);
  out.append(",\"metadata\":");
  raw(out, metadata_json);
  out.append(",\"options\":");
  raw(out, options_json);
  out.append(",\"policy_id\":");
  policy::AppendJsonString(out, policy_id);
  out.append(",\"push_assignment\":");
  out.append(push_assignment ? "true" : "false");
  out.append(",\"task\":");
  raw(out, task_json);
  out.append(",\"tenant_id\":");
  policy::AppendJsonString(out, tenant_id);
  out.push_back('}');
  return CanonicalJsonFingerprint(out);
}

}  // namespace router::service
