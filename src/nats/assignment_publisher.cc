#include "nats/assignment_publisher.h"

#include <algorithm>
#include <string>
#include <string_view>

#include "nats/encoded_msg.h"

namespace router::nats_adapter {

PublishError ClassifyPublishError(natsStatus status, jsErrCode code) {
  switch (static_cast<int>(code)) {
    case JSStreamNotFoundErr:
      return PublishError::kStreamNotFound;
    case JSInsufficientResourcesErr:
      return PublishError::kInsufficientResources;
    case JSStreamLimitsErr:
    case JSStreamStoreFailedErr:
      return PublishError::kLimitReached;
    case JSStreamMessageExceedsMaximumErr:
      return PublishError::kPayloadTooLarge;
    case JSNotEnabledErr:
    case JSNotEnabledForAccountErr:
      return PublishError::kNoResponders;  // JetStream off: retried like no responders (§5.1)
    default:
      break;
  }
  switch (status) {
    case NATS_TIMEOUT:
      return PublishError::kTimeout;
    case NATS_NO_RESPONDERS:
      return PublishError::kNoResponders;
    case NATS_CONNECTION_CLOSED:
    case NATS_CONNECTION_DISCONNECTED:
    case NATS_NO_SERVER:
    case NATS_STALE_CONNECTION:
    case NATS_IO_ERROR:
      return PublishError::kDisconnected;
    case NATS_MAX_PAYLOAD:
      return PublishError::kPayloadTooLarge;
    case NATS_INVALID_SUBJECT:
      return PublishError::kInvalidSubject;
    default:
      return PublishError::kApiError;
  }
}

AssignmentPublisher::AssignmentPublisher(NatsConnection& connection, int64_t pub_ack_timeout_ms,
                                         int64_t max_outstanding,
                                         std::function<void()> on_no_stream)
    : connection_(connection),
      pub_ack_timeout_ms_(pub_ack_timeout_ms),
      // Above the outbox's own bound, including stale attempts cnats still tracks.
      max_pending_(std::max<int64_t>(max_outstanding, 1) * 4),
      on_no_stream_(std::move(on_no_stream)) {}

AssignmentPublisher::~AssignmentPublisher() {
  absl::MutexLock lock(&mu_);
  js_.reset();
}

int64_t AssignmentPublisher::ServerMaxPayload() const {
  natsConnection* nc = connection_.raw();
  if (nc == nullptr || !connection_.IsConnected()) return 0;
  return natsConnection_GetMaxPayload(nc);
}

jsCtx* AssignmentPublisher::Context() {
  natsConnection* nc = connection_.raw();
  if (nc == nullptr) return nullptr;
  if (js_ && js_conn_ == nc) return js_.get();
  jsOptions o;
  jsOptions_Init(&o);
  o.PublishAsync.MaxPending = max_pending_;
  o.PublishAsync.AckHandler = &AssignmentPublisher::OnPubAck;
  o.PublishAsync.AckHandlerClosure = this;
  o.PublishAsync.StallWait = 1;
  auto js = connection_.NewJetStreamContext(o);
  if (!js.ok()) return nullptr;
  js_ = *std::move(js);
  js_conn_ = nc;
  return js_.get();
}

std::optional<PublishError> AssignmentPublisher::Send(uint64_t token,
                                                      const OutboxMessage& message) {
  if (!connection_.IsConnected()) return PublishError::kDisconnected;
  // One allocation for message, headers and body (nats/encoded_msg.h).
  natsMsg* raw = nullptr;
  if (CreateEncodedMsg(&raw, message.subject, message.headers, message.assignment_id,
                       message.body) != NATS_OK) {
    return PublishError::kApiError;
  }
  // Nats-Msg-Id = assignment_id is in the message's headers already (CreateEncodedMsg adds it
  // when the list lacks it), so jsPubOptions.MsgId stays unset: setting it would make cnats
  // lift the encoded block into its header hash again.
  jsPubOptions opts;
  jsPubOptions_Init(&opts);
  opts.MaxWait = pub_ack_timeout_ms_;
  absl::MutexLock lock(&mu_);
  jsCtx* js = Context();
  if (js == nullptr) {
    natsMsg_Destroy(raw);
    return PublishError::kDisconnected;
  }
  attempts_[raw] = Attempt{token, message.assignment_id};
  natsMsg* handed = raw;
  // The PubAck handler may run before this returns; it takes mu_, so it waits for us.
  natsStatus s = js_PublishMsgAsync(js, &handed, &opts);
  if (s == NATS_OK) return std::nullopt;
  attempts_.erase(raw);
  natsMsg_Destroy(handed);  // no-op when cnats took it
  return ClassifyPublishError(s, static_cast<jsErrCode>(0));
}

void AssignmentPublisher::OnPubAck(jsCtx*, natsMsg* msg, jsPubAck* pa, jsPubAckErr* pae,
                                   void* closure) noexcept {
  auto* self = static_cast<AssignmentPublisher*>(closure);
  std::optional<uint64_t> token;
  std::string assignment_id;
  {
    absl::MutexLock lock(&self->mu_);
    auto it = self->attempts_.find(msg);
    if (it != self->attempts_.end()) {
      token = it->second.token;
      assignment_id = std::move(it->second.assignment_id);
      self->attempts_.erase(it);
    }
  }
  PubAckResult result;
  if (pa != nullptr) {
    result.ok = true;
    result.duplicate = pa->Duplicate;
    result.stream_seq = pa->Sequence;
  } else {
    result.ok = false;
    result.error =
        pae != nullptr ? ClassifyPublishError(pae->Err, pae->ErrCode) : PublishError::kApiError;
  }
  if (token && self->outbox_ != nullptr) {
    if (!result.ok && (result.error == PublishError::kNoResponders ||
                       result.error == PublishError::kStreamNotFound)) {
      if (self->on_no_stream_) self->on_no_stream_();
    }
    try {
      self->outbox_->OnResult(assignment_id, *token, result);
    } catch (...) {
      // Never unwind into cnats.
    }
  }
  ReleaseMsg(self->reaper_, msg);
}

}  // namespace router::nats_adapter
