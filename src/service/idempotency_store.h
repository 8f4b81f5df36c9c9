#pragma once
// IdempotencyStore: the replica-scoped decide idempotency table (nats-contracts.md §7.1,
// grpc-api.md §3.7, configuration.md [idempotency]) plus the processed-results set of §7.1
// "Results".
//
// Decide keys are (transport, tenant_id, idempotency_key): gRPC and NATS keys never collide.
// A caller runs Acquire(key, fingerprint) at decide step 8 (gRPC) / 9 (NATS):
//   - kFresh: the caller owns an in-progress slot. After a SUCCESSFUL decision it calls
//     slot.Complete(record) (stores bytes the transport will replay); on any error it calls
//     slot.Abandon() (or just drops the slot: the destructor abandons). Errors are never stored.
//   - kReplay: `record` is the stored success; answer it byte-identical, decide nothing.
//   - kMismatch: same key, different fingerprint -> ALREADY_EXISTS / IDEMPOTENCY_VIOLATION.
//   - kInProgress: a concurrent duplicate still held the key after `wait_timeout_ms`
//     (the first caller is stuck); the caller answers UNAVAILABLE and runs nothing.
// A concurrent duplicate (same key while a slot is in progress) blocks in Acquire until the
// first caller completes (-> kReplay or kMismatch) or abandons (-> it becomes the owner, kFresh),
// bounded by `wait_timeout_ms`: the pipeline never runs twice for one key.
//
// Entries live `ttl_s` from completion (expired = absent, removed lazily and by Sweep()); at most
// `max_entries` completed entries are held, oldest evicted first. The table is split into shards
// by key hash, each with its own mutex; each shard holds max_entries / shards entries (with
// max_entries < 1024 there is one shard, so small bounds are exact). In-progress slots are not
// evicted and do not count toward the bound.
//
// Time: TTLs use the injected Clock's MonoNow() (FakeClock in tests); the bounded wait of a
// concurrent duplicate is real time (a condition variable deadline).
//
// Thread-safety: thread-safe. Slots are move-only handles; Complete/Abandon from any thread.

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "base/clock.h"
#include "service/decide_telemetry.h"  // Transport
#include "service/request_context.h"

namespace router::service {

struct IdempotencyStoreOptions {
  int64_t ttl_s = 3600;            // idempotency.ttl_s
  size_t max_entries = 200'000;    // idempotency.max_entries (decide keys and result keys each)
  size_t shards = 16;              // rounded up to a power of two; 1 when max_entries < 1024
  int64_t wait_timeout_ms = 5000;  // bound on a concurrent duplicate's wait
  // Called (outside any lock) once per entry removed: reason "expired" or "capacity"
  // (router_idempotency_evictions_total{reason}). Optional.
  std::function<void(std::string_view reason)> on_evict;
};

struct IdempotencyKey {
  Transport transport = Transport::kGrpc;
  std::string tenant_id;
  std::string key;  // the client's idempotency_key (1..256 bytes, already validated)
};

// What a successful decision leaves for replays. Opaque bytes to the store.
struct IdempotencyRecord {
  std::string response;  // gRPC: serialized RouteDecision; NATS: the transport's choice
                         // (e.g. the serialized `decision` object of the reply)
  std::string decision_id;
  std::string assignment_id;  // "" when the decide pushed no assignment
  // NATS pushing decides: what a re-enqueue needs (nats-contracts §7.1). "" otherwise.
  std::string assignment_payload;  // serialized ExecAssignment
  std::string assignment_subject;
  std::string assignment_status;  // assignment.status at storing time (e.g. "published")
  int64_t created_at_ms = 0;      // wall ms; filled by Complete when 0
};

class IdempotencyStore;

// The in-progress slot of a kFresh Acquire. Move-only; destroying an unfinished slot abandons it.
class IdempotencySlot {
 public:
  IdempotencySlot() = default;
  IdempotencySlot(IdempotencySlot&& other) noexcept;
  IdempotencySlot& operator=(IdempotencySlot&& other) noexcept;
  IdempotencySlot(const IdempotencySlot&) = delete;
  IdempotencySlot& operator=(const IdempotencySlot&) = delete;
  ~IdempotencySlot();

  // True while this handle owns an unfinished slot.
  bool active() const { return store_ != nullptr; }

  // Stores `record` for replays and wakes waiting duplicates. No-op on an inactive slot.
  void Complete(IdempotencyRecord record);
  // Releases the key (nothing stored) and wakes waiting duplicates; one of them becomes the
  // owner. No-op on an inactive slot.
  void Abandon();

