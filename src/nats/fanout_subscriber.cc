#include "nats/fanout_subscriber.h"

#include "service/correlation_store.h"
#include "service/outcome_service.h"

namespace router::nats_adapter {
namespace {

constexpr int64_t kDrainWaitMs = 2000;

std::string_view BodyOf(natsMsg* msg) {
  const char* data = natsMsg_GetData(msg);
  const int n = natsMsg_GetDataLength(msg);
  return std::string_view(data != nullptr ? data : "", n > 0 ? static_cast<size_t>(n) : 0);
}

}  // namespace

FanoutSubscriber::FanoutSubscriber(const config::Config& config, NatsConnection& connection,
                                   WorkerMetrics& metrics, const Clock& clock, LogSink log)
    : result_subject_(config.nats.jetstream.consumers.results.filter_subject),
      ack_subject_(config.nats.jetstream.consumers.acks.filter_subject),
      connection_(connection),
      metrics_(metrics),
      clock_(clock),
      log_(std::move(log)),
      result_parser_(config.nats.max_payload_bytes, config.tenants.allowlist),
      ack_parser_(config.nats.max_payload_bytes, config.tenants.allowlist) {}

FanoutSubscriber::~FanoutSubscriber() { Close(); }

absl::Status FanoutSubscriber::Subscribe() {
  if (Subscribed()) return absl::OkStatus();
  natsConnection* nc = connection_.raw();
  if (nc == nullptr) return absl::UnavailableError("no connection");
  if (result_sub_ == nullptr) {
    natsStatus s = natsConnection_Subscribe(&result_sub_, nc, result_subject_.c_str(),
                                            &FanoutSubscriber::OnResultMsg, this);
    if (s != NATS_OK) {
      result_sub_ = nullptr;
      return NatsError(s, "fan-out subscribe " + result_subject_);
    }
    // A slow fan-out must never block the connection: unlimited pending, drops counted.
    (void)natsSubscription_SetPendingLimits(result_sub_, -1, -1);
  }
  if (ack_sub_ == nullptr) {
    natsStatus s = natsConnection_Subscribe(&ack_sub_, nc, ack_subject_.c_str(),
                                            &FanoutSubscriber::OnAckMsg, this);
    if (s != NATS_OK) {
      ack_sub_ = nullptr;
      return NatsError(s, "fan-out subscribe " + ack_subject_);
    }
    (void)natsSubscription_SetPendingLimits(ack_sub_, -1, -1);
  }
  subscribed_.store(true, std::memory_order_release);
  return absl::OkStatus();
}

void FanoutSubscriber::Close() {
  subscribed_.store(false, std::memory_order_release);
  for (natsSubscription** sub : {&result_sub_, &ack_sub_}) {
    if (*sub == nullptr) continue;
    // Drain: no new messages, running callbacks complete, then the subscription is released.
    if (natsSubscription_Drain(*sub) == NATS_OK) {
      (void)natsSubscription_WaitForDrainCompletion(*sub, kDrainWaitMs);
    } else {
      (void)natsSubscription_Unsubscribe(*sub);
    }
    natsSubscription_Destroy(*sub);
    *sub = nullptr;
  }
}

void FanoutSubscriber::OnResultMsg(natsConnection*, natsSubscription*, natsMsg* msg,
                                   void* closure) noexcept {
  auto* self = static_cast<FanoutSubscriber*>(closure);
  try {
    self->HandleResult(BodyOf(msg), ReadWorkerHeaders(msg));
  } catch (...) {
    self->metrics_.Inc("router_fanout_invalid_total");
  }
  natsMsg_Destroy(msg);
}

void FanoutSubscriber::OnAckMsg(natsConnection*, natsSubscription*, natsMsg* msg,
                                void* closure) noexcept {
  auto* self = static_cast<FanoutSubscriber*>(closure);
  try {
    self->HandleAck(BodyOf(msg), ReadWorkerHeaders(msg));
  } catch (...) {
    self->metrics_.Inc("router_fanout_invalid_total");
  }
  natsMsg_Destroy(msg);
}

bool FanoutSubscriber::HandleResult(std::string_view body, const WorkerHeaders& headers) {
  const int64_t now = clock_.WallMs();
  ExecResult r;
  WorkerParse parse;
  if (!result_parser_.Parse(body, headers, now, &r, &parse)) {
    metrics_.Inc("router_fanout_invalid_total");
    return false;
  }
  if (dedup_.TestAndInsert("r\x1f" + r.DedupKey(), now)) return false;
  metrics_.Inc("router_fanout_outcomes_total");
  if (outcomes_ != nullptr) {
    service::OutcomeReport report;
    report.tenant_id = r.tenant_id;
    report.provider_id = r.provider_id;
    report.status = r.status;
    report.latency_ms = r.latency_ms.value_or(0);
    report.cost = r.cost.value_or(0);
    report.cost_present = r.cost.has_value();  // a reported 0 is a real cost (POL §8)
    report.error_code = r.error_code;
    report.error_type = r.error_type;  // used by the classification only without error_code
    report.source = "result";
    (void)outcomes_->Report(report);
  }
  if (correlation_ != nullptr && !r.assignment_id.empty()) {
    correlation_->OnResult(r.assignment_id, r.status, r.latency_ms.value_or(0), r.cost.value_or(0),
                           r.timestamp_ms, r.EffectiveErrorCode());
  }
  return true;
}

bool FanoutSubscriber::HandleAck(std::string_view body, const WorkerHeaders& headers) {
  const int64_t now = clock_.WallMs();
  ExecAck a;
  WorkerParse parse;
  if (!ack_parser_.Parse(body, headers, now, &a, &parse)) {
    metrics_.Inc("router_fanout_invalid_total");
    return false;
  }
  if (dedup_.TestAndInsert("a\x1f" + a.DedupKey(), now)) return false;
  metrics_.Inc("router_fanout_outcomes_total");
  if (correlation_ != nullptr) {
    correlation_->OnAck(a.assignment_id, a.status, a.message, a.acknowledged_at_ms);
  }
  return true;
}

}  // namespace router::nats_adapter
