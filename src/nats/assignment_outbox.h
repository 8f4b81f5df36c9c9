#pragma once
// AssignmentOutbox: the per-replica assignment outbox of nats-contracts.md §6.2 and the parked
// replies of §5.1, without any NATS I/O (sends go through an OutboxSender; the cnats adapter is
// assignment_publisher.h), so every rule is unit-testable with a FakeClock and a fake sender.
//
//   - Bounded FIFO of `capacity` live entries (queued, in flight or waiting to retry); a pushing
//     decide reserves a slot first (§5 step 6: none free -> `overloaded` / `outbox_full`), the
//     hand-off (step 12) then cannot fail. Published entries are retained outside the bound.
//   - At most `max_outstanding` sends without a result, counted here (cnats' own async limit
//     would stall the publishing thread).
//   - Every attempt reuses Nats-Msg-Id = assignment_id (the sender writes the entry's headers).
//   - Results: {stream, seq} -> `published`; duplicate -> `deduplicated`; retryable errors
//     (timeout after `pub_ack_timeout_ms`, no responders, stream not found, insufficient
//     resources, limit reached, disconnected) -> retry after min(base x 2^(k-1), max) +-20 %;
//     other errors -> `failed`. after_publish mode: at most `max_attempts` sends, then
//     `retries_exhausted`; immediate mode: retried until `max_age_ms`, then `expired`.
//   - Disconnected: nothing is sent, attempts cut by the disconnect are not counted, expiry
//     still runs; on reconnect the queue drains in FIFO order.
//   - Post-ack retention: a published entry is kept `retain_after_ack_ms`; on a disconnect the
//     retained entries whose first send is younger than duplicate_window - 10 s are re-sent
//     after the reconnect (a duplicate PubAck confirms them; a plain one restored a lost write);
//     a re-send without a result within pub_ack_timeout_ms is sent again.
//   - Fates, exactly one per entry: published, deduplicated, failed, retries_exhausted, expired,
//     shutdown_dropped (OutboxHooks::on_fate; the transport updates the correlation record).
//   - Parked replies (after_publish, §5.1): a Waiter attached to an entry is called exactly once:
//     published, or not persisted when `publish_timeout_ms` passes or the entry fails first,
//     with retry_after_ms = time to the entry's next send, else publish_timeout_ms, clamped to
//     100 ms .. publish_timeout_ms. No thread blocks on a PubAck: waiters run on the thread that
//     delivers the result or on the pump.
//   - Shutdown: BeginShutdown() stops reservations; entries still live at the deadline end
//     `shutdown_dropped` (their waiters are answered not persisted).
//
// Driving: Pump() does the due work for Clock::MonoNow() and returns when it is next needed;
// its cost is proportional to the work due (sends, timeouts, expiries), never to the depth:
// the entries are kept in per-state indices (see Place below).
// Start() runs it on an own thread (real time), tests call it directly with a FakeClock.
// Thread-safety: thread-safe. Hooks, waiters and OutboxSender::Send are called without the
// outbox lock held (a sender may report its result synchronously from Send).

#include <cstddef>
#include <cstdint>
#include <functional>
#include <list>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/inlined_vector.h"
#include "absl/container/node_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "base/clock.h"
#include "nats/outbox_index.h"
#include "service/correlation_store.h"