 private:
  friend class IdempotencyStore;
  IdempotencySlot(IdempotencyStore* store, std::string internal_key, std::string fingerprint,
                  uint64_t token)
      : store_(store),
        internal_key_(std::move(internal_key)),
        fingerprint_(std::move(fingerprint)),
        token_(token) {}

  IdempotencyStore* store_ = nullptr;
  std::string internal_key_;
  std::string fingerprint_;
  uint64_t token_ = 0;
};

struct IdempotencyAcquire {
  enum class Kind : uint8_t { kFresh, kReplay, kMismatch, kInProgress };
  Kind kind = Kind::kFresh;
  std::shared_ptr<const IdempotencyRecord> record;  // kReplay only
  IdempotencySlot slot;                             // kFresh only (active)
};

class IdempotencyStore {
 public:
  // `clock` must outlive the store.
  IdempotencyStore(IdempotencyStoreOptions options, const Clock& clock);
  ~IdempotencyStore();
  IdempotencyStore(const IdempotencyStore&) = delete;
  IdempotencyStore& operator=(const IdempotencyStore&) = delete;

  // Decide idempotency (see the header comment). `fingerprint` is any stable string, normally
  // a *Fingerprint() below. May block up to wait_timeout_ms behind a concurrent duplicate.
  IdempotencyAcquire Acquire(const IdempotencyKey& key, std::string_view fingerprint);

  // Non-blocking read: the stored record of `key` if present and not expired (no slot taken).
  std::shared_ptr<const IdempotencyRecord> Peek(const IdempotencyKey& key) const;

  // Processed results (nats-contracts §7.1 "Results"): key = assignment_id, else request_id.
  // Marked only after the usage PubAck; same TTL and bound as decide keys (a separate table).
  bool IsResultProcessed(std::string_view result_key) const;
  void MarkResultProcessed(std::string_view result_key);

  // Removes expired entries of every shard; returns how many were removed. The maintenance
  // loop may call it periodically (entries also expire lazily).
  size_t Sweep();

  // Completed decide entries + result keys held (router_idempotency_entries).
  size_t Size() const;
  // Evictions so far, by reason.
  uint64_t EvictedExpired() const;
  uint64_t EvictedCapacity() const;
  // Acquire outcomes so far per transport (router_idempotency_hits_total /
  // router_idempotency_conflicts_total{transport}).
  uint64_t Hits(Transport transport) const;
  uint64_t Conflicts(Transport transport) const;

  const IdempotencyStoreOptions& options() const { return options_; }

 private:
  friend class IdempotencySlot;
  struct Shard;
  Shard& ShardFor(std::string_view internal_key) const;
  void Finish(const IdempotencySlot& slot, std::shared_ptr<const IdempotencyRecord> record);
  static std::string InternalKey(const IdempotencyKey& key);
  // Bookkeeping after a shard lock is released: size and eviction counters, on_evict calls.
  void Account(size_t added, size_t expired, size_t capacity);

  const IdempotencyStoreOptions options_;
  const Clock& clock_;
  std::vector<std::unique_ptr<Shard>> shards_;
  std::vector<std::unique_ptr<Shard>> result_shards_;
  std::atomic<size_t> size_{0};
  std::atomic<uint64_t> evicted_expired_{0};
  std::atomic<uint64_t> evicted_capacity_{0};
  std::atomic<uint64_t> hits_[2] = {0, 0};       // by Transport
  std::atomic<uint64_t> conflicts_[2] = {0, 0};  // by Transport
};

// ---- fingerprints (nats-contracts §7.1): SHA-256 (64 lowercase hex) of the canonical JSON
// (POL §10: members sorted bytewise, no whitespace) of an object of the request's fields.

// SHA-256 hex of the canonical form of `json` (must be valid JSON; invalid text is hashed as
// given, so the result is still deterministic).
std::string CanonicalJsonFingerprint(std::string_view json);

// gRPC (grpc-api §3.7): {tenant_id, policy_id (resolved), context minus idempotency_key,
// message_type, payload (bytes as lowercase hex)}.
std::string GrpcDecideFingerprint(std::string_view tenant_id, std::string_view policy_id,
                                  const RequestContext& context, std::string_view message_type,
                                  std::string_view payload);

// NATS (§7.1): {tenant_id, policy_id (resolved), task, constraints, metadata, push_assignment
// (normalized bool), assignment_subject (effective), options}. The JSON arguments are the raw
// JSON texts of the request's members; "" = absent (encoded as null).
std::string NatsDecideFingerprint(std::string_view tenant_id, std::string_view policy_id,
                                  std::string_view task_json, std::string_view constraints_json,
                                  std::string_view metadata_json, bool push_assignment,
                                  std::string_view assignment_subject,
                                  std::string_view options_json);

}  // namespace router::service
