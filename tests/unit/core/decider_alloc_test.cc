// The decide path does not allocate when no explanation is requested (POL §3.3; RP §2.1 P2).
// This binary replaces the global operator new/delete with counting versions; the counter is
// per thread, so only allocations made by the decisions under test are counted.
#include <gtest/gtest.h>

#include <cstdlib>
#include <memory>
#include <new>
#include <string>
#include <vector>

#include "core/decider.h"
#include "core/random.h"
#include "core_test_util.h"
#include "support/fake_clock.h"
#include "support/fake_provider_health.h"

namespace {
thread_local int64_t t_allocations = 0;

void* CountedAlloc(std::size_t n) {
  ++t_allocations;
  void* p = std::malloc(n == 0 ? 1 : n);
  if (p == nullptr) std::abort();
  return p;
}
void* CountedAlignedAlloc(std::size_t n, std::align_val_t align) {
  ++t_allocations;
  const std::size_t a = static_cast<std::size_t>(align);
  void* p = std::aligned_alloc(a, (n + a - 1) / a * a);
  if (p == nullptr) std::abort();
  return p;
}
}  // namespace

void* operator new(std::size_t n) { return CountedAlloc(n); }
void* operator new[](std::size_t n) { return CountedAlloc(n); }
void* operator new(std::size_t n, std::align_val_t a) { return CountedAlignedAlloc(n, a); }
void* operator new[](std::size_t n, std::align_val_t a) { return CountedAlignedAlloc(n, a); }
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }
void operator delete(void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete(void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }

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
    const int64_t before = t_allocations;
    for (int i = 0; i < n; ++i) {
      req.context = &contexts[static_cast<size_t>(i) % contexts.size()];
      DecideResult r = decider_.Decide(req);
      failures += !r.status.ok();
    }
    const int64_t allocations = t_allocations - before;
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
  const int64_t before = t_allocations;
  auto v = std::make_unique<std::vector<int>>(100);
  EXPECT_GE(t_allocations - before, 2);
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
