// TokenBucket: the per-replica decide DLQ rate (nats-contracts.md §4.3,
// nats.dlq.decide_rate_per_s).

#include "nats/token_bucket.h"

#include <gtest/gtest.h>

#include "support/fake_clock.h"

namespace router::nats_adapter {
namespace {

using namespace std::chrono_literals;

TEST(TokenBucketTest, BurstThenRefillAtTheRate) {
  testing::FakeClock clock;
  TokenBucket bucket(clock, 100, 100);
  int taken = 0;
  while (bucket.TryTake()) ++taken;
  EXPECT_EQ(taken, 100);  // the excess is dropped and counted by the caller
  clock.Advance(10ms);    // one token per 10 ms
  EXPECT_TRUE(bucket.TryTake());
  EXPECT_FALSE(bucket.TryTake());
  clock.Advance(10s);  // capped at the burst
  taken = 0;
  while (bucket.TryTake()) ++taken;
  EXPECT_EQ(taken, 100);
}

TEST(TokenBucketTest, ZeroRateNeverAllows) {
  testing::FakeClock clock;
  TokenBucket bucket(clock, 0, 1);
  EXPECT_FALSE(bucket.TryTake());
}

}  // namespace
}  // namespace router::nats_adapter
