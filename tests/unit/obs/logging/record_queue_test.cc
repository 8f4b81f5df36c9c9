// RecordQueue (obs/logging/record_queue.h): bounded, FIFO, a full queue refuses at once (OBS
// §5.4 "callers never wait"), no loss or duplication under concurrent producers.
#include "obs/logging/record_queue.h"

#include <gtest/gtest.h>

#include <atomic>
#include <latch>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace router::obs {
namespace {

LogRecord Numbered(int n) {
  LogRecord r;
  r.event = "e";
  r.message = std::to_string(n);
  return r;
}

TEST(RecordQueueTest, FifoUpToCapacityThenRefuses) {
  RecordQueue queue(3);
  for (int i = 0; i < 3; ++i) {
    LogRecord r = Numbered(i);
    EXPECT_TRUE(queue.TryPush(&r));
  }
  LogRecord extra = Numbered(99);
  EXPECT_FALSE(queue.TryPush(&extra));
  EXPECT_EQ(extra.message, "99");  // untouched on refusal

  LogRecord out;
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(queue.TryPop(&out));
    EXPECT_EQ(out.message, std::to_string(i));
  }
  EXPECT_FALSE(queue.TryPop(&out));
  EXPECT_TRUE(queue.LooksEmpty());
}

TEST(RecordQueueTest, WrapsAroundManyTimes) {
  RecordQueue queue(2);
  LogRecord out;
  for (int i = 0; i < 1000; ++i) {
    LogRecord r = Numbered(i);
    ASSERT_TRUE(queue.TryPush(&r));
    EXPECT_FALSE(queue.LooksEmpty());
    ASSERT_TRUE(queue.TryPop(&out));
    EXPECT_EQ(out.message, std::to_string(i));
  }
}

TEST(RecordQueueTest, ConcurrentProducersLoseAndDuplicateNothing) {
  constexpr int kThreads = 4;
  constexpr int kPerThread = 5000;
  RecordQueue queue(64);
  std::latch start(kThreads + 1);
  std::atomic<int> finished{0};
  std::vector<std::thread> producers;
  std::vector<int> refused(kThreads, 0);
  std::vector<std::vector<int>> accepted(kThreads);
  for (int t = 0; t < kThreads; ++t) {
    producers.emplace_back([&, t] {
      start.arrive_and_wait();
      for (int i = 0; i < kPerThread; ++i) {
        LogRecord r = Numbered(t * kPerThread + i);
        if (queue.TryPush(&r)) {
          accepted[t].push_back(t * kPerThread + i);
        } else {
          ++refused[t];
        }
      }
      finished.fetch_add(1, std::memory_order_release);
    });
  }
  std::set<int> popped;
  size_t pops = 0;
  start.arrive_and_wait();
  LogRecord out;
  while (finished.load(std::memory_order_acquire) < kThreads) {
    if (queue.TryPop(&out)) {
      popped.insert(std::stoi(out.message));
      ++pops;
    }
  }
  for (auto& p : producers) p.join();
  while (queue.TryPop(&out)) {
    popped.insert(std::stoi(out.message));
    ++pops;
  }
  size_t accepted_total = 0;
  for (int t = 0; t < kThreads; ++t) {
    accepted_total += accepted[t].size();
    for (int n : accepted[t]) EXPECT_TRUE(popped.count(n)) << n;
  }
  EXPECT_EQ(pops, accepted_total);
  EXPECT_EQ(popped.size(), accepted_total);
}

}  // namespace
}  // namespace router::obs
