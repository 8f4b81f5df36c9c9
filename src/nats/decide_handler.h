#pragma once
// DecideHandler: the S1 intake of nats-contracts.md §5 on NATS: `decide.workers` queue
// subscriptions (0 = CPU count) on `nats.decide.subject` in queue group
// `nats.decide.queue_group`, each with its own cnats delivery thread and DecideProcessor
// worker (parser and buffers), so decides run in parallel and request order is not kept (§1).
//
// Per message: inflight +1; headers read case-insensitively (§2); DecideProcessor::Process();
// the reply is a core publish to the reply-to subject, else `<subject>.reply` when
// `reply_fallback`, else dropped and counted; a reply while the connection is down is dropped
// and counted (§8). Intake failures that §4.3 sends to the DLQ become envelope A on
// `<subject>.dlq`, at most `nats.dlq.decide_rate_per_s` per replica (excess dropped and
// counted), published asynchronously by DlqPublisher with headers `x-dlq-reason`,
// `x-original-subject` and the original headers except `Nats-*` (§2).
//
// The message callback is a noexcept boundary: an exception becomes an `internal` reply and
// the subscription never dies (§5). Lifetime: Close() unsubscribes and waits (bounded) for
// every subscription's completion callback, so no callback runs after the handler is gone.
// Thread-safety: Subscribe/Drain/Close from the owner's control thread; callbacks on cnats
// subscription threads.

#include <nats/nats.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "base/clock.h"
#include "nats/connection.h"
#include "nats/decide_processor.h"
#include "nats/dlq_publisher.h"
#include "nats/log_sink.h"
#include "nats/msg_reaper.h"
#include "nats/nats_stats.h"
#include "nats/token_bucket.h"
#include "service/backpressure.h"
#include "service/reply_delayer.h"

namespace router::nats_adapter {

struct DecideHandlerOptions {
  std::string subject = "beamline.router.v1.decide";
  std::string queue_group = "router-decide-group";
  int workers = 1;  // resolved (>= 1)
  bool reply_fallback = true;
  double dlq_rate_per_s = 100;

  // From nats.decide.* and nats.dlq.decide_rate_per_s; workers 0 -> CPU count.
  static DecideHandlerOptions FromConfig(const config::NatsConfig& config);
};

// Reads the §2 decide headers of `msg` (names matched case-insensitively).
DecideHeaders ReadDecideHeaders(natsMsg* msg);

class DecideHandler {
 public:
  // `dlq` may be null (DLQ disabled). Every reference must outlive the handler.
  DecideHandler(DecideHandlerOptions options, const DecideProcessor& processor,
                NatsConnection& connection, DlqPublisher* dlq, const Clock& clock, NatsStats& stats,
                LogSink log);
  ~DecideHandler();
  DecideHandler(const DecideHandler&) = delete;
  DecideHandler& operator=(const DecideHandler&) = delete;

  // Backpressure (nats-contracts.md §9): every decide holds a DecideTicket of `monitor` from
  // receipt to reply; successful replies go through `delayer` ([testing] decide_delay_ms).
  // Before Subscribe(); null = off.
  void SetBackpressure(service::BackpressureMonitor* monitor, service::ReplyDelayer* delayer) {
    backpressure_ = monitor;
    delayer_ = delayer;
  }
  // Handled decide requests are destroyed through `reaper` (msg_reaper.h) instead of one by
  // one. Before Subscribe(); null = natsMsg_Destroy at once; must outlive the handler.
  void SetMsgReaper(MsgReaper* reaper) { reaper_ = reaper; }
  // Messages waiting in the subscriptions' client-side queues (the sampled part of §9
  // `inflight`); 0 while the handler is being drained or closed.
  int64_t QueuedMessages();

  // Creates the queue subscriptions (idempotent). REQUIRES: connection.raw() != nullptr.
  absl::Status Subscribe();
  bool Subscribed() const;
  // Stops taking new decides and lets every subscription answer what it already received,
  // for up to `timeout` (graceful shutdown, §8).
  void Drain(absl::Duration timeout);
  // Unsubscribes (if still subscribed) and waits for the subscription threads to finish.
  void Close();

 private:
  struct Worker {
    DecideHandler* owner = nullptr;
    std::unique_ptr<DecideProcessor::Worker> scratch;
    natsSubscription* subscription = nullptr;
    std::atomic<bool> completed{false};
  };

  static void OnMessage(natsConnection* nc, natsSubscription* sub, natsMsg* msg,
                        void* closure) noexcept;
  static void OnComplete(void* closure) noexcept;
  void Handle(Worker& worker, natsMsg* msg);
  void Reply(const char* subject, std::string_view data);
  void SendToDlq(Worker& worker, const DecideMessage& message, natsMsg* msg);

  const DecideHandlerOptions options_;
  const std::string fallback_reply_subject_;
  const std::string dlq_subject_;
  const DecideProcessor& processor_;
  NatsConnection& connection_;
  DlqPublisher* const dlq_;
  const Clock& clock_;
  NatsStats& stats_;
  const LogSink log_;
  TokenBucket dlq_bucket_;
  service::BackpressureMonitor* backpressure_ = nullptr;
  service::ReplyDelayer* delayer_ = nullptr;
  MsgReaper* reaper_ = nullptr;

  absl::Mutex mu_;  // Subscribe/Drain/Close vs. each other
  std::vector<std::unique_ptr<Worker>> workers_ ABSL_GUARDED_BY(mu_);
  std::atomic<bool> subscribed_{false};
};

}  // namespace router::nats_adapter
