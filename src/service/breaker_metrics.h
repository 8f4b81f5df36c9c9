#pragma once
// BreakerMetrics: records what the circuit breakers and provider statistics do (POL §6
// "Metrics", §8; observability.md §2.5 BRK rows and §5.2 breaker.* log events) into
// RouterMetrics and the process logger. It is the core::BreakerListener of the BreakerRegistry
// and is called by OutcomeService for outcomes and statistics.
//
// Families are resolved by name once at construction; a family that is not registered (metrics
// disabled in a test) is skipped. Series of a removed breaker or an evicted statistics record are
// removed from the exposition (OBS §2.1).
//
// Logs: breaker.opened (WARN, trigger reason and error rate), breaker.half_open and
// breaker.closed (INFO), all with tenant_id and provider_id.
//
// Thread-safety: thread-safe (the families are; this class holds only their pointers).

#include <cstdint>
#include <string_view>

#include "core/breaker_registry.h"
#include "core/provider_stats.h"
#include "obs/metrics/router_metrics.h"

namespace router::service {

class BreakerMetrics final : public core::BreakerListener {
 public:
  // `metrics` may be null (nothing is recorded; logs still are). Must outlive this object.
  explicit BreakerMetrics(obs::RouterMetrics* metrics);

  // core::BreakerListener
  void OnCreated(std::string_view tenant, std::string_view provider) override;
  void OnRemoved(std::string_view tenant, std::string_view provider) override;
  void OnTransition(std::string_view tenant, std::string_view provider,
                    const core::BreakerTransition& transition, int64_t wall_ms) override;
  void OnEvent(std::string_view tenant, std::string_view provider, std::string_view event_type,
               int count) override;
  void OnManual(std::string_view tenant, std::string_view provider,
                core::BreakerTarget target) override;
  void OnGauges(std::string_view tenant, std::string_view provider,
                const core::BreakerSnapshot& snapshot) override;
  void OnStateCounts(int64_t closed, int64_t open, int64_t half_open) override;

  // router_provider_outcomes_total{tenant_id,provider_id,status,source}.
  void OnOutcome(std::string_view tenant, std::string_view provider, std::string_view status,
                 std::string_view source);
  // router_provider_latency_ewma_seconds / router_provider_cost_ewma after an update.
  void OnStatistics(std::string_view tenant, std::string_view provider,
                    const core::StatsRecord& record);
  // A statistics record was evicted: its gauges leave the exposition.
  void OnStatisticsEvicted(std::string_view tenant, std::string_view provider);

 private:
  void SetState(std::string_view tenant, std::string_view provider, core::BreakerState state);

  obs::RouterMetrics* const metrics_;
  obs::GaugeFamily* state_ = nullptr;
  obs::CounterFamily* transitions_ = nullptr;
  obs::CounterFamily* triggers_ = nullptr;
  obs::CounterFamily* events_ = nullptr;
  obs::GaugeFamily* error_rate_ = nullptr;
  obs::GaugeFamily* window_requests_ = nullptr;
  obs::GaugeFamily* window_failures_ = nullptr;
  obs::GaugeFamily* timeout_remaining_ = nullptr;
  obs::GaugeFamily* last_transition_ = nullptr;
  obs::CounterFamily* timeout_transitions_ = nullptr;
  obs::CounterFamily* manual_ = nullptr;
  obs::GaugeFamily* breakers_ = nullptr;
  obs::CounterFamily* outcomes_ = nullptr;
  obs::GaugeFamily* latency_ewma_ = nullptr;
  obs::GaugeFamily* cost_ewma_ = nullptr;
};

}  // namespace router::service
