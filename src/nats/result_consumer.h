#pragma once
// DurableConsumer: one JetStream durable pull consumer of worker messages (nats-contracts.md
// §6.3, §6.4, §7.1, §8): `router-results` on CAF_RESULTS (ExecResult, S5: usage event S7, then
// ACK) or `router-acks` on CAF_ACKS (ExecAssignmentAck, S4: correlation and counters, then ACK).
//
// Durable (EnsureAndBind, control thread): explicit ack, deliver all, replay instant, ack_wait,
// max_deliver, max_ack_pending, filter subject from [nats.jetstream.consumers.<kind>]; server
// `backoff` is never set (it would replace ack_wait by its first value; NAK delays are applied
// router-side). Managing (`manage_streams`): created when missing (a racing replica's "already
// exists" is success) and its mutable settings updated to the configured values; otherwise only
// verified. Then the pull subscription is bound to the existing durable (never deleted).
//
// Delivery loop: one fetch thread pulls batches of <= fetch_batch (expires fetch_expires_ms) and
// refetches when fewer than fetch_batch messages are in flight; at most max_inflight fetched
// messages are unfinished; a pool of min(max_inflight, 8) worker threads processes them (the
// usage / DLQ publishes wait for their PubAck on the worker, never on the fetch thread). Work
// older than ack_wait / 2 sends +WPI before each publish. `num_delivered` from the message
// metadata is the only delivery count; last delivery = num_delivered >= max_deliver.
//
// Decisions per §6.4: poison -> envelope A on `<subject>.dlq`, TERM after its PubAck (NAK with
// delay while the DLQ fails, TERM on the last delivery after 3 failed attempts); duplicate key
// on this replica -> ACK; usage PubAck -> mark the key, ACK (a `duplicate` PubAck counts as a
// duplicate result); transient failure -> NAK with nak_delays_ms[n-1] ± 10 %, on the last
// delivery envelope B then TERM. Disconnected: the ACK/NAK/TERM is not sent (abandoned,
// redelivered after ack_wait). Stop(): fetching stops; in-flight work finishes; queued
// non-last deliveries are NAKed without delay (reason `shutdown`).
//
// Thread-safety: EnsureAndBind() from the control thread; Stop() from the owner; setters before
// the first EnsureAndBind(); accessors thread-safe.

#include <nats/nats.h>

#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "base/clock.h"
#include "config/config.h"
#include "nats/connection.h"
#include "nats/consumer_policy.h"
#include "nats/log_sink.h"
#include "nats/worker_metrics.h"

namespace router::service {
class CorrelationStore;
}

namespace router::nats_adapter {

class ExecResultParser;
class ExecAckParser;
struct WorkerParse;

enum class ConsumerKind : uint8_t { kResults, kAcks };
// "results" | "acks" (metric label `consumer` / `source`).
std::string_view ConsumerLabel(ConsumerKind kind);

struct ConsumerOptions {
  ConsumerKind kind = ConsumerKind::kResults;
  std::string stream;  // CAF_RESULTS | CAF_ACKS
  config::ConsumerConfig consumer;
  bool manage = true;
  bool dlq_enabled = true;
  bool include_payload = true;
  int64_t max_payload_bytes = 1048576;
  std::vector<std::string> tenant_allowlist;
  std::string usage_subject = "beamline.usage.v1.metered";
  int64_t api_timeout_ms = 5000;
  std::string node_id;
  size_t dedup_max_entries = 200000;  // idempotency.max_entries (§7.1 "same bound")
  int64_t dedup_ttl_ms = 3600000;     // idempotency.ttl_s
  size_t worker_threads = 0;          // 0 = min(max_inflight, 8)

  static ConsumerOptions FromConfig(ConsumerKind kind, const config::Config& config);
};

// Result of a synchronous JetStream publish (usage event, DLQ envelope).
struct PublishOutcome {
  bool ok = false;
  bool duplicate = false;  // PubAck `duplicate: true`
  bool no_stream = false;  // no responders / stream not found
  std::string reason;      // router_usage_emit_failed_total{reason} label when !ok
  std::string error;       // text for logs / envelope B `last_error`
};

class DurableConsumer {
 public:
  // `connection`, `metrics`, `clock` must outlive the consumer.
  DurableConsumer(ConsumerOptions options, NatsConnection& connection, WorkerMetrics& metrics,
                  const Clock& clock, LogSink log);
  ~DurableConsumer();
  DurableConsumer(const DurableConsumer&) = delete;
  DurableConsumer& operator=(const DurableConsumer&) = delete;

  void SetCorrelationStore(service::CorrelationStore* store) { correlation_ = store; }
  // Called (from a worker) when a publish found no stream; e.g. RequestStreamEnsure.
  void SetOnNoStream(std::function<void()> fn) { on_no_stream_ = std::move(fn); }
  // Called (from the fetch thread) when fetching breaks; e.g. re-run the setup.
  void SetOnBroken(std::function<void()> fn) { on_broken_ = std::move(fn); }

