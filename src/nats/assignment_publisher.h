#pragma once
// AssignmentPublisher: the cnats side of the assignment outbox (nats-contracts.md §6.2): an
// OutboxSender that publishes each attempt as a core NATS message to the JetStream subject with
// a reply subject on the publisher's own PubAck inbox, and reports each PubAck (or JetStream
// error reply, or no-responders status) to AssignmentOutbox::OnResult. Every attempt carries
// the entry's headers (Nats-Msg-Id = assignment_id). Messages are built by CreateEncodedMsg
// (nats/encoded_msg.h: header block encoded by us, one allocation per message).
//
// Why not cnats' js_PublishMsgAsync: the outbox already does what that API adds (a bound on
// outstanding sends, a PubAck deadline per attempt, the attempt's identity), and the API's
// bookkeeping (a hash of pending inbox ids, its own JSON parser, one message per PubAck freed
// through cnats' GC thread) was ~13 % of the router's CPU per pushing decide
// (docs/PERFORMANCE.md, P5). Here the reply subject itself names the attempt:
//   <inbox prefix>.<outbox token>.i<assignment_id>       (id of [A-Za-z0-9_-] only, e.g. uuids)
//   <inbox prefix>.<outbox token>.x<hex of assignment_id> (any other id)
// so a reply needs no lookup, and PubAcks are parsed with simdjson and destroyed in batches
// (msg_reaper.h). Deadlines are the outbox's (pub_ack_timeout_ms).
//
// Nothing is handed to cnats while the connection is down (§8: never the reconnect buffer):
// Send() then reports `disconnected` (not counted as an attempt). Replies are classified into
// the §6.2 reasons; "no stream" answers (no responders, stream not found) call `on_no_stream`
// (the transport re-runs the ensure step, at most every 5 s).
//
// Thread-safety: Send() from any thread (the outbox runs sends on the threads that cause
// them); replies arrive on the inbox subscription's cnats thread. The inbox (one per
// natsConnection the publisher has seen) is read lock-free; Close() (also run by the
// destructor) unsubscribes and waits, bounded, until no reply callback runs; the Inbox objects
// live until the destructor (a Send() racing Close() may still read one).

#include <nats/nats.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "nats/assignment_outbox.h"
#include "nats/connection.h"
#include "nats/msg_reaper.h"

namespace router::nats_adapter {

// §6.2 classification of a cnats publish failure.
PublishError ClassifyPublishError(natsStatus status, jsErrCode code);

// A JetStream publish reply body: {"stream":..,"seq":N[,"duplicate":true]} -> ok; {"error":
// {"code":..,"err_code":E,..}} -> classified by E; anything else -> api_error.
PubAckResult ParsePubAck(std::string_view body);

// Reply-subject suffix "<token>.i<id>" / "<token>.x<hex id>" (see above) and its inverse
// (false when `suffix` is not of that form).
std::string PubAckReplySuffix(uint64_t token, std::string_view assignment_id);
bool ParsePubAckReplySuffix(std::string_view suffix, uint64_t* token, std::string* assignment_id);

class AssignmentPublisher : public OutboxSender {
 public:
  // `connection` must outlive the publisher; SetOutbox() before the first Send().
  AssignmentPublisher(NatsConnection& connection, std::function<void()> on_no_stream);
  ~AssignmentPublisher() override;

  void SetOutbox(AssignmentOutbox* outbox) { outbox_ = outbox; }
  // Published messages and PubAcks are destroyed through `reaper` (msg_reaper.h). Before the
  // first Send(); null = at once; must outlive the publisher.
  void SetMsgReaper(MsgReaper* reaper) { reaper_ = reaper; }

  std::optional<PublishError> Send(uint64_t token, const OutboxMessage& message) override;

  // Unsubscribes every inbox and waits (at most 2 s) until no reply callback runs; later
  // Send()s report `disconnected`. Idempotent.
  void Close();

  // The server's max payload (0 = unknown: not connected yet).
  int64_t ServerMaxPayload() const;

 private:
  struct Inbox {
    AssignmentPublisher* owner = nullptr;
    natsConnection* nc = nullptr;
    natsSubscription* sub = nullptr;
    std::string prefix;                 // "<inbox>." (the subscription is "<inbox>.>")
    std::atomic<bool> done{false};      // the subscription's completion callback ran
    std::atomic<bool> detached{false};  // Close() began: replies touch nothing of the owner
  };
  static void OnReply(natsConnection* nc, natsSubscription* sub, natsMsg* msg,
                      void* closure) noexcept;
  static void OnComplete(void* closure) noexcept;
  void HandleReply(const Inbox& inbox, natsMsg* msg);
  // The inbox of `nc`, subscribed on first use; null if that failed or after Close().
  const Inbox* InboxFor(natsConnection* nc);

  NatsConnection& connection_;
  const std::function<void()> on_no_stream_;
  MsgReaper* reaper_ = nullptr;
  AssignmentOutbox* outbox_ = nullptr;

  std::atomic<const Inbox*> current_{nullptr};  // inbox of the newest connection
  absl::Mutex mu_;
  std::vector<std::unique_ptr<Inbox>> inboxes_ ABSL_GUARDED_BY(mu_);  // kept until destruction
  bool closed_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace router::nats_adapter
