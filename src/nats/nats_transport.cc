#include "nats/nats_transport.h"

#include <algorithm>

#include "absl/strings/str_join.h"
#include "core/random.h"
#include "nats/nats_metrics.h"
#include "obs/metrics/router_metrics.h"

namespace router::nats_adapter {
namespace {

constexpr absl::Duration kStreamRetry = absl::Seconds(10);        // §6.1
constexpr absl::Duration kRequestedEnsureGap = absl::Seconds(5);  // §6.1
constexpr size_t kDlqQueueCapacity = 1024;

}  // namespace

std::vector<std::string> NatsTransport::ReadinessChecks(const config::NatsConfig& config) {
  if (!config.Enabled()) return {};
  std::vector<std::string> checks = {kCheckNats};
  if (config.decide.enabled) checks.emplace_back(kCheckDecideSubscription);
  if (config.jetstream.enabled) checks.emplace_back(kCheckJetStream);
  if (config.jetstream.enabled) checks.emplace_back(kCheckConsumers);
  return checks;
}

absl::StatusOr<std::unique_ptr<NatsTransport>> NatsTransport::Create(
    const config::Config& config, const service::DecisionService& decisions,
    service::Readiness& readiness, const Clock& clock, LogSink log) {
  if (!config.nats.Enabled()) return absl::FailedPreconditionError("nats.url is not set");
  // The connection reports to stats_ of the transport, which does not exist yet: build the
  // transport around a placeholder connection first, then the real one.
  auto transport = std::unique_ptr<NatsTransport>(
      new NatsTransport(config, decisions, readiness, clock, log, nullptr));
  auto connection =
      NatsConnection::Create(config.nats, config.node_id, transport->stats_, std::move(log));
  if (!connection.ok()) return connection.status();
  transport->connection_ = *std::move(connection);
  NatsTransport* self = transport.get();
  transport->connection_->AddListener([self](ConnectionEvent e) { self->OnConnectionEvent(e); });
  if (config.nats.dlq.enabled) {
    transport->dlq_ =
        std::make_unique<DlqPublisher>(*transport->connection_, config.nats.jetstream.enabled,
                                       config.nats.jetstream.api_timeout_ms, kDlqQueueCapacity,
                                       transport->stats_, transport->log_);
  }
  if (config.nats.jetstream.enabled) {
    for (ConsumerKind kind : {ConsumerKind::kResults, ConsumerKind::kAcks}) {
      auto consumer = std::make_unique<DurableConsumer>(
          ConsumerOptions::FromConfig(kind, config), *transport->connection_,
          transport->worker_metrics_, clock, transport->log_);
      if (config.nats.jetstream.manage_streams) {
        consumer->SetOnNoStream([self] { self->RequestStreamEnsure(); });
      }
      consumer->SetOnBroken([self] {
        self->UpdateConsumersCheck();
        self->RequestStreamEnsure();  // re-runs the setup (ensure + rebind) within 5 s
      });
      (kind == ConsumerKind::kResults ? transport->results_consumer_ : transport->acks_consumer_) =
          std::move(consumer);
    }
  }
  if (config.nats.jetstream.enabled) {
    transport->advisory_ = std::make_unique<MaxDeliverAdvisory>(
        config, *transport->connection_, transport->worker_metrics_, clock, transport->log_);
  }
  if (config.nats.fanout.enabled) {
    transport->fanout_ = std::make_unique<FanoutSubscriber>(
        config, *transport->connection_, transport->worker_metrics_, clock, transport->log_);
  }
  if (config.nats.jetstream.enabled && config.nats.assignments.enabled) {
    // §6.2 assignment outbox; a "no stream" PubAck re-runs the ensure step when managing.
    std::function<void()> on_no_stream;
    if (config.nats.jetstream.manage_streams)
      on_no_stream = [self] { self->RequestStreamEnsure(); };
    transport->assignments_ = std::make_unique<AssignmentPipeline>(
        config.nats, *transport->connection_, clock, transport->log_, std::move(on_no_stream));
    AssignmentPublisher* publisher = &transport->assignments_->publisher();
    publisher->SetMsgReaper(&transport->reaper_);
    transport->processor_.SetAssignmentOutbox(
        &transport->assignments_->outbox(), [publisher] { return publisher->ServerMaxPayload(); });
  }
  if (config.nats.decide.enabled) {
    transport->decide_ = std::make_unique<DecideHandler>(
        DecideHandlerOptions::FromConfig(config.nats), transport->processor_,
        *transport->connection_, transport->dlq_.get(), clock, transport->stats_, transport->log_);
    transport->decide_->SetMsgReaper(&transport->reaper_);
  }
  return transport;
}

NatsTransport::NatsTransport(const config::Config& config,
                             const service::DecisionService& decisions,
                             service::Readiness& readiness, const Clock& clock, LogSink log,
                             std::unique_ptr<NatsConnection> connection)
    : config_(config.nats),
      readiness_(readiness),
      clock_(clock),
      log_(std::move(log)),
      connection_(std::move(connection)),
      streams_(config.nats, stats_, log_),
      processor_(DecideProcessorOptions::FromConfig(config), decisions, stats_) {}

NatsTransport::~NatsTransport() { Stop(); }

void NatsTransport::SetCheck(const char* name, bool ok, const std::string& message) {
  {
    absl::MutexLock lock(&checks_mu_);
    auto it = std::find_if(checks_.begin(), checks_.end(),
                           [&](const auto& c) { return c.first == name; });
    if (it != checks_.end() && it->second.first == ok && it->second.second == message) return;
    if (it == checks_.end()) {
      checks_.push_back({name, {ok, message}});
    } else {
      it->second = {ok, message};
    }
  }
  readiness_.Set(name, ok, message);
}

absl::Status NatsTransport::Start() {
  {
    absl::MutexLock lock(&mu_);
    if (started_) return absl::OkStatus();
    started_ = true;
  }
  SetCheck(kCheckNats, false, "connecting");
  if (decide_) SetCheck(kCheckDecideSubscription, false, "not subscribed");
  if (config_.jetstream.enabled) SetCheck(kCheckJetStream, false, "not verified");
  if (config_.jetstream.enabled) SetCheck(kCheckConsumers, false, "not bound");
  if (dlq_) dlq_->Start();
  if (assignments_) assignments_->Start();
  control_ = std::thread([this] { ControlLoop(); });
  absl::Status s = connection_->Connect();
  if (!s.ok()) {
    // cnats refused to create the connection: keep trying from the control thread, startup
    // goes on (§8).
    Log(log_, "WARN", "nats.connect_failed", "NATS connection not created; retrying",
        {{"error", std::string(s.message())}});
    absl::MutexLock lock(&mu_);
    connect_retry_at_ = absl::Now() + absl::Milliseconds(config_.reconnect_base_ms);
    wake_ = true;
  }
  return absl::OkStatus();
}

void NatsTransport::RequestStreamEnsure() {
  absl::MutexLock lock(&mu_);
  ensure_requested_ = true;
  wake_ = true;
}

void NatsTransport::OnConnectionEvent(ConnectionEvent event) {
  if (assignments_) assignments_->OnConnectionEvent(event);  // non-blocking (§6.2 pause)
  absl::MutexLock lock(&mu_);
  events_.push_back(event);
}

void NatsTransport::ControlLoop() {
  while (true) {
    std::deque<ConnectionEvent> events;
    {
      absl::MutexLock lock(&mu_);
      // Setup work (setup_pending_, retry_at_) only runs while connected; while disconnected
      // the reconnect event wakes this loop. (Waking for it anyway made a disconnected router
      // spin here: the deadline stayed in the past.)
      const absl::Time setup_wake = !connected_      ? absl::InfiniteFuture()
                                    : setup_pending_ ? absl::InfinitePast()
                                                     : retry_at_;
      const absl::Time wake = std::min({grace_deadline_, connect_retry_at_, setup_wake});
      mu_.AwaitWithDeadline(absl::Condition(
                                +[](NatsTransport* t) ABSL_EXCLUSIVE_LOCKS_REQUIRED(t->mu_) {
                                  return t->stop_ || t->wake_ || !t->events_.empty();
                                },
                                this),
                            wake);
      if (stop_) return;
      wake_ = false;
      events.swap(events_);
      if (ensure_requested_) {
        ensure_requested_ = false;
        // Sooner than the regular retry, but not more often than every 5 s.
        retry_at_ = std::min(retry_at_, std::max(absl::Now(), last_setup_ + kRequestedEnsureGap));
      }
    }
    const absl::Time now = absl::Now();
    for (ConnectionEvent e : events) {
      switch (e) {
        case ConnectionEvent::kConnected:
        case ConnectionEvent::kReconnected:
          connected_ = true;
          // §8: after a reconnect the durables are verified again (the server may have lost
          // them, e.g. restarted with an empty store) and re-created / re-bound when gone.
          for (DurableConsumer* c : {results_consumer_.get(), acks_consumer_.get()}) {
            if (c != nullptr) c->RequireReverify();
          }
          if (e == ConnectionEvent::kReconnected) {
            // Readiness returns only once the setup below has verified the server again (it
            // may have lost streams and durables): until then these checks fail.
            if (config_.jetstream.enabled) {
              SetCheck(kCheckJetStream, false, "re-verifying after reconnect");
              SetCheck(kCheckConsumers, false, "re-verifying after reconnect");
            }
            if (decide_) SetCheck(kCheckDecideSubscription, false, "re-verifying after reconnect");
          }
          grace_deadline_ = absl::InfiniteFuture();
          SetCheck(kCheckNats, true, "");
          setup_pending_ = true;  // re-subscribe if needed, re-ensure streams, re-check capture
          break;
        case ConnectionEvent::kDisconnected:
          if (!connected_) break;
          connected_ = false;
          disconnected_at_ = now;
          if (config_.readiness_grace_ms <= 0) {
            SetCheck(kCheckNats, false, "disconnected");
          } else {
            grace_deadline_ = now + absl::Milliseconds(config_.readiness_grace_ms);
          }
          break;
        case ConnectionEvent::kClosed:
          connected_ = false;
          SetCheck(kCheckNats, false, "connection closed");
          break;
      }
    }
    if (!connected_ && now >= grace_deadline_) {
      grace_deadline_ = absl::InfiniteFuture();
      SetCheck(
          kCheckNats, false,
          "disconnected for " + std::to_string(absl::ToInt64Seconds(now - disconnected_at_)) + "s");
    }
    bool retry_connect = false;
    {
      absl::MutexLock lock(&mu_);
      if (now >= connect_retry_at_) {
        connect_retry_at_ = absl::InfiniteFuture();
        retry_connect = true;
      }
    }
    // Outside mu_: a successful Connect() notifies listeners synchronously, which lock mu_.
    if (retry_connect && !connection_->Connect().ok()) {
      const int64_t delay_ms = ReconnectDelayMs(config_.reconnect_base_ms, config_.reconnect_max_ms,
                                                ++connect_attempts_, core::NextU64());
      absl::MutexLock lock(&mu_);
      connect_retry_at_ = now + absl::Milliseconds(delay_ms);
    }
    if (connected_ && (setup_pending_ || now >= retry_at_)) {
      setup_pending_ = false;
      retry_at_ = absl::InfiniteFuture();
      last_setup_ = now;
      if (!RunSetup()) retry_at_ = absl::Now() + kStreamRetry;
    }
  }
}

bool NatsTransport::RunSetup() {
  bool complete = true;
  if (config_.jetstream.enabled) {
    EnsureResult ensured = streams_.Ensure(connection_->jetstream());
    SetCheck(kCheckJetStream, ensured.ready, ensured.problem);
    complete = complete && ensured.ready;
  }
  complete = SetupConsumers() && complete;
  if (assignment_lookup_ != nullptr && !assignment_lookup_->Subscribed()) {
    if (absl::Status s = assignment_lookup_->Subscribe(); !s.ok()) complete = false;
  }
  if (status_responder_ != nullptr && !status_responder_->Subscribed()) {
    if (absl::Status s = status_responder_->Subscribe(); !s.ok()) complete = false;
  }
  if (decide_) {
    if (!decide_->Subscribed()) {
      if (absl::Status s = decide_->Subscribe(); !s.ok()) {
        SetCheck(kCheckDecideSubscription, false, std::string(s.message()));
        return false;
      }
    }
    auto capturing = streams_.StreamsCapturing(connection_->jetstream(), config_.decide.subject);
    if (!capturing.ok()) {
      SetCheck(kCheckDecideSubscription, false,
               "cannot verify the decide subject: " + std::string(capturing.status().message()));
      return false;
    }
    if (!capturing->empty()) {
      const std::string streams = absl::StrJoin(*capturing, ",");
      Log(log_, "ERROR", "nats.decide_subject_captured",
          "the decide subject is captured by a stream; its PubAck would race the reply",
          {{"subject", config_.decide.subject}, {"streams", streams}});
      SetCheck(kCheckDecideSubscription, false, "decide subject captured by stream " + streams);
      return false;
    }
    SetCheck(kCheckDecideSubscription, true, "");
  }
  return complete;
}

void NatsTransport::Stop() {
  {
    absl::MutexLock lock(&mu_);
    if (stop_) return;
    stop_ = true;
  }
  if (control_.joinable()) control_.join();
  const absl::Duration budget = absl::Milliseconds(config_.drain_timeout_ms);
  if (decide_) {
    SetCheck(kCheckDecideSubscription, false, "shutting down");
    decide_->Drain(budget);
  }
  // §8: flush the outbox (parked replies answered) within drain_timeout_ms.
  if (assignments_) assignments_->Stop(config_.drain_timeout_ms);
  // §8: stop fetching, finish or NAK in-flight results and acks.
  if (config_.jetstream.enabled) SetCheck(kCheckConsumers, false, "shutting down");
  if (results_consumer_) results_consumer_->Stop();
  if (acks_consumer_) acks_consumer_->Stop();
  if (dlq_) dlq_->Stop(budget);
  if (decide_) decide_->Close();
  if (fanout_) fanout_->Close();
  if (advisory_) advisory_->Close();
  if (assignment_lookup_ != nullptr) assignment_lookup_->Close();
  if (pending_poller_) pending_poller_->Stop();
  if (status_responder_) status_responder_->Close();
  reaper_.Flush();  // no decide or PubAck callback runs any more
  if (connection_) connection_->Close();
}

}  // namespace router::nats_adapter

