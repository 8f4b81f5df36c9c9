#include "nats/result_consumer.h"

#include <algorithm>

#include "base/errors.h"
#include "core/random.h"
#include "nats/exec_ack.h"
#include "nats/exec_result.h"
#include "nats/usage_event.h"
#include "nats/worker_dlq.h"
#include "nats/worker_message.h"
#include "obs/tracing/trace_context.h"
#include "service/correlation_store.h"

namespace router::nats_adapter {
namespace {

constexpr int64_t kNanosPerMs = 1000000;
constexpr size_t kMaxWorkerThreads = 8;
constexpr absl::Duration kIdleWait = absl::Milliseconds(200);
constexpr absl::Duration kFetchErrorWait = absl::Milliseconds(500);
constexpr absl::Duration kDlqRetryDelays[] = {absl::Milliseconds(100), absl::Milliseconds(200)};
constexpr int kDlqAttempts = 3;

std::string JsErrorText(natsStatus s, jsErrCode err) {
  std::string text = natsStatus_GetText(s);
  if (err != 0) text += " (JetStream error " + std::to_string(static_cast<int>(err)) + ")";
  return text;
}

bool IsNotFound(natsStatus s, jsErrCode err) {
  return s == NATS_NOT_FOUND || err == JSConsumerNotFoundErr || err == JSStreamNotFoundErr;
}

}  // namespace

std::string_view ConsumerLabel(ConsumerKind kind) {
  return kind == ConsumerKind::kResults ? "results" : "acks";
}

ConsumerOptions ConsumerOptions::FromConfig(ConsumerKind kind, const config::Config& config) {
  const config::NatsConfig& n = config.nats;
  ConsumerOptions o;
  o.kind = kind;
  o.stream = kind == ConsumerKind::kResults ? n.jetstream.streams.results.name
                                            : n.jetstream.streams.acks.name;
  o.consumer =
      kind == ConsumerKind::kResults ? n.jetstream.consumers.results : n.jetstream.consumers.acks;
  o.manage = n.jetstream.manage_streams;
  o.dlq_enabled = n.dlq.enabled;
  o.include_payload = n.dlq.include_payload;
  o.max_payload_bytes = n.max_payload_bytes;
  o.tenant_allowlist = config.tenants.allowlist;
  o.usage_subject = n.usage.subject;
  o.api_timeout_ms = n.jetstream.api_timeout_ms;
  o.node_id = config.node_id;
  o.dedup_max_entries = static_cast<size_t>(std::max<int64_t>(config.idempotency.max_entries, 1));
  o.dedup_ttl_ms = config.idempotency.ttl_s * 1000;
  return o;
}

// One fetched message being processed.
struct DurableConsumer::Delivery {
  natsMsg* msg = nullptr;
  absl::Time fetched_at;
  uint64_t num_delivered = 1;
  DlqSource source;
  bool last = false;
  std::string subject;
  std::string_view body;
  WorkerHeaders headers;
  int64_t received_ms = 0;
  bool settled = false;                       // ACK/NAK/TERM sent or abandoned
  ExecResultParser* result_parser = nullptr;  // the worker's
  ExecAckParser* ack_parser = nullptr;
};

DurableConsumer::DurableConsumer(ConsumerOptions options, NatsConnection& connection,
                                 WorkerMetrics& metrics, const Clock& clock, LogSink log)
    : options_(std::move(options)),
      label_(ConsumerLabel(options_.kind)),
      dlq_subject_(options_.consumer.filter_subject + ".dlq"),
      connection_(connection),
      metrics_(metrics),
      clock_(clock),
      log_(std::move(log)),
      dedup_(options_.dedup_max_entries, options_.dedup_ttl_ms) {}

DurableConsumer::~DurableConsumer() { Stop(); }

std::string DurableConsumer::Problem() const {
  absl::MutexLock lock(const_cast<absl::Mutex*>(&mu_));
  return problem_;
}

void DurableConsumer::SetProblem(std::string problem) {
  absl::MutexLock lock(&mu_);
  problem_ = std::move(problem);
}

absl::Status DurableConsumer::EnsureAndBind(jsCtx* js, DurableEnsure* ensured) {
  DurableEnsure ignored = DurableEnsure::kNone;
  DurableEnsure& done = ensured != nullptr ? *ensured : ignored;
  done = DurableEnsure::kNone;
  if (stopping_.load()) return absl::CancelledError("stopping");
  // Bound and fetching: keep the subscription unless the durable itself must be verified
  // again (after a reconnect) and turns out to be gone.
  bool keep_subscription = false;
  {
    absl::MutexLock lock(&mu_);
    if (bound_once_ && !broken_) {
      if (!reverify_.load(std::memory_order_acquire)) return absl::OkStatus();
      keep_subscription = true;
    }
  }
  if (js == nullptr) return absl::UnavailableError("no JetStream context");
  reverify_.store(false, std::memory_order_release);
  const config::ConsumerConfig& c = options_.consumer;
  jsConsumerConfig cfg;
  jsConsumerConfig_Init(&cfg);
  cfg.Durable = c.durable.c_str();
  cfg.FilterSubject = c.filter_subject.c_str();
  cfg.AckPolicy = js_AckExplicit;
  cfg.DeliverPolicy = js_DeliverAll;
  cfg.ReplayPolicy = js_ReplayInstant;
  cfg.AckWait = c.ack_wait_s * 1000 * kNanosPerMs;
  cfg.MaxDeliver = c.max_deliver;
  cfg.MaxAckPending = c.max_ack_pending;

  jsConsumerInfo* raw = nullptr;
  jsErrCode err = static_cast<jsErrCode>(0);
  natsStatus s =
      js_GetConsumerInfo(&raw, js, options_.stream.c_str(), c.durable.c_str(), nullptr, &err);
  std::unique_ptr<jsConsumerInfo, decltype(&jsConsumerInfo_Destroy)> info(raw,
                                                                          &jsConsumerInfo_Destroy);
  auto fail = [&](std::string problem) {
    done = DurableEnsure::kError;
    if (keep_subscription) reverify_.store(true, std::memory_order_release);  // try again
    SetProblem(problem);
    ready_.store(false, std::memory_order_release);
    metrics_.SetGauge("router_jetstream_consumer_bound", {label_}, 0);
    return absl::UnavailableError(problem);
  };
  if (s != NATS_OK) {
    if (!IsNotFound(s, err)) {
      return fail("consumer info " + c.durable + ": " + JsErrorText(s, err));
    }
    if (!options_.manage) {
      return fail("durable " + c.durable + " on stream " + options_.stream + " does not exist");
    }
    jsConsumerInfo* created = nullptr;
    err = static_cast<jsErrCode>(0);
    s = js_AddConsumer(&created, js, options_.stream.c_str(), &cfg, nullptr, &err);
    if (created != nullptr) jsConsumerInfo_Destroy(created);
    if (s != NATS_OK) {
      // A racing replica may have created it first: any existing durable is verified below.
      raw = nullptr;
      jsErrCode err2 = static_cast<jsErrCode>(0);
      if (js_GetConsumerInfo(&raw, js, options_.stream.c_str(), c.durable.c_str(), nullptr,
                             &err2) != NATS_OK) {
        if (raw != nullptr) jsConsumerInfo_Destroy(raw);
        return fail("create durable " + c.durable + ": " + JsErrorText(s, err));
      }
      info.reset(raw);
    } else {
      done = DurableEnsure::kCreated;
      Log(log_, "INFO", "jetstream.stream_ensured", "durable consumer created",
          {{"stream", options_.stream}, {"consumer", c.durable}});
    }
    // The durable vanished (and was re-created here or by a racing replica): bind a new pull
    // subscription to it.
    keep_subscription = false;
  }
  if (info && info->Config != nullptr && options_.manage) {
    const jsConsumerConfig& have = *info->Config;
    const bool differs = have.AckWait != cfg.AckWait || have.MaxDeliver != cfg.MaxDeliver ||
                         have.MaxAckPending != cfg.MaxAckPending || have.BackOffLen != 0;
    if (differs) {
      jsConsumerInfo* updated = nullptr;
      err = static_cast<jsErrCode>(0);
      s = js_UpdateConsumer(&updated, js, options_.stream.c_str(), &cfg, nullptr, &err);
      if (updated != nullptr) jsConsumerInfo_Destroy(updated);
      if (s != NATS_OK) {
        Log(log_, "WARN", "jetstream.consumer_error", "durable settings not updated",
            {{"consumer", c.durable}, {"error", JsErrorText(s, err)}});
      } else {
        done = DurableEnsure::kUpdated;
        Log(log_, "INFO", "jetstream.stream_ensured", "durable settings updated",
            {{"stream", options_.stream}, {"consumer", c.durable}});
      }
    }
  }
  if (done == DurableEnsure::kNone) done = DurableEnsure::kUnchanged;
  if (keep_subscription) {  // verified after a reconnect; the subscription stays bound
    SetProblem("");
    ready_.store(true, std::memory_order_release);
    metrics_.SetGauge("router_jetstream_consumer_bound", {label_}, 1);
    return absl::OkStatus();
  }

  jsSubOptions so;
  jsSubOptions_Init(&so);
  so.Stream = options_.stream.c_str();
  so.Consumer = c.durable.c_str();
  so.ManualAck = true;
  natsSubscription* sub = nullptr;
  err = static_cast<jsErrCode>(0);
  s = js_PullSubscribe(&sub, js, c.filter_subject.c_str(), c.durable.c_str(), nullptr, &so, &err);
  if (s != NATS_OK) {
    if (sub != nullptr) natsSubscription_Destroy(sub);
    return fail("bind durable " + c.durable + ": " + JsErrorText(s, err));
  }
  bool start_threads = false;
  {
    absl::MutexLock lock(&mu_);
    if (pending_sub_ != nullptr) natsSubscription_Destroy(pending_sub_);
    pending_sub_ = sub;
    broken_ = false;
    problem_.clear();
    start_threads = !bound_once_;
    bound_once_ = true;
  }
  ready_.store(true, std::memory_order_release);
  metrics_.SetGauge("router_jetstream_consumer_bound", {label_}, 1);
  Log(log_, "INFO", "jetstream.consumer_bound", "durable pull consumer bound",
      {{"stream", options_.stream}, {"consumer", c.durable}});
  if (start_threads) {
    fetcher_ = std::thread([this] { FetchLoop(); });
    size_t n = options_.worker_threads;
    if (n == 0) {
      n = std::min<size_t>(kMaxWorkerThreads,
                           static_cast<size_t>(std::max<int64_t>(c.max_inflight, 1)));
    }
    for (size_t i = 0; i < n; ++i) workers_.emplace_back([this] { WorkerLoop(); });
  }
  return absl::OkStatus();
}

bool DurableConsumer::MarkBroken(const std::string& problem) {
  {
    absl::MutexLock lock(&mu_);
    if (!bound_once_ || broken_ || stopping_.load()) return false;
    broken_ = true;
    problem_ = problem;
  }
  ready_.store(false, std::memory_order_release);
  metrics_.SetGauge("router_jetstream_consumer_bound", {label_}, 0);
  Log(log_, "ERROR", "jetstream.consumer_error", "durable consumer gone; re-creating",
      {{"consumer", options_.consumer.durable}, {"error", problem}});
  return true;
}

void DurableConsumer::FetchLoop() {
  const config::ConsumerConfig& c = options_.consumer;
  const int64_t batch = std::max<int64_t>(c.fetch_batch, 1);
  const int64_t max_inflight = std::max<int64_t>(c.max_inflight, 1);
  natsSubscription* sub = nullptr;
  while (true) {
    int64_t room = 0;
    {
      absl::MutexLock lock(&mu_);
      // Refetch when fewer than `batch` are in flight (§6.3).
      mu_.AwaitWithTimeout(
          absl::Condition(
              +[](DurableConsumer* self) ABSL_EXCLUSIVE_LOCKS_REQUIRED(self->mu_) {
                return self->stop_fetch_ ||
                       self->inflight_ < std::max<int64_t>(self->options_.consumer.fetch_batch, 1);
              },
              this),
          kIdleWait);
      if (stop_fetch_) break;
      if (pending_sub_ != nullptr) {
        absl::MutexLock sub_lock(&sub_mu_);
        if (sub != nullptr) retired_subs_.push_back(sub);  // workers may still hold its messages
        sub = pending_sub_;
        active_sub_ = sub;
        pending_sub_ = nullptr;
      }
      if (inflight_ == 0) {
        absl::MutexLock sub_lock(&sub_mu_);
        for (natsSubscription* old : retired_subs_) natsSubscription_Destroy(old);
        retired_subs_.clear();
      }
      if (broken_ || sub == nullptr) {
        // Nothing to fetch from until the setup (re)binds the durable: wait for it or for the
        // stop instead of looping back into the await above, which returns at once while
        // inflight_ < batch (a disconnected router spun at ~45 % of a core here).
        mu_.AwaitWithTimeout(
            absl::Condition(
                +[](DurableConsumer* self) ABSL_EXCLUSIVE_LOCKS_REQUIRED(self->mu_) {
                  return self->stop_fetch_ || self->pending_sub_ != nullptr;
                },
                this),
            kIdleWait);
        continue;
      }
      if (inflight_ >= batch) continue;
      room = std::min(batch, max_inflight - inflight_);
    }
    if (room <= 0 || !connection_.IsConnected()) {
      absl::MutexLock lock(&mu_);
      mu_.AwaitWithTimeout(absl::Condition(&stop_fetch_), kIdleWait);
      continue;
    }
    natsMsgList list{nullptr, 0};
    jsErrCode err = static_cast<jsErrCode>(0);
    natsStatus s =
        natsSubscription_Fetch(&list, sub, static_cast<int>(room), c.fetch_expires_ms, &err);
    if (s == NATS_OK) {
      const absl::Time now = absl::Now();
      absl::MutexLock lock(&mu_);
      for (int i = 0; i < list.Count; ++i) {
        if (list.Msgs[i] == nullptr) continue;
        queue_.push_back(Item{list.Msgs[i], now});
        list.Msgs[i] = nullptr;
        ++inflight_;
      }
    } else if (stopping_.load()) {
      // Stop() unsubscribed to end the fetch: nothing is broken.
    } else if (s != NATS_TIMEOUT) {
      const std::string problem = "fetch " + c.durable + ": " + JsErrorText(s, err);
      if (connection_.IsConnected() &&
          (err != 0 || s == NATS_NOT_FOUND || s == NATS_INVALID_SUBSCRIPTION || s == NATS_ERR ||
           s == NATS_NO_RESPONDERS)) {
        // (No responders while connected: nothing serves the durable's pull requests, e.g. the
        // server restarted with an empty store.)
        // The durable or its stream is gone: re-ensure and rebind from the control thread.
        {
          absl::MutexLock lock(&mu_);
          broken_ = true;
          problem_ = problem;
        }
        ready_.store(false, std::memory_order_release);
        metrics_.SetGauge("router_jetstream_consumer_bound", {label_}, 0);
        Log(log_, "ERROR", "jetstream.consumer_error", "fetch failed; rebinding",
            {{"consumer", c.durable}, {"error", problem}});
        if (on_broken_) on_broken_();
      }
      absl::MutexLock lock(&mu_);
      mu_.AwaitWithTimeout(absl::Condition(&stop_fetch_), kFetchErrorWait);
    }
    natsMsgList_Destroy(&list);
  }
  absl::MutexLock sub_lock(&sub_mu_);
  if (sub != nullptr) retired_subs_.push_back(sub);  // destroyed by Stop after the workers
  active_sub_ = nullptr;
}

void DurableConsumer::WorkerLoop() {
  // One parser per worker thread (thread-compatible, reused across messages).
  ExecResultParser result_parser(options_.max_payload_bytes, options_.tenant_allowlist);
  ExecAckParser ack_parser(options_.max_payload_bytes, options_.tenant_allowlist);
  while (true) {
    Item item;
    {
      absl::MutexLock lock(&mu_);
      mu_.Await(absl::Condition(
          +[](DurableConsumer* self) ABSL_EXCLUSIVE_LOCKS_REQUIRED(self->mu_) {
            return self->stop_workers_ || !self->queue_.empty();
          },
          this));
      if (queue_.empty()) return;  // stop_workers_ and nothing left
      item = queue_.front();
      queue_.pop_front();
    }
    Process(item, result_parser, ack_parser);
    natsMsg_Destroy(item.msg);
    absl::MutexLock lock(&mu_);
    --inflight_;
  }
}

void DurableConsumer::Process(Item& item, ExecResultParser& result_parser,
                              ExecAckParser& ack_parser) {
  Delivery d;
  d.result_parser = &result_parser;
  d.ack_parser = &ack_parser;
  d.msg = item.msg;
  d.fetched_at = item.fetched_at;
  d.received_ms = clock_.WallMs();
  jsMsgMetaData* meta = nullptr;
  if (natsMsg_GetMetaData(&meta, item.msg) == NATS_OK && meta != nullptr) {
    d.num_delivered = meta->NumDelivered;
    d.source.stream_seq = meta->Sequence.Stream;
    d.source.stream = meta->Stream != nullptr ? meta->Stream : options_.stream;
    d.source.consumer = meta->Consumer != nullptr ? meta->Consumer : options_.consumer.durable;
    jsMsgMetaData_Destroy(meta);
  } else {
    d.source.stream = options_.stream;
    d.source.consumer = options_.consumer.durable;
  }
  d.source.num_delivered = d.num_delivered;
  d.last = IsLastDelivery(d.num_delivered, options_.consumer.max_deliver);
  metrics_.Inc("router_jetstream_deliveries_total", {label_});
  if (d.num_delivered > 1) metrics_.Inc("router_jetstream_redelivered_messages_total", {label_});
  if (stopping_.load() && !d.last) {
    Nak(d, 0, "shutdown");
    return;
  }
  const char* subject = natsMsg_GetSubject(item.msg);
  d.subject = subject != nullptr ? subject : options_.consumer.filter_subject;
  const char* data = natsMsg_GetData(item.msg);
  d.body = std::string_view(data != nullptr ? data : "",
                            static_cast<size_t>(std::max(natsMsg_GetDataLength(item.msg), 0)));
  metrics_.Observe("router_intake_payload_bytes", {label_}, static_cast<double>(d.body.size()));
  d.headers = ReadWorkerHeaders(item.msg);
  d.source.msg_id = d.headers.msg_id;
  if (!d.headers.msg_id) metrics_.Inc("router_nats_contract_violations_total", {label_});
  try {
    if (options_.kind == ConsumerKind::kResults) {
      ProcessResult(d);
    } else {
      ProcessAck(d);
    }
  } catch (const std::exception& e) {
    if (!d.settled)
      Transient(d, "internal_error", std::string("internal_error: ") + e.what(), {}, {});
  }
}

void DurableConsumer::ProcessResult(Delivery& d) {
  ExecResultParser* parser = d.result_parser;
  ExecResult r;
  WorkerParse parse;
  if (!parser->Parse(d.body, d.headers, d.received_ms, &r, &parse)) {
    Poison(d, parse);
    return;
  }
  const std::string& key = r.DedupKey();
  if (dedup_.Contains(key, clock_.WallMs())) {
    metrics_.Inc("router_results_duplicate_total");
    Ack(d);
    return;
  }
  PublishOutcome pub = Publish(d, options_.usage_subject, UsageHeaders(r, d.headers.traceparent),
                               BuildUsageEvent(r));
  if (!pub.ok) {
    metrics_.Inc("router_usage_emit_failed_total", {pub.reason});
    if (pub.no_stream && on_no_stream_) on_no_stream_();
    Transient(d, "usage_publish_failed", "usage_publish_failed: " + pub.error, r.tenant_id,
              r.trace_id);
    return;
  }
  dedup_.Insert(key, clock_.WallMs());  // §7.1: marked only after the usage PubAck
  if (pub.duplicate) {
    metrics_.Inc("router_results_duplicate_total");
  } else {
    metrics_.Inc("router_results_total", {r.status});
    metrics_.Inc("router_usage_emitted_total");
    CountNonconformingTraceId(r.trace_id);
    // Worker-reported latency of first-time results (router_result_latency_seconds{status}).
    if (r.latency_ms) {
      metrics_.Observe("router_result_latency_seconds", {r.status},
                       static_cast<double>(*r.latency_ms) / 1000.0);
    }
  }
  if (correlation_ != nullptr && !r.assignment_id.empty()) {
    correlation_->OnResult(r.assignment_id, r.status, r.latency_ms.value_or(0), r.cost.value_or(0),
                           r.timestamp_ms, r.EffectiveErrorCode());
  }
  Ack(d);
}

void DurableConsumer::CountNonconformingTraceId(const std::optional<std::string>& trace_id) {
  // OBS §6.2: a string trace_id that is neither 32 hex nor a UUID is accepted and counted.
  if (trace_id && !obs::ParseTraceIdLenient(*trace_id)) {
    metrics_.Inc("router_intake_trace_id_nonconforming_total", {label_});
  }
}

void DurableConsumer::ProcessAck(Delivery& d) {
  ExecAckParser* parser = d.ack_parser;
  ExecAck a;
  WorkerParse parse;
  if (!parser->Parse(d.body, d.headers, d.received_ms, &a, &parse)) {
    Poison(d, parse);
    return;
  }
  const std::string key = a.DedupKey();
  if (dedup_.Contains(key, clock_.WallMs())) {
    metrics_.Inc("router_acks_duplicate_total");
    Ack(d);
    return;
  }
  if (correlation_ != nullptr) {
    correlation_->OnAck(a.assignment_id, a.status, a.message, a.acknowledged_at_ms);
  }
  metrics_.Inc("router_acks_total", {a.status});
  CountNonconformingTraceId(a.trace_id);
  if (a.status == "rejected") metrics_.Inc("router_assignments_rejected_total");
  if (a.status == "error") metrics_.Inc("router_assignments_ack_error_total");
  dedup_.Insert(key, clock_.WallMs());
  Ack(d);
}

void DurableConsumer::Poison(Delivery& d, const WorkerParse& parse) {
  const std::string_view code = IntakeCodeName(parse.code);
  metrics_.Inc("router_intake_validation_errors_total", {label_, code});
  if (parse.tenant_mismatch) metrics_.Inc("router_nats_contract_violations_total", {label_});
  if (options_.kind == ConsumerKind::kResults && parse.code == IntakeCode::kTenantForbidden) {
    metrics_.Inc("router_results_tenant_rejected_total");
  } else {
    metrics_.Inc(options_.kind == ConsumerKind::kResults ? "router_results_validation_failed_total"
                                                         : "router_acks_validation_failed_total",
                 {code});
  }
  if (!options_.dlq_enabled) {
    Term(d, "poison");
    return;
  }
  PoisonEnvelope e;
  e.original_subject = d.subject;
  e.body = d.body;
  e.code = code;
  const std::string message(StdView(parse.status.message()));
  e.message = message;
  e.parse = &parse;
  e.source = d.source;
  e.include_payload = options_.include_payload;
  e.max_payload_bytes = options_.max_payload_bytes;
  e.received_at_ms = d.received_ms;
  e.node_id = options_.node_id;
  const std::string body = BuildPoisonEnvelope(e);
  if (PublishDlq(d, dlq_subject_, DlqHeaders("poison", d.subject, d.source, NonNatsHeaders(d.msg)),
                 body)) {
    metrics_.Inc("router_dlq_total", {label_, "poison"});
    Term(d, "poison");
    return;
  }
  metrics_.Inc("router_dlq_publish_failed_total", {label_});
  if (!d.last) {
    if (!CheckConnected(d)) return;
    Nak(d,
        JitteredNakDelayMs(NakDelayMs(options_.consumer.nak_delays_ms, d.num_delivered),
                           core::NextU64()),
        stopping_.load() ? "shutdown" : "dlq_publish_failed");
    return;
  }
  Log(log_, "ERROR", "dlq.publish_failed", "DLQ envelope not stored; message terminated",
      {{"subject", dlq_subject_},
       {"reason", "poison"},
       {"code", std::string(code)},
       {"validation_reason", parse.reason},
       {"stream_seq", std::to_string(d.source.stream_seq)}});
  Term(d, "poison");
}

void DurableConsumer::Transient(Delivery& d, std::string_view nak_reason,
                                const std::string& last_error,
                                const std::optional<std::string>& tenant_id,
                                const std::optional<std::string>& trace_id) {
  if (!CheckConnected(d)) return;
  if (!d.last) {
    if (stopping_.load()) {
      Nak(d, 0, "shutdown");
      return;
    }
    Nak(d,
        JitteredNakDelayMs(NakDelayMs(options_.consumer.nak_delays_ms, d.num_delivered),
                           core::NextU64()),
        nak_reason);
    return;
  }
  metrics_.Inc("router_jetstream_maxdeliver_exhausted_total", {label_});
  if (options_.dlq_enabled) {
    MaxDeliverEnvelope e;
    e.original_subject = d.subject;
    e.body = d.body;
    e.last_error = stopping_.load() ? std::string_view("shutdown") : std::string_view(last_error);
    e.tenant_id = tenant_id ? &*tenant_id : nullptr;
    e.trace_id = trace_id ? &*trace_id : nullptr;
    e.source = d.source;
    e.include_payload = options_.include_payload;
    e.timestamp_ms = clock_.WallMs();
    e.node_id = options_.node_id;
    const std::string body = BuildMaxDeliverEnvelope(e);
    if (PublishDlq(d, dlq_subject_,
                   DlqHeaders("maxdeliver_exhausted", d.subject, d.source, NonNatsHeaders(d.msg)),
                   body)) {
      metrics_.Inc("router_dlq_total", {label_, "maxdeliver_exhausted"});
    } else {
      metrics_.Inc("router_dlq_publish_failed_total", {label_});
      Log(log_, "ERROR", "dlq.publish_failed", "DLQ envelope not stored; message terminated",
          {{"subject", dlq_subject_},
           {"reason", "maxdeliver_exhausted"},
           {"last_error", last_error},
           {"stream_seq", std::to_string(d.source.stream_seq)}});
    }
  }
  Term(d, "maxdeliver_exhausted");
}

void DurableConsumer::KeepAlive(Delivery& d) {
  const absl::Duration half = absl::Seconds(options_.consumer.ack_wait_s) / 2;
  if (absl::Now() - d.fetched_at > half && connection_.IsConnected()) {
    (void)natsMsg_InProgress(d.msg, nullptr);  // +WPI
    d.fetched_at = absl::Now();
  }
}

PublishOutcome DurableConsumer::Publish(
    Delivery& d, const std::string& subject,
    const std::vector<std::pair<std::string, std::string>>& headers, const std::string& body) {
  PublishOutcome out;
  KeepAlive(d);
  jsCtx* js = connection_.jetstream();
  if (js == nullptr || !connection_.IsConnected()) {
    out.reason = "disconnected";
    out.error = "disconnected";
    return out;
  }
  natsMsg* raw = nullptr;
  if (natsMsg_Create(&raw, subject.c_str(), nullptr, body.data(), static_cast<int>(body.size())) !=
      NATS_OK) {
    out.reason = "api_error";
    out.error = "message not created";
    return out;
  }
  NatsMsgPtr msg(raw);
  for (const auto& [k, v] : headers) (void)natsMsgHeader_Add(msg.get(), k.c_str(), v.c_str());
  jsPubOptions opts;
  jsPubOptions_Init(&opts);
  opts.MaxWait = options_.api_timeout_ms;
  jsPubAck* ack = nullptr;
  jsErrCode err = static_cast<jsErrCode>(0);
  natsStatus s = js_PublishMsg(&ack, js, msg.get(), &opts, &err);
  if (s == NATS_OK) {
    out.ok = true;
    out.duplicate = ack != nullptr && ack->Duplicate;
  } else {
    out.error = JsErrorText(s, err);
    if (!connection_.IsConnected()) {
      out.reason = "disconnected";
    } else if (s == NATS_TIMEOUT) {
      out.reason = "timeout";
    } else if (s == NATS_NO_RESPONDERS) {
      out.reason = "no_responders";
      out.no_stream = true;
    } else if (err == JSStreamNotFoundErr) {
      out.reason = "stream_not_found";
      out.no_stream = true;
    } else if (err == JSInsufficientResourcesErr) {
      out.reason = "insufficient_resources";
    } else if (err == JSStreamStoreFailedErr || err == JSStreamMessageExceedsMaximumErr) {
      out.reason = err == JSStreamMessageExceedsMaximumErr ? "payload_too_large" : "limit_reached";
    } else {
      out.reason = "api_error";
    }
  }
  if (ack != nullptr) jsPubAck_Destroy(ack);
  return out;
}

bool DurableConsumer::PublishDlq(Delivery& d, const std::string& subject,
                                 const std::vector<std::pair<std::string, std::string>>& headers,
                                 const std::string& body) {
  for (int attempt = 0; attempt < kDlqAttempts; ++attempt) {
    if (attempt > 0) absl::SleepFor(kDlqRetryDelays[attempt - 1]);
    if (Publish(d, subject, headers, body).ok) return true;
    if (!connection_.IsConnected()) return false;
  }
  return false;
}

bool DurableConsumer::CheckConnected(Delivery& d) {
  if (d.settled) return false;
  if (connection_.IsConnected()) return true;
  d.settled = true;
  metrics_.Inc("router_jetstream_abandoned_total", {label_});
  return false;
}

void DurableConsumer::Ack(Delivery& d) {
  if (!CheckConnected(d)) return;
  d.settled = true;
  if (natsMsg_Ack(d.msg, nullptr) == NATS_OK) {
    metrics_.Inc("router_jetstream_ack_total", {label_});
  } else {
    metrics_.Inc("router_jetstream_ack_failures_total", {label_, "ack"});
  }
}

void DurableConsumer::Nak(Delivery& d, int64_t delay_ms, std::string_view reason) {
  if (!CheckConnected(d)) return;
  d.settled = true;
  const natsStatus s =
      delay_ms > 0 ? natsMsg_NakWithDelay(d.msg, delay_ms, nullptr) : natsMsg_Nak(d.msg, nullptr);
  if (s == NATS_OK) {
    metrics_.Inc("router_jetstream_redelivery_total", {label_, reason});
  } else {
    metrics_.Inc("router_jetstream_ack_failures_total", {label_, "nak"});
  }
}

void DurableConsumer::Term(Delivery& d, std::string_view reason) {
  if (!CheckConnected(d)) return;
  d.settled = true;
  if (natsMsg_Term(d.msg, nullptr) == NATS_OK) {
    metrics_.Inc("router_jetstream_term_total", {label_, reason});
  } else {
    metrics_.Inc("router_jetstream_ack_failures_total", {label_, "term"});
  }
}

void DurableConsumer::Stop() {
  if (stopping_.exchange(true)) return;
  ready_.store(false, std::memory_order_release);
  {
    absl::MutexLock lock(&mu_);
    stop_fetch_ = true;
  }
  {
    // Ends a Fetch blocked for up to fetch_expires_ms (§8: stop fetching at once).
    absl::MutexLock sub_lock(&sub_mu_);
    if (active_sub_ != nullptr) (void)natsSubscription_Unsubscribe(active_sub_);
  }
  if (fetcher_.joinable()) fetcher_.join();
  {
    absl::MutexLock lock(&mu_);
    stop_workers_ = true;
  }
  for (auto& w : workers_) {
    if (w.joinable()) w.join();
  }
  workers_.clear();
  absl::MutexLock lock(&mu_);
  for (Item& item : queue_) natsMsg_Destroy(item.msg);
  queue_.clear();
  if (pending_sub_ != nullptr) {
    natsSubscription_Destroy(pending_sub_);
    pending_sub_ = nullptr;
  }
  {
    absl::MutexLock sub_lock(&sub_mu_);
    for (natsSubscription* old : retired_subs_) natsSubscription_Destroy(old);
    retired_subs_.clear();
  }
  metrics_.SetGauge("router_jetstream_consumer_bound", {label_}, 0);
}

}  // namespace router::nats_adapter
