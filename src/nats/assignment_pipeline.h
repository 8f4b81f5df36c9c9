#pragma once
// AssignmentPipeline: the assignment publishing side of the NATS transport (nats-contracts.md
// §6.2, §5.1, §8): owns the AssignmentOutbox and its cnats AssignmentPublisher, feeds the
// connection state to the outbox, records the §6.2 metrics (router_assignment_*), logs failed
// fates (ERROR `assignment.publish_failed`, shutdown drops with ids) and moves the correlation
// record of each fate (§7.2: published with stream seq, or publish_failed).
//
// The transport creates it when JetStream and assignments are enabled, wires it into the
// DecideProcessor (SetAssignmentOutbox), starts it with the transport and stops it after the
// decide subscriptions drained (graceful flush within nats.drain_timeout_ms).
// Thread-safety: setters before Start(); the rest is thread-safe.

#include <functional>
#include <memory>

#include "base/clock.h"
#include "config/config.h"
#include "nats/assignment_outbox.h"
#include "nats/assignment_publisher.h"
#include "nats/connection.h"
#include "nats/log_sink.h"
#include "obs/metrics/router_metrics.h"
#include "service/correlation_store.h"

namespace router::nats_adapter {

// Outbox options from configuration.md [nats.assignments], [nats.jetstream.publish],
// [nats.jetstream.outbox] and the assignment stream's duplicate window.
OutboxOptions OutboxOptionsFromConfig(const config::NatsConfig& config);

class AssignmentPipeline {
 public:
  // `connection` and `clock` must outlive the pipeline. `on_no_stream` re-runs the stream
  // ensure step (may be empty).
  AssignmentPipeline(const config::NatsConfig& config, NatsConnection& connection,
                     const Clock& clock, LogSink log, std::function<void()> on_no_stream);
  ~AssignmentPipeline();

  void SetMetrics(obs::RouterMetrics* metrics);
  void SetCorrelationStore(service::CorrelationStore* store) { correlation_ = store; }

  void OnConnectionEvent(ConnectionEvent event);
  void Start();
  // Flushes for up to `timeout_ms`; the rest ends shutdown_dropped. Idempotent.
  void Stop(int64_t timeout_ms);

  AssignmentOutbox& outbox() { return *outbox_; }
  AssignmentPublisher& publisher() { return *publisher_; }

 private:
  void OnFate(const FateEvent& event);

  const LogSink log_;
  std::unique_ptr<AssignmentPublisher> publisher_;
  std::unique_ptr<AssignmentOutbox> outbox_;
  service::CorrelationStore* correlation_ = nullptr;
  bool stopped_ = false;

  // Resolved from the registry by name (null = not exported / no metrics).
  obs::CounterFamily* enqueued_ = nullptr;
  obs::CounterFamily* outcomes_ = nullptr;
  obs::CounterFamily* published_ = nullptr;
  obs::CounterFamily* retry_ = nullptr;
  obs::CounterFamily* failures_ = nullptr;
  obs::CounterFamily* rejected_ = nullptr;
  obs::HistogramFamily* publish_latency_ = nullptr;
  obs::HistogramFamily* reply_wait_ = nullptr;
};

}  // namespace router::nats_adapter