namespace router::nats_adapter {

// router_assignment_publish_failures_total / router_assignment_retry_total `reason` values.
enum class PublishError : uint8_t {
  kTimeout,
  kNoResponders,
  kStreamNotFound,
  kInsufficientResources,
  kLimitReached,
  kDisconnected,
  kInvalidSubject,
  kPayloadTooLarge,
  kApiError,
};
std::string_view PublishErrorName(PublishError error);
bool IsRetryable(PublishError error);

// Fates are the service layer's (the correlation record stores them too).
using AssignmentFate = service::PublishFate;
using service::IsStored;
inline std::string_view AssignmentFateName(AssignmentFate fate) {
  return service::PublishFateName(fate);
}

struct OutboxMessage {
  std::string assignment_id;  // = Nats-Msg-Id
  std::string tenant_id;
  std::string subject;
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
};

struct PubAckResult {
  bool ok = false;
  bool duplicate = false;
  uint64_t stream_seq = 0;
  PublishError error = PublishError::kApiError;  // when !ok
};

struct FateEvent {
  std::string assignment_id;
  std::string tenant_id;
  AssignmentFate fate = AssignmentFate::kPublished;
  uint64_t stream_seq = 0;                 // stored fates
  std::optional<PublishError> last_error;  // the others, when an attempt failed
  int attempts = 0;
  double age_seconds = 0;  // entry creation -> fate
};

// after_publish parked reply (§5.1).
struct WaitResult {
  bool published = false;
  int64_t retry_after_ms = 0;  // !published
  double waited_seconds = 0;
};
using Waiter = std::function<void(const WaitResult&)>;

class OutboxSender {
 public:
  virtual ~OutboxSender() = default;
  // Starts one asynchronous send; its result must reach AssignmentOutbox::OnResult(id, token,
  // ...) exactly once (any thread, possibly before Send returns) unless Send returns an error,
  // which means the send did not start.
  virtual std::optional<PublishError> Send(uint64_t token, const OutboxMessage& message) = 0;
};

struct OutboxOptions {
  size_t capacity = 10000;               // nats.jetstream.outbox.capacity
  int64_t max_age_ms = 60000;            // outbox.max_age_ms
  int64_t retain_after_ack_ms = 1000;    // outbox.retain_after_ack_ms
  size_t max_outstanding = 4096;         // publish.max_outstanding
  int64_t pub_ack_timeout_ms = 5000;     // publish.pub_ack_timeout_ms
  int64_t max_attempts = 5;              // publish.max_attempts (after_publish mode only)
  int64_t retry_base_ms = 100;           // publish.retry_base_ms
  int64_t retry_max_ms = 2000;           // publish.retry_max_ms
  bool immediate = false;                // nats.assignments.reply_mode == immediate
  int64_t publish_timeout_ms = 2000;     // nats.assignments.publish_timeout_ms
  int64_t duplicate_window_ms = 120000;  // streams.assignments.duplicate_window_s x 1000
};

// Observation points (all optional; called without the outbox lock).
struct OutboxHooks {
  std::function<void(const FateEvent&)> on_fate;
  std::function<void(std::string_view tenant_id)> on_enqueued;
  std::function<void()> on_rejected;                       // outbox full
  std::function<void(PublishError reason)> on_retry;       // a failed attempt will be repeated
  std::function<void(double seconds)> on_publish_latency;  // creation -> PubAck
  std::function<void(bool published, double seconds)> on_reply_wait;
  std::function<void(std::string_view event, std::string_view message,
                     const std::vector<std::pair<std::string, std::string>>& context)>
      on_log;  // ERROR/WARN events (level implied by the event)
};

// Delay before attempt k+1 (k >= 1 sends made): min(base x 2^(k-1), max) +-20 % (`random`
// picks the jitter uniformly).
int64_t RetryDelayMs(int64_t base_ms, int64_t max_ms, int64_t k, uint64_t random);

class AssignmentOutbox {
 public:
  // A reserved place in the outbox (§5 step 6). Move-only; destroying an unused slot releases it.
  class Slot {
   public:
    Slot() = default;
    Slot(Slot&& other) noexcept : owner_(std::exchange(other.owner_, nullptr)) {}
    Slot& operator=(Slot&& other) noexcept;
    Slot(const Slot&) = delete;
    Slot& operator=(const Slot&) = delete;
    ~Slot() { Release(); }
    bool valid() const { return owner_ != nullptr; }
    void Release();

   private:
    friend class AssignmentOutbox;
    explicit Slot(AssignmentOutbox* owner) : owner_(owner) {}
    AssignmentOutbox* owner_ = nullptr;
  };

  // `clock` and `sender` must outlive the outbox.
  AssignmentOutbox(OutboxOptions options, const Clock& clock, OutboxSender& sender,
                   OutboxHooks hooks = {});
  ~AssignmentOutbox();
  AssignmentOutbox(const AssignmentOutbox&) = delete;
  AssignmentOutbox& operator=(const AssignmentOutbox&) = delete;

  // An invalid slot when the outbox is full or shutting down (counted via on_rejected).
  Slot TryReserve();

  // Hands `message` over (§5 step 12); `waiter` (may be empty) is parked with the entry.
  // REQUIRES: slot.valid() and from this outbox.
  void Enqueue(Slot slot, OutboxMessage message, Waiter waiter = nullptr);

