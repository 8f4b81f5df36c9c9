// Backoff delays (POL §1.3).
#include "core/backoff.h"

#include <gtest/gtest.h>

#include "core/random.h"

namespace router::core {
namespace {

policy::Backoff Make(policy::BackoffStrategy strategy, int64_t base, int64_t max, bool jitter) {
  policy::Backoff b;
  b.strategy = strategy;
  b.base_ms = base;
  b.max_ms = max;
  b.jitter = jitter;
  return b;
}

TEST(BackoffTest, ExponentialDoublesPerRetry) {
  auto b = Make(policy::BackoffStrategy::kExponential, 100, 5000, false);
  EXPECT_EQ(BackoffMs(b, 1), 100);
  EXPECT_EQ(BackoffMs(b, 2), 200);
  EXPECT_EQ(BackoffMs(b, 3), 400);
  EXPECT_EQ(BackoffMs(b, 6), 3200);
  EXPECT_EQ(BackoffMs(b, 7), 5000);  // capped
  EXPECT_EQ(BackoffMs(b, 10), 5000);
}

TEST(BackoffTest, LinearAndFixed) {
  auto lin = Make(policy::BackoffStrategy::kLinear, 150, 1000, false);
  EXPECT_EQ(BackoffMs(lin, 1), 150);
  EXPECT_EQ(BackoffMs(lin, 3), 450);
  EXPECT_EQ(BackoffMs(lin, 7), 1000);
  auto fixed = Make(policy::BackoffStrategy::kFixed, 250, 5000, false);
  EXPECT_EQ(BackoffMs(fixed, 1), 250);
  EXPECT_EQ(BackoffMs(fixed, 9), 250);
}

// Cap is max(max_ms, base_ms).
TEST(BackoffTest, CapIsAtLeastBase) {
  auto b = Make(policy::BackoffStrategy::kFixed, 500, 100, true);
  for (int i = 0; i < 200; ++i) EXPECT_EQ(BackoffMs(b, 1), 500);
}

// Jitter is a uniform integer in [0, floor(delay/10)].
TEST(BackoffTest, JitterStaysWithinATenth) {
  ReseedThisThreadForTest(5);
  auto b = Make(policy::BackoffStrategy::kExponential, 100, 60000, true);
  bool saw_min = false, saw_max = false;
  for (int i = 0; i < 5000; ++i) {
    const int64_t ms = BackoffMs(b, 2);  // delay 200, jitter 0..20
    ASSERT_GE(ms, 200);
    ASSERT_LE(ms, 220);
    saw_min |= ms == 200;
    saw_max |= ms == 220;
  }
  EXPECT_TRUE(saw_min);
  EXPECT_TRUE(saw_max);
  auto small = Make(policy::BackoffStrategy::kFixed, 9, 100, true);
  for (int i = 0; i < 100; ++i) EXPECT_EQ(BackoffMs(small, 1), 9);  // floor(9/10) = 0
}

TEST(BackoffTest, HugeExponentDoesNotOverflow) {
  auto b = Make(policy::BackoffStrategy::kExponential, 10000, 60000, true);
  EXPECT_EQ(BackoffMs(b, 1000), 60000);
  EXPECT_EQ(BackoffBaseDelayMs(b, 0), 10000);
}

}  // namespace
}  // namespace router::core
