#pragma once
// CorrelationStore: one tracking record per ExecAssignment (nats-contracts.md §7.2, grpc-api.md
// §9 GetAssignment, configuration.md [correlation]). Holds the proto `Assignment` fields
// (beamline.flow.v1.Assignment) plus the publish fate, indexed by assignment_id and by
// (tenant_id, request_id) -> newest record.
//
// State machine (§7.2):
//   pending -> published | publish_failed      MarkPublished / MarkPublishFailed
//   publish_failed -> pending                  MarkPending (a retried decide re-enqueues it)
//   published -> acked -> completed            OnAck / OnResult
// Events may arrive out of order: `completed` is terminal (a later ack fills only the ack
// fields; a later PubAck fills only publish fields), an ack before the PubAck moves the record
// to `acked` and the PubAck then fills its fields without moving the state back, the first
// result wins (duplicates ignored). Events for unknown (or expired) ids are ignored and
// reported as false.
//
// Records live `ttl_s` from creation (expired = absent; removed lazily and by Sweep(), which the
// maintenance loop calls every 60 s); at most `max_entries` are held, oldest evicted first.
// Sharded by assignment_id hash (one mutex per shard; shard bound = max_entries / shards, one
// shard when max_entries < 1024); the request index has its own shards. Thread-safe.
//
// Memory (one record per pushing decide, 200,000 by default): a record is ONE allocation, its
// fixed fields followed by the eight immutable strings; the publish fate is an enum, the ack
// and result fields live in a second allocation made only when an ack or result arrives; the
// creation FIFO is intrusive (no key copy, eviction without a lookup); the request index maps
// a 64-bit hash of (tenant_id, request_id) to the record pointers (bench_store_memory:
// docs/PERFORMANCE.md, P7).

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/clock.h"

namespace router::service {

enum class AssignmentState : uint8_t { kPending, kPublished, kPublishFailed, kAcked, kCompleted };
// "pending" | "published" | "publish_failed" | "acked" | "completed" (proto Assignment.state).
std::string_view AssignmentStateName(AssignmentState state);

// The end of an assignment's publishing (nats-contracts.md §6.2; proto Assignment.publish_fate):
// exactly one per outbox entry. The NATS outbox uses this enum as its AssignmentFate.
enum class PublishFate : uint8_t {
  kPublished,
  kDeduplicated,
  kFailed,
  kRetriesExhausted,
  kExpired,
  kShutdownDropped,
};
// "published" | "deduplicated" | "failed" | "retries_exhausted" | "expired" | "shutdown_dropped".
std::string_view PublishFateName(PublishFate fate);
inline bool IsStored(PublishFate fate) {
  return fate == PublishFate::kPublished || fate == PublishFate::kDeduplicated;
}

// Mirrors beamline.flow.v1.Assignment (field for field, proto names).
struct AssignmentRecord {
  std::string assignment_id;
  std::string request_id;
  std::string trace_id;
  std::string tenant_id;
  std::string policy_id;
  std::string provider_id;
  std::string decision_id;
  AssignmentState state = AssignmentState::kPending;
  std::string ack_status;  // accepted | rejected | error; "" until acknowledged
  std::string ack_message;
  std::string result_status;  // success | error | timeout | cancelled; "" until completed
  int64_t latency_ms = 0;
  double cost = 0;
  std::string error_code;
  std::string subject;  // subject the assignment is published to
  int64_t created_at_ms = 0;
  int64_t published_at_ms = 0;
  int64_t acked_at_ms = 0;
  int64_t completed_at_ms = 0;
  // published | deduplicated | failed | retries_exhausted | expired | shutdown_dropped; "" while
  // pending.
  std::string publish_fate;
  int64_t stream_seq = 0;
};

// Compact JSON of the record with proto field names (S10 reply body, nats-contracts §3.9):
// every field present; int64 as JSON numbers.
std::string AssignmentRecordToJson(const AssignmentRecord& record);
// Parses AssignmentRecordToJson output (S10 reply); unknown fields ignored, missing = default.
std::optional<AssignmentRecord> AssignmentRecordFromJson(std::string_view json);

struct CorrelationStoreOptions {
  int64_t ttl_s = 3600;          // correlation.ttl_s
  size_t max_entries = 200'000;  // correlation.max_entries
  size_t shards = 16;            // rounded up to a power of two; 1 when max_entries < 1024
  // Called (outside any lock) once per record removed: "expired" or "capacity"
  // (router_correlation_evictions_total{reason}). Optional.
  std::function<void(std::string_view reason)> on_evict;
};

// The creation-time fields of a record (views; copied by Create).
struct NewAssignment {
  std::string_view assignment_id;
  std::string_view request_id;
  std::string_view trace_id;
  std::string_view tenant_id;
  std::string_view policy_id;
  std::string_view provider_id;
  std::string_view decision_id;
  std::string_view subject;
  int64_t created_at_ms = 0;  // 0 = clock WallMs()
};

class CorrelationStore {
 public:
  // `clock` must outlive the store.
  CorrelationStore(CorrelationStoreOptions options, const Clock& clock);
  ~CorrelationStore();
  CorrelationStore(const CorrelationStore&) = delete;
  CorrelationStore& operator=(const CorrelationStore&) = delete;

