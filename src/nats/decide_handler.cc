#include "nats/decide_handler.h"

#include <strings.h>

#include <cstdlib>
#include <exception>
#include <thread>

namespace router::nats_adapter {
namespace {

constexpr absl::Duration kCompletionWait = absl::Seconds(5);

bool HeaderIs(const char* key, const char* name) { return strcasecmp(key, name) == 0; }

// RAII inflight gauge (§5 step 1 / step 13).
class Inflight {
 public:
  explicit Inflight(std::atomic<int64_t>& gauge) : gauge_(gauge) {
    gauge_.fetch_add(1, std::memory_order_relaxed);
  }
  ~Inflight() { gauge_.fetch_sub(1, std::memory_order_relaxed); }

 private:
  std::atomic<int64_t>& gauge_;
};

}  // namespace

DecideHandlerOptions DecideHandlerOptions::FromConfig(const config::NatsConfig& config) {
  DecideHandlerOptions o;
  o.subject = config.decide.subject;
  o.queue_group = config.decide.queue_group;
  int workers = static_cast<int>(config.decide.workers);
  if (workers <= 0) workers = static_cast<int>(std::thread::hardware_concurrency());
  o.workers = workers <= 0 ? 1 : workers;
  o.reply_fallback = config.decide.reply_fallback;
  o.dlq_rate_per_s = static_cast<double>(config.dlq.decide_rate_per_s);
  return o;
}

DecideHeaders ReadDecideHeaders(natsMsg* msg) {
  DecideHeaders h;
  const char** keys = nullptr;
  int count = 0;
  if (natsMsgHeader_Keys(msg, &keys, &count) != NATS_OK || keys == nullptr) return h;
  for (int i = 0; i < count; ++i) {
    const char* key = keys[i];
    std::optional<std::string_view>* slot = nullptr;
    if (HeaderIs(key, "version")) {
      slot = &h.version;
    } else if (HeaderIs(key, "traceparent")) {
      slot = &h.traceparent;
    } else if (HeaderIs(key, "tracestate")) {
      slot = &h.tracestate;
    } else if (HeaderIs(key, "trace_id")) {
      slot = &h.trace_id;
    } else if (HeaderIs(key, "span_id")) {
      slot = &h.span_id;
    } else if (HeaderIs(key, "tenant_id")) {
      slot = &h.tenant_id;
    } else if (HeaderIs(key, "Idempotency-Key")) {
      slot = &h.idempotency_key;
    } else if (HeaderIs(key, "x-correlation-id")) {
      slot = &h.correlation_id;
    }
    const char* value = nullptr;
    if (slot != nullptr && !slot->has_value() && natsMsgHeader_Get(msg, key, &value) == NATS_OK &&
        value != nullptr) {
      *slot = std::string_view(value);
    }
  }
  std::free(static_cast<void*>(keys));
  return h;
}

DecideHandler::DecideHandler(DecideHandlerOptions options, const DecideProcessor& processor,
                             NatsConnection& connection, DlqPublisher* dlq, const Clock& clock,
                             NatsStats& stats, LogSink log)
    : options_(std::move(options)),
      fallback_reply_subject_(options_.subject + ".reply"),
      dlq_subject_(options_.subject + ".dlq"),
      processor_(processor),
      connection_(connection),
      dlq_(dlq),
      clock_(clock),
      stats_(stats),
      log_(std::move(log)),
      dlq_bucket_(clock, options_.dlq_rate_per_s, std::max(1.0, options_.dlq_rate_per_s)) {}

DecideHandler::~DecideHandler() { Close(); }

absl::Status DecideHandler::Subscribe() {
  absl::Status error;
  {
    absl::MutexLock lock(&mu_);
    if (!workers_.empty()) return absl::OkStatus();
    natsConnection* nc = connection_.raw();
    if (nc == nullptr) return absl::FailedPreconditionError("no NATS connection");
    for (int i = 0; i < options_.workers && error.ok(); ++i) {
      auto worker = std::make_unique<Worker>();
      worker->owner = this;
      worker->scratch = processor_.NewWorker();
      natsSubscription* sub = nullptr;
      natsStatus s =
          natsConnection_QueueSubscribe(&sub, nc, options_.subject.c_str(),
                                        options_.queue_group.c_str(), &OnMessage, worker.get());
      if (s == NATS_OK) s = natsSubscription_SetOnCompleteCB(sub, &OnComplete, worker.get());
      if (sub != nullptr) worker->subscription = sub;
      workers_.push_back(std::move(worker));
      if (s != NATS_OK) error = NatsError(s, "decide subscription");
    }
    if (error.ok()) subscribed_.store(true, std::memory_order_release);
  }
  if (!error.ok()) {
    Close();
    return error;
  }
  Log(log_, "INFO", "nats.decide_subscribed", "decide subscriptions active",
      {{"subject", options_.subject},
       {"queue_group", options_.queue_group},
       {"workers", std::to_string(options_.workers)}});
  return absl::OkStatus();
}

int64_t DecideHandler::QueuedMessages() {
  if (!mu_.TryLock()) return 0;  // Subscribe/Drain/Close in progress: no sample
  int64_t queued = 0;
  for (const auto& w : workers_) {
    int msgs = 0;
    if (w->subscription != nullptr &&
        natsSubscription_GetPending(w->subscription, &msgs, nullptr) == NATS_OK) {
      queued += msgs;
    }
  }
  mu_.Unlock();
  return queued;
}

bool DecideHandler::Subscribed() const { return subscribed_.load(std::memory_order_acquire); }

void DecideHandler::Drain(absl::Duration timeout) {
  absl::MutexLock lock(&mu_);
  if (!subscribed_.exchange(false)) return;
  for (auto& w : workers_) {
    if (w->subscription != nullptr) natsSubscription_Drain(w->subscription);
  }
  const absl::Time deadline = absl::Now() + timeout;
  for (auto& w : workers_) {
    if (w->subscription == nullptr) continue;
    const int64_t left_ms = std::max<int64_t>(absl::ToInt64Milliseconds(deadline - absl::Now()), 1);
    natsSubscription_WaitForDrainCompletion(w->subscription, left_ms);
  }
}

void DecideHandler::Close() {
  std::vector<std::unique_ptr<Worker>> workers;
  {
    absl::MutexLock lock(&mu_);
    subscribed_.store(false, std::memory_order_release);
    workers.swap(workers_);
  }
  for (auto& w : workers) {
    if (w->subscription == nullptr) continue;
    natsSubscription_Unsubscribe(w->subscription);  // error if already closed: ignored
  }
  const absl::Time deadline = absl::Now() + kCompletionWait;
  for (auto& w : workers) {
    if (w->subscription == nullptr) continue;
    // The completion callback runs after the last message callback has returned; a closed
    // connection also completes its subscriptions.
    while (!w->completed.load(std::memory_order_acquire) && absl::Now() < deadline) {
      absl::SleepFor(absl::Milliseconds(1));
    }
    natsSubscription_Destroy(w->subscription);
    w->subscription = nullptr;
  }
}

void DecideHandler::OnComplete(void* closure) noexcept {
  static_cast<Worker*>(closure)->completed.store(true, std::memory_order_release);
}

void DecideHandler::OnMessage(natsConnection*, natsSubscription*, natsMsg* msg,
                              void* closure) noexcept {
  auto* worker = static_cast<Worker*>(closure);
  struct Release {  // the request is not needed once handled (replies copy what they need)
    MsgReaper* reaper;
    natsMsg* msg;
    ~Release() { ReleaseMsg(reaper, msg); }
  } release{worker->owner->reaper_, msg};
  try {
    worker->owner->Handle(*worker, msg);
  } catch (...) {
    // Never unwind into cnats (style guide §2.4); the requester gets `internal` if possible.
    Inc(worker->owner->stats_.internal_errors);
    try {
      const char* reply = natsMsg_GetReply(msg);
      if (reply != nullptr && *reply != '\0') {
        worker->owner->Reply(reply, DecideProcessor::InternalErrorReply());
      }
    } catch (...) {
    }
  }
}

void DecideHandler::Reply(const char* subject, std::string_view data) {
  if (!connection_.IsConnected()) {
    Inc(stats_.reply_disconnected);  // §8: dropped and counted; requesters retry
    return;
  }
  natsStatus s = natsConnection_Publish(connection_.raw(), subject, data.data(),
                                        static_cast<int>(data.size()));
  if (s != NATS_OK) Inc(stats_.reply_publish_failed);
}

void DecideHandler::Handle(Worker& worker, natsMsg* msg) {
  Inflight inflight(stats_.decide_inflight);
  // §9 inflight and handling latency, until the reply is handed to the connection; a reply
  // parked for its PubAck (§5.1) or deferred by decide_delay_ms ends it when it is sent.
  std::shared_ptr<service::DecideTicket> ticket;
  if (backpressure_ != nullptr) {
    ticket = std::make_shared<service::DecideTicket>(backpressure_->Begin());
  }
  DecideMessage message;
  message.subject = natsMsg_GetSubject(msg);
  const char* data = natsMsg_GetData(msg);
  message.body = std::string_view(data == nullptr ? "" : data,
                                  static_cast<size_t>(natsMsg_GetDataLength(msg)));
  message.headers = ReadDecideHeaders(msg);
  message.received_at_ms = clock_.WallMs();
  const char* reply_to = natsMsg_GetReply(msg);
  const char* subject = nullptr;
  if (reply_to != nullptr && *reply_to != '\0') {
    subject = reply_to;
  } else if (options_.reply_fallback) {
    subject = fallback_reply_subject_.c_str();
  } else {
    Inc(stats_.reply_no_subject);
  }
  if (subject != nullptr) {
    // after_publish mode (§5.1): the outbox sends the parked reply from the PubAck or a timer.
    message.send_later = [this, to = std::string(subject), ticket](std::string_view data) {
      Reply(to.c_str(), data);
      if (ticket) ticket->End();
    };
  }

  DecideOutcome outcome;
  bool failed = false;
  try {
    outcome = processor_.Process(message, *worker.scratch);
  } catch (const std::exception&) {
    failed = true;
    Inc(stats_.internal_errors);
  }

  if (subject != nullptr && (failed || !outcome.deferred)) {
    if (failed) {
      Reply(subject, DecideProcessor::InternalErrorReply());
    } else if (delayer_ != nullptr && outcome.ok) {
      // [testing] decide_delay_ms: the successful reply leaves by a timer; intake goes on.
      delayer_->Defer([this, to = std::string(subject), data = std::string(outcome.reply), ticket] {
        Reply(to.c_str(), data);
        if (ticket) ticket->End();
      });
    } else {
      Reply(subject, outcome.reply);
      if (ticket) ticket->End();
    }
  }
  if (!failed && outcome.dlq && dlq_ != nullptr) SendToDlq(worker, message, msg);
}

void DecideHandler::SendToDlq(Worker& worker, const DecideMessage& message, natsMsg* msg) {
  if (!dlq_bucket_.TryTake()) {
    Inc(stats_.dlq_rate_dropped);  // router_intake_dlq_dropped_total
    return;
  }
  DlqMessage dlq;
  dlq.subject = dlq_subject_;
  dlq.body = std::string(processor_.BuildDlqEnvelope(message, *worker.scratch));
  dlq.headers.emplace_back("x-dlq-reason", "intake_validation");
  dlq.headers.emplace_back("x-original-subject", std::string(message.subject));
  const char** keys = nullptr;
  int count = 0;
  if (natsMsgHeader_Keys(msg, &keys, &count) == NATS_OK && keys != nullptr) {
    for (int i = 0; i < count; ++i) {
      if (strncasecmp(keys[i], "Nats-", 5) == 0) continue;
      const char** values = nullptr;
      int n = 0;
      if (natsMsgHeader_Values(msg, keys[i], &values, &n) != NATS_OK || values == nullptr) {
        continue;
      }
      for (int j = 0; j < n; ++j) dlq.headers.emplace_back(keys[i], values[j]);
      std::free(static_cast<void*>(values));
    }
    std::free(static_cast<void*>(keys));
  }
  dlq_->Enqueue(std::move(dlq));
}

}  // namespace router::nats_adapter
