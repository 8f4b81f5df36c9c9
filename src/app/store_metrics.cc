#include "app/store_metrics.h"

namespace router::app {

void WireStoreMetrics(obs::RouterMetrics& metrics, const service::IdempotencyStore& idempotency,
                      const service::CorrelationStore& correlation) {
  if (!metrics.registry) return;
  obs::Registry& r = *metrics.registry;
  const service::IdempotencyStore* idem = &idempotency;
  const service::CorrelationStore* corr = &correlation;
  using service::Transport;
  for (Transport t : {Transport::kGrpc, Transport::kNats}) {
    if (auto* c = r.FindCounter("router_idempotency_hits_total")) {
      c->SetCallback({service::TransportName(t)},
                     [idem, t] { return static_cast<double>(idem->Hits(t)); });
    }
    if (auto* c = r.FindCounter("router_idempotency_conflicts_total")) {
      c->SetCallback({service::TransportName(t)},
                     [idem, t] { return static_cast<double>(idem->Conflicts(t)); });
    }
  }
  if (auto* g = r.FindGauge("router_idempotency_entries")) {
    g->SetCallback({}, [idem] { return static_cast<double>(idem->Size()); });
  }
  if (auto* c = r.FindCounter("router_idempotency_evictions_total")) {
    c->SetCallback({"expired"}, [idem] { return static_cast<double>(idem->EvictedExpired()); });
    c->SetCallback({"capacity"}, [idem] { return static_cast<double>(idem->EvictedCapacity()); });
  }
  if (auto* g = r.FindGauge("router_correlation_entries")) {
    g->SetCallback({}, [corr] { return static_cast<double>(corr->Size()); });
  }
  if (auto* c = r.FindCounter("router_correlation_evictions_total")) {
    c->SetCallback({"expired"}, [corr] { return static_cast<double>(corr->EvictedExpired()); });
    c->SetCallback({"capacity"}, [corr] { return static_cast<double>(corr->EvictedCapacity()); });
  }
  if (auto* c = r.FindCounter("router_correlation_misses_total")) {
    for (const char* source : {"results", "acks", "admin"}) {
      c->SetCallback({source},
                     [corr, source] { return static_cast<double>(corr->Misses(source)); });
    }
  }
}

}  // namespace router::app