  // Adds a record in state `pending` (created_at_ms = clock WallMs() when 0). False (nothing
  // changed) if the id already exists or assignment_id is empty.
  bool Create(const NewAssignment& assignment);
  // The same from a full record: its creation-time fields; state/fate/ack/result are ignored.
  bool Create(const AssignmentRecord& record);

  // PubAck received (`duplicate` = the PubAck said duplicate: fate `deduplicated`, else
  // `published`); published_at_ms = at_ms (0 = now). pending|publish_failed -> published; in a
  // later state only the publish fields are filled. False if unknown.
  bool MarkPublished(std::string_view assignment_id, int64_t stream_seq, bool duplicate = false,
                     int64_t at_ms = 0);
  // Final publish failure with its fate (`failed`, `retries_exhausted`, `expired`,
  // `shutdown_dropped`): pending -> publish_failed. False if unknown or not pending.
  bool MarkPublishFailed(std::string_view assignment_id, std::string_view fate = "failed");
  // Re-enqueue (nats-contracts §7.1): publish_failed -> pending, fate cleared. False otherwise.
  bool MarkPending(std::string_view assignment_id);
  // Worker ack (S4): fills ack_status / ack_message / acked_at_ms (first ack wins); moves
  // pending|published|publish_failed -> acked; completed stays completed. False if unknown.
  bool OnAck(std::string_view assignment_id, std::string_view status, std::string_view message,
             int64_t at_ms);
  // Result (S5): -> completed with result_status, latency_ms, cost, error_code,
  // completed_at_ms. A second result for a completed record is ignored (false).
  bool OnResult(std::string_view assignment_id, std::string_view status, int64_t latency_ms,
                double cost, int64_t at_ms, std::string_view error_code = "");

  // Tenant-scoped reads: nullopt when unknown, expired or of another tenant.
  std::optional<AssignmentRecord> Get(std::string_view tenant_id,
                                      std::string_view assignment_id) const;
  // Newest live record of (tenant_id, request_id).
  std::optional<AssignmentRecord> FindByRequest(std::string_view tenant_id,
                                                std::string_view request_id) const;

  // Removes expired records; returns how many. Call every 60 s (maintenance loop).
  size_t Sweep();

  size_t Size() const;  // live + not yet swept records (router_correlation_entries)
  uint64_t EvictedExpired() const;
  uint64_t EvictedCapacity() const;
  // router_correlation_misses_total{source}: callers count an unknown assignment they looked
  // up (source "results", "acks" or "admin"; anything else is ignored).
  void CountMiss(std::string_view source) const;
  uint64_t Misses(std::string_view source) const;

  const CorrelationStoreOptions& options() const { return options_; }

 private:
  struct Rec;
  struct RecDeleter {
    void operator()(Rec* rec) const;
  };
  using RecPtr = std::unique_ptr<Rec, RecDeleter>;
  struct Shard;
  struct IndexShard;
  Shard& ShardFor(std::string_view assignment_id) const;
  IndexShard& IndexFor(uint64_t request_hash) const;
  // Takes removed records (already out of their shard) out of the request index, counts them
  // under `reason` and frees them.
  void Unindex(std::vector<RecPtr>& removed, std::string_view reason);

  const CorrelationStoreOptions options_;
  const Clock& clock_;
  std::vector<std::unique_ptr<Shard>> shards_;
  std::vector<std::unique_ptr<IndexShard>> index_;
  std::atomic<size_t> size_{0};
  std::atomic<uint64_t> evicted_expired_{0};
  std::atomic<uint64_t> evicted_capacity_{0};
  mutable std::atomic<uint64_t> misses_[3] = {0, 0, 0};  // results, acks, admin
};

}  // namespace router::service
