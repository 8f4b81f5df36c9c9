// The decide path does not allocate when no explanation is requested (POL §3.3; RP §2.1 P2).
// This binary replaces the global operator new/delete with the counting versions of
// tests/support/alloc_counter.h; the counter is per thread, so only allocations made by the
// decisions under test are counted.
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "core/decider.h"
#include "core/random.h"
#include "core_test_util.h"
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

}  // namespace
}  // namespace router::core
