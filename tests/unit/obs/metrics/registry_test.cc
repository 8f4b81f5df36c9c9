// Registry and families (observability.md §2.1, §2.2): validation, pre-initialisation, label
// sanitising, tenant budget, per-family cap and overflow counting, removal, concurrency.
#include "obs/metrics/registry.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <latch>
#include <string>
#include <thread>
#include <vector>

#include "support/fake_clock.h"

namespace router::obs {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

constexpr std::string_view kTransport[] = {"grpc", "nats"};
constexpr std::string_view kOutcome[] = {"ok", "internal", "overloaded"};
constexpr std::string_view kReason[] = {"sticky", "weighted"};
constexpr std::string_view kPath[] = {"/metrics", "other"};

const LabelDef kTenant{"tenant_id", LabelClass::kTenant, {}};
const LabelDef kPolicy{"policy_id", LabelClass::kOpen, {}};

MetricDef CounterDef(std::string_view name, std::vector<LabelDef> labels) {
  return {name, MetricType::kCounter, "Help.", std::move(labels)};
}

class RegistryTest : public ::testing::Test {
 protected:
  RegistryTest() { Rebuild(RegistryOptions{}); }

  void Rebuild(RegistryOptions options) {
    options.clock = &clock_;
    options.on_cardinality_overflow = [this](std::string_view metric) {
      overflow_reports_.emplace_back(metric);
    };
    registry_ = std::make_unique<Registry>(std::move(options));
    overflow_ = *registry_->AddCounter(CounterDef("router_metrics_series_overflow_total",
                                                  {{"metric", LabelClass::kFamilyName, {}}}));
    series_ = *registry_->AddGauge({"router_metrics_series",
                                    MetricType::kGauge,
                                    "Series.",
                                    {{"metric", LabelClass::kFamilyName, {}}}});
    registry_->SetSelfMetrics({overflow_, series_, nullptr});
  }

  CounterFamily* Decisions() {
    return *registry_->AddCounter(CounterDef(
        "router_decisions_total", {kTenant, kPolicy, {"reason", LabelClass::kEnum, kReason}}));
  }

  uint64_t OverflowCount(std::string_view metric) { return overflow_->Resolve({metric}).Value(); }

