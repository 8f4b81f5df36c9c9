// BreakerRegistry (POL §6 identity, effective configuration, sweep, admin reset) and its use by
// the real Decider (POL §3.2 S1; POL §12 scenarios 13, 18, 23, 27, 31). FakeClock throughout.

#include "core/breaker_registry.h"

#include <gtest/gtest.h>

#include <atomic>
#include <latch>
#include <map>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "core/decider.h"
#include "core/random.h"
#include "core_test_util.h"
#include "policy/policy_compiler.h"
#include "support/fake_clock.h"

namespace router::core {
namespace {

using std::chrono::milliseconds;

// Records every listener call as text, e.g. "t/a transition closed->open
// failure_threshold_exceeded".
class RecordingListener final : public BreakerListener {
 public:
  void OnCreated(std::string_view t, std::string_view p) override { Add(t, p, "created"); }
  void OnRemoved(std::string_view t, std::string_view p) override { Add(t, p, "removed"); }
  void OnTransition(std::string_view t, std::string_view p, const BreakerTransition& tr,
                    int64_t) override {
    std::string s = "transition " + std::string(BreakerStateLabel(tr.from)) + "->" +
                    std::string(BreakerStateLabel(tr.to));
    if (tr.reason != TriggerReason::kNone) s += " " + std::string(TriggerReasonName(tr.reason));
    if (tr.cause == TransitionCause::kSweep) s += " (sweep)";
    if (tr.cause == TransitionCause::kLazy) s += " (lazy)";
    if (tr.cause == TransitionCause::kManual) s += " (manual)";
    Add(t, p, s);
  }
  void OnEvent(std::string_view t, std::string_view p, std::string_view e, int n) override {
    std::lock_guard<std::mutex> lock(mu_);
    events_[std::string(t) + "/" + std::string(p) + " " + std::string(e)] += n;
  }
  void OnManual(std::string_view t, std::string_view p, BreakerTarget) override {
    Add(t, p, "manual");
  }
  void OnGauges(std::string_view, std::string_view, const BreakerSnapshot&) override {}
  void OnStateCounts(int64_t c, int64_t o, int64_t h) override {
    std::lock_guard<std::mutex> lock(mu_);
    counts_ = {c, o, h};
  }

  std::vector<std::string> log() {
    std::lock_guard<std::mutex> lock(mu_);
    return log_;
  }
  int Events(const std::string& key) {
    std::lock_guard<std::mutex> lock(mu_);
    return events_[key];
  }
  std::vector<int64_t> counts() {
    std::lock_guard<std::mutex> lock(mu_);
    return counts_;
  }

 private:
  void Add(std::string_view t, std::string_view p, std::string s) {
    std::lock_guard<std::mutex> lock(mu_);
    log_.push_back(std::string(t) + "/" + std::string(p) + " " + s);
  }
  std::mutex mu_;
  std::vector<std::string> log_;
  std::map<std::string, int> events_;
  std::vector<int64_t> counts_;
};

class BreakerRegistryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ReseedThisThreadForTest(7);
    registry_.SetListener(&listener_);
  }
  void TearDown() override { SetGlobalSeed(0); }

  policy::CompiledPolicyPtr Put(std::string_view tenant, std::string_view policy_id,
                                std::string_view json) {
    auto compiled = policy::CompilePolicy(json, tenant, policy_id);
    EXPECT_TRUE(compiled.ok()) << compiled.status();
    snapshots_.Publish(WithUpsert(snapshots_.Load(), *compiled));
    return *compiled;
  }
  void Drop(std::string_view tenant, std::string_view policy_id) {
    snapshots_.Publish(WithRemoval(snapshots_.Load(), tenant, policy_id));
  }
  DecideResult Decide(const policy::CompiledPolicy& p, bool dry_run = false,
                      ExplainLevel explain = ExplainLevel::kNone) {
    DecideRequest req;
    req.policy = &p;
    req.context = &ctx_;
    req.dry_run = dry_run;
    req.explain = explain;
    return decider_.Decide(req);
  }
  std::optional<BreakerState> Fail(std::string_view t, std::string_view p, int n = 1) {
    std::optional<BreakerState> s;
    for (int i = 0; i < n; ++i) s = registry_.Record(t, p, BreakerInput::kFailure, 0);
    return s;
  }

  static constexpr std::string_view kTwo =
      R"({"providers":[{"name":"a","weight":70},{"name":"b","weight":30}],
          "circuit_breaker":{"enabled":true,"failure_threshold":3,"timeout_ms":1000,
                             "half_open_max_calls":3,"success_threshold":2},
          "fallbacks":[{"when":{"status":"circuit_breaker_open"},"retry":0,"to":"local"}]})";

  testing::FakeClock clock_;
  SnapshotHolder snapshots_;
  BreakerRegistry registry_{clock_, snapshots_};
  RecordingListener listener_;
  ProviderStats stats_{clock_};
  StickyTable sticky_{8, 1000};
  Decider decider_{clock_, registry_, stats_, sticky_};
  testutil::MapContext ctx_;
};

