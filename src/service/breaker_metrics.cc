#include "service/breaker_metrics.h"

#include <string>

#include "obs/logging/logger.h"
#include "obs/metrics/label_values.h"

namespace router::service {
namespace {

template <class F>
F* Find(obs::RouterMetrics* m, std::string_view name);

template <>
obs::GaugeFamily* Find(obs::RouterMetrics* m, std::string_view name) {
  return m != nullptr && m->registry ? m->registry->FindGauge(name) : nullptr;
}
template <>
obs::CounterFamily* Find(obs::RouterMetrics* m, std::string_view name) {
  return m != nullptr && m->registry ? m->registry->FindCounter(name) : nullptr;
}

std::string_view OperationName(core::BreakerTarget target) {
  switch (target) {
    case core::BreakerTarget::kHalfOpen:
      return "reset_half_open";
    case core::BreakerTarget::kOpen:
      return "force_open";
    case core::BreakerTarget::kClosed:
      break;
  }
  return "reset_closed";
}

constexpr core::BreakerState kStates[] = {core::BreakerState::kClosed, core::BreakerState::kOpen,
                                          core::BreakerState::kHalfOpen};

}  // namespace

BreakerMetrics::BreakerMetrics(obs::RouterMetrics* metrics)
    : metrics_(metrics),
      state_(Find<obs::GaugeFamily>(metrics, "router_circuit_breaker_state")),
      transitions_(
          Find<obs::CounterFamily>(metrics, "router_circuit_breaker_state_transitions_total")),
      triggers_(Find<obs::CounterFamily>(metrics, "router_circuit_breaker_trigger_reason_total")),
      events_(Find<obs::CounterFamily>(metrics, "router_circuit_breaker_events_total")),
      error_rate_(Find<obs::GaugeFamily>(metrics, "router_circuit_breaker_error_rate")),
      window_requests_(Find<obs::GaugeFamily>(metrics, "router_circuit_breaker_window_requests")),
      window_failures_(Find<obs::GaugeFamily>(metrics, "router_circuit_breaker_window_failures")),
      timeout_remaining_(
          Find<obs::GaugeFamily>(metrics, "router_circuit_breaker_timeout_remaining_seconds")),
      last_transition_(
          Find<obs::GaugeFamily>(metrics, "router_circuit_breaker_last_transition_timestamp")),
      timeout_transitions_(
          Find<obs::CounterFamily>(metrics, "router_circuit_breaker_timeout_transitions_total")),
      manual_(Find<obs::CounterFamily>(metrics, "router_circuit_breaker_manual_operations_total")),
      breakers_(Find<obs::GaugeFamily>(metrics, "router_circuit_breakers")),
      outcomes_(Find<obs::CounterFamily>(metrics, "router_provider_outcomes_total")),
      latency_ewma_(Find<obs::GaugeFamily>(metrics, "router_provider_latency_ewma_seconds")),
      cost_ewma_(Find<obs::GaugeFamily>(metrics, "router_provider_cost_ewma")) {}

void BreakerMetrics::SetState(std::string_view tenant, std::string_view provider,
                              core::BreakerState state) {
  if (state_ == nullptr) return;
  // All three series exist per breaker: 1 for the current state, 0 for the others.
  for (core::BreakerState s : kStates) {
    state_->Get({tenant, provider, core::BreakerStateLabel(s)}).Set(s == state ? 1 : 0);
  }
}

void BreakerMetrics::OnCreated(std::string_view tenant, std::string_view provider) {
  SetState(tenant, provider, core::BreakerState::kClosed);
  if (events_ != nullptr) {
    // Pre-create the breaker's event series at 0 so that rate() sees the first event.
    for (std::string_view e : obs::values::kBreakerEventType) {
      events_->Get({tenant, provider, e}).Inc(0);
    }
  }
}

void BreakerMetrics::OnRemoved(std::string_view tenant, std::string_view provider) {
  if (metrics_ == nullptr || !metrics_->registry) return;
  const obs::LabelMatch match[] = {{"tenant_id", tenant}, {"provider_id", provider}};
  for (obs::Family* f : std::initializer_list<obs::Family*>{
           state_, transitions_, triggers_, events_, error_rate_, window_requests_,
           window_failures_, timeout_remaining_, last_transition_, timeout_transitions_, manual_}) {
    if (f != nullptr) f->RemoveMatching(match);
  }
}

void BreakerMetrics::OnTransition(std::string_view tenant, std::string_view provider,
                                  const core::BreakerTransition& t, int64_t wall_ms) {
  SetState(tenant, provider, t.to);
  const std::string_view from = core::BreakerStateLabel(t.from);
  const std::string_view to = core::BreakerStateLabel(t.to);
  if (transitions_ != nullptr) transitions_->Get({tenant, provider, from, to}).Inc();
  if (triggers_ != nullptr && t.reason != core::TriggerReason::kNone) {
    triggers_->Get({tenant, provider, core::TriggerReasonName(t.reason)}).Inc();
  }
  if (timeout_transitions_ != nullptr && t.from == core::BreakerState::kOpen &&
      t.to == core::BreakerState::kHalfOpen && t.cause != core::TransitionCause::kManual) {
    timeout_transitions_
        ->Get({tenant, provider, t.cause == core::TransitionCause::kSweep ? "sweep" : "lazy"})
        .Inc();
  }
  if (last_transition_ != nullptr) {
    last_transition_->Get({tenant, provider}).Set(static_cast<double>(wall_ms) / 1000.0);
  }
  if (timeout_remaining_ != nullptr && t.to != core::BreakerState::kOpen) {
    timeout_remaining_->Get({tenant, provider}).Set(0);
  }

  obs::Logger& logger = obs::GlobalLogger();
  const std::string message = "circuit breaker " + std::string(from) + " -> " + std::string(to);
  if (t.to == core::BreakerState::kOpen) {
    logger.Warn("breaker", "breaker.opened", message)
        .TenantId(tenant)
        .Field("provider_id", provider)
        .Field("trigger_reason", t.reason == core::TriggerReason::kNone
                                     ? std::string_view("manual")
                                     : core::TriggerReasonName(t.reason));
  } else {
    logger
        .Info("breaker",
              t.to == core::BreakerState::kHalfOpen ? "breaker.half_open" : "breaker.closed",
              message)
        .TenantId(tenant)
        .Field("provider_id", provider)
        .Field("from", from);
  }
}

void BreakerMetrics::OnEvent(std::string_view tenant, std::string_view provider,
                             std::string_view event_type, int count) {
  if (events_ != nullptr && count > 0) {
    events_->Get({tenant, provider, event_type}).Inc(static_cast<uint64_t>(count));
  }
}

void BreakerMetrics::OnManual(std::string_view tenant, std::string_view provider,
                              core::BreakerTarget target) {
  if (manual_ != nullptr) manual_->Get({tenant, provider, OperationName(target)}).Inc();
}

void BreakerMetrics::OnGauges(std::string_view tenant, std::string_view provider,
                              const core::BreakerSnapshot& s) {
  SetState(tenant, provider, s.state);
  if (error_rate_ != nullptr) error_rate_->Get({tenant, provider}).Set(s.error_rate);
  if (window_requests_ != nullptr) {
    window_requests_->Get({tenant, provider}).Set(static_cast<double>(s.window_requests));
  }
  if (window_failures_ != nullptr) {
    window_failures_->Get({tenant, provider}).Set(static_cast<double>(s.window_failures));
  }
  if (timeout_remaining_ != nullptr) {
    timeout_remaining_->Get({tenant, provider})
        .Set(static_cast<double>(s.open_remaining_ms) / 1000.0);
  }
  if (last_transition_ != nullptr) {
    last_transition_->Get({tenant, provider})
        .Set(static_cast<double>(s.state_changed_at_wall_ms) / 1000.0);
  }
}

void BreakerMetrics::OnStateCounts(int64_t closed, int64_t open, int64_t half_open) {
  if (breakers_ == nullptr) return;
  breakers_->Get({"closed"}).Set(static_cast<double>(closed));
  breakers_->Get({"open"}).Set(static_cast<double>(open));
  breakers_->Get({"half_open"}).Set(static_cast<double>(half_open));
}

void BreakerMetrics::OnOutcome(std::string_view tenant, std::string_view provider,
                               std::string_view status, std::string_view source) {
  if (outcomes_ != nullptr) outcomes_->Get({tenant, provider, status, source}).Inc();
}

void BreakerMetrics::OnStatistics(std::string_view tenant, std::string_view provider,
                                  const core::StatsRecord& r) {
  if (latency_ewma_ != nullptr && r.latency_ewma_ms.has_value()) {
    latency_ewma_->Get({tenant, provider}).Set(*r.latency_ewma_ms / 1000.0);
  }
  if (cost_ewma_ != nullptr && r.cost_ewma.has_value()) {
    cost_ewma_->Get({tenant, provider}).Set(*r.cost_ewma);
  }
}

void BreakerMetrics::OnStatisticsEvicted(std::string_view tenant, std::string_view provider) {
  const obs::LabelMatch match[] = {{"tenant_id", tenant}, {"provider_id", provider}};
  if (latency_ewma_ != nullptr) latency_ewma_->RemoveMatching(match);
  if (cost_ewma_ != nullptr) cost_ewma_->RemoveMatching(match);
}

}  // namespace router::service
