#include "service/decide_telemetry.h"

#include "base/errors.h"
#include "obs/logging/logger.h"
#include "obs/tracing/span_names.h"
#include "service/request_context.h"

namespace router::service {
namespace {

std::string_view OutcomeLabel(const absl::Status& status, std::string& storage) {
  if (status.ok()) return "ok";
  storage = ErrorTag(status);
  return storage;
}

}  // namespace

std::string StatusMessage(const absl::Status& s) { return std::string(StdView(s.message())); }

std::string_view TransportName(Transport t) { return t == Transport::kNats ? "nats" : "grpc"; }

DecideTelemetry::DecideTelemetry(const Observability& obs, const Clock& clock, Transport transport,
                                 const obs::ExtractedTrace& trace)
    : obs_(obs),
      clock_(clock),
      transport_(transport),
      start_(clock.MonoNow()),
      parent_(trace.context) {
  if (obs_.tracer != nullptr) {
    span_ = obs_.tracer->StartSpan(
        obs::span_name::kDecide, parent_,
        transport == Transport::kNats ? obs::SpanKind::kConsumer : obs::SpanKind::kServer, start_);
    span_.SetAttribute(obs::span_attr::kTransport, TransportName(transport));
    if (transport == Transport::kGrpc) {
      span_.SetAttribute(obs::span_attr::kRpcSystem, obs::span_value::kGrpc);
      span_.SetAttribute(obs::span_attr::kRpcService, obs::span_value::kRouterService);
      span_.SetAttribute(obs::span_attr::kRpcMethod, "Decide");
    } else {
      span_.SetAttribute(obs::span_attr::kMessagingSystem, obs::span_value::kNats);
    }
  }
  if (obs_.metrics != nullptr) {
    obs_.metrics->decide_inflight->Get({TransportName(transport_)}).Inc();
  }
}

DecideTelemetry::~DecideTelemetry() {
  if (!finished_) {
    Finish(absl::InternalError("decide ended without an outcome"), "", "", 0, nullptr, "", "");
  }
}

DeferredDecideOutcome::~DeferredDecideOutcome() { Finish("internal"); }

void DeferredDecideOutcome::Finish(std::string_view outcome) {
  if (finished_.exchange(true) || metrics_ == nullptr) return;
  const std::string_view transport = TransportName(transport_);
  const double seconds = std::chrono::duration<double>(clock_.MonoNow() - start_).count();
  metrics_->decide_requests->Get({transport, outcome}).Inc();
  metrics_->decide_duration->Get({transport, outcome}).Observe(seconds);
  metrics_->decide_inflight->Get({transport}).Dec();
}

std::shared_ptr<DeferredDecideOutcome> DecideTelemetry::DeferOutcome() {
  if (obs_.metrics == nullptr || finished_) return nullptr;
  if (deferred_ == nullptr) {
    deferred_ = std::make_shared<DeferredDecideOutcome>(obs_.metrics, clock_, transport_, start_);
  }
  return deferred_;
}

std::string DecideTelemetry::TraceIdHex() const {
  if (obs_.tracer != nullptr) return span_.TraceIdHex();
  return parent_.trace_id.ToHex();
}

void DecideTelemetry::PolicyLookup(std::string_view policy_id, int64_t version, bool found) {
  if (obs_.tracer == nullptr || !obs_.tracer->internal_spans()) return;
  obs::Span s = obs_.tracer->StartSpan(obs::span_name::kPolicyLookup, span_.context(),
                                       obs::SpanKind::kInternal);
  s.SetAttribute(obs::span_attr::kPolicyId, policy_id);
  s.SetAttribute(obs::span_attr::kPolicyVersion, version);
  s.SetAttribute(obs::span_attr::kFound, found);
  s.End();
}

void DecideTelemetry::Selection(const core::DecideResult& result) {
  if (obs_.tracer == nullptr || !obs_.tracer->internal_spans()) return;
  obs::Span s = obs_.tracer->StartSpan(obs::span_name::kProviderSelect, span_.context(),
                                       obs::SpanKind::kInternal);
  s.SetAttribute(obs::span_attr::kExcluded, static_cast<int64_t>(result.excluded_count));
  if (result.status.ok()) {
    s.SetAttribute(obs::span_attr::kProviderId, result.provider);
    s.SetAttribute(obs::span_attr::kDecisionReason, core::ReasonName(result.reason));
    if (result.fallback_rule >= 0)
      s.SetAttribute(obs::span_attr::kFallbackRule, result.fallback_rule);
  }
  s.End();
}

void DecideTelemetry::Finish(const absl::Status& status, std::string_view tenant_id,
                             std::string_view policy_id, int64_t policy_version,
                             const core::DecideResult* result, std::string_view decision_id,
                             std::string_view correlation_id, const RequestContext* context) {
  if (finished_) return;
  finished_ = true;
  const MonoTime end = clock_.MonoNow();
  std::string tag_storage;
  const std::string_view outcome = OutcomeLabel(status, tag_storage);
  const std::string_view transport = TransportName(transport_);

  if (obs_.metrics != nullptr) {
    auto& m = *obs_.metrics;
    const double seconds = std::chrono::duration<double>(end - start_).count();
    if (deferred_ != nullptr && status.ok()) {
      // Counted when the reply is sent (DeferredDecideOutcome::Finish).
    } else {
      if (deferred_ != nullptr) deferred_->finished_.store(true);
      m.decide_requests->Get({transport, outcome}).Inc();
      m.decide_duration->Get({transport, outcome}).Observe(seconds);
      m.decide_inflight->Get({transport}).Dec();
    }
    if (status.ok() && result != nullptr) {
      const std::string_view reason = core::ReasonName(result->reason);
      m.decisions->Get({tenant_id, policy_id, reason}).Inc();
      m.provider_selections->Get({tenant_id, result->provider, reason}).Inc();
      switch (result->sticky) {
        case core::StickyOutcome::kHit:
          m.sticky_hits->Get({tenant_id}).Inc();
          break;
        case core::StickyOutcome::kMiss:
          m.sticky_misses->Get({tenant_id}).Inc();
          break;
        case core::StickyOutcome::kRepin:
          m.sticky_repins->Get({tenant_id, core::ExclusionName(result->repin_reason)}).Inc();
          break;
        case core::StickyOutcome::kOff:
          break;
      }
    }
  }

  obs::Logger& logger = obs::GlobalLogger();
  if (logger.Enabled(obs::LogLevel::kDebug)) {
    obs::LogBuilder b = logger.Debug("decide", status.ok() ? "decide.completed" : "decide.rejected",
                                     status.ok() ? "decision made" : StatusMessage(status));
    b.TenantId(tenant_id)
        .PolicyId(policy_id)
        .DecisionId(decision_id)
        .CorrelationId(correlation_id)
        .TraceId(TraceIdHex())
        .LatencyMs(std::chrono::duration_cast<std::chrono::milliseconds>(end - start_).count());
    if (policy_version > 0) b.PolicyVersion(policy_version);
    b.Field("transport", transport).Field("outcome", outcome);
    if (status.ok() && result != nullptr) {
      b.ProviderId(result->provider).Field("reason", core::ReasonName(result->reason));
    }
    if (context != nullptr) {
      std::vector<obs::LogField> entries;
      context->ForEach([&entries](std::string_view k, std::string_view v) {
        entries.push_back(obs::LogField{std::string(k), obs::LogValue(v)});
      });
      b.Field("request_context", obs::LogValue::Object(std::move(entries)));
    }
  }

  if (obs_.tracer != nullptr) {
    if (!tenant_id.empty()) span_.SetAttribute(obs::span_attr::kTenantId, tenant_id);
    if (!policy_id.empty()) span_.SetAttribute(obs::span_attr::kPolicyId, policy_id);
    if (policy_version > 0) span_.SetAttribute(obs::span_attr::kPolicyVersion, policy_version);
    if (!decision_id.empty()) span_.SetAttribute(obs::span_attr::kDecisionId, decision_id);
    if (!correlation_id.empty()) span_.SetAttribute(obs::span_attr::kCorrelationId, correlation_id);
    span_.SetAttribute(obs::span_attr::kDecideOutcome, outcome);
    if (result != nullptr) {
      span_.SetAttribute(obs::span_attr::kStickyResult, core::StickyOutcomeName(result->sticky));
      if (status.ok()) {
        span_.SetAttribute(obs::span_attr::kProviderId, result->provider);
        span_.SetAttribute(obs::span_attr::kDecisionReason, core::ReasonName(result->reason));
      }
    }
    obs::RecordGrpcStatus(span_, static_cast<int>(status.code()), outcome);
    span_.End();
  }
}

}  // namespace router::service
