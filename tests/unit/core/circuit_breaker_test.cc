// CircuitBreaker state machine (POL §6; acceptance POL §12 scenarios 20-27). Time comes from a
// FakeClock; concurrency tests release their threads with a std::latch.

#include "core/circuit_breaker.h"

#include <gtest/gtest.h>

#include <atomic>
#include <latch>
#include <random>
#include <thread>
#include <vector>

#include "support/fake_clock.h"

namespace router::core {
namespace {

using std::chrono::milliseconds;
using testing::FakeClock;

constexpr BreakerInput S = BreakerInput::kSuccess;
constexpr BreakerInput F = BreakerInput::kFailure;
constexpr BreakerInput I = BreakerInput::kIgnored;

class CircuitBreakerTest : public ::testing::Test {
 protected:
  std::unique_ptr<CircuitBreaker> Make(policy::BreakerConfig c) {
    c.enabled = true;
    return std::make_unique<CircuitBreaker>(c, clock_.WallMs());
  }
  BreakerState Rec(CircuitBreaker& b, BreakerInput in, int64_t latency_ms = 0,
                   BreakerEffects* effects = nullptr) {
    BreakerEffects local;
    return b.Record(in, latency_ms, clock_.MonoNow(), clock_.WallMs(),
                    effects != nullptr ? effects : &local);
  }
  BreakerSnapshot Read(CircuitBreaker& b) {
    return b.Read(clock_.MonoNow(), clock_.WallMs(), nullptr);
  }
  // Opens `b` through consecutive failures and returns the opening transition.
  BreakerTransition OpenIt(CircuitBreaker& b) {
    BreakerEffects e;
    for (int i = 0; i < b.config().failure_threshold; ++i) Rec(b, F, 0, &e);
    EXPECT_EQ(b.state(), BreakerState::kOpen);
    return e.transitions.empty() ? BreakerTransition{} : e.transitions.back();
  }
  void ToHalfOpen(CircuitBreaker& b) {
    clock_.Advance(milliseconds(b.config().timeout_ms));
    BreakerEffects e;
    b.Sweep(clock_.MonoNow(), clock_.WallMs(), &e);
    ASSERT_EQ(b.state(), BreakerState::kHalfOpen);
  }
  bool Acquire(CircuitBreaker& b) {
    BreakerEffects e;
    return b.TryAcquireProbe(clock_.MonoNow(), clock_.WallMs(), &e);
  }