  testing::FakeClock clock_;
  std::vector<std::string> overflow_reports_;
  std::unique_ptr<Registry> registry_;
  CounterFamily* overflow_ = nullptr;
  GaugeFamily* series_ = nullptr;
};

// OBS §2.2 rule 6, §3: names, labels, _total, histogram rules.
TEST_F(RegistryTest, RejectsInvalidDefinitions) {
  auto code = [&](const MetricDef& def) { return registry_->Add(def).status().code(); };
  EXPECT_EQ(code(CounterDef("requests", {})), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(code(CounterDef("9bad_total", {})), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(code(CounterDef("bad-name_total", {})), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(code({"gauge_total", MetricType::kGauge, "H.", {}}),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(code({"x_total", MetricType::kCounter, "", {}}), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(code(CounterDef("x_total", {{"le", LabelClass::kEnum, kReason}})),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(code(CounterDef("x_total", {{"quantile", LabelClass::kEnum, kReason}})),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(code(CounterDef("x_total", {{"__x", LabelClass::kEnum, kReason}})),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(code(CounterDef("x_total", {{"Upper", LabelClass::kEnum, kReason}})),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(code(CounterDef("x_total", {kTenant, kTenant})), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(code(CounterDef("x_total", {{"reason", LabelClass::kEnum, {}}})),
            absl::StatusCode::kInvalidArgument);
  // OBS §2.2 rule 5: histograms carry enum labels only.
  EXPECT_EQ(code({"h_seconds", MetricType::kHistogram, "H.", {kTenant}, BucketLayout::kFast}),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(code({"h_seconds", MetricType::kHistogram, "H.", {}}),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(code({"g", MetricType::kGauge, "H.", {}, BucketLayout::kFast}),
            absl::StatusCode::kInvalidArgument);
  // Type mismatch and duplicates.
  EXPECT_EQ(registry_->AddGauge(CounterDef("x_total", {})).status().code(),
            absl::StatusCode::kInvalidArgument);
  ASSERT_TRUE(registry_->Add(CounterDef("x_total", {})).ok());
  EXPECT_EQ(code(CounterDef("x_total", {})), absl::StatusCode::kAlreadyExists);
}

// OBS §2.1: every combination of an all-enum family exists at 0 from startup.
TEST_F(RegistryTest, EnumFamiliesArePreinitialised) {
  ASSERT_TRUE(registry_
                  ->AddCounter(CounterDef("router_decide_requests_total",
                                          {{"transport", LabelClass::kEnum, kTransport},
                                           {"outcome", LabelClass::kEnum, kOutcome}}))
                  .ok());
  ASSERT_TRUE(registry_->AddGauge({"router_sticky_entries", MetricType::kGauge, "E.", {}}).ok());
  ASSERT_TRUE(registry_
                  ->AddHistogram({"router_decide_duration_seconds",
                                  MetricType::kHistogram,
                                  "D.",
                                  {{"transport", LabelClass::kEnum, kTransport}},
                                  BucketLayout::kFast})
                  .ok());
  const std::string text = registry_->Render();
  for (std::string_view t : kTransport) {
    for (std::string_view o : kOutcome) {
      EXPECT_THAT(text, HasSubstr("router_decide_requests_total{transport=\"" + std::string(t) +
                                  "\",outcome=\"" + std::string(o) + "\"} 0\n"));
    }
    EXPECT_THAT(text, HasSubstr("router_decide_duration_seconds_count{transport=\"" +
                                std::string(t) + "\"} 0\n"));
  }
  EXPECT_THAT(text, HasSubstr("\nrouter_sticky_entries 0\n"));
  EXPECT_THAT(text, Not(HasSubstr("other")));
  EXPECT_EQ(registry_->Find("router_decide_requests_total")->SeriesCount(), 6u);
}

// An explicit `other` in a set is a real value and is pre-initialised; the filter restricts
// pre-initialisation only.
TEST_F(RegistryTest, PreinitFilterAndExplicitOther) {
  MetricDef def = CounterDef("http_total", {{"path", LabelClass::kEnum, kPath},
                                            {"transport", LabelClass::kEnum, kTransport}});
  def.preinit_filter = [](std::span<const std::string_view> v) { return v[1] == "grpc"; };
  CounterFamily* family = *registry_->AddCounter(def);
  EXPECT_EQ(family->SeriesCount(), 2u);
  family->Get({"other", "nats"}).Inc();
  EXPECT_EQ(family->SeriesCount(), 3u);
  EXPECT_THAT(registry_->Render(), HasSubstr("http_total{path=\"other\",transport=\"nats\"} 1\n"));
}

// OBS §2.2: an enum value outside its set is a bug: assert in debug builds, `other` in release.
TEST_F(RegistryTest, UnknownEnumValueIsOtherInRelease) {
  CounterFamily* family = *registry_->AddCounter(
      CounterDef("router_decide_requests_total", {{"transport", LabelClass::kEnum, kTransport}}));
  EXPECT_DEBUG_DEATH(family->Get({"carrier-pigeon"}).Inc(), "outside its enum set");
#ifdef NDEBUG
  EXPECT_THAT(registry_->Render(),
              HasSubstr("router_decide_requests_total{transport=\"other\"} 1"));
#endif
  family->Get({"other"}).Inc();  // passing `other` itself is never a bug
}

// OBS §2.2 rule 2 in a family: long, invalid UTF-8 and control characters become `other`.
TEST_F(RegistryTest, OpenValuesAreSanitised) {
  CounterFamily* decisions = Decisions();
  decisions->Get({std::string(129, 't'), "p1", "sticky"}).Inc();
  decisions->Get({"t\xff", "p1", "sticky"}).Inc();
  decisions->Get({"t1", "p\n1", "sticky"}).Inc();
  decisions->Get({"t1", "p1", "sticky"}).Inc();
  const std::string text = registry_->Render();
  EXPECT_THAT(text, HasSubstr("router_decisions_total{tenant_id=\"other\",policy_id=\"p1\","
                              "reason=\"sticky\"} 2\n"));
  EXPECT_THAT(text, HasSubstr("router_decisions_total{tenant_id=\"t1\",policy_id=\"other\","
                              "reason=\"sticky\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("router_decisions_total{tenant_id=\"t1\",policy_id=\"p1\","
                              "reason=\"sticky\"} 1\n"));
  EXPECT_EQ(decisions->SeriesCount(), 3u);
}

// OBS §2.2 rule 3: the budget is global: a tenant is labelled in every family or in none.
TEST_F(RegistryTest, TenantBudgetIsGlobalAcrossFamilies) {
  RegistryOptions options;
  options.max_tenant_label_values = 2;
  Rebuild(options);
  CounterFamily* decisions = Decisions();
  CounterFamily* hits = *registry_->AddCounter(CounterDef("router_sticky_hits_total", {kTenant}));
  decisions->Get({"t1", "p", "sticky"}).Inc();
  hits->Get({"t2"}).Inc();
  hits->Get({"t3"}).Inc();                      // third tenant: over budget
  decisions->Get({"t3", "p", "sticky"}).Inc();  // so `other` here too
  hits->Get({"t1"}).Inc();                      // admitted in another family: labelled here
  const std::string text = registry_->Render();
  EXPECT_THAT(text, HasSubstr("router_sticky_hits_total{tenant_id=\"t1\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("router_sticky_hits_total{tenant_id=\"t2\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("router_sticky_hits_total{tenant_id=\"other\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("router_decisions_total{tenant_id=\"other\",policy_id=\"p\""));
  EXPECT_THAT(text, Not(HasSubstr("t3")));
  // Over-budget tenants are not an overflow: nothing is counted.
  EXPECT_EQ(OverflowCount("router_decisions_total"), 0u);
}

TEST_F(RegistryTest, TenantAllowlistAndOff) {
  RegistryOptions allow;
  allow.tenant_labels = TenantLabelMode::kAllowlist;
  allow.tenant_label_allowlist = {"gold"};
  Rebuild(allow);
  CounterFamily* hits = *registry_->AddCounter(CounterDef("router_sticky_hits_total", {kTenant}));
  hits->Get({"gold"}).Inc();
  hits->Get({"bronze"}).Inc();
  EXPECT_THAT(registry_->Render(), HasSubstr("router_sticky_hits_total{tenant_id=\"gold\"} 1\n"
                                             "router_sticky_hits_total{tenant_id=\"other\"} 1\n"));

  RegistryOptions off;
  off.tenant_labels = TenantLabelMode::kOff;
  Rebuild(off);
  hits = *registry_->AddCounter(CounterDef("router_sticky_hits_total", {kTenant}));
  hits->Get({"gold"}).Inc();
  hits->Get({"bronze"}).Inc();
  EXPECT_THAT(registry_->Render(), HasSubstr("router_sticky_hits_total{tenant_id=\"other\"} 2\n"));
  EXPECT_EQ(hits->SeriesCount(), 1u);
}

// OBS §2.2 rule 4: beyond max_series_per_metric a new series goes to the overflow series (open
// labels `other`, enum labels kept) and every redirected observation is counted.
TEST_F(RegistryTest, PerFamilyCapRedirectsAndCountsEveryObservation) {
  RegistryOptions options;
  options.max_series_per_metric = 3;
  Rebuild(options);
  CounterFamily* decisions = Decisions();
  EXPECT_EQ(OverflowCount("router_decisions_total"), 0u);  // pre-created at 0
  decisions->Get({"t1", "p1", "sticky"}).Inc();
  decisions->Get({"t1", "p2", "sticky"}).Inc();
  decisions->Get({"t2", "p1", "weighted"}).Inc();
  EXPECT_FALSE(decisions->Get({"t1", "p1", "sticky"}).redirected());
  const Counter& redirected = decisions->Get({"t3", "p9", "weighted"});
  EXPECT_TRUE(redirected.redirected());
  redirected.Inc(5);  // one observation
  decisions->Get({"t3", "p9", "weighted"}).Inc();
  decisions->Get({"t4", "p1", "sticky"}).Inc();
  decisions->Get({"t1", "p1", "sticky"}).Inc();  // existing series: still admitted
  EXPECT_EQ(OverflowCount("router_decisions_total"), 3u);
  const std::string text = registry_->Render();
  EXPECT_THAT(text, HasSubstr("router_decisions_total{tenant_id=\"other\",policy_id=\"other\","
                              "reason=\"weighted\"} 6\n"));
  EXPECT_THAT(text, HasSubstr("router_decisions_total{tenant_id=\"other\",policy_id=\"other\","
                              "reason=\"sticky\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("router_decisions_total{tenant_id=\"t1\",policy_id=\"p1\","
                              "reason=\"sticky\"} 2\n"));
  EXPECT_THAT(text, HasSubstr("router_metrics_series_overflow_total{metric="
                              "\"router_decisions_total\"} 3\n"));
  EXPECT_THAT(text, HasSubstr("router_metrics_series{metric=\"router_decisions_total\"} 5\n"));
  EXPECT_THAT(text, Not(HasSubstr("t3")));
}

// OBS §2.2 rule 4: the first overflow of a family is reported, then at most once per hour.
TEST_F(RegistryTest, OverflowIsReportedOncePerHour) {
  RegistryOptions options;
  options.max_series_per_metric = 1;
  Rebuild(options);
  CounterFamily* decisions = Decisions();
  decisions->Get({"t1", "p1", "sticky"}).Inc();
  EXPECT_TRUE(overflow_reports_.empty());
  decisions->Get({"t2", "p1", "sticky"}).Inc();
  decisions->Get({"t3", "p1", "sticky"}).Inc();
  registry_->Render();
  EXPECT_EQ(overflow_reports_, std::vector<std::string>{"router_decisions_total"});
  clock_.Advance(std::chrono::minutes(59));
  decisions->Get({"t2", "p1", "sticky"}).Inc();  // cached redirect: seen at the next scrape
  registry_->Render();
  EXPECT_EQ(overflow_reports_.size(), 1u);
  clock_.Advance(std::chrono::minutes(2));
  decisions->Get({"t2", "p1", "sticky"}).Inc();
  registry_->Render();
  EXPECT_EQ(overflow_reports_.size(), 2u);
  registry_->Render();  // nothing new
  EXPECT_EQ(overflow_reports_.size(), 2u);
}

// OBS §2.1: series of an entity that disappears are removed; cached handles re-resolve.
TEST_F(RegistryTest, RemovedSeriesLeaveTheExposition) {
  CounterFamily* decisions = Decisions();
  const Counter kept = decisions->Resolve({"t1", "p1", "sticky"});
  decisions->Get({"t1", "p1", "sticky"}).Inc(2);
  decisions->Get({"t2", "p1", "sticky"}).Inc();
  EXPECT_EQ(decisions->Remove({"t1", "p1", "sticky"}), 1u);
  EXPECT_EQ(decisions->Remove({"t1", "p1", "sticky"}), 0u);
  std::string text = registry_->Render();
  EXPECT_THAT(text, Not(HasSubstr("tenant_id=\"t1\"")));
  kept.Inc();  // safe: records into the detached series
  text = registry_->Render();
  EXPECT_THAT(text, Not(HasSubstr("tenant_id=\"t1\"")));
  // The same labels again: a new series from 0 (the per-thread cache noticed the removal).
  decisions->Get({"t1", "p1", "sticky"}).Inc();
  EXPECT_THAT(registry_->Render(), HasSubstr("router_decisions_total{tenant_id=\"t1\","
                                             "policy_id=\"p1\",reason=\"sticky\"} 1\n"));
}

// A tenant's last policy deleted: every family drops the tenant's series; `other` is shared
// and never removed; removal spends no tenant budget.
TEST_F(RegistryTest, RemoveMatchingAcrossFamilies) {
  RegistryOptions options;
  options.max_tenant_label_values = 2;
  Rebuild(options);
  CounterFamily* decisions = Decisions();
  CounterFamily* hits = *registry_->AddCounter(CounterDef("router_sticky_hits_total", {kTenant}));
  decisions->Get({"t1", "p1", "sticky"}).Inc();
  decisions->Get({"t1", "p2", "weighted"}).Inc();
  decisions->Get({"t2", "p1", "sticky"}).Inc();
  hits->Get({"t1"}).Inc();
  hits->Get({"t9"}).Inc();  // over budget: `other`
  EXPECT_EQ(registry_->RemoveMatching({{"tenant_id", "t1"}}), 3u);
  EXPECT_EQ(registry_->RemoveMatching({{"tenant_id", "t9"}}), 0u);
  EXPECT_EQ(registry_->RemoveMatching({{"tenant_id", "other"}}), 0u);
  EXPECT_EQ(registry_->RemoveMatching({{"tenant_id", "never-seen"}}), 0u);
  EXPECT_EQ(registry_->RemoveMatching({{"no_such_label", "x"}}), 0u);
  EXPECT_EQ(decisions->RemoveMatching({{"tenant_id", "t2"}, {"policy_id", "p2"}}), 0u);
  const std::string text = registry_->Render();
  EXPECT_THAT(text, Not(HasSubstr("\"t1\"")));
  EXPECT_THAT(text, HasSubstr("router_sticky_hits_total{tenant_id=\"other\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("tenant_id=\"t2\""));
  EXPECT_EQ(registry_->tenant_budget().LabelledCount(), 2u);
}

// Dense series: Remove hides and zeroes; resolving again shows the series from 0.
TEST_F(RegistryTest, RemovedEnumSeriesComeBackAtZero) {
  GaugeFamily* checks = *registry_->AddGauge(
      {"router_ready_check", MetricType::kGauge, "C.", {{"check", LabelClass::kEnum, kOutcome}}});
  checks->Get({"internal"}).Set(1);
  EXPECT_EQ(checks->Remove({"internal"}), 1u);
  EXPECT_EQ(checks->RemoveMatching({{"check", "overloaded"}}), 1u);
  EXPECT_EQ(checks->SeriesCount(), 1u);
  std::string text = registry_->Render();
  EXPECT_THAT(text, Not(HasSubstr("check=\"internal\"")));
  EXPECT_THAT(text, HasSubstr("router_ready_check{check=\"ok\"} 0\n"));
  EXPECT_THAT(text, HasSubstr("router_metrics_series{metric=\"router_ready_check\"} 1\n"));
  checks->Get({"internal"});
  EXPECT_THAT(registry_->Render(), HasSubstr("router_ready_check{check=\"internal\"} 0\n"));
}

TEST_F(RegistryTest, CallbacksComputeValuesAtScrape) {
  GaugeFamily* entries =
      *registry_->AddGauge({"router_sticky_entries", MetricType::kGauge, "E.", {}});
  CounterFamily* evictions = *registry_->AddCounter(
      CounterDef("router_sticky_evictions_total", {{"reason", LabelClass::kEnum, kReason}}));
  double size = 7;
  entries->SetCallback({}, [&size] { return size; });
  evictions->SetCallback({"sticky"}, [] { return 42.0; });
  int collected = 0;
  registry_->AddCollector([&] { size = 8 + collected++; });
  const std::string text = registry_->Render();
  EXPECT_THAT(text, HasSubstr("\nrouter_sticky_entries 8\n"));
  EXPECT_THAT(text, HasSubstr("router_sticky_evictions_total{reason=\"sticky\"} 42\n"));
  EXPECT_THAT(registry_->Render(), HasSubstr("\nrouter_sticky_entries 9\n"));
}

TEST_F(RegistryTest, ScrapeDurationIsObserved) {
  HistogramFamily* scrape = *registry_->AddHistogram({"router_metrics_scrape_duration_seconds",
                                                      MetricType::kHistogram,
                                                      "S.",
                                                      {},
                                                      BucketLayout::kFast});
  registry_->SetSelfMetrics({overflow_, series_, scrape});
  registry_->Render();
  registry_->Render();
  EXPECT_EQ(scrape->Get().Count(), 2u);
  EXPECT_THAT(registry_->Render(), HasSubstr("router_metrics_scrape_duration_seconds_count 2\n"));
}

TEST_F(RegistryTest, GaugeSetAddAndValue) {
  GaugeFamily* inflight = *registry_->AddGauge({"router_decide_inflight",
                                                MetricType::kGauge,
                                                "I.",
                                                {{"transport", LabelClass::kEnum, kTransport}}});
  const Gauge& g = inflight->Get({"grpc"});
  g.Inc();
  g.Inc();
  g.Dec();
  g.Add(0.5);
  EXPECT_DOUBLE_EQ(g.Value(), 1.5);
  g.Set(-4);
  EXPECT_THAT(registry_->Render(), HasSubstr("router_decide_inflight{transport=\"grpc\"} -4\n"));
  Gauge detached;
  detached.Set(1);  // no-op, no crash
  EXPECT_FALSE(detached.attached());
}

// OBS §2.1: lock-free recording sums exactly: 8 threads released together by a latch.
TEST_F(RegistryTest, ConcurrentRecordingFromEightThreadsSumsExactly) {
  constexpr int kThreads = 8;
  constexpr int kPerThread = 20000;
  CounterFamily* requests = *registry_->AddCounter(
      CounterDef("router_decide_requests_total", {{"transport", LabelClass::kEnum, kTransport}}));
  CounterFamily* decisions = Decisions();
  HistogramFamily* latency =
      *registry_->AddHistogram({"router_decide_duration_seconds",
                                MetricType::kHistogram,
                                "D.",
                                {{"transport", LabelClass::kEnum, kTransport}},
                                BucketLayout::kFast});
  GaugeFamily* inflight = *registry_->AddGauge({"router_decide_inflight",
                                                MetricType::kGauge,
                                                "I.",
                                                {{"transport", LabelClass::kEnum, kTransport}}});
  std::latch start(kThreads + 1);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      const std::string tenant = "t" + std::to_string(t % 3);
      start.arrive_and_wait();
      for (int i = 0; i < kPerThread; ++i) {
        inflight->Get({"grpc"}).Inc();
        requests->Get({"grpc"}).Inc();
        decisions->Get({tenant, "p1", i % 2 == 0 ? "sticky" : "weighted"}).Inc();
        latency->Get({"grpc"}).Observe(0.001);
        inflight->Get({"grpc"}).Dec();
      }
    });
  }
  start.arrive_and_wait();
  registry_->Render();  // a concurrent scrape must not disturb the counts
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(requests->Get({"grpc"}).Value(), uint64_t{kThreads} * kPerThread);
  uint64_t decided = 0;
  for (std::string_view tenant : {"t0", "t1", "t2"}) {
    for (std::string_view reason : kReason)
      decided += decisions->Get({tenant, "p1", reason}).Value();
  }
  EXPECT_EQ(decided, uint64_t{kThreads} * kPerThread);
  EXPECT_EQ(decisions->SeriesCount(), 6u);
  EXPECT_EQ(latency->Get({"grpc"}).Count(), uint64_t{kThreads} * kPerThread);
  EXPECT_NEAR(latency->Get({"grpc"}).Sum(), kThreads * kPerThread * 0.001, 1e-6);
  EXPECT_EQ(inflight->Get({"grpc"}).Value(), 0.0);
  EXPECT_THAT(registry_->Render(),
              HasSubstr("router_decide_requests_total{transport=\"grpc\"} 160000\n"));
}

// Resolution of the same new series from many threads at once creates exactly one series.
TEST_F(RegistryTest, ConcurrentFirstResolutionCreatesOneSeries) {
  constexpr int kThreads = 8;
  CounterFamily* decisions = Decisions();
  std::latch start(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      start.arrive_and_wait();
      for (int i = 0; i < 100; ++i) {
        decisions->Get({"t" + std::to_string(i), "p", "sticky"}).Inc();
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(decisions->SeriesCount(), 100u);
  EXPECT_EQ(decisions->Get({"t42", "p", "sticky"}).Value(), uint64_t{kThreads});
}

}  // namespace
}  // namespace router::obs
