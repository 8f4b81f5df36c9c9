// Metrics hot path and exposition cost (observability.md §2.1: < 50 ns per counter increment and
// per histogram observation; §3: render of 10,000 series < 5 ms, `metrics_render/10k`).
//
// Fixtures are built once per process (function-local statics), so a smoke run
// (`--benchmark_min_time=0.001`) starts fast. Multi-threaded variants record into the same series
// from every thread, the worst case for contention.
#include <benchmark/benchmark.h>

#include <memory>
#include <string>
#include <vector>

#include "obs/metrics/registry.h"
#include "obs/metrics/router_metrics.h"

namespace router::obs {
namespace {

RouterMetrics& Metrics() {
  static const std::unique_ptr<RouterMetrics> metrics = [] {
    auto created = RouterMetrics::Create({});
    if (!created.ok()) std::abort();
    return std::move(*created);
  }();
  return *metrics;
}

const std::vector<std::string>& Tenants() {
  static const std::vector<std::string> tenants = [] {
    std::vector<std::string> out;
    for (int i = 0; i < 200; ++i) out.push_back("tenant-" + std::to_string(i));
    return out;
  }();
  return tenants;
}

// Resolved counter handle: one relaxed add on this thread's stripe.
void CounterInc(benchmark::State& state) {
  static const Counter counter = Metrics().decide_requests->Resolve({"grpc", "ok"});
  for (auto _ : state) counter.Inc();
}

// Enum family lookup by label strings, then increment (what a handler does without caching).
void CounterGetInc(benchmark::State& state) {
  CounterFamily& family = *Metrics().decide_requests;
  for (auto _ : state) family.Get({"grpc", "no_provider_available"}).Inc();
}

void HistogramObserve(benchmark::State& state) {
  static const Histogram histogram = Metrics().decide_duration->Resolve({"grpc", "ok"});
  double v = 0.00001;
  for (auto _ : state) {
    histogram.Observe(v);
    v = v < 1 ? v * 1.7 : 0.00001;  // walk the buckets
  }
}

void HistogramGetObserve(benchmark::State& state) {
  HistogramFamily& family = *Metrics().decide_duration;
  for (auto _ : state) family.Get({"grpc", "ok"}).Observe(0.0004);
}

// router_decide_inflight: Inc at handler start, Dec at the end.
void GaugeIncDec(benchmark::State& state) {
  static const Gauge gauge = Metrics().decide_inflight->Resolve({"grpc"});
  for (auto _ : state) {
    gauge.Inc();
    gauge.Dec();
  }
  state.SetItemsProcessed(state.iterations() * 2);
}

// Label triples of the per-tenant benchmarks: 200 tenants x 5 policies x 2 reasons.
struct Triple {
  std::string_view tenant;
  std::string_view policy;
  std::string_view reason;
};
const std::vector<Triple>& Triples() {
  static const std::vector<std::string> policies = {"checkout", "search", "chat", "batch", "embed"};
  static const std::vector<Triple> triples = [] {
    std::vector<Triple> out;
    for (const std::string& tenant : Tenants()) {
      for (const std::string& policy : policies) {
        for (std::string_view reason : {"sticky", "weighted"})
          out.push_back({tenant, policy, reason});
      }
    }
    return out;
  }();
  return triples;
}

// Per-tenant series through the per-thread cache (2,000 distinct series in rotation).
void TenantLookupInc(benchmark::State& state) {
  CounterFamily& family = *Metrics().decisions;
  const std::vector<Triple>& triples = Triples();
  size_t i = 0;
  for (auto _ : state) {
    const Triple& t = triples[i];
    family.Get({t.tenant, t.policy, t.reason}).Inc();
    if (++i == triples.size()) i = 0;
  }
}

// One hot per-tenant series through the per-thread cache (best case: all in L1).
void TenantLookupIncHot(benchmark::State& state) {
  CounterFamily& family = *Metrics().decisions;
  const Triple& t = Triples().front();
  for (auto _ : state) family.Get({t.tenant, t.policy, t.reason}).Inc();
}

// The same lookups without the per-thread cache (family mutex + hash map), for comparison.
void TenantResolveInc(benchmark::State& state) {
  CounterFamily& family = *Metrics().decisions;
  const std::vector<Triple>& triples = Triples();
  size_t i = 0;
  for (auto _ : state) {
    const Triple& t = triples[i];
    family.Resolve({t.tenant, t.policy, t.reason}).Inc();
    if (++i == triples.size()) i = 0;
  }
}

// 10,000 series: two per-tenant counter families of 5,000 series (100 tenants x 50 policies).
Registry& TenThousandSeries() {
  static const std::unique_ptr<Registry> registry = [] {
    auto r = std::make_unique<Registry>(RegistryOptions{});
    constexpr std::string_view kReason[] = {"weighted"};
    for (std::string_view name : {"bench_decisions_total", "bench_selections_total"}) {
      CounterFamily* family = *r->AddCounter({name,
                                              MetricType::kCounter,
                                              "Bench.",
                                              {{"tenant_id", LabelClass::kTenant, {}},
                                               {"policy_id", LabelClass::kOpen, {}},
                                               {"reason", LabelClass::kEnum, kReason}}});
      for (int t = 0; t < 100; ++t) {
        for (int p = 0; p < 50; ++p) {
          family
              ->Resolve(
                  {Tenants()[static_cast<size_t>(t)], "policy-" + std::to_string(p), "weighted"})
              .Inc(static_cast<uint64_t>(t * 1000 + p));
        }
      }
    }
    return r;
  }();
  return *registry;
}

void Render10k(benchmark::State& state) {
  Registry& registry = TenThousandSeries();
  std::string buffer;
  for (auto _ : state) {
    registry.Render(buffer);
    benchmark::DoNotOptimize(buffer.data());
  }
  state.counters["bytes"] = static_cast<double>(buffer.size());
  state.SetItemsProcessed(state.iterations() * 10000);
}

// The default RouterMetrics exposition (pre-initialised enum families, histograms, process).
void RenderRouterDefault(benchmark::State& state) {
  RouterMetrics& metrics = Metrics();
  std::string buffer;
  for (auto _ : state) {
    metrics.Render(buffer);
    benchmark::DoNotOptimize(buffer.data());
  }
  state.counters["bytes"] = static_cast<double>(buffer.size());
}

const bool kRegistered = [] {
  benchmark::RegisterBenchmark("metrics_counter_inc", CounterInc)->Threads(1)->Threads(2);
  benchmark::RegisterBenchmark("metrics_counter_get_inc", CounterGetInc)->Threads(1)->Threads(2);
  benchmark::RegisterBenchmark("metrics_histogram_observe", HistogramObserve)
      ->Threads(1)
      ->Threads(2);
  benchmark::RegisterBenchmark("metrics_histogram_get_observe", HistogramGetObserve)
      ->Threads(1)
      ->Threads(2);
  benchmark::RegisterBenchmark("metrics_gauge_inc_dec", GaugeIncDec)->Threads(1)->Threads(2);
  benchmark::RegisterBenchmark("metrics_tenant_lookup_inc", TenantLookupInc)
      ->Threads(1)
      ->Threads(2);
  benchmark::RegisterBenchmark("metrics_tenant_lookup_inc/hot", TenantLookupIncHot)
      ->Threads(1)
      ->Threads(2);
  benchmark::RegisterBenchmark("metrics_tenant_resolve_inc", TenantResolveInc)
      ->Threads(1)
      ->Threads(2);
  benchmark::RegisterBenchmark("metrics_render/10k", Render10k)->Unit(benchmark::kMillisecond);
  benchmark::RegisterBenchmark("metrics_render/router_default", RenderRouterDefault)
      ->Unit(benchmark::kMicrosecond);
  return true;
}();

}  // namespace
}  // namespace router::obs

BENCHMARK_MAIN();