  FakeClock clock_;
};

// POL §12.20: failure_threshold 5, error_rate_threshold 1.0, min_requests 1000.
TEST_F(CircuitBreakerTest, ConsecutiveFailuresOpenOnTheFifth) {
  policy::BreakerConfig c;
  c.failure_threshold = 5;
  c.error_rate_threshold = 1.0;
  c.min_requests = 1000;
  auto b = Make(c);
  for (int i = 0; i < 4; ++i) EXPECT_EQ(Rec(*b, F), BreakerState::kClosed);
  BreakerEffects e;
  EXPECT_EQ(Rec(*b, F, 0, &e), BreakerState::kOpen);
  ASSERT_EQ(e.transitions.size(), 1u);
  EXPECT_EQ(e.transitions[0].from, BreakerState::kClosed);
  EXPECT_EQ(e.transitions[0].to, BreakerState::kOpen);
  EXPECT_EQ(e.transitions[0].reason, TriggerReason::kFailureThreshold);
  EXPECT_EQ(e.transitions[0].cause, TransitionCause::kOutcome);
  EXPECT_EQ(Read(*b).last_trigger, TriggerReason::kFailureThreshold);

  // F F S F F F F stays closed: the success resets the consecutive count.
  auto b2 = Make(c);
  for (BreakerInput in : {F, F, S, F, F, F, F}) EXPECT_EQ(Rec(*b2, in), BreakerState::kClosed);
  EXPECT_EQ(Read(*b2).consecutive_failures, 4);
}

// POL §12.21 / grpc §13.16: with the defaults, the first failure on a fresh breaker does NOT
// open it (min_requests not reached; failure_threshold 5 not reached).
TEST_F(CircuitBreakerTest, FirstFailureDoesNotOpenFreshBreaker) {
  auto b = Make({});
  EXPECT_EQ(Rec(*b, F), BreakerState::kClosed);
  const BreakerSnapshot s = Read(*b);
  EXPECT_EQ(s.window_requests, 1);
  EXPECT_EQ(s.window_failures, 1);
  EXPECT_DOUBLE_EQ(s.error_rate, 1.0);
  EXPECT_EQ(s.last_trigger, TriggerReason::kNone);
}

// POL §12.21: S F S F S F S F S F opens exactly on the 10th outcome (error rate 0.5).
TEST_F(CircuitBreakerTest, ErrorRateOpensExactlyAtMinRequests) {
  auto b = Make({});
  const BreakerInput seq[] = {S, F, S, F, S, F, S, F, S, F};
  for (int i = 0; i < 9; ++i) EXPECT_EQ(Rec(*b, seq[i]), BreakerState::kClosed) << i;
  BreakerEffects e;
  EXPECT_EQ(Rec(*b, seq[9], 0, &e), BreakerState::kOpen);
  ASSERT_EQ(e.transitions.size(), 1u);
  EXPECT_EQ(e.transitions[0].reason, TriggerReason::kErrorRate);
}

// Ignored and unclassified outcomes are not counted by the closed-state checks.
TEST_F(CircuitBreakerTest, IgnoredOutcomesAreNotCounted) {
  auto b = Make({});
  for (int i = 0; i < 50; ++i) {
    Rec(*b, I);
    Rec(*b, BreakerInput::kUnclassified);
  }
  const BreakerSnapshot s = Read(*b);
  EXPECT_EQ(s.state, BreakerState::kClosed);
  EXPECT_EQ(s.window_requests, 0);
  EXPECT_EQ(s.consecutive_failures, 0);
}

// POL §12.22: latency_threshold_ms 1000, min_requests 10.
TEST_F(CircuitBreakerTest, LatencyTriggerOpensAfterSuccesses) {
  policy::BreakerConfig c;
  c.latency_threshold_ms = 1000;
  c.min_requests = 10;
  auto slow = Make(c);
  for (int i = 0; i < 9; ++i) EXPECT_EQ(Rec(*slow, S, 1500), BreakerState::kClosed);
  BreakerEffects e;
  EXPECT_EQ(Rec(*slow, S, 1500, &e), BreakerState::kOpen);
  ASSERT_EQ(e.transitions.size(), 1u);
  EXPECT_EQ(e.transitions[0].reason, TriggerReason::kLatency);

  auto fast = Make(c);
  for (int i = 0; i < 20; ++i) EXPECT_EQ(Rec(*fast, S, 500), BreakerState::kClosed);
}

// The window slides: failures older than error_rate_window_seconds no longer count.
TEST_F(CircuitBreakerTest, WindowForgetsOldOutcomes) {
  policy::BreakerConfig c;
  c.error_rate_window_seconds = 10;
  c.min_requests = 4;
  c.failure_threshold = 100;
  auto b = Make(c);
  Rec(*b, F);
  Rec(*b, F);
  Rec(*b, S);
  EXPECT_EQ(Read(*b).window_requests, 3);
  clock_.Advance(milliseconds(11'000));
  EXPECT_EQ(Read(*b).window_requests, 0);
  // 1 failure of 4 after the slide: 0.25 < 0.5, closed (the two old failures would have opened).
  Rec(*b, S);
  Rec(*b, S);
  Rec(*b, S);
  EXPECT_EQ(Rec(*b, F), BreakerState::kClosed);
  EXPECT_EQ(Read(*b).window_failures, 1);
}

// POL §6 Open: outcomes while open change nothing; the lazy check moves it to half-open.
TEST_F(CircuitBreakerTest, OpenIgnoresOutcomesAndMovesLazilyToHalfOpen) {
  policy::BreakerConfig c;
  c.timeout_ms = 1000;
  auto b = Make(c);
  OpenIt(*b);
  EXPECT_EQ(Rec(*b, S), BreakerState::kOpen);
  BreakerEffects e;
  BreakerView v = b->View(clock_.MonoNow(), clock_.WallMs(), &e);
  EXPECT_EQ(v.state, BreakerState::kOpen);
  ASSERT_TRUE(v.open_remaining_ms.has_value());
  EXPECT_EQ(*v.open_remaining_ms, 1000);
  clock_.Advance(milliseconds(400));
  EXPECT_EQ(Read(*b).open_remaining_ms, 600);
  clock_.Advance(milliseconds(600));
  v = b->View(clock_.MonoNow(), clock_.WallMs(), &e);
  EXPECT_EQ(v.state, BreakerState::kHalfOpen);
  EXPECT_TRUE(v.probe_slot_free);
  ASSERT_EQ(e.transitions.size(), 1u);
  EXPECT_EQ(e.transitions[0].reason, TriggerReason::kTimeoutElapsed);
  EXPECT_EQ(e.transitions[0].cause, TransitionCause::kLazy);
}

// POL §12.23: the sweep moves it half-open after timeout_ms without traffic; 3 of 4 concurrent
// decisions take slots; 2 successes close it.
TEST_F(CircuitBreakerTest, SweepHalfOpenThenProbesThenClose) {
  policy::BreakerConfig c;
  c.timeout_ms = 1000;
  c.half_open_max_calls = 3;
  c.success_threshold = 2;
  auto b = Make(c);
  OpenIt(*b);
  clock_.Advance(milliseconds(999));
  BreakerEffects e;
  b->Sweep(clock_.MonoNow(), clock_.WallMs(), &e);
  EXPECT_EQ(b->state(), BreakerState::kOpen);
  clock_.Advance(milliseconds(1));
  b->Sweep(clock_.MonoNow(), clock_.WallMs(), &e);
  EXPECT_EQ(b->state(), BreakerState::kHalfOpen);
  ASSERT_EQ(e.transitions.size(), 1u);
  EXPECT_EQ(e.transitions[0].reason, TriggerReason::kTimeoutElapsed);
  EXPECT_EQ(e.transitions[0].cause, TransitionCause::kSweep);

  int taken = 0;
  for (int i = 0; i < 4; ++i) taken += Acquire(*b) ? 1 : 0;
  EXPECT_EQ(taken, 3);
  EXPECT_FALSE(b->View(clock_.MonoNow(), clock_.WallMs(), &e).probe_slot_free);
  EXPECT_EQ(Rec(*b, S), BreakerState::kHalfOpen);
  EXPECT_EQ(Read(*b).half_open_successes, 1);
  BreakerEffects close;
  EXPECT_EQ(Rec(*b, S, 0, &close), BreakerState::kClosed);
  ASSERT_EQ(close.transitions.size(), 1u);
  EXPECT_EQ(close.transitions[0].to, BreakerState::kClosed);
  const BreakerSnapshot s = Read(*b);
  EXPECT_EQ(s.window_requests, 0);  // closing clears the window, counters and slots
  EXPECT_EQ(s.half_open_in_flight, 0);
  EXPECT_EQ(s.consecutive_failures, 0);
}

// Issue #5: a half-open breaker admits at most half_open_max_calls concurrent probes.
TEST_F(CircuitBreakerTest, HalfOpenAdmitsAtMostMaxCallsConcurrently) {
  constexpr int kThreads = 16;
  for (int max_calls : {1, 3, 7}) {
    policy::BreakerConfig c;
    c.half_open_max_calls = max_calls;
    auto b = Make(c);
    OpenIt(*b);
    ToHalfOpen(*b);
    std::latch start(kThreads);
    std::atomic<int> admitted{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&] {
        start.arrive_and_wait();
        for (int k = 0; k < 50; ++k) {
          if (Acquire(*b)) admitted.fetch_add(1);
        }
      });
    }
    for (auto& t : threads) t.join();
    EXPECT_EQ(admitted.load(), max_calls);
    EXPECT_EQ(Read(*b).half_open_in_flight, max_calls);
  }
}

// Issue #5 / POL §12.23: a failure in half-open reopens with half_open_failure and drops slots.
TEST_F(CircuitBreakerTest, HalfOpenFailureReopens) {
  policy::BreakerConfig c;
  c.timeout_ms = 1000;
  auto b = Make(c);
  OpenIt(*b);
  ToHalfOpen(*b);
  ASSERT_TRUE(Acquire(*b));
  ASSERT_TRUE(Acquire(*b));
  BreakerEffects e;
  EXPECT_EQ(Rec(*b, F, 0, &e), BreakerState::kOpen);
  ASSERT_EQ(e.transitions.size(), 1u);
  EXPECT_EQ(e.transitions[0].from, BreakerState::kHalfOpen);
  EXPECT_EQ(e.transitions[0].reason, TriggerReason::kHalfOpenFailure);
  const BreakerSnapshot s = Read(*b);
  EXPECT_EQ(s.half_open_in_flight, 0);
  EXPECT_EQ(s.last_trigger, TriggerReason::kHalfOpenFailure);
  EXPECT_EQ(s.open_remaining_ms, 1000);  // a fresh open period
}

// POL §6: an ignored outcome in half-open only releases a slot (the oldest).
TEST_F(CircuitBreakerTest, HalfOpenIgnoredOnlyReleasesASlot) {
  auto b = Make({});
  OpenIt(*b);
  ToHalfOpen(*b);
  ASSERT_TRUE(Acquire(*b));
  ASSERT_TRUE(Acquire(*b));
  EXPECT_EQ(Rec(*b, I), BreakerState::kHalfOpen);
  const BreakerSnapshot s = Read(*b);
  EXPECT_EQ(s.half_open_in_flight, 1);
  EXPECT_EQ(s.half_open_successes, 0);
}

// POL §12.24: probe_timeout_ms 500 and 3 slots taken; after 0.5 s the slots are free and
// probe_expired counts 3.
TEST_F(CircuitBreakerTest, ProbeSlotsExpire) {
  policy::BreakerConfig c;
  c.probe_timeout_ms = 500;
  auto b = Make(c);
  OpenIt(*b);
  ToHalfOpen(*b);
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(Acquire(*b));
  EXPECT_FALSE(Acquire(*b));
  clock_.Advance(milliseconds(499));
  BreakerEffects e;
  b->Sweep(clock_.MonoNow(), clock_.WallMs(), &e);
  EXPECT_EQ(e.probes_expired, 0);
  clock_.Advance(milliseconds(1));
  b->Sweep(clock_.MonoNow(), clock_.WallMs(), &e);
  EXPECT_EQ(e.probes_expired, 3);
  EXPECT_EQ(Read(*b).half_open_in_flight, 0);
  EXPECT_TRUE(Acquire(*b));
}

// A slot taken by a decision whose later step failed is given back.
TEST_F(CircuitBreakerTest, ReleaseProbeFreesTheSlot) {
  policy::BreakerConfig c;
  c.half_open_max_calls = 1;
  auto b = Make(c);
  OpenIt(*b);
  ToHalfOpen(*b);
  ASSERT_TRUE(Acquire(*b));
  EXPECT_FALSE(Acquire(*b));
  b->ReleaseProbe();
  EXPECT_TRUE(Acquire(*b));
}

// POL §12.27: forced open stays open past timeout_ms until the next reset; reset to closed
// clears counters; manual changes carry no trigger reason.
TEST_F(CircuitBreakerTest, ForcedOpenAndResets) {
  policy::BreakerConfig c;
  c.timeout_ms = 1000;
  auto b = Make(c);
  Rec(*b, F);
  Rec(*b, F);
  BreakerEffects e;
  b->Reset(BreakerTarget::kOpen, clock_.MonoNow(), clock_.WallMs(), &e);
  ASSERT_EQ(e.transitions.size(), 1u);
  EXPECT_EQ(e.transitions[0].cause, TransitionCause::kManual);
  EXPECT_EQ(e.transitions[0].reason, TriggerReason::kNone);
  clock_.Advance(milliseconds(5000));
  b->Sweep(clock_.MonoNow(), clock_.WallMs(), &e);
  BreakerView v = b->View(clock_.MonoNow(), clock_.WallMs(), &e);
  EXPECT_EQ(v.state, BreakerState::kOpen);
  EXPECT_FALSE(v.open_remaining_ms.has_value());  // not time-bound
  BreakerSnapshot s = Read(*b);
  EXPECT_TRUE(s.forced_open);
  EXPECT_EQ(s.open_remaining_ms, 0);
  EXPECT_EQ(s.last_trigger, TriggerReason::kNone);

  b->Reset(BreakerTarget::kClosed, clock_.MonoNow(), clock_.WallMs(), &e);
  s = Read(*b);
  EXPECT_EQ(s.state, BreakerState::kClosed);
  EXPECT_FALSE(s.forced_open);
  EXPECT_EQ(s.window_requests, 0);
  EXPECT_EQ(s.consecutive_failures, 0);

  // Reset to half_open starts fresh probe accounting.
  b->Reset(BreakerTarget::kHalfOpen, clock_.MonoNow(), clock_.WallMs(), &e);
  EXPECT_EQ(b->state(), BreakerState::kHalfOpen);
  EXPECT_TRUE(Acquire(*b));
  EXPECT_EQ(Read(*b).half_open_in_flight, 1);
}

// Reset to closed on a closed breaker clears its counters and window.
TEST_F(CircuitBreakerTest, ResetClosedClearsAClosedBreaker) {
  auto b = Make({});
  for (int i = 0; i < 4; ++i) Rec(*b, F);
  BreakerEffects e;
  b->Reset(BreakerTarget::kClosed, clock_.MonoNow(), clock_.WallMs(), &e);
  EXPECT_TRUE(e.transitions.empty());  // no state change, no transition
  EXPECT_EQ(Read(*b).consecutive_failures, 0);
  EXPECT_EQ(Rec(*b, F), BreakerState::kClosed);  // 1 of 5 again
}

// POL §12.26: over 1,000 seeded random sequences of 50 outcomes, the breaker is never closed
// after >= failure_threshold consecutive counted failures (in the closed state).
TEST_F(CircuitBreakerTest, PropertyNeverClosedAfterThresholdConsecutiveFailures) {
  std::mt19937 rng(42);
  for (int seq = 0; seq < 1000; ++seq) {
    policy::BreakerConfig c;
    c.failure_threshold = 1 + static_cast<int>(rng() % 6);
    c.timeout_ms = 100;
    c.min_requests = 1 + static_cast<int>(rng() % 20);
    auto b = Make(c);
    int consecutive = 0;
    for (int k = 0; k < 50; ++k) {
      const uint32_t r = rng() % 10;
      const BreakerInput in = r < 5 ? F : (r < 8 ? S : I);
      const BreakerState before = b->state();
      const BreakerState after = Rec(*b, in);
      if (before == BreakerState::kClosed) {
        if (in == F) ++consecutive;
        if (in == S) consecutive = 0;
        if (consecutive >= c.failure_threshold) {
          ASSERT_NE(after, BreakerState::kClosed) << "seq " << seq << " step " << k;
        }
      }
      if (after != BreakerState::kClosed) consecutive = 0;
      if (rng() % 4 == 0) clock_.Advance(milliseconds(60));
    }
  }
}

}  // namespace
}  // namespace router::core
