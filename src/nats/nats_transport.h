#pragma once
// NatsTransport: the NATS side of beamline-router (nats-contracts.md §0, §1 S1/S2/S8, §5,
// §6.1, §8): one connection, the JetStream streams, the decide queue subscriptions answering
// with the same DecisionService as gRPC Decide, and the decide DLQ. The Application creates it
// when `nats.url` is set, starts it after gRPC is bound and stops it during shutdown.
//
// Readiness checks it maintains (names from ReadinessChecks(), which the Readiness must have
// been constructed with; OBS §7.2):
//   nats                 connected; after a disconnect it fails once `readiness_grace_ms` has
//                        passed without a reconnect;
//   decide_subscription  queue subscriptions active and the decide subject not captured by
//                        any stream (checked at startup and after each reconnect; §1);
//   jetstream            (jetstream.enabled) the five streams exist and cover their subjects
//                        (created / completed when manage_streams; retried every 10 s);
//   consumers            (jetstream.enabled) both durables (router-results, router-acks) bound
//                        and fetching (§6.3, §8; result_consumer.h).
// With nats.fanout.enabled the per-replica fan-out subscriptions (S6, fanout_subscriber.h) are
// kept too; their breaker / statistics / correlation updates go to the services set with
// SetOutcomeService / SetCorrelationStore (null = skipped).
// A control thread owns these checks: connection events (from cnats threads) are queued to it,
// and it runs the JetStream API calls, so no cnats callback ever blocks.
//
// Thread-safety: Start()/Stop() from the owner's thread; accessors are thread-safe. Stop() is
// idempotent and runs in the destructor.

#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "base/clock.h"
#include "config/config.h"
#include "nats/assignment_lookup.h"
#include "nats/assignment_pipeline.h"
#include "nats/backpressure_responder.h"
#include "nats/connection.h"
#include "nats/decide_handler.h"
#include "nats/decide_processor.h"
#include "nats/dlq_publisher.h"
#include "nats/fanout_subscriber.h"
#include "nats/log_sink.h"
#include "nats/maxdeliver_advisory.h"
#include "nats/msg_reaper.h"
#include "nats/nats_stats.h"
#include "nats/result_consumer.h"
#include "nats/streams.h"
#include "nats/worker_metrics.h"
#include "service/decision_service.h"
#include "service/readiness.h"

namespace router::nats_adapter {

inline constexpr char kCheckNats[] = "nats";
inline constexpr char kCheckDecideSubscription[] = "decide_subscription";
inline constexpr char kCheckJetStream[] = "jetstream";
inline constexpr char kCheckConsumers[] = "consumers";

class NatsTransport {
 public:
  // The readiness check names this transport sets for `config`, in OBS §7.2 order; empty when
  // NATS is off. Append them to the Readiness's list.
  static std::vector<std::string> ReadinessChecks(const config::NatsConfig& config);

  // Validates the NATS options (TLS and credential files, nkey seed). Opens no connection.
  // REQUIRES: config.nats.Enabled(). Every reference must outlive the transport.
  static absl::StatusOr<std::unique_ptr<NatsTransport>> Create(
      const config::Config& config, const service::DecisionService& decisions,
      service::Readiness& readiness, const Clock& clock, LogSink log = GlobalLogSink());
  ~NatsTransport();
  NatsTransport(const NatsTransport&) = delete;
  NatsTransport& operator=(const NatsTransport&) = delete;

  // Starts connecting (in the background when no server answers, or even when cnats refuses
  // to create the connection: then the control thread retries with the reconnect backoff),
  // then subscribes, ensures streams and sets readiness as the connection comes up. Never
  // fails today; the status is kept for setup errors that must stop startup.
  absl::Status Start();

  // Graceful stop (§8): decide subscriptions drained (in-flight decides answered) within
  // nats.drain_timeout_ms, queued DLQ envelopes flushed within the same budget, connection
  // closed. Idempotent.
  void Stop();

  // Asks the control thread to re-run the stream ensure step, at most every 5 s (§6.1: "when
  // managing, a publish failing with 'no stream' re-runs the ensure step"). Thread-safe,
  // non-blocking; for the publishers of later work.
  void RequestStreamEnsure();

