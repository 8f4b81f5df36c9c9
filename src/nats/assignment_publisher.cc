#include "nats/assignment_publisher.h"

#include <algorithm>
#include <string>
#include <string_view>

// cnats 3.4 (msg.h, not installed): creates a message from `buf` whose first `hdrLen` bytes
// are an encoded NATS header block. Exported by libnats; the signature is the one of 3.x.
extern "C" natsStatus natsMsg_create(natsMsg** newMsg, const char* subject, int subjLen,
                                     const char* reply, int replyLen, const char* buf, int bufLen,
                                     int hdrLen);

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

namespace {

// "NATS/1.0\r\n" + "key: value\r\n"... + "\r\n" (the NATS header block, as cnats' own encoder
// writes it: CR/LF inside a value become spaces), followed by the body, in `out`. Returns the
// header block's length.
size_t EncodeHeadersAndBody(const OutboxMessage& message, std::string& out) {
  out.clear();
  size_t size = 12 + 17 + message.assignment_id.size() + message.body.size();
  for (const auto& [k, v] : message.headers) size += k.size() + v.size() + 4;
  out.reserve(size);
  out.append("NATS/1.0\r\n");
  // Every attempt carries Nats-Msg-Id = assignment_id (§6.2 dedupe), also when a caller's
  // header list lacks it.
  const bool has_msg_id =
      !message.headers.empty() && message.headers.front().first == "Nats-Msg-Id";
  if (!has_msg_id && !message.assignment_id.empty()) {
    out.append("Nats-Msg-Id: ");
    out.append(message.assignment_id);
    out.append("\r\n");
  }
  for (const auto& [k, v] : message.headers) {
    out.append(k);
    out.append(": ");
    const size_t at = out.size();
    out.append(v);
    for (size_t i = at; i < out.size(); ++i) {
      if (out[i] == '\r' || out[i] == '\n') out[i] = ' ';
    }
    out.append("\r\n");
  }
  out.append("\r\n");
  const size_t header_len = out.size();
  out.append(message.body);
  return header_len;
}

}  // namespace

std::optional<PublishError> AssignmentPublisher::Send(uint64_t token,
                                                      const OutboxMessage& message) {
  if (!connection_.IsConnected()) return PublishError::kDisconnected;
  if (message.subject.empty()) return PublishError::kApiError;
  // One allocation for message, headers and body: the headers go in pre-encoded (cnats treats
  // them like a received message's never-lifted headers and copies the block verbatim into
  // the HPUB), instead of one natsMsgHeader_Set (a hash insert, ~4 allocations) per header.
  thread_local std::string scratch;
  const size_t header_len = EncodeHeadersAndBody(message, scratch);
  natsMsg* raw = nullptr;
  if (natsMsg_create(&raw, message.subject.data(), static_cast<int>(message.subject.size()),
                     nullptr, 0, scratch.data(), static_cast<int>(scratch.size()),
                     static_cast<int>(header_len)) != NATS_OK) {
    return PublishError::kApiError;
  }
  // Nats-Msg-Id is in the pre-encoded headers (ExecAssignmentHeaders' first entry), so
  // jsPubOptions.MsgId stays unset: setting it would make cnats lift the whole block again.
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
  natsMsg_Destroy(msg);
}

}  // namespace router::nats_adapter
