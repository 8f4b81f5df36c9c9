// RateLimiter: POL §7 token buckets; POL §12 scenario 28 and issue #5 rate-limit acceptance
// (exact arithmetic on a FakeClock).

#include "core/rate_limiter.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <latch>
#include <string>
#include <thread>
#include <vector>

#include "support/fake_clock.h"

namespace router::core {
namespace {

using namespace std::chrono_literals;

RateKey PolicyKey(std::string_view tenant, std::string_view policy) {
  return RateKey{RateScope::kPolicy, tenant, policy};
}

// POL §12 scenario 28: rps 10, burst 5, 6 at once -> 5 pass, the 6th gets 100 ms; after
// 100 ms exactly one more passes.
TEST(RateLimiterTest, Scenario28BurstThenExactRetryAfter) {
  testing::FakeClock clock;
  RateLimiter limiter(clock);
  const RateLimitParams params{10, 5};
  for (int i = 0; i < 5; ++i) EXPECT_TRUE(limiter.Check(PolicyKey("t", "p1"), params).allowed);
  RateDecision sixth = limiter.Check(PolicyKey("t", "p1"), params);
  EXPECT_FALSE(sixth.allowed);
  EXPECT_EQ(sixth.retry_after_ms, 100);
  clock.Advance(100ms);
  EXPECT_TRUE(limiter.Check(PolicyKey("t", "p1"), params).allowed);
  EXPECT_FALSE(limiter.Check(PolicyKey("t", "p1"), params).allowed);
}

// POL §12 scenario 28: 10 concurrent threads on a fresh bucket get exactly 5 passes.
TEST(RateLimiterTest, Scenario28ConcurrentChecksOnAFreshBucket) {
  for (int round = 0; round < 20; ++round) {
    testing::FakeClock clock;
    RateLimiter limiter(clock);
    std::latch start(10);
    std::atomic<int> allowed{0};
    std::vector<std::thread> threads;
    for (int i = 0; i < 10; ++i) {
      threads.emplace_back([&] {
        start.arrive_and_wait();
        if (limiter.Check(PolicyKey("t", "p"), {10, 5}).allowed) allowed.fetch_add(1);
      });
    }
    for (auto& t : threads) t.join();
    EXPECT_EQ(allowed.load(), 5);
  }
}

// POL §12 scenario 28: (t, p1) and (t, p2) are independent; the tenant scope is separate too.
TEST(RateLimiterTest, Scenario28BucketsAreIndependent) {
  testing::FakeClock clock;
  RateLimiter limiter(clock);
  EXPECT_TRUE(limiter.Check(PolicyKey("t", "p1"), {1, 1}).allowed);
  EXPECT_FALSE(limiter.Check(PolicyKey("t", "p1"), {1, 1}).allowed);
  EXPECT_TRUE(limiter.Check(PolicyKey("t", "p2"), {1, 1}).allowed);
  EXPECT_TRUE(limiter.Check(PolicyKey("u", "p1"), {1, 1}).allowed);
  EXPECT_TRUE(limiter.Check(RateKey{RateScope::kTenant, "t", ""}, {1, 1}).allowed);
  EXPECT_EQ(limiter.Size(RateScope::kPolicy), 3u);
  EXPECT_EQ(limiter.Size(RateScope::kTenant), 1u);
}

// POL §12 scenario 28 / POL §7 parameter changes: a new burst applies at the next check,
// without a reset: refill at the old rate up to now, then clamp to the new burst.
TEST(RateLimiterTest, Scenario28NewBurstAppliesWithoutReset) {
  testing::FakeClock clock;
  RateLimiter limiter(clock);
  for (int i = 0; i < 5; ++i) EXPECT_TRUE(limiter.Check(PolicyKey("t", "p"), {10, 5}).allowed);
  clock.Advance(10s);  // refilled to the old burst, 5
  int passed = 0;
  while (limiter.Check(PolicyKey("t", "p"), {10, 2}).allowed) ++passed;
  EXPECT_EQ(passed, 2);  // clamped to the new burst
  // Raising the burst does not add tokens; the refill goes up to the new cap.
  EXPECT_FALSE(limiter.Check(PolicyKey("t", "p"), {10, 20}).allowed);
  clock.Advance(10s);
  passed = 0;
  while (limiter.Check(PolicyKey("t", "p"), {10, 20}).allowed) ++passed;
  EXPECT_EQ(passed, 20);
}

// Issue #5 acceptance, exact arithmetic: rps 100, burst 50, requests every millisecond for
// 2 s admit 50 + 100 x elapsed.
TEST(RateLimiterTest, TwoSecondBurstAdmitsBurstPlusRateTimesElapsed) {
  testing::FakeClock clock;
  RateLimiter limiter(clock);
  int admitted = 0;
  for (int ms = 0; ms <= 2000; ++ms) {
    for (int i = 0; i < 3; ++i) {
      if (limiter.Check(PolicyKey("t", "p"), {100, 50}).allowed) ++admitted;
    }
    clock.Advance(1ms);
  }
  EXPECT_EQ(admitted, 50 + 100 * 2);
}

// Issue #5 acceptance: every rejection carries a retry-after that, when honoured, is admitted;
// it is also the earliest moment (one millisecond less is still refused).
TEST(RateLimiterTest, HonouredRetryAfterIsAdmittedAndIsTheEarliest) {
  for (double rps : {0.01, 0.3, 1.0, 3.0, 7.0, 100.0, 333.0, 1000.0, 1e6}) {
    SCOPED_TRACE(rps);
    testing::FakeClock clock;
    RateLimiter limiter(clock);
    const RateLimitParams params{rps, 3};
    int refusals = 0;
    for (int step = 0; step < 200 && refusals < 20; ++step) {
      RateDecision d = limiter.Check(PolicyKey("t", "p"), params);
      if (d.allowed) {
        if (step % 5 == 0) clock.Advance(std::chrono::microseconds(137 * (step % 7)));
        continue;
      }
      ++refusals;
      ASSERT_GE(d.retry_after_ms, 1);
      // The exact formula of POL §7.
      const int64_t expected =
          std::max<int64_t>(1, static_cast<int64_t>(std::ceil((1 - d.tokens) / rps * 1000 - 1e-9)));
      EXPECT_NEAR(static_cast<double>(d.retry_after_ms), static_cast<double>(expected), 1.0);
      if (d.retry_after_ms > 1) {
        clock.Advance(std::chrono::milliseconds(d.retry_after_ms - 1));
        ASSERT_FALSE(limiter.Peek(PolicyKey("t", "p"), params).allowed);
        clock.Advance(1ms);
      } else {
        clock.Advance(std::chrono::milliseconds(d.retry_after_ms));
      }
      ASSERT_TRUE(limiter.Check(PolicyKey("t", "p"), params).allowed);
    }
    EXPECT_GT(refusals, 0);
  }
}

// DryRun (POL §3.4): Peek consumes nothing and creates nothing.
TEST(RateLimiterTest, PeekConsumesNothing) {
  testing::FakeClock clock;
  RateLimiter limiter(clock);
  for (int i = 0; i < 10; ++i) EXPECT_TRUE(limiter.Peek(PolicyKey("t", "p"), {1, 1}).allowed);
  EXPECT_EQ(limiter.Size(RateScope::kPolicy), 0u);
  EXPECT_TRUE(limiter.Check(PolicyKey("t", "p"), {1, 1}).allowed);
  RateDecision peek = limiter.Peek(PolicyKey("t", "p"), {1, 1});
  EXPECT_FALSE(peek.allowed);
  EXPECT_EQ(peek.retry_after_ms, 1000);
  clock.Advance(1s);
  EXPECT_TRUE(limiter.Peek(PolicyKey("t", "p"), {1, 1}).allowed);
  EXPECT_TRUE(limiter.Check(PolicyKey("t", "p"), {1, 1}).allowed);
}

// POL §7 bounds: at the cap the least recently used bucket is evicted and counted.
TEST(RateLimiterTest, CapEvictsTheLeastRecentlyUsedBucket) {
  testing::FakeClock clock;
  RateLimiter limiter(clock, /*max_buckets=*/2, /*shards=*/1);
  EXPECT_TRUE(limiter.Check(PolicyKey("t", "a"), {1, 1}).allowed);
  EXPECT_TRUE(limiter.Check(PolicyKey("t", "b"), {1, 1}).allowed);
  EXPECT_FALSE(limiter.Check(PolicyKey("t", "a"), {1, 1}).allowed);  // a is now most recent
  EXPECT_TRUE(limiter.Check(PolicyKey("t", "c"), {1, 1}).allowed);   // evicts b
  EXPECT_EQ(limiter.evictions(), 1u);
  EXPECT_EQ(limiter.Size(RateScope::kPolicy), 2u);
  EXPECT_FALSE(limiter.Check(PolicyKey("t", "a"), {1, 1}).allowed);  // a kept its state
  EXPECT_TRUE(limiter.Check(PolicyKey("t", "b"), {1, 1}).allowed);   // b starts full again
}

// POL §7 bounds: the sweep evicts buckets idle for >= 60 s that are refilled to burst, and
// keeps the others.
TEST(RateLimiterTest, SweepEvictsOnlyIdleRefilledBuckets) {
  testing::FakeClock clock;
  RateLimiter limiter(clock, 100, 1);
  EXPECT_TRUE(limiter.Check(PolicyKey("t", "fast"), {10, 5}).allowed);
  EXPECT_TRUE(limiter.Check(PolicyKey("t", "slow"), {0.01, 1}).allowed);  // 100 s per token
  clock.Advance(59s);
  EXPECT_EQ(limiter.Sweep(), 0u);
  clock.Advance(1s);
  EXPECT_EQ(limiter.Sweep(), 1u);  // "fast" is full; "slow" still needs 40 s
  EXPECT_EQ(limiter.Size(RateScope::kPolicy), 1u);
  EXPECT_FALSE(limiter.Check(PolicyKey("t", "slow"), {0.01, 1}).allowed);
  EXPECT_EQ(limiter.evictions(), 0u);  // the sweep is not an LRU eviction
}

}  // namespace
}  // namespace router::core
