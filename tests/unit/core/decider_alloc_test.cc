// The decide path does not allocate when no explanation is requested (POL §3.3; RP §2.1 P2).
// This binary replaces the global operator new/delete with the counting versions of
// tests/support/alloc_counter.h; the counter is per thread, so only allocations made by the
// decisions under test are counted.
#include <gtest/gtest.h>

#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "core/breaker_registry.h"
#include "core/decider.h"
#include "core/provider_stats.h"
#include "core/random.h"
#include "core/rate_limiter.h"
#include "core_test_util.h"
#include "policy/policy_compiler.h"
#include "support/alloc_counter.h"
#include "support/fake_clock.h"
#include "support/fake_provider_health.h"

ROUTER_DEFINE_COUNTING_ALLOCATOR();

namespace router::core {
namespace {

using testutil::MakePolicy;
using testutil::MapContext;
using testutil::Provider;
using testutil::Rule;

class DecideAllocationTest : public ::testing::Test {
 protected:
  // Allocations made by `n` decisions of `policy` over `contexts` (round robin).
  int64_t CountAllocations(const policy::CompiledPolicy& policy,
                           const std::vector<MapContext>& contexts, int n) {
    DecideRequest req;
    req.policy = &policy;
    int64_t failures = 0;
    const int64_t before = router::testing::ThreadAllocations();
    for (int i = 0; i < n; ++i) {
      req.context = &contexts[static_cast<size_t>(i) % contexts.size()];
      DecideResult r = decider_.Decide(req);
      failures += !r.status.ok();
    }
    const int64_t allocations = router::testing::ThreadAllocations() - before;
    EXPECT_EQ(failures, 0);
    return allocations;
  }

  router::testing::FakeClock clock_;
  router::testing::FakeProviderHealth health_;
  router::testing::FakeStatistics stats_;
  StickyTable sticky_{64, 1'000'000};
  Decider decider_{clock_, health_, stats_, sticky_};
};

TEST_F(DecideAllocationTest, CounterSeesAllocations) {
  const int64_t before = router::testing::ThreadAllocations();
  auto v = std::make_unique<std::vector<int>>(100);
  EXPECT_GE(router::testing::ThreadAllocations() - before, 2);
}

// The decide_core fixture: a/b/c 50/30/20, sticky 10m, breaker on; 1,000 sessions warmed up,
// then 100,000 sticky hits allocate nothing.
TEST_F(DecideAllocationTest, ZeroAllocSteadyState) {
  ReseedThisThreadForTest(1);
  auto p = MakePolicy("bench-0", "three_providers",
                      {Provider("a", 500000, 200), Provider("b", 300000), Provider("c", 200000)});
  p->sticky.enabled = true;
  p->sticky.ttl_seconds = 600;
  p->breaker.enabled = true;
  stats_.Set("b", 300, 0.01);
  std::vector<MapContext> contexts;
  for (int i = 0; i < 1000; ++i) {
    contexts.push_back(MapContext{{"session_id", "session-" + std::to_string(i)}});
  }
  CountAllocations(*p, contexts, 1000);  // warm-up: creates the pins
  EXPECT_EQ(CountAllocations(*p, contexts, 100'000), 0);
  EXPECT_EQ(sticky_.Size(), 1000u);
}

TEST_F(DecideAllocationTest, WeightedAndRetryPathsDoNotAllocate) {
  auto p =
      MakePolicy("bench-0", "p", {Provider("a", 500000), Provider("b", 300000), Provider("c", 0)},
                 {Rule(testutil::VarEq("status", "error"), 2, "d", 100, true)});
  p->breaker.enabled = true;
  health_.SetOpen("b");
  std::vector<MapContext> weighted = {MapContext{{"tier", "gold"}}};
  EXPECT_EQ(CountAllocations(*p, weighted, 10'000), 0);
  std::vector<MapContext> retry = {
      MapContext{{"status", "error"}, {"previous_provider", "a"}, {"attempt", "1"}}};
  EXPECT_EQ(CountAllocations(*p, retry, 10'000), 0);
  std::vector<MapContext> fallback = {
      MapContext{{"status", "error"}, {"previous_provider", "a"}, {"attempt", "2"}}};
  EXPECT_EQ(CountAllocations(*p, fallback, 10'000), 0);
}

// RP §2.1 P2 with the live seams instead of fakes: the decide_core fixture
// (bench/policies/three_providers.json, compiled), a live BreakerRegistry holding a closed
// breaker per provider, ProviderStats, and the policy token bucket checked before each decision
// (as the service's step 7). After a warm-up that creates the pins, 100,000 decisions allocate
// nothing.
TEST(DecideAllocationLiveSeamsTest, ZeroAllocSteadyState) {
  std::ifstream in(std::string(ROUTER_SOURCE_DIR) + "/bench/policies/three_providers.json");
  ASSERT_TRUE(in.good());
  std::stringstream json;
  json << in.rdbuf();
  auto compiled = policy::CompilePolicy(json.str(), "bench-0", "three_providers");
  ASSERT_TRUE(compiled.ok()) << compiled.status();
  const policy::CompiledPolicyPtr policy = *compiled;

  router::testing::FakeClock clock;
  SnapshotHolder snapshots(WithUpsert(nullptr, policy));
  BreakerRegistry breakers(clock, snapshots);
  ProviderStats stats(clock);
  RateLimiter limiter(clock);
  StickyTable sticky(64, 1'000'000);
  Decider decider(clock, breakers, stats, sticky);
  for (const char* provider : {"a", "b", "c"}) {
    breakers.Record("bench-0", provider, BreakerInput::kSuccess, 200);
  }
  ASSERT_EQ(breakers.List("bench-0", "").size(), 3u);

  std::vector<MapContext> contexts;
  for (int i = 0; i < 1000; ++i) {
    contexts.push_back(MapContext{{"tenant_id", "bench-0"},
                                  {"policy_id", "three_providers"},
                                  {"session_id", "session-" + std::to_string(i)}});
  }
  const RateKey key{RateScope::kPolicy, "bench-0", "three_providers"};
  const RateLimitParams params{policy->rate_limit.requests_per_second, policy->rate_limit.burst};
  int64_t failures = 0;
  auto run = [&](int n) {
    DecideRequest req;
    req.policy = policy.get();
    for (int i = 0; i < n; ++i) {
      req.context = &contexts[static_cast<size_t>(i) % contexts.size()];
      failures += !limiter.Check(key, params).allowed;
      failures += !decider.Decide(req).status.ok();
    }
  };
  run(1000);  // warm-up: pins, the token bucket, the breaker shards
  router::testing::ScopedAllocationCounter counter;
  run(100'000);
  EXPECT_EQ(counter.count(), 0);
  EXPECT_EQ(failures, 0);
  EXPECT_EQ(sticky.Size(), 1000u);
}

}  // namespace
}  // namespace router::core
