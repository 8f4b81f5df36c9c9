#include "nats/assignment_publisher.h"

#include <simdjson.h>

#include <algorithm>
#include <charconv>
#include <string>
#include <string_view>

#include "absl/time/clock.h"
#include "absl/time/time.h"
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

namespace {

bool SubjectSafe(std::string_view id) {
  if (id.empty()) return false;
  for (char c : id) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '-' || c == '_';
    if (!ok) return false;
  }
  return true;
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

}  // namespace

std::string PubAckReplySuffix(uint64_t token, std::string_view assignment_id) {
  std::string out = std::to_string(token);
  if (SubjectSafe(assignment_id)) {
    out.append(".i").append(assignment_id);
  } else {
    static constexpr char kHex[] = "0123456789abcdef";
    out.append(".x");
    for (unsigned char c : assignment_id) {
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  return out;
}

bool ParsePubAckReplySuffix(std::string_view suffix, uint64_t* token, std::string* assignment_id) {
  const size_t dot = suffix.find('.');
  if (dot == std::string_view::npos || dot == 0 || dot + 2 > suffix.size()) return false;
  // Tokens start at 1 and are written without leading zeros; 0 means "no attempt" to the outbox.
  if (suffix[0] == '0') return false;
  auto [p, ec] = std::from_chars(suffix.data(), suffix.data() + dot, *token);
  if (ec != std::errc() || p != suffix.data() + dot) return false;
  const std::string_view id = suffix.substr(dot + 2);
  if (suffix[dot + 1] == 'i') {
    if (!SubjectSafe(id)) return false;
    assignment_id->assign(id);
    return true;
  }
  if (suffix[dot + 1] != 'x' || id.size() % 2 != 0) return false;
  assignment_id->clear();
  for (size_t i = 0; i < id.size(); i += 2) {
    const int hi = HexValue(id[i]), lo = HexValue(id[i + 1]);
    if (hi < 0 || lo < 0) return false;
    assignment_id->push_back(static_cast<char>(hi * 16 + lo));
  }
  return true;
}

PubAckResult ParsePubAck(std::string_view body) {
  PubAckResult r;
  r.ok = false;
  r.error = PublishError::kApiError;
  thread_local simdjson::dom::parser parser;
  thread_local std::string padded;
  padded.assign(body);
  padded.resize(body.size() + simdjson::SIMDJSON_PADDING);
  simdjson::dom::object obj;
  if (parser.parse(padded.data(), body.size(), /*realloc_if_needed=*/false).get_object().get(obj) !=
      simdjson::SUCCESS) {
    return r;
  }
  simdjson::dom::object error;
  if (obj["error"].get_object().get(error) == simdjson::SUCCESS) {
    int64_t code = 0;
    if (error["err_code"].get_int64().get(code) != simdjson::SUCCESS) code = 0;
    r.error = ClassifyPublishError(NATS_ERR, static_cast<jsErrCode>(code));
    return r;
  }
  uint64_t seq = 0;
  std::string_view stream;
  if (obj["stream"].get_string().get(stream) != simdjson::SUCCESS || stream.empty() ||
      obj["seq"].get_uint64().get(seq) != simdjson::SUCCESS) {
    return r;
  }
  bool duplicate = false;
  if (obj["duplicate"].get_bool().get(duplicate) != simdjson::SUCCESS) duplicate = false;
  r.ok = true;
  r.duplicate = duplicate;
  r.stream_seq = seq;
  return r;
}

AssignmentPublisher::AssignmentPublisher(NatsConnection& connection,
                                         std::function<void()> on_no_stream)
    : connection_(connection), on_no_stream_(std::move(on_no_stream)) {}

int64_t AssignmentPublisher::ServerMaxPayload() const {
  natsConnection* nc = connection_.raw();
  if (nc == nullptr || !connection_.IsConnected()) return 0;
  return natsConnection_GetMaxPayload(nc);
}

const AssignmentPublisher::Inbox* AssignmentPublisher::InboxFor(natsConnection* nc) {
  const Inbox* cur = current_.load(std::memory_order_acquire);
  if (cur != nullptr && cur->nc == nc) return cur;
  absl::MutexLock lock(&mu_);
  if (closed_) return nullptr;
  for (const auto& in : inboxes_) {
    if (in->nc == nc && in->sub != nullptr) {
      current_.store(in.get(), std::memory_order_release);
      return in.get();
    }
  }
  natsInbox* name = nullptr;
  if (natsInbox_Create(&name) != NATS_OK) return nullptr;
  auto inbox = std::make_unique<Inbox>();
  inbox->owner = this;
  inbox->nc = nc;
  inbox->prefix = std::string(name) + ".";
  natsInbox_Destroy(name);
  natsSubscription* sub = nullptr;
  natsStatus s = natsConnection_Subscribe(&sub, nc, (inbox->prefix + ">").c_str(),
                                          &AssignmentPublisher::OnReply, inbox.get());
  if (s == NATS_OK) s = natsSubscription_SetOnCompleteCB(sub, &OnComplete, inbox.get());
  if (s != NATS_OK) {
    if (sub != nullptr) {
      natsSubscription_Unsubscribe(sub);
      natsSubscription_Destroy(sub);
    }
    return nullptr;
  }
  inbox->sub = sub;
  current_.store(inbox.get(), std::memory_order_release);
  inboxes_.push_back(std::move(inbox));
  return inboxes_.back().get();
}

void AssignmentPublisher::Close() {
  std::vector<Inbox*> inboxes;
  {
    absl::MutexLock lock(&mu_);
    if (closed_) return;
    closed_ = true;
    current_.store(nullptr, std::memory_order_release);
    for (auto& in : inboxes_) inboxes.push_back(in.get());
  }
  // From here on a reply touches nothing of the publisher; the Inbox objects stay until the
  // destructor, because a Send() that loaded one before Close() may still read its prefix.
  for (Inbox* in : inboxes) in->detached.store(true, std::memory_order_release);
  for (Inbox* in : inboxes) {
    if (in->sub != nullptr) natsSubscription_Unsubscribe(in->sub);
  }
  // The completion callback runs once the subscription's delivery thread is done with it
  // (unsubscribed, or the connection closed).
  const absl::Time deadline = absl::Now() + absl::Seconds(2);
  for (Inbox* in : inboxes) {
    while (in->sub != nullptr && !in->done.load(std::memory_order_acquire) &&
           absl::Now() < deadline) {
      absl::SleepFor(absl::Milliseconds(1));
    }
  }
  for (Inbox* in : inboxes) {
    if (in->sub != nullptr) natsSubscription_Destroy(in->sub);
    in->sub = nullptr;
  }
}

AssignmentPublisher::~AssignmentPublisher() {
  Close();
  absl::MutexLock lock(&mu_);
  for (auto& in : inboxes_) {
    // A callback still running after the wait only reads the Inbox (detached): leaked, not freed
    // under it.
    if (!in->done.load(std::memory_order_acquire)) in.release();
  }
}

std::optional<PublishError> AssignmentPublisher::Send(uint64_t token,
                                                      const OutboxMessage& message) {
  natsConnection* nc = connection_.raw();
  if (nc == nullptr || !connection_.IsConnected()) return PublishError::kDisconnected;
  const Inbox* inbox = InboxFor(nc);
  if (inbox == nullptr) return PublishError::kDisconnected;
  thread_local std::string reply;
  reply.assign(inbox->prefix).append(PubAckReplySuffix(token, message.assignment_id));
  // One allocation for message, headers and body (nats/encoded_msg.h); Nats-Msg-Id =
  // assignment_id is added when the header list lacks it.
  natsMsg* raw = nullptr;
  natsStatus s = CreateEncodedMsg(&raw, message.subject, message.headers, message.assignment_id,
                                  message.body, reply);
  if (s != NATS_OK) return ClassifyPublishError(s, static_cast<jsErrCode>(0));
  // The PubAck may arrive before this returns (another thread): the outbox allows that.
  s = natsConnection_PublishMsg(nc, raw);
  ReleaseMsg(reaper_, raw);  // its bytes are in the connection's buffer now
  if (s == NATS_OK) return std::nullopt;
  return ClassifyPublishError(s, static_cast<jsErrCode>(0));
}

void AssignmentPublisher::OnReply(natsConnection*, natsSubscription*, natsMsg* msg,
                                  void* closure) noexcept {
  auto* inbox = static_cast<Inbox*>(closure);
  if (inbox->detached.load(std::memory_order_acquire)) {  // the publisher is closing
    natsMsg_Destroy(msg);
    return;
  }
  try {
    inbox->owner->HandleReply(*inbox, msg);
    ReleaseMsg(inbox->owner->reaper_, msg);
  } catch (...) {
    // Never unwind into cnats.
  }
}

void AssignmentPublisher::OnComplete(void* closure) noexcept {
  static_cast<Inbox*>(closure)->done.store(true, std::memory_order_release);
}

void AssignmentPublisher::HandleReply(const Inbox& inbox, natsMsg* msg) {
  const std::string_view subject = natsMsg_GetSubject(msg);
  if (subject.size() <= inbox.prefix.size()) return;
  uint64_t token = 0;
  thread_local std::string assignment_id;
  if (!ParsePubAckReplySuffix(subject.substr(inbox.prefix.size()), &token, &assignment_id)) {
    return;
  }
  const int len = natsMsg_GetDataLength(msg);
  PubAckResult result;
  const char* status = nullptr;
  if (len == 0 && natsMsgHeader_Get(msg, "Status", &status) == NATS_OK && status != nullptr &&
      std::string_view(status) == "503") {
    result.ok = false;
    result.error = PublishError::kNoResponders;  // no stream listens on the subject
  } else {
    result = ParsePubAck(std::string_view(natsMsg_GetData(msg), static_cast<size_t>(len)));
  }
  if (outbox_ == nullptr) return;
  if (!result.ok && (result.error == PublishError::kNoResponders ||
                     result.error == PublishError::kStreamNotFound)) {
    if (on_no_stream_) on_no_stream_();
  }
  outbox_->OnResult(assignment_id, token, result);
}

}  // namespace router::nats_adapter