namespace router::nats_adapter {

void NatsTransport::SetOutcomeService(service::OutcomeService* outcomes) {
  if (fanout_) fanout_->SetOutcomeService(outcomes);
}

void NatsTransport::SetBackpressure(service::BackpressureMonitor* monitor,
                                    service::ReplyDelayer* delayer, std::string node_id) {
  if (monitor == nullptr) return;
  if (decide_) {
    decide_->SetBackpressure(monitor, delayer);
    monitor->AddInflightSource([handler = decide_.get()] { return handler->QueuedMessages(); });
  }
  BackpressureResponderOptions options;
  options.status_subject = config_.status.subject;
  options.decide_subject = config_.decide.subject;
  options.node_id = std::move(node_id);
  status_responder_ =
      std::make_unique<BackpressureResponder>(std::move(options), *monitor, *connection_, clock_);
  if (config_.jetstream.enabled) {
    pending_poller_ = std::make_unique<ResultsPendingPoller>(
        config_.jetstream.streams.results.name, config_.jetstream.consumers.results.durable,
        *connection_, *monitor);
    // router_jetstream_consumer_pending / _ack_pending{consumer} from the same 1 s poll.
    WorkerMetrics* wm = &worker_metrics_;
    auto sink = [wm](std::string_view consumer) {
      return [wm, consumer](uint64_t pending, uint64_t ack_pending) {
        wm->SetGauge("router_jetstream_consumer_pending", {consumer}, static_cast<double>(pending));
        wm->SetGauge("router_jetstream_consumer_ack_pending", {consumer},
                     static_cast<double>(ack_pending));
      };
    };
    pending_poller_->SetResultsInfoSink(sink(ConsumerLabel(ConsumerKind::kResults)));
    pending_poller_->AddPolledConsumer(config_.jetstream.streams.acks.name,
                                       config_.jetstream.consumers.acks.durable,
                                       sink(ConsumerLabel(ConsumerKind::kAcks)));
    // §8: a durable that vanished while connected (deleted, or lost by the server) is seen by
    // this poll, not by the fetch loop: mark it broken and re-run the setup.
    pending_poller_->SetOnMissing([this](const std::string& durable) {
      for (DurableConsumer* c : {results_consumer_.get(), acks_consumer_.get()}) {
        if (c == nullptr || c->options().consumer.durable != durable) continue;
        if (c->MarkBroken("durable " + durable + " not found")) {
          UpdateConsumersCheck();
          RequestStreamEnsure();
        }
      }
    });
    pending_poller_->Start();
  }
}

void NatsTransport::SetIdempotencyStore(service::IdempotencyStore* store) {
  processor_.SetAssignmentStores(store, correlation_);
  idempotency_ = store;
}

void NatsTransport::SetCorrelationStore(service::CorrelationStore* store) {
  correlation_ = store;
  processor_.SetAssignmentStores(idempotency_, store);
  if (assignments_) assignments_->SetCorrelationStore(store);
  if (fanout_) fanout_->SetCorrelationStore(store);
  if (results_consumer_) results_consumer_->SetCorrelationStore(store);
  if (acks_consumer_) acks_consumer_->SetCorrelationStore(store);
}

bool NatsTransport::SetupConsumers() {
  bool complete = true;
  if (advisory_ && !advisory_->Subscribed()) {
    if (absl::Status s = advisory_->Subscribe(); !s.ok()) {
      Log(log_, "WARN", "jetstream.consumer_error", "advisory subscription failed; retrying",
          {{"error", std::string(s.message())}});
      complete = false;
    }
  }
  if (fanout_ && !fanout_->Subscribed()) {
    if (absl::Status s = fanout_->Subscribe(); !s.ok()) {
      Log(log_, "WARN", "nats.fanout_subscribe_failed", "fan-out subscription failed; retrying",
          {{"error", std::string(s.message())}});
      complete = false;
    }
  }
  for (DurableConsumer* c : {results_consumer_.get(), acks_consumer_.get()}) {
    if (c == nullptr) continue;
    DurableConsumer::DurableEnsure ensured = DurableConsumer::DurableEnsure::kNone;
    absl::Status s = c->EnsureAndBind(connection_->jetstream(), &ensured);
    CountDurableEnsure(c->options().kind, ensured);
    if (!s.ok()) {
      Log(log_, "ERROR", "jetstream.consumer_error", "durable consumer not bound",
          {{"consumer", c->options().consumer.durable}, {"error", std::string(s.message())}});
      complete = false;
    }
  }
  UpdateConsumersCheck();
  return complete;
}

void NatsTransport::CountDurableEnsure(ConsumerKind kind, DurableConsumer::DurableEnsure ensured) {
  // router_jetstream_stream_ensure_total{stream,result} counts durable management under the
  // role of the durable's stream (results, acks; §6.1 order index 1, 2).
  size_t result = 0;
  switch (ensured) {
    case DurableConsumer::DurableEnsure::kNone:
      return;
    case DurableConsumer::DurableEnsure::kCreated:
      result = 0;
      break;
    case DurableConsumer::DurableEnsure::kUpdated:
      result = 1;
      break;
    case DurableConsumer::DurableEnsure::kUnchanged:
      result = 2;
      break;
    case DurableConsumer::DurableEnsure::kError:
      result = 3;
      break;
  }
  const size_t role = kind == ConsumerKind::kResults ? 1 : 2;
  Inc(stats_.stream_ensure[role][result]);
}

void NatsTransport::SetMetrics(obs::RouterMetrics* metrics) {
  metrics_ = metrics;
  worker_metrics_.SetRegistry(metrics);
  if (assignments_) assignments_->SetMetrics(metrics);
  if (metrics == nullptr || !metrics->registry) return;
  ExportNatsStats(*metrics, stats_, connection_.get());
  processor_.SetPayloadHistogram(metrics->registry->FindHistogram("router_intake_payload_bytes"));
}

void NatsTransport::UpdateConsumersCheck() {
  if (!config_.jetstream.enabled) return;
  for (DurableConsumer* c : {results_consumer_.get(), acks_consumer_.get()}) {
    if (c != nullptr && !c->Ready()) {
      SetCheck(kCheckConsumers, false, c->options().consumer.durable + ": " + c->Problem());
      return;
    }
  }
  SetCheck(kCheckConsumers, true, "");
}

}  // namespace router::nats_adapter
