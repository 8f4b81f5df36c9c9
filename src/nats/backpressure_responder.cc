// S9 backpressure status responder (nats-contracts.md §3.9).
#include "nats/backpressure_responder.h"

#include <simdjson.h>

#include <algorithm>

#include "nats/json_writer.h"
#include "nats/log_sink.h"

namespace router::nats_adapter {
namespace {

constexpr int kMaxRetryAttempts = 3;  // §3.9 policy.max_retry_attempts

std::string InvalidRequest(std::string_view message) {
  std::string out;
  JsonWriter w(out);
  w.BeginObject().Field("success", false).Key("error").BeginObject();
  w.Field("code", "invalid_request").Field("message", message);
  w.EndObject().EndObject();
  return out;
}

}  // namespace

BackpressureResponder::BackpressureResponder(BackpressureResponderOptions options,
                                             const service::BackpressureMonitor& monitor,
                                             NatsConnection& connection, const Clock& clock)
    : options_(std::move(options)), monitor_(monitor), connection_(connection), clock_(clock) {}

BackpressureResponder::~BackpressureResponder() { Close(); }

absl::Status BackpressureResponder::Subscribe() {
  absl::MutexLock lock(&mu_);
  if (subscription_ != nullptr) return absl::OkStatus();
  natsConnection* nc = connection_.raw();
  if (nc == nullptr) return absl::FailedPreconditionError("no NATS connection");
  natsSubscription* sub = nullptr;
  completed_.store(false, std::memory_order_release);
  natsStatus s =
      natsConnection_Subscribe(&sub, nc, options_.status_subject.c_str(), &OnMessage, this);
  if (s == NATS_OK) s = natsSubscription_SetOnCompleteCB(sub, &OnComplete, this);
  // Register the interest before the caller reports readiness (a requester must not get "no
  // responders" from a ready replica).
  if (s == NATS_OK) s = natsConnection_FlushTimeout(nc, 2000);
  if (s != NATS_OK) {
    if (sub != nullptr) natsSubscription_Destroy(sub);
    absl::Status error = NatsError(s, "status subscription");
    Log(GlobalLogSink(), "WARN", "nats.status_subscribe_failed",
        "cannot subscribe the backpressure status subject; retrying",
        {{"subject", options_.status_subject}, {"error", std::string(error.message())}});
    return error;
  }
  subscription_ = sub;
  subscribed_.store(true, std::memory_order_release);
  return absl::OkStatus();
}

void BackpressureResponder::Close() {
  natsSubscription* sub = nullptr;
  {
    absl::MutexLock lock(&mu_);
    sub = subscription_;
    subscription_ = nullptr;
    subscribed_.store(false, std::memory_order_release);
  }
  if (sub == nullptr) return;
  natsSubscription_Unsubscribe(sub);  // error if the connection is closed: ignored
  // The completion callback runs after the last message callback has returned (bounded wait;
  // a closed connection also completes its subscriptions).
  const absl::Time deadline = absl::Now() + absl::Seconds(5);
  while (!completed_.load(std::memory_order_acquire) && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(1));
  }
  natsSubscription_Destroy(sub);
}

std::string BackpressureResponder::Respond(std::string_view body) const {
  std::string subject = options_.decide_subject;
  const bool blank = std::all_of(body.begin(), body.end(), [](char c) {
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
  });
  if (!blank) {
    simdjson::dom::parser parser;
    simdjson::dom::element doc;
    if (parser.parse(body.data(), body.size()).get(doc) != simdjson::SUCCESS) {
      return InvalidRequest("status request must be a JSON object");
    }
    simdjson::dom::object obj;
    if (doc.get_object().get(obj) != simdjson::SUCCESS) {
      return InvalidRequest("status request must be a JSON object");
    }
    simdjson::dom::element value;
    if (obj["subject"].get(value) == simdjson::SUCCESS) {
      std::string_view s;
      if (value.get_string().get(s) != simdjson::SUCCESS || s.empty()) {
        return InvalidRequest("subject: must be a non-empty string");
      }
      subject = std::string(s);
    }
  }

  const service::BackpressureReport r = monitor_.Report();
  const service::BackpressureOptions& o = monitor_.options();
  const bool active = r.status == service::BackpressureStatus::kActive;
  const int64_t retry_ms = std::max<int64_t>(1, o.retry_after_ms);
  std::string out;
  JsonWriter w(out);
  w.BeginObject().Field("success", true).Key("data").BeginObject();
  w.Field("subject", subject).Field("status", service::BackpressureStatusName(r.status));
  w.Key("metrics").BeginObject();
  w.Key("pending_messages");
  if (r.pending) {
    w.Int(*r.pending);
  } else {
    w.Null();
  }
  w.Field("latency_p95_ms", r.latency_p95_ms).Field("inflight_messages", r.inflight);
  w.EndObject();
  w.Key("signals_unknown").BeginArray();
  for (const auto& s : r.signals_unknown) w.String(s);
  w.EndArray();
  w.Key("thresholds").BeginObject();
  w.Field("queue_overload", o.queue_overload)
      .Field("latency_overload_ms", o.latency_overload_ms)
      .Field("inflight_overload", o.inflight_overload);
  w.EndObject();
  w.Key("policy").BeginObject();
  w.Field("retry_after_seconds", (retry_ms + 999) / 1000)
      .Field("max_retry_attempts", kMaxRetryAttempts);
  w.EndObject();
  w.Field("retry_after_ms", active ? retry_ms : int64_t{0});
  w.Field("node_id", options_.node_id).Field("timestamp", clock_.WallMs());
  w.EndObject().EndObject();
  return out;
}

