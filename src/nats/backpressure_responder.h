#pragma once
// BackpressureResponder: the S9 status responder of nats-contracts.md §1 and §3.9. Every
// replica subscribes `nats.status.subject` (default `beamline.router.v1.status.backpressure`)
// WITHOUT a queue group, so one request collected on an inbox gets one reply per replica, each
// with its `node_id` (§12 scenario 13).
//
// Request `{}` or `{"subject":"<subject>"}` (default: the decide subject; the replica-wide
// status is returned for any subject); an empty body counts as `{}`. Anything else gets
// `{"success":false,"error":{"code":"invalid_request","message":"..."}}`. The response is built
// from BackpressureMonitor::Report() (the last 250 ms recompute) and the thresholds:
// `{"success":true,"data":{subject, status, metrics{pending_messages (null when unknown),
// latency_p95_ms, inflight_messages}, signals_unknown, thresholds{queue_overload,
// latency_overload_ms, inflight_overload}, policy{retry_after_seconds, max_retry_attempts 3},
// retry_after_ms (0 unless active), node_id, timestamp}}`.
//
// Thread-safety: Subscribe/Close from the owner's control thread; the message callback runs on
// the cnats subscription thread; Respond() is const and thread-safe.

#include <nats/nats.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "base/clock.h"
#include "nats/connection.h"
#include "service/backpressure.h"

namespace router::nats_adapter {

struct BackpressureResponderOptions {
  std::string status_subject = "beamline.router.v1.status.backpressure";
  std::string decide_subject = "beamline.router.v1.decide";  // default `data.subject`
  std::string node_id;
};

class BackpressureResponder {
 public:
  // References must outlive the responder.
  BackpressureResponder(BackpressureResponderOptions options,
                        const service::BackpressureMonitor& monitor, NatsConnection& connection,
                        const Clock& clock);
  ~BackpressureResponder();
  BackpressureResponder(const BackpressureResponder&) = delete;
  BackpressureResponder& operator=(const BackpressureResponder&) = delete;

  // Subscribes (idempotent; cnats keeps the subscription across reconnects).
  // REQUIRES: connection.raw() != nullptr.
  absl::Status Subscribe();
  bool Subscribed() const { return subscribed_.load(std::memory_order_acquire); }
  // Unsubscribes and destroys the subscription (idempotent).
  void Close();

  // The reply to one request body (§3.9).
  std::string Respond(std::string_view request_body) const;

 private:
  static void OnMessage(natsConnection* nc, natsSubscription* sub, natsMsg* msg,
                        void* closure) noexcept;
  static void OnComplete(void* closure) noexcept;

  const BackpressureResponderOptions options_;
  const service::BackpressureMonitor& monitor_;
  NatsConnection& connection_;
  const Clock& clock_;
  absl::Mutex mu_;
  natsSubscription* subscription_ ABSL_GUARDED_BY(mu_) = nullptr;
  std::atomic<bool> subscribed_{false};
  std::atomic<bool> completed_{false};
};

// The §9 `pending` signal: num_pending of the results durable from consumer info, polled every
// `interval` (1 s) with a 500 ms timeout, fed to BackpressureMonitor::SetPending(). A failed or
// skipped poll (no JetStream context) feeds nothing, so the signal goes unknown after 5 s.
// The same loop also hands each consumer info to optional sinks (router_jetstream_consumer_
// pending / _ack_pending), for the results durable and for further polled durables (acks).
// Thread-safety: Start/Stop from the owner's thread; polls on its own thread; sinks and polled
// consumers are added before Start().
class ResultsPendingPoller {
 public:
  using InfoSink = std::function<void(uint64_t num_pending, uint64_t num_ack_pending)>;

  // References must outlive the poller.
  ResultsPendingPoller(std::string stream, std::string durable, NatsConnection& connection,
                       service::BackpressureMonitor& monitor,
                       absl::Duration interval = absl::Seconds(1));
  ~ResultsPendingPoller();
  ResultsPendingPoller(const ResultsPendingPoller&) = delete;
  ResultsPendingPoller& operator=(const ResultsPendingPoller&) = delete;

  void Start();  // idempotent
  void Stop();   // idempotent
  // One poll; true when a value was fed.
  bool PollOnce();

  // REQUIRES: before Start().
  void SetResultsInfoSink(InfoSink sink) { results_sink_ = std::move(sink); }
  void AddPolledConsumer(std::string stream, std::string durable, InfoSink sink) {
    extra_.push_back(Polled{std::move(stream), std::move(durable), std::move(sink)});
  }
  // Called with the durable's name when its consumer info says the durable (or its stream) does
  // not exist: a durable deleted while connected is invisible to the fetch loop (its pull
  // requests just expire), so the poll reports it (e.g. mark the consumer broken, re-run setup).
  void SetOnMissing(std::function<void(const std::string& durable)> on_missing) {
    on_missing_ = std::move(on_missing);
  }

 private:
  struct Polled {
    std::string stream;
    std::string durable;
    InfoSink sink;
  };
  // Consumer info with the §9 500 ms timeout; false when it cannot be read.
  bool ReadInfo(jsCtx* js, const std::string& stream, const std::string& durable, uint64_t* pending,
                uint64_t* ack_pending);

  const std::string stream_;
  const std::string durable_;
  NatsConnection& connection_;
  service::BackpressureMonitor& monitor_;
  const absl::Duration interval_;
  InfoSink results_sink_;
  std::vector<Polled> extra_;
  std::function<void(const std::string& durable)> on_missing_;
  absl::Mutex mu_;
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

}  // namespace router::nats_adapter
