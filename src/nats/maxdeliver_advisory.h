#pragma once
// MaxDeliverAdvisory: S11 (nats-contracts.md §1, §6.4): a message that ran out of deliveries
// without a verdict (e.g. the router crashed during its last delivery) raises the server
// advisory `$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES.<stream>.<durable>`. Every replica
// subscribes both durables' advisory subjects in the queue group `router-advisory-group`, so one
// replica handles each advisory: it reads the message by stream sequence and publishes envelope
// B (`last_error: "ack_wait_expired"`) to `<source subject>.dlq` (Nats-Msg-Id
// `dlq-<stream>-<seq>`, so a repeated advisory stores nothing twice).
//
// Thread-safety: Subscribe()/Close() from the control / owner thread; the callbacks run on the
// subscription's cnats delivery thread; Handle() is thread-safe.

#include <nats/nats.h>

#include <atomic>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "base/clock.h"
#include "config/config.h"
#include "nats/connection.h"
#include "nats/log_sink.h"
#include "nats/worker_metrics.h"

namespace router::nats_adapter {

inline constexpr char kAdvisoryQueueGroup[] = "router-advisory-group";

// "$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES.<stream>.<durable>".
std::string MaxDeliveriesAdvisorySubject(std::string_view stream, std::string_view durable);

class MaxDeliverAdvisory {
 public:
  MaxDeliverAdvisory(const config::Config& config, NatsConnection& connection,
                     WorkerMetrics& metrics, const Clock& clock, LogSink log);
  ~MaxDeliverAdvisory();
  MaxDeliverAdvisory(const MaxDeliverAdvisory&) = delete;
  MaxDeliverAdvisory& operator=(const MaxDeliverAdvisory&) = delete;

  absl::Status Subscribe();  // once; cnats re-subscribes after reconnects
  bool Subscribed() const { return subscribed_.load(std::memory_order_acquire); }
  void Close();

  // Handles one advisory body; true when envelope B was stored.
  bool Handle(std::string_view advisory_json);

 private:
  static void OnMsg(natsConnection* nc, natsSubscription* sub, natsMsg* msg,
                    void* closure) noexcept;

  struct Source {
    std::string stream;
    std::string durable;
    std::string subject;  // filter subject (its .dlq receives the envelope)
    std::string label;    // results | acks
  };
  Source results_;
  Source acks_;
  const bool include_payload_;
  const int64_t api_timeout_ms_;
  const std::string node_id_;
  NatsConnection& connection_;
  WorkerMetrics& metrics_;
  const Clock& clock_;
  const LogSink log_;
  natsSubscription* subs_[2] = {nullptr, nullptr};
  std::atomic<bool> subscribed_{false};
};

}  // namespace router::nats_adapter