  // Wiring for the result / ack consumers and the fan-out (call before Start(); each must
  // outlive the transport; null = that update is skipped).
  void SetOutcomeService(service::OutcomeService* outcomes);
  void SetCorrelationStore(service::CorrelationStore* store);
  // Metrics (before Start() and before SetBackpressure(); null = none): the consumers' and
  // fan-out counters, the assignment pipeline, the NatsStats counters and connection state
  // (nats_metrics.h), router_intake_payload_bytes, and the consumer_pending / _ack_pending
  // gauges fed by the 1 s consumer-info poll (§9 pending poller).
  void SetMetrics(obs::RouterMetrics* metrics);
  // Decide idempotency of pushing and plain NATS decides (§5 step 9, §7.1); before Start().
  void SetIdempotencyStore(service::IdempotencyStore* store);
  // Backpressure (§9, §3.9; before Start(); `monitor` must outlive the transport): decides hold
  // DecideTickets, the subscription queues are sampled into `inflight`, the results durable's
  // num_pending is polled every 1 s (JetStream on), and S9 is answered with `node_id`.
  // `delayer` ([testing] decide_delay_ms) may be null.
  void SetBackpressure(service::BackpressureMonitor* monitor, service::ReplyDelayer* delayer,
                       std::string node_id);
  // S10 responder (assignment_lookup.h): subscribed at each setup, closed at Stop. Call
  // before Start(); must outlive the transport; null = none.
  void SetAssignmentLookup(AssignmentLookup* lookup) { assignment_lookup_ = lookup; }

  const NatsStats& stats() const { return stats_; }
  // Counters of the consumers and the fan-out (local totals; also exported when SetMetrics).
  const WorkerMetrics& worker_metrics() const { return worker_metrics_; }
  NatsConnection& connection() { return *connection_; }
  const StreamManager& streams() const { return streams_; }

 private:
  NatsTransport(const config::Config& config, const service::DecisionService& decisions,
                service::Readiness& readiness, const Clock& clock, LogSink log,
                std::unique_ptr<NatsConnection> connection);

  void OnConnectionEvent(ConnectionEvent event);
  void ControlLoop();
  // Subscribe, ensure streams, check capture. Returns false when something must be retried.
  bool RunSetup();
  void SetCheck(const char* name, bool ok, const std::string& message);
  // Consumers: ensure + bind both durables, subscribe the fan-out; false when to be retried.
  bool SetupConsumers();
  void UpdateConsumersCheck();
  void CountDurableEnsure(ConsumerKind kind, DurableConsumer::DurableEnsure ensured);

  const config::NatsConfig config_;
  service::Readiness& readiness_;
  const Clock& clock_;
  const LogSink log_;
  NatsStats stats_;
  std::unique_ptr<NatsConnection> connection_;
  StreamManager streams_;
  DecideProcessor processor_;
  std::unique_ptr<DlqPublisher> dlq_;
  // Batched natsMsg_Destroy for decide requests and published assignments; before decide_
  // and assignments_ so that it outlives both; flushed by Stop().
  MsgReaper reaper_;
  std::unique_ptr<DecideHandler> decide_;
  std::unique_ptr<BackpressureResponder> status_responder_;  // S9
  std::unique_ptr<ResultsPendingPoller> pending_poller_;     // §9 pending
  // Assignment outbox + publisher (§6.2); after decide_ so that it is destroyed first.
  std::unique_ptr<AssignmentPipeline> assignments_;
  service::CorrelationStore* correlation_ = nullptr;
  service::IdempotencyStore* idempotency_ = nullptr;
  WorkerMetrics worker_metrics_;
  std::unique_ptr<DurableConsumer> results_consumer_;
  std::unique_ptr<DurableConsumer> acks_consumer_;
  std::unique_ptr<FanoutSubscriber> fanout_;
  std::unique_ptr<MaxDeliverAdvisory> advisory_;  // S11 (JetStream on)
  AssignmentLookup* assignment_lookup_ = nullptr;
  obs::RouterMetrics* metrics_ = nullptr;

  absl::Mutex mu_;
  std::deque<ConnectionEvent> events_ ABSL_GUARDED_BY(mu_);
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  bool started_ ABSL_GUARDED_BY(mu_) = false;
  bool wake_ ABSL_GUARDED_BY(mu_) = false;  // re-read the timers (connect retry scheduled)
  bool ensure_requested_ ABSL_GUARDED_BY(mu_) = false;
  absl::Time connect_retry_at_ ABSL_GUARDED_BY(mu_) = absl::InfiniteFuture();
  std::thread control_;

  // Confined to the control thread.
  bool connected_ = false;
  bool setup_pending_ = false;
  absl::Time last_setup_ = absl::InfinitePast();
  absl::Time disconnected_at_ = absl::InfinitePast();
  absl::Time grace_deadline_ = absl::InfiniteFuture();
  absl::Time retry_at_ = absl::InfiniteFuture();
  int connect_attempts_ = 0;

  absl::Mutex checks_mu_;  // last value written per check, to skip redundant updates
  std::vector<std::pair<std::string, std::pair<bool, std::string>>> checks_
      ABSL_GUARDED_BY(checks_mu_);
};

}  // namespace router::nats_adapter