void BackpressureResponder::OnComplete(void* closure) noexcept {
  static_cast<BackpressureResponder*>(closure)->completed_.store(true, std::memory_order_release);
}

void BackpressureResponder::OnMessage(natsConnection*, natsSubscription*, natsMsg* msg,
                                      void* closure) noexcept {
  NatsMsgPtr owned(msg);
  auto* self = static_cast<BackpressureResponder*>(closure);
  try {
    const char* reply = natsMsg_GetReply(msg);
    if (reply == nullptr || *reply == '\0') return;  // nobody to answer
    const char* data = natsMsg_GetData(msg);
    const std::string response = self->Respond(std::string_view(
        data == nullptr ? "" : data, static_cast<size_t>(natsMsg_GetDataLength(msg))));
    natsConnection* nc = self->connection_.raw();
    if (nc != nullptr) {
      natsConnection_Publish(nc, reply, response.data(), static_cast<int>(response.size()));
    }
  } catch (...) {
    // Never unwind into cnats (style guide §2.4); the requester times out.
  }
}

ResultsPendingPoller::ResultsPendingPoller(std::string stream, std::string durable,
                                           NatsConnection& connection,
                                           service::BackpressureMonitor& monitor,
                                           absl::Duration interval)
    : stream_(std::move(stream)),
      durable_(std::move(durable)),
      connection_(connection),
      monitor_(monitor),
      interval_(interval) {}

ResultsPendingPoller::~ResultsPendingPoller() { Stop(); }

void ResultsPendingPoller::Start() {
  absl::MutexLock lock(&mu_);
  if (thread_.joinable()) return;
  stop_ = false;
  thread_ = std::thread([this] {
    while (true) {
      PollOnce();
      absl::MutexLock lock(&mu_);
      auto stopped = [this]() ABSL_SHARED_LOCKS_REQUIRED(mu_) { return stop_; };
      if (mu_.AwaitWithTimeout(absl::Condition(&stopped), interval_)) return;
    }
  });
}

void ResultsPendingPoller::Stop() {
  {
    absl::MutexLock lock(&mu_);
    stop_ = true;
  }
  if (thread_.joinable()) thread_.join();
}

bool ResultsPendingPoller::ReadInfo(jsCtx* js, const std::string& stream,
                                    const std::string& durable, uint64_t* pending,
                                    uint64_t* ack_pending) {
  jsOptions options;
  if (jsOptions_Init(&options) != NATS_OK) return false;
  options.Wait = 500;  // §9: 500 ms timeout
  jsConsumerInfo* info = nullptr;
  jsErrCode err = static_cast<jsErrCode>(0);
  natsStatus s = js_GetConsumerInfo(&info, js, stream.c_str(), durable.c_str(), &options, &err);
  if (s != NATS_OK || info == nullptr) {
    if (info != nullptr) jsConsumerInfo_Destroy(info);
    const bool missing =
        s == NATS_NOT_FOUND || err == JSConsumerNotFoundErr || err == JSStreamNotFoundErr;
    if (missing && on_missing_ && connection_.IsConnected()) on_missing_(durable);
    return false;
  }
  *pending = info->NumPending;
  *ack_pending = static_cast<uint64_t>(std::max<int64_t>(info->NumAckPending, 0));
  jsConsumerInfo_Destroy(info);
  return true;
}

bool ResultsPendingPoller::PollOnce() {
  jsCtx* js = connection_.jetstream();
  if (js == nullptr || !connection_.IsConnected()) return false;
  uint64_t pending = 0;
  uint64_t ack_pending = 0;
  const bool fed = ReadInfo(js, stream_, durable_, &pending, &ack_pending);
  if (fed) {
    monitor_.SetPending(static_cast<int64_t>(pending));
    if (results_sink_) results_sink_(pending, ack_pending);
  }
  for (const Polled& p : extra_) {
    if (ReadInfo(js, p.stream, p.durable, &pending, &ack_pending) && p.sink) {
      p.sink(pending, ack_pending);
    }
  }
  return fed;
}

}  // namespace router::nats_adapter