  // What the last EnsureAndBind did to the durable (router_jetstream_stream_ensure_total
  // {stream=<results|acks>,result}); kNone when it returned early (bound, nothing to verify).
  enum class DurableEnsure : uint8_t { kNone, kCreated, kUpdated, kUnchanged, kError };

  // Ensures the durable and binds the pull subscription (again after a broken fetch); starts
  // the threads on the first success. OK when bound. After RequireReverify() a bound consumer
  // is verified again: a durable that vanished (nats-server restarted with an empty store) is
  // re-created (managing) and the pull subscription re-bound; an existing one keeps its
  // subscription. `ensured` (optional) receives what was done.
  absl::Status EnsureAndBind(jsCtx* js, DurableEnsure* ensured = nullptr);
  // §8 "after reconnect: durables re-ensured": the next EnsureAndBind verifies the durable even
  // when bound. Thread-safe.
  void RequireReverify() { reverify_.store(true, std::memory_order_release); }
  // The durable is known to be gone (e.g. the consumer-info poll found none): not ready, and
  // the next EnsureAndBind re-creates (managing) and re-binds it. Thread-safe; false when it
  // was already broken or is not bound yet.
  bool MarkBroken(const std::string& problem);

  // Bound and the fetch loop running without a hard error (§8 readiness).
  bool Ready() const { return ready_.load(std::memory_order_acquire); }
  std::string Problem() const;

  // Graceful stop (§8): stop fetching, finish or NAK what was fetched, join. Idempotent.
  void Stop();

  const ConsumerOptions& options() const { return options_; }
  size_t DedupSize() const { return dedup_.Size(); }

 private:
  struct Item {
    natsMsg* msg = nullptr;
    absl::Time fetched_at;
  };
  struct Delivery;

  void FetchLoop();
  void WorkerLoop();
  void Process(Item& item, ExecResultParser& result_parser, ExecAckParser& ack_parser);
  void ProcessResult(Delivery& d);
  void ProcessAck(Delivery& d);
  // router_intake_trace_id_nonconforming_total{source=<label>} (OBS §6.2).
  void CountNonconformingTraceId(const std::optional<std::string>& trace_id);
  void Poison(Delivery& d, const WorkerParse& parse);
  void Transient(Delivery& d, std::string_view nak_reason, const std::string& last_error,
                 const std::optional<std::string>& tenant_id,
                 const std::optional<std::string>& trace_id);
  PublishOutcome Publish(Delivery& d, const std::string& subject,
                         const std::vector<std::pair<std::string, std::string>>& headers,
                         const std::string& body);
  bool PublishDlq(Delivery& d, const std::string& subject,
                  const std::vector<std::pair<std::string, std::string>>& headers,
                  const std::string& body);
  void Ack(Delivery& d);
  void Nak(Delivery& d, int64_t delay_ms, std::string_view reason);
  void Term(Delivery& d, std::string_view reason);
  bool CheckConnected(Delivery& d);
  void KeepAlive(Delivery& d);
  void SetProblem(std::string problem);

  const ConsumerOptions options_;
  const std::string label_;
  const std::string dlq_subject_;
  NatsConnection& connection_;
  WorkerMetrics& metrics_;
  const Clock& clock_;
  const LogSink log_;
  service::CorrelationStore* correlation_ = nullptr;
  std::function<void()> on_no_stream_;
  std::function<void()> on_broken_;
  DedupSet dedup_;
  std::atomic<bool> ready_{false};
  std::atomic<bool> stopping_{false};
  std::atomic<bool> reverify_{false};

  absl::Mutex mu_;
  std::deque<Item> queue_ ABSL_GUARDED_BY(mu_);
  int64_t inflight_ ABSL_GUARDED_BY(mu_) = 0;  // fetched, not finished
  bool stop_fetch_ ABSL_GUARDED_BY(mu_) = false;
  bool stop_workers_ ABSL_GUARDED_BY(mu_) = false;
  natsSubscription* pending_sub_ ABSL_GUARDED_BY(mu_) = nullptr;  // handed to the fetch thread
  bool broken_ ABSL_GUARDED_BY(mu_) = false;
  // The fetch thread's subscription, for Stop() to unsubscribe (which ends a blocked Fetch;
  // the durable is bound, not created by the subscription, so it is never deleted).
  absl::Mutex sub_mu_;
  natsSubscription* active_sub_ ABSL_GUARDED_BY(sub_mu_) = nullptr;
  // Subscriptions replaced by a re-bind (or ended by the stop) whose fetched messages may still
  // be with the workers: their ACK/NAK/TERM goes through the subscription, so it is destroyed
  // only once nothing is in flight (fetch loop) or after the workers have joined (Stop).
  std::vector<natsSubscription*> retired_subs_ ABSL_GUARDED_BY(sub_mu_);
  std::string problem_ ABSL_GUARDED_BY(mu_) = "not bound";
  bool bound_once_ = false;  // written by the control thread, under mu_
  std::thread fetcher_;
  std::vector<std::thread> workers_;
};

}  // namespace router::nats_adapter
