#pragma once
// AssignmentPublisher: the cnats side of the assignment outbox (nats-contracts.md §6.2): an
// OutboxSender that publishes each attempt with the JetStream async API (js_PublishMsgAsync on
// an own jsCtx whose PubAck handler reports to AssignmentOutbox::OnResult), with the entry's
// headers (Nats-Msg-Id = assignment_id on every attempt) and MaxWait = pub_ack_timeout_ms.
// Messages are built by CreateEncodedMsg (nats/encoded_msg.h: header block encoded by us, one
// allocation per message instead of a cnats header hash with ~4 allocations per header).
// The outbox keeps its own outstanding count below max_outstanding and cnats' MaxPending is
// set above it, so the publishing thread never stalls in cnats.
//
// Nothing is handed to cnats while the connection is down (§8: never the reconnect buffer):
// Send() then reports `disconnected` (not counted as an attempt). PubAck errors are classified
// into the §6.2 reasons; "no stream" answers (no responders, stream not found) call
// `on_no_stream` (the transport re-runs the ensure step, at most every 5 s).
//
// Thread-safety: Send() from the outbox pump; the PubAck handler runs on a cnats thread. The
// attempt of each in-flight natsMsg is found by the message's address (owned by cnats until
// the handler, which destroys it).

#include <nats/nats.h>

#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "nats/assignment_outbox.h"
#include "nats/connection.h"
#include "nats/msg_reaper.h"

namespace router::nats_adapter {

// §6.2 classification of a cnats publish failure.
PublishError ClassifyPublishError(natsStatus status, jsErrCode code);

class AssignmentPublisher : public OutboxSender {
 public:
  // `connection` must outlive the publisher; SetOutbox() before the first Send().
  AssignmentPublisher(NatsConnection& connection, int64_t pub_ack_timeout_ms,
                      int64_t max_outstanding, std::function<void()> on_no_stream);
  ~AssignmentPublisher() override;

  void SetOutbox(AssignmentOutbox* outbox) { outbox_ = outbox; }
  // Published messages are destroyed through `reaper` (msg_reaper.h) after their PubAck.
  // Before the first Send(); null = at once; must outlive the publisher.
  void SetMsgReaper(MsgReaper* reaper) { reaper_ = reaper; }

  std::optional<PublishError> Send(uint64_t token, const OutboxMessage& message) override;

  // The server's max payload (0 = unknown: not connected yet).
  int64_t ServerMaxPayload() const;

 private:
  static void OnPubAck(jsCtx* js, natsMsg* msg, jsPubAck* pa, jsPubAckErr* pae,
                       void* closure) noexcept;
  jsCtx* Context();

  NatsConnection& connection_;
  const int64_t pub_ack_timeout_ms_;
  const int64_t max_pending_;
  const std::function<void()> on_no_stream_;
  MsgReaper* reaper_ = nullptr;
  AssignmentOutbox* outbox_ = nullptr;

  absl::Mutex mu_;
  JsCtxPtr js_ ABSL_GUARDED_BY(mu_);
  natsConnection* js_conn_ ABSL_GUARDED_BY(mu_) = nullptr;  // connection js_ was made on
  // In-flight natsMsg -> outbox token and assignment id (= the message's Nats-Msg-Id; kept
  // here so the PubAck handler never parses the pre-encoded header block).
  struct Attempt {
    uint64_t token = 0;
    std::string assignment_id;
  };
  absl::flat_hash_map<natsMsg*, Attempt> attempts_ ABSL_GUARDED_BY(mu_);
};

}  // namespace router::nats_adapter