// POL §6: no breaker without an effective configuration; View never creates one.
TEST_F(BreakerRegistryTest, BreakersExistOnlyForConfiguredPairs) {
  Put("t", "p", R"({"providers":[{"name":"a","weight":1.0}]})");  // breaker disabled
  EXPECT_EQ(Fail("t", "a"), std::nullopt);
  EXPECT_EQ(registry_.size(), 0u);
  auto p = Put("t", "q", kTwo);
  policy::BreakerConfig c;
  EXPECT_EQ(registry_.View("t", "a", c).state, BreakerState::kClosed);
  EXPECT_EQ(registry_.size(), 0u);  // a decision or DryRun leaves no breaker behind
  EXPECT_EQ(Fail("t", "a"), BreakerState::kClosed);
  EXPECT_EQ(registry_.size(), 1u);
  EXPECT_EQ(Fail("other_tenant", "a"), std::nullopt);
  EXPECT_EQ(listener_.log(), std::vector<std::string>{"t/a created"});
  EXPECT_EQ(listener_.Events("t/a failure"), 1);
}

// POL §6: the effective configuration is the lowest policy_id that enables the breaker and names
// the provider; recomputed on publish.
TEST_F(BreakerRegistryTest, EffectiveConfigurationFollowsTheSnapshot) {
  Put("t", "z", R"({"providers":[{"name":"a","weight":1.0}],
                    "circuit_breaker":{"enabled":true,"failure_threshold":10}})");
  Put("t", "m", R"({"providers":[{"name":"a","weight":1.0}],
                    "circuit_breaker":{"enabled":true,"failure_threshold":2}})");
  EXPECT_EQ(Fail("t", "a"), BreakerState::kClosed);
  EXPECT_EQ(Fail("t", "a"), BreakerState::kOpen);  // "m" < "z": threshold 2
  registry_.Reset("t", "a", BreakerTarget::kClosed).IgnoreError();
  Drop("t", "m");
  EXPECT_EQ(Fail("t", "a", 9), BreakerState::kClosed);  // now "z": threshold 10
  EXPECT_EQ(Fail("t", "a"), BreakerState::kOpen);
  // The pair loses its configuration: the sweep removes the breaker.
  Drop("t", "z");
  registry_.Sweep();
  EXPECT_EQ(registry_.size(), 0u);
  EXPECT_EQ(listener_.log().back(), "t/a removed");
}

// POL §12.13 / grpc §13.14: an open provider is excluded as circuit_open (fail_fast counted);
// POL §12.18 / grpc §13.10: both open -> circuit_breaker_fallback to the rule target.
TEST_F(BreakerRegistryTest, DeciderExcludesOpenProvidersAndFallsBack) {
  auto p = Put("t", "p", kTwo);
  EXPECT_EQ(Fail("t", "a", 3), BreakerState::kOpen);
  for (int i = 0; i < 50; ++i) {
    DecideResult r = Decide(*p, false, ExplainLevel::kDetailed);
    ASSERT_TRUE(r.status.ok());
    EXPECT_EQ(r.provider, "b");
    ASSERT_EQ(r.excluded_count, 1u);
    EXPECT_EQ(r.excluded[0].provider, "a");
    EXPECT_EQ(ExclusionName(r.excluded[0].reason), "circuit_open");
  }
  EXPECT_EQ(listener_.Events("t/a fail_fast"), 50);
  EXPECT_EQ(Fail("t", "b", 3), BreakerState::kOpen);
  DecideResult r = Decide(*p);
  ASSERT_TRUE(r.status.ok());
  EXPECT_EQ(r.provider, "local");
  EXPECT_EQ(r.reason, Reason::kCircuitBreakerFallback);
}

