#include "nats/maxdeliver_advisory.h"

#include <simdjson.h>

#include <optional>

#include "nats/worker_dlq.h"
#include "nats/worker_message.h"

namespace router::nats_adapter {
namespace {

constexpr int kDlqAttempts = 3;
constexpr int64_t kDrainWaitMs = 2000;

}  // namespace

std::string MaxDeliveriesAdvisorySubject(std::string_view stream, std::string_view durable) {
  return "$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES." + std::string(stream) + "." +
         std::string(durable);
}

MaxDeliverAdvisory::MaxDeliverAdvisory(const config::Config& config, NatsConnection& connection,
                                       WorkerMetrics& metrics, const Clock& clock, LogSink log)
    : results_{config.nats.jetstream.streams.results.name,
               config.nats.jetstream.consumers.results.durable,
               config.nats.jetstream.consumers.results.filter_subject, "results"},
      acks_{config.nats.jetstream.streams.acks.name, config.nats.jetstream.consumers.acks.durable,
            config.nats.jetstream.consumers.acks.filter_subject, "acks"},
      include_payload_(config.nats.dlq.include_payload),
      api_timeout_ms_(config.nats.jetstream.api_timeout_ms),
      node_id_(config.node_id),
      connection_(connection),
      metrics_(metrics),
      clock_(clock),
      log_(std::move(log)) {}

MaxDeliverAdvisory::~MaxDeliverAdvisory() { Close(); }

absl::Status MaxDeliverAdvisory::Subscribe() {
  if (Subscribed()) return absl::OkStatus();
  natsConnection* nc = connection_.raw();
  if (nc == nullptr) return absl::UnavailableError("no connection");
  const Source* sources[2] = {&results_, &acks_};
  for (int i = 0; i < 2; ++i) {
    if (subs_[i] != nullptr) continue;
    const std::string subject =
        MaxDeliveriesAdvisorySubject(sources[i]->stream, sources[i]->durable);
    natsStatus s = natsConnection_QueueSubscribe(
        &subs_[i], nc, subject.c_str(), kAdvisoryQueueGroup, &MaxDeliverAdvisory::OnMsg, this);
    if (s != NATS_OK) {
      subs_[i] = nullptr;
      return NatsError(s, "advisory subscribe " + subject);
    }
  }
  subscribed_.store(true, std::memory_order_release);
  return absl::OkStatus();
}

void MaxDeliverAdvisory::Close() {
  subscribed_.store(false, std::memory_order_release);
  for (natsSubscription*& sub : subs_) {
    if (sub == nullptr) continue;
    if (natsSubscription_Drain(sub) == NATS_OK) {
      (void)natsSubscription_WaitForDrainCompletion(sub, kDrainWaitMs);
    } else {
      (void)natsSubscription_Unsubscribe(sub);
    }
    natsSubscription_Destroy(sub);
    sub = nullptr;
  }
}

void MaxDeliverAdvisory::OnMsg(natsConnection*, natsSubscription*, natsMsg* msg,
                               void* closure) noexcept {
  auto* self = static_cast<MaxDeliverAdvisory*>(closure);
  const char* data = natsMsg_GetData(msg);
  const int n = natsMsg_GetDataLength(msg);
  try {
    self->Handle(std::string_view(data != nullptr ? data : "", n > 0 ? static_cast<size_t>(n) : 0));
  } catch (...) {
  }
  natsMsg_Destroy(msg);
}

bool MaxDeliverAdvisory::Handle(std::string_view advisory_json) {
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  if (parser.parse(advisory_json.data(), advisory_json.size()).get(doc) != simdjson::SUCCESS) {
    return false;
  }
  std::string_view stream, consumer;
  uint64_t seq = 0;
  int64_t deliveries = 0;
  if (doc["stream"].get(stream) != simdjson::SUCCESS ||
      doc["consumer"].get(consumer) != simdjson::SUCCESS ||
      doc["stream_seq"].get(seq) != simdjson::SUCCESS) {
    return false;
  }
  if (doc["deliveries"].get(deliveries) != simdjson::SUCCESS) deliveries = 0;
  const Source* source = nullptr;
  for (const Source* s : {&results_, &acks_}) {
    if (s->stream == stream && s->durable == consumer) source = s;
  }
  jsCtx* js = connection_.jetstream();
  if (source == nullptr || js == nullptr) return false;

  natsMsg* raw = nullptr;
  jsErrCode err = static_cast<jsErrCode>(0);
  if (js_GetMsg(&raw, js, source->stream.c_str(), seq, nullptr, &err) != NATS_OK) {
    Log(log_, "WARN", "jetstream.consumer_error",
        "max-deliveries advisory for a message no longer stored",
        {{"stream", source->stream}, {"stream_seq", std::to_string(seq)}});
    return false;
  }
  NatsMsgPtr original(raw);
  const char* subject = natsMsg_GetSubject(original.get());
  const char* data = natsMsg_GetData(original.get());
  const int len = natsMsg_GetDataLength(original.get());
  const std::string body(data != nullptr ? data : "", len > 0 ? static_cast<size_t>(len) : 0);
  const WorkerHeaders headers = ReadWorkerHeaders(original.get());

  // The parsed original when it is a JSON object; tenant_id from the header, else the payload.
  std::optional<std::string> tenant = headers.tenant_id;
  bool json_object = false;
  simdjson::dom::parser body_parser;
  simdjson::dom::element body_doc;
  if (body_parser.parse(body).get(body_doc) == simdjson::SUCCESS && body_doc.is_object()) {
    json_object = true;
    std::string_view t;
    if (!tenant && body_doc["tenant_id"].get(t) == simdjson::SUCCESS) tenant = std::string(t);
  }
  MaxDeliverEnvelope e;
  // Both arms as views: a `const char*` / std::string ternary would build a temporary string
  // and leave the view dangling (found by ASan).
  e.original_subject =
      subject != nullptr ? std::string_view(subject) : std::string_view(source->subject);
  e.body = body;
  e.last_error = "ack_wait_expired";
  e.tenant_id = tenant ? &*tenant : nullptr;
  e.trace_id = headers.trace_id ? &*headers.trace_id : nullptr;
  e.source = {source->stream, source->durable, seq,
              static_cast<uint64_t>(deliveries > 0 ? deliveries : 0), headers.msg_id};
  e.include_payload = include_payload_ && json_object;
  e.timestamp_ms = clock_.WallMs();
  e.node_id = node_id_;
  const std::string envelope = BuildMaxDeliverEnvelope(e);
  const std::string dlq_subject = source->subject + ".dlq";
  auto dlq_headers = DlqHeaders("maxdeliver_exhausted", e.original_subject, e.source,
                                NonNatsHeaders(original.get()));
  metrics_.Inc("router_jetstream_maxdeliver_exhausted_total", {source->label});
  for (int attempt = 0; attempt < kDlqAttempts; ++attempt) {
    natsMsg* m = nullptr;
    if (natsMsg_Create(&m, dlq_subject.c_str(), nullptr, envelope.data(),
                       static_cast<int>(envelope.size())) != NATS_OK) {
      break;
    }
    NatsMsgPtr msg(m);
    for (const auto& [k, v] : dlq_headers) (void)natsMsgHeader_Add(m, k.c_str(), v.c_str());
    jsPubOptions opts;
    jsPubOptions_Init(&opts);
    opts.MaxWait = api_timeout_ms_;
    jsPubAck* ack = nullptr;
    err = static_cast<jsErrCode>(0);
    const natsStatus s = js_PublishMsg(&ack, js, m, &opts, &err);
    if (ack != nullptr) jsPubAck_Destroy(ack);
    if (s == NATS_OK) {
      metrics_.Inc("router_dlq_total", {source->label, "maxdeliver_exhausted"});
      return true;
    }
  }
  metrics_.Inc("router_dlq_publish_failed_total", {source->label});
  Log(log_, "ERROR", "dlq.publish_failed", "DLQ envelope not stored (max-deliveries advisory)",
      {{"subject", dlq_subject},
       {"reason", "maxdeliver_exhausted"},
       {"stream_seq", std::to_string(seq)}});
  return false;
}

}  // namespace router::nats_adapter
