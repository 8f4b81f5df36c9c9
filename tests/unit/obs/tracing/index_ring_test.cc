// Tests for the bounded MPMC index ring behind the span pool and export queue (OBS §6.6, O1).
#include "obs/tracing/index_ring.h"

#include <gtest/gtest.h>

#include <latch>
#include <thread>
#include <vector>

namespace router::obs {
namespace {

TEST(IndexRingTest, CapacityIsRoundedUpToAPowerOfTwo) {
  EXPECT_EQ(IndexRing(0).capacity(), 2u);
  EXPECT_EQ(IndexRing(5).capacity(), 8u);
  EXPECT_EQ(IndexRing(8).capacity(), 8u);
}

TEST(IndexRingTest, FifoAndFullAndEmptyAnswerAtOnce) {
  IndexRing ring(4);
  uint32_t v = 0;
  EXPECT_FALSE(ring.TryPop(v));
  for (uint32_t i = 0; i < 4; ++i) EXPECT_TRUE(ring.TryPush(i));
  EXPECT_FALSE(ring.TryPush(99));  // full: refused, never waits
  for (uint32_t i = 0; i < 4; ++i) {
    ASSERT_TRUE(ring.TryPop(v));
    EXPECT_EQ(v, i);
  }
  EXPECT_FALSE(ring.TryPop(v));
  // Wrap-around keeps working.
  for (uint32_t round = 0; round < 10; ++round) {
    EXPECT_TRUE(ring.TryPush(round));
    ASSERT_TRUE(ring.TryPop(v));
    EXPECT_EQ(v, round);
  }
}

TEST(IndexRingTest, ConcurrentProducersAndConsumersLoseNothing) {
  constexpr int kProducers = 2;
  constexpr int kConsumers = 2;
  constexpr uint32_t kPerProducer = 50000;
  IndexRing ring(64);
  std::vector<std::atomic<int>> seen(kProducers * kPerProducer);
  std::atomic<uint32_t> consumed{0};
  std::latch start(kProducers + kConsumers);
  std::vector<std::thread> threads;
  for (int p = 0; p < kProducers; ++p) {
    threads.emplace_back([&, p] {
      start.arrive_and_wait();
      for (uint32_t i = 0; i < kPerProducer; ++i) {
        uint32_t value = p * kPerProducer + i;
        while (!ring.TryPush(value)) std::this_thread::yield();
      }
    });
  }
  for (int c = 0; c < kConsumers; ++c) {
    threads.emplace_back([&] {
      start.arrive_and_wait();
      uint32_t v;
      while (consumed.load() < kProducers * kPerProducer) {
        if (ring.TryPop(v)) {
          seen[v].fetch_add(1);
          consumed.fetch_add(1);
        } else {
          std::this_thread::yield();
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  for (size_t i = 0; i < seen.size(); ++i) ASSERT_EQ(seen[i].load(), 1) << i;
}

}  // namespace
}  // namespace router::obs
