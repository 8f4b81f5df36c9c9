#include "nats/dlq_publisher.h"

namespace router::nats_adapter {
namespace {

constexpr absl::Duration kRetryDelays[] = {absl::Milliseconds(100), absl::Milliseconds(200)};

}  // namespace

DlqPublisher::DlqPublisher(NatsConnection& connection, bool use_jetstream, int64_t timeout_ms,
                           size_t capacity, NatsStats& stats, LogSink log)
    : connection_(connection),
      use_jetstream_(use_jetstream),
      timeout_ms_(timeout_ms),
      capacity_(capacity),
      stats_(stats),
      log_(std::move(log)) {}

DlqPublisher::~DlqPublisher() { Stop(absl::ZeroDuration()); }

void DlqPublisher::Start() {
  if (thread_.joinable()) return;
  thread_ = std::thread([this] { Run(); });
}

bool DlqPublisher::Enqueue(DlqMessage message) {
  {
    absl::MutexLock lock(&mu_);
    if (accepting_ && queue_.size() < capacity_) {
      queue_.push_back(std::move(message));
      Inc(stats_.dlq_enqueued);
      return true;
    }
  }
  Inc(stats_.dlq_queue_dropped);
  return false;
}

void DlqPublisher::Stop(absl::Duration timeout) {
  {
    absl::MutexLock lock(&mu_);
    accepting_ = false;
    stop_ = true;
    deadline_ = absl::Now() + timeout;
  }
  if (thread_.joinable()) thread_.join();
  absl::MutexLock lock(&mu_);
  for (const auto& m : queue_) {
    (void)m;
    Inc(stats_.dlq_publish_failed);
  }
  queue_.clear();
}

bool DlqPublisher::PublishOnce(const DlqMessage& message) {
  natsConnection* nc = connection_.raw();
  if (nc == nullptr || !connection_.IsConnected()) return false;
  natsMsg* raw = nullptr;
  if (natsMsg_Create(&raw, message.subject.c_str(), nullptr, message.body.data(),
                     static_cast<int>(message.body.size())) != NATS_OK) {
    return false;
  }
  NatsMsgPtr msg(raw);
  for (const auto& [k, v] : message.headers) {
    if (natsMsgHeader_Add(msg.get(), k.c_str(), v.c_str()) != NATS_OK) return false;
  }
  jsCtx* js = connection_.jetstream();
  if (use_jetstream_ && js != nullptr) {
    jsPubOptions opts;
    jsPubOptions_Init(&opts);
    opts.MaxWait = timeout_ms_;
    jsPubAck* ack = nullptr;
    jsErrCode err = static_cast<jsErrCode>(0);
    natsStatus s = js_PublishMsg(&ack, js, msg.get(), &opts, &err);
    if (ack != nullptr) jsPubAck_Destroy(ack);
    return s == NATS_OK;
  }
  return natsConnection_PublishMsg(nc, msg.get()) == NATS_OK;
}

void DlqPublisher::Run() {
  while (true) {
    DlqMessage message;
    {
      absl::MutexLock lock(&mu_);
      mu_.Await(absl::Condition(
          +[](DlqPublisher* self) ABSL_EXCLUSIVE_LOCKS_REQUIRED(self->mu_) {
            return self->stop_ || !self->queue_.empty();
          },
          this));
      if (queue_.empty() || (stop_ && absl::Now() >= deadline_)) return;
      message = std::move(queue_.front());
      queue_.pop_front();
    }
    bool ok = false;
    for (int attempt = 0; attempt < kMaxAttempts && !ok; ++attempt) {
      if (attempt > 0) {
        absl::MutexLock lock(&mu_);
        // Sleeps the retry delay, cut short by a Stop() whose deadline has passed.
        mu_.AwaitWithTimeout(absl::Condition(
                                 +[](DlqPublisher* self) ABSL_EXCLUSIVE_LOCKS_REQUIRED(self->mu_) {
                                   return self->stop_ && absl::Now() >= self->deadline_;
                                 },
                                 this),
                             kRetryDelays[attempt - 1]);
        if (stop_ && absl::Now() >= deadline_) break;
      }
      ok = PublishOnce(message);
    }
    if (ok) {
      Inc(stats_.dlq_published);
      continue;
    }
    Inc(stats_.dlq_publish_failed);
    std::string reason;
    for (const auto& [k, v] : message.headers) {
      if (k == "x-dlq-reason") reason = v;
    }
    Log(log_, "ERROR", "dlq.publish_failed", "DLQ envelope not stored",
        {{"subject", message.subject}, {"reason", reason}});
  }
}

}  // namespace router::nats_adapter