  // Replay of a `pending` record (§7.1): parks `waiter` on the live entry of `assignment_id`,
  // or answers it published at once when the entry is retained after its PubAck. False (waiter
  // untouched) when no such entry exists.
  bool Wait(std::string_view assignment_id, Waiter waiter);

  // A send's result (cnats PubAck callback). Results of attempts that timed out or were cut by
  // a disconnect still count when positive (the message is stored).
  void OnResult(std::string_view assignment_id, uint64_t token, const PubAckResult& result);

  // Connection state (§8): pauses / resumes sending.
  void SetConnected(bool connected);

  // Does the due work for now; returns when Pump() is next needed (MonoTime::max() = only on
  // an event).
  MonoTime Pump();

  // Own pump thread (real time), woken by every event. Idempotent.
  void Start();
  // Graceful shutdown (§8): no new reservations; sends continue until every live entry is done
  // or `timeout` passed, then the rest end `shutdown_dropped` (ids logged); joins the thread.
  void Stop(int64_t timeout_ms);
  // For tests without the thread: stop reserving now; Pump() drops what is live at `deadline`.
  void BeginShutdown(MonoTime deadline);

  size_t Depth() const;        // live entries (router_assignment_outbox_depth)
  size_t Outstanding() const;  // sends without a result
  size_t Retained() const;
  double OldestAgeSeconds() const;
  const OutboxOptions& options() const { return options_; }

 private:
  // Where a live entry is (each place is one index; no pump scans all entries, §6.2 at rate):
  //   kReadyNew    ready_new_:   never sent, FIFO by creation (O(1));
  //   kReadyAgain  ready_again_: due again (retry time passed, attempt cut by a disconnect),
  //                              min-heap by creation order, so sends stay FIFO across both;
  //   kRetryWait   retry_wait_:  waiting for its next attempt, min-heap by due time;
  //   kInFlight    in_flight_:   sent, no result yet, FIFO by send = by attempt deadline
  //                              (+ by_token_ for the result);
  //   kNone        ended (being finished).
  // Every live entry is also in entries_ (FIFO by creation = by expiry time); parked waiters
  // are in waiters_ (FIFO by park time = by deadline); retained entries in retained_expiry_
  // (FIFO by retention end), retained_resend_ (waiting for a re-send after a reconnect) or
  // retained_inflight_ (re-sent, no result yet; FIFO by send = by its PubAck deadline, after
  // which it waits for a re-send again).
  enum class Place : uint8_t { kReadyNew, kReadyAgain, kRetryWait, kInFlight, kNone };
  struct Entry;
  using EntryList = std::list<Entry>;
  struct ParkedWaiter {
    Waiter waiter;
    MonoTime parked_at;
    MonoTime deadline;
    Entry* owner = nullptr;
  };
  using WaiterList = std::list<ParkedWaiter>;
  struct Entry {
    std::shared_ptr<const OutboxMessage> message;
    uint64_t seq = 0;  // creation order
    MonoTime created{};
    Place place = Place::kNone;
    int attempts = 0;    // counted sends
    MonoTime due{};      // queued: next send
    uint64_t token = 0;  // kInFlight: current attempt
    MonoTime attempt_deadline{};
    std::optional<PublishError> last_error;
    absl::InlinedVector<WaiterList::iterator, 1> waiters;  // parked here, in park order
    EntryList::iterator self;
    outbox_index::ListLink<Entry> queue_link;   // ready_new_ or in_flight_
    size_t heap_pos = static_cast<size_t>(-1);  // ready_again_ or retry_wait_
  };
  struct BySeq {
    bool operator()(const Entry& a, const Entry& b) const { return a.seq < b.seq; }
  };
  struct ByDue {
    bool operator()(const Entry& a, const Entry& b) const {
      return a.due != b.due ? a.due < b.due : a.seq < b.seq;
    }
  };
  struct RetainedEntry {
    std::shared_ptr<const OutboxMessage> message;
    MonoTime first_send{};
    MonoTime until{};
    bool resend_pending = false;                 // re-send after the reconnect
    uint64_t token = 0;                          // in-flight re-send, 0 = none
    MonoTime attempt_deadline{};                 // of the in-flight re-send
    outbox_index::ListLink<RetainedEntry> link;  // retained_expiry_, _resend_ or _inflight_
  };
  using EntryQueue = outbox_index::IntrusiveList<Entry, &Entry::queue_link>;
  using RetainedQueue = outbox_index::IntrusiveList<RetainedEntry, &RetainedEntry::link>;

