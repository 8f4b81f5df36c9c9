// ReplyDelayer: the [testing] decide_delay_ms hook (configuration.md). Callbacks run once, in
// FIFO order, not before the delay; Stop() runs what is left at once; after Stop, inline.

#include "service/reply_delayer.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <latch>
#include <mutex>
#include <vector>

namespace router::service {
namespace {

using namespace std::chrono_literals;
using SteadyClock = std::chrono::steady_clock;

TEST(ReplyDelayerTest, RunsInOrderAfterTheDelay) {
  ReplyDelayer delayer(20ms);
  std::latch done(3);
  std::mutex mu;
  std::vector<int> order;
  std::vector<SteadyClock::duration> waited;
  for (int i = 0; i < 3; ++i) {
    const auto deferred_at = SteadyClock::now();
    delayer.Defer([&, i, deferred_at] {
      {
        std::lock_guard<std::mutex> lock(mu);
        order.push_back(i);
        waited.push_back(SteadyClock::now() - deferred_at);
      }
      done.count_down();
    });
  }
  done.wait();
  EXPECT_EQ(order, (std::vector<int>{0, 1, 2}));
  for (auto w : waited) EXPECT_GE(w, 20ms);
}

TEST(ReplyDelayerTest, StopRunsPendingCallbacksAtOnceThenInline) {
  ReplyDelayer delayer(std::chrono::hours(1));
  std::atomic<int> ran{0};
  for (int i = 0; i < 5; ++i) delayer.Defer([&] { ran.fetch_add(1); });
  delayer.Stop();
  EXPECT_EQ(ran.load(), 5);
  delayer.Defer([&] { ran.fetch_add(1); });  // after Stop: inline
  EXPECT_EQ(ran.load(), 6);
  delayer.Stop();
}

// Move-only captures (a DecideTicket in production) are supported.
TEST(ReplyDelayerTest, AcceptsMoveOnlyCallbacks) {
  std::atomic<int> value{0};
  {
    ReplyDelayer delayer(1ms);
    auto owned = std::make_unique<int>(7);
    delayer.Defer([&value, p = std::move(owned)] { value.store(*p); });
  }  // destructor = Stop: runs it if still pending
  EXPECT_EQ(value.load(), 7);
}

}  // namespace
}  // namespace router::service
