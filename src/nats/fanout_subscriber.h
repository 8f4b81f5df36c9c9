#pragma once
// FanoutSubscriber: the per-replica provider-health fan-out (nats-contracts.md §1 S6, §6.5).
// Core subscriptions WITHOUT queue group on the result subject (S5) and the ack subject (S4),
// so every replica sees every message published while it is connected. A result updates, on
// this replica, the breaker and the EWMA statistics of (payload tenant_id, provider_id) through
// service::OutcomeService::Report, and the correlation record when this replica owns it; an ack
// updates only an owned correlation record. The same parsers and validation as the durable
// consumers; invalid messages are counted (`router_fanout_invalid_total`) and ignored, never
// DLQ'd. Per-replica dedup: LRU of 100,000 keys, 1 h (results: assignment_id else request_id;
// acks: (assignment_id, status)). The durable path never touches breakers or statistics.
//
// Thread-safety: Subscribe()/Close() from the control / owner thread; setters before
// Subscribe(). Each subscription's callbacks run serialized on its cnats delivery thread, which
// owns that subscription's parser.

#include <nats/nats.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "base/clock.h"
#include "config/config.h"
#include "nats/connection.h"
#include "nats/consumer_policy.h"
#include "nats/exec_ack.h"
#include "nats/exec_result.h"
#include "nats/log_sink.h"
#include "nats/worker_metrics.h"

namespace router::service {
class CorrelationStore;
class OutcomeService;
}  // namespace router::service

namespace router::nats_adapter {

inline constexpr size_t kFanoutDedupEntries = 100000;
inline constexpr int64_t kFanoutDedupTtlMs = 3600 * 1000;

class FanoutSubscriber {
 public:
  // `connection`, `metrics`, `clock` must outlive the subscriber.
  FanoutSubscriber(const config::Config& config, NatsConnection& connection, WorkerMetrics& metrics,
                   const Clock& clock, LogSink log);
  ~FanoutSubscriber();
  FanoutSubscriber(const FanoutSubscriber&) = delete;
  FanoutSubscriber& operator=(const FanoutSubscriber&) = delete;

  void SetOutcomeService(service::OutcomeService* outcomes) { outcomes_ = outcomes; }
  void SetCorrelationStore(service::CorrelationStore* store) { correlation_ = store; }

  // Subscribes both subjects (once; cnats re-subscribes after reconnects).
  absl::Status Subscribe();
  bool Subscribed() const { return subscribed_.load(std::memory_order_acquire); }
  // Unsubscribes and waits for running callbacks. Idempotent.
  void Close();

  // Applies one message as the subscription callbacks do (also used by tests). Returns false
  // when it was invalid (counted) or a duplicate.
  bool HandleResult(std::string_view body, const WorkerHeaders& headers);
  bool HandleAck(std::string_view body, const WorkerHeaders& headers);

 private:
  static void OnResultMsg(natsConnection* nc, natsSubscription* sub, natsMsg* msg,
                          void* closure) noexcept;
  static void OnAckMsg(natsConnection* nc, natsSubscription* sub, natsMsg* msg,
                       void* closure) noexcept;

  const std::string result_subject_;
  const std::string ack_subject_;
  NatsConnection& connection_;
  WorkerMetrics& metrics_;
  const Clock& clock_;
  const LogSink log_;
  service::OutcomeService* outcomes_ = nullptr;
  service::CorrelationStore* correlation_ = nullptr;
  ExecResultParser result_parser_;  // result subscription thread only
  ExecAckParser ack_parser_;        // ack subscription thread only
  DedupSet dedup_{kFanoutDedupEntries, kFanoutDedupTtlMs};
  natsSubscription* result_sub_ = nullptr;
  natsSubscription* ack_sub_ = nullptr;
  std::atomic<bool> subscribed_{false};
};

}  // namespace router::nats_adapter