  // Deferred side effects, run after the lock is released.
  // Inline capacity for the common single-entry events (one PubAck, one hand-off): no heap.
  struct Effects {
    absl::InlinedVector<FateEvent, 1> fates;
    absl::InlinedVector<std::pair<Waiter, WaitResult>, 1> replies;
    absl::InlinedVector<std::pair<uint64_t, std::shared_ptr<const OutboxMessage>>, 1> sends;
    absl::InlinedVector<PublishError, 1> retries;
    absl::InlinedVector<double, 1> publish_latencies;
    std::vector<std::pair<std::string, std::string>> logs;  // event, assignment_id
  };

  void ReleaseSlot();
  void Run(Effects& fx);  // outside the lock
  void Finish(Entry& e, AssignmentFate fate, uint64_t seq, MonoTime now, Effects& fx)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void AttemptFailed(Entry& e, PublishError error, MonoTime now, Effects& fx)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void AnswerWaiters(Entry& e, bool published, MonoTime now, Effects& fx)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void Park(Entry& e, Waiter waiter, MonoTime now) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Takes `e` out of its place (an in-flight attempt stops counting as outstanding).
  void Unplace(Entry& e) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void MakeReadyAgain(Entry& e) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void WaitForRetry(Entry& e) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  Entry* PopReady() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Marks `e` in flight (a new attempt) and adds its send to `fx`.
  void StartAttempt(Entry& e, MonoTime now, Effects& fx) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Wakes the pump thread unless it already plans to run by `t`.
  void NeedPumpBy(MonoTime t) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (t < planned_wake_) wake_ = true;
  }
  void EraseRetained(RetainedEntry& r) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  int64_t RetryAfterMs(const Entry& e, MonoTime now) const;
  MonoTime PumpLocked(MonoTime now, Effects& fx) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void ThreadLoop();

  const OutboxOptions options_;
  const Clock& clock_;
  OutboxSender& sender_;
  const OutboxHooks hooks_;

  // Time is read under mu_, so the FIFO indices ordered by "now + constant" stay sorted.
  mutable absl::Mutex mu_;
  EntryList entries_ ABSL_GUARDED_BY(mu_);  // every live entry, FIFO by creation
  EntryQueue ready_new_ ABSL_GUARDED_BY(mu_);
  outbox_index::IndexedHeap<Entry, BySeq, &Entry::heap_pos> ready_again_ ABSL_GUARDED_BY(mu_);
  outbox_index::IndexedHeap<Entry, ByDue, &Entry::heap_pos> retry_wait_ ABSL_GUARDED_BY(mu_);
  EntryQueue in_flight_ ABSL_GUARDED_BY(mu_);
  WaiterList waiters_ ABSL_GUARDED_BY(mu_);
  // Keys view the entries' own assignment_id.
  absl::flat_hash_map<std::string_view, Entry*> by_id_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<uint64_t, Entry*> by_token_ ABSL_GUARDED_BY(mu_);
  // Node-based (the queues link the entries); Swiss-table probing.
  absl::node_hash_map<std::string_view, RetainedEntry, std::hash<std::string_view>> retained_
      ABSL_GUARDED_BY(mu_);
  RetainedQueue retained_expiry_ ABSL_GUARDED_BY(mu_);
  RetainedQueue retained_resend_ ABSL_GUARDED_BY(mu_);
  RetainedQueue retained_inflight_ ABSL_GUARDED_BY(mu_);
  size_t reserved_ ABSL_GUARDED_BY(mu_) = 0;
  size_t outstanding_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t next_token_ ABSL_GUARDED_BY(mu_) = 1;
  uint64_t next_seq_ ABSL_GUARDED_BY(mu_) = 1;
  bool connected_ ABSL_GUARDED_BY(mu_) = false;
  bool accepting_ ABSL_GUARDED_BY(mu_) = true;
  std::optional<MonoTime> shutdown_deadline_ ABSL_GUARDED_BY(mu_);
  bool wake_ ABSL_GUARDED_BY(mu_) = false;
  // When the sleeping pump thread wakes at the latest; min() while it runs (or without one),
  // so every event then asks for another pump.
  MonoTime planned_wake_ ABSL_GUARDED_BY(mu_) = MonoTime::min();
  bool stop_thread_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

}  // namespace router::nats_adapter