// POL §12.23 through the decider: the sweep moves A to half-open after timeout_ms; 4 concurrent
// decisions on an A-only policy: 3 take slots, the 4th falls back (A half_open_full).
TEST_F(BreakerRegistryTest, HalfOpenProbesThroughTheDecider) {
  auto p = Put("t", "p", R"({"providers":[{"name":"a","weight":1.0}],
          "circuit_breaker":{"enabled":true,"failure_threshold":3,"timeout_ms":1000},
          "fallbacks":[{"when":{},"retry":0,"to":"local"}]})");
  Fail("t", "a", 3);
  clock_.Advance(milliseconds(1000));
  registry_.Sweep();
  auto log = listener_.log();
  EXPECT_EQ(log.back(), "t/a transition open->half_open timeout_elapsed (sweep)");
  EXPECT_EQ(listener_.counts(), (std::vector<int64_t>{0, 0, 1}));

  // DryRun takes no slot (POL §12.31).
  for (int i = 0; i < 10; ++i) EXPECT_EQ(Decide(*p, /*dry_run=*/true).provider, "a");

  std::latch start(4);
  std::atomic<int> on_a{0};
  std::atomic<int> fell_back{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 4; ++i) {
    threads.emplace_back([&] {
      ReseedThisThreadForTest(11);
      start.arrive_and_wait();
      DecideResult r = Decide(*p);
      if (r.provider == "a") on_a.fetch_add(1);
      if (r.provider == "local") fell_back.fetch_add(1);
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(on_a.load(), 3);
  EXPECT_EQ(fell_back.load(), 1);
  EXPECT_EQ(listener_.Events("t/a probe_admitted"), 3);
  // Two successes close it.
  EXPECT_EQ(registry_.Record("t", "a", BreakerInput::kSuccess, 10), BreakerState::kHalfOpen);
  EXPECT_EQ(registry_.Record("t", "a", BreakerInput::kSuccess, 10), BreakerState::kClosed);
  EXPECT_EQ(Decide(*p).provider, "a");
}

// POL §6 Admin operations / POL §12.27: forced open survives timeout_ms; reset clears; unknown
// pair NOT_FOUND with the exact text.
TEST_F(BreakerRegistryTest, AdminResetAndForce) {
  auto p = Put("t", "p", kTwo);
  auto missing = registry_.Reset("t", "nope", BreakerTarget::kClosed);
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(missing.status().message(), "no circuit breaker for provider \"nope\" of tenant \"t\"");

  // A configured pair without a breaker yet can be forced open.
  auto forced = registry_.Reset("t", "a", BreakerTarget::kOpen);
  ASSERT_TRUE(forced.ok()) << forced.status();
  EXPECT_TRUE(forced->forced_open);
  clock_.Advance(milliseconds(5000));
  registry_.Sweep();
  EXPECT_EQ(Decide(*p).provider, "b");
  auto listed = registry_.List("t", "");
  ASSERT_EQ(listed.size(), 1u);
  EXPECT_EQ(listed[0].snapshot.state, BreakerState::kOpen);

  Fail("t", "b", 2);
  auto closed = registry_.Reset("t", "a", BreakerTarget::kClosed);
  ASSERT_TRUE(closed.ok());
  EXPECT_EQ(closed->state, BreakerState::kClosed);
  EXPECT_FALSE(closed->forced_open);
  listed = registry_.List("t", "");
  ASSERT_EQ(listed.size(), 2u);  // sorted by provider
  EXPECT_EQ(listed[0].provider, "a");
  EXPECT_EQ(listed[1].provider, "b");
  EXPECT_EQ(listed[1].snapshot.consecutive_failures, 2);
  EXPECT_EQ(registry_.List("t", "b").size(), 1u);
  EXPECT_EQ(registry_.List("t", "zz").size(), 0u);
  EXPECT_EQ(registry_.List("u", "").size(), 0u);
}

// GetCircuitBreakerStates applies a due transition (lazy) at read time.
TEST_F(BreakerRegistryTest, ListAppliesDueTransition) {
  Put("t", "p", kTwo);
  Fail("t", "a", 3);
  auto listed = registry_.List("t", "a");
  ASSERT_EQ(listed.size(), 1u);
  EXPECT_EQ(listed[0].snapshot.state, BreakerState::kOpen);
  EXPECT_EQ(listed[0].snapshot.open_remaining_ms, 1000);
  EXPECT_EQ(TriggerReasonName(listed[0].snapshot.last_trigger), "failure_threshold_exceeded");
  clock_.Advance(milliseconds(1000));
  listed = registry_.List("t", "a");
  EXPECT_EQ(listed[0].snapshot.state, BreakerState::kHalfOpen);
  EXPECT_EQ(listener_.log().back(), "t/a transition open->half_open timeout_elapsed (lazy)");
}

// POL §6 Bounds: closed breakers idle for an hour are evicted; open ones never.
TEST_F(BreakerRegistryTest, IdleClosedBreakersAreEvicted) {
  Put("t", "p", kTwo);
  Fail("t", "a", 1);
  Fail("t", "b", 3);
  registry_.Reset("t", "b", BreakerTarget::kOpen).IgnoreError();
  clock_.Advance(std::chrono::hours(2));
  registry_.Sweep();
  EXPECT_EQ(registry_.size(), 1u);
  EXPECT_EQ(registry_.List("t", "b").size(), 1u);
}

// ---------------------------------------------------------------- statistics (POL §8)

// POL §12.33: successes at 400, 500 and 600 ms (alpha 0.2) -> 456 (400 -> 420 -> 456).
TEST(ProviderStatsTest, Scenario33ExpectedLatency) {
  testing::FakeClock clock;
  ProviderStats stats(clock);
  EXPECT_FALSE(stats.Get("t", "a").latency_ms.has_value());
  stats.RecordSuccess("t", "a", 400, std::nullopt);
  stats.RecordSuccess("t", "a", 500, std::nullopt);
  EXPECT_FALSE(stats.Get("t", "a").latency_ms.has_value());  // 2 < min_samples 3
  stats.RecordSuccess("t", "a", 600, std::nullopt);
  ASSERT_TRUE(stats.Get("t", "a").latency_ms.has_value());
  EXPECT_EQ(std::llround(*stats.Get("t", "a").latency_ms), 456);
  EXPECT_FALSE(stats.Get("t", "a").cost.has_value());
  EXPECT_FALSE(stats.Get("u", "a").latency_ms.has_value());  // per tenant
  // Stale after max_age_s (300 s): reverts to declared / unknown.
  clock.Advance(std::chrono::seconds(301));
  EXPECT_FALSE(stats.Get("t", "a").latency_ms.has_value());
  ASSERT_TRUE(stats.Raw("t", "a").has_value());
  EXPECT_NEAR(*stats.Raw("t", "a")->latency_ewma_ms, 456, 1e-9);
}

// Latency 0 means "not measured"; cost updates only when present.
TEST(ProviderStatsTest, ZeroLatencyAndAbsentCostDoNotUpdate) {
  testing::FakeClock clock;
  ProviderStats stats(clock, StatsOptions{.ewma_alpha = 0.5, .min_samples = 1});
  stats.RecordSuccess("t", "a", 0, std::nullopt);
  EXPECT_EQ(stats.size(), 0u);
  stats.RecordSuccess("t", "a", 0, 0.0);
  EXPECT_EQ(stats.Get("t", "a").cost, 0.0);
  EXPECT_FALSE(stats.Get("t", "a").latency_ms.has_value());
  stats.RecordSuccess("t", "a", 100, 1.0);
  EXPECT_EQ(stats.Get("t", "a").cost, 0.5);
  EXPECT_EQ(stats.Get("t", "a").latency_ms, 100.0);
}

// Issue #5: after 1,000 outcomes with known latencies, expected_latency_ms is within 5 % of the
// EWMA computed here.
TEST(ProviderStatsTest, ThousandOutcomesMatchTheTestsEwma) {
  testing::FakeClock clock;
  ProviderStats stats(clock);
  std::mt19937 rng(5);
  double ewma = 0;
  for (int i = 0; i < 1000; ++i) {
    const int64_t latency = 50 + static_cast<int64_t>(rng() % 951);
    ewma = i == 0 ? static_cast<double>(latency) : 0.2 * latency + 0.8 * ewma;
    stats.RecordSuccess("t", "a", latency, std::nullopt);
    clock.Advance(milliseconds(10));
  }
  const auto got = stats.Get("t", "a").latency_ms;
  ASSERT_TRUE(got.has_value());
  EXPECT_NEAR(*got, ewma, ewma * 0.05);
  EXPECT_NEAR(*got, ewma, 1e-6);  // in fact exact up to rounding
}

// Issue #5: least_latency picks the fastest candidate >= 95 % of the time, fed by live outcomes.
TEST_F(BreakerRegistryTest, LeastLatencyPicksTheFastestFromLiveStatistics) {
  auto p = Put("t", "p", R"({"providers":[{"name":"slow","weight":40},{"name":"fast","weight":20},
          {"name":"mid","weight":40}],"selection":{"strategy":"least_latency","tie_tolerance":0.1}})");
  std::mt19937 rng(3);
  for (int i = 0; i < 300; ++i) {
    stats_.RecordSuccess("t", "slow", 900 + static_cast<int64_t>(rng() % 100), std::nullopt);
    stats_.RecordSuccess("t", "mid", 600 + static_cast<int64_t>(rng() % 100), std::nullopt);
    stats_.RecordSuccess("t", "fast", 300 + static_cast<int64_t>(rng() % 100), std::nullopt);
  }
  int fast = 0;
  constexpr int kN = 10'000;
  for (int i = 0; i < kN; ++i) {
    DecideResult r = Decide(*p);
    ASSERT_TRUE(r.status.ok());
    if (r.provider == "fast") {
      ++fast;
      EXPECT_EQ(r.reason, Reason::kBestScore);
      EXPECT_NEAR(static_cast<double>(r.expected_latency_ms), *stats_.Get("t", "fast").latency_ms,
                  0.5);
    }
  }
  EXPECT_GE(fast, kN * 95 / 100);
}

}  // namespace
}  // namespace router::core
