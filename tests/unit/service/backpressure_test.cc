// BackpressureMonitor: nats-contracts.md §9 signals and status, on a FakeClock.

#include "service/backpressure.h"

#include <gtest/gtest.h>

#include <vector>

#include "support/fake_clock.h"

namespace router::service {
namespace {

using namespace std::chrono_literals;

BackpressureOptions LowThresholds() {
  BackpressureOptions o;
  o.inflight_overload = 5;
  o.latency_overload_ms = 10;
  o.queue_overload = 100;
  return o;
}

// §9: no signal over -> inactive; one -> warning; two -> active.
TEST(BackpressureMonitorTest, StatusCountsSignalsOverThreshold) {
  testing::FakeClock clock;
  BackpressureMonitor m(LowThresholds(), clock);
  m.Recompute();
  EXPECT_EQ(m.status(), BackpressureStatus::kInactive);

  std::vector<DecideTicket> tickets;
  for (int i = 0; i < 5; ++i) tickets.push_back(m.Begin());
  m.Recompute();
  EXPECT_EQ(m.status(), BackpressureStatus::kInactive);  // strict `>`: 5 is not over 5
  tickets.push_back(m.Begin());
  m.Recompute();
  EXPECT_EQ(m.status(), BackpressureStatus::kWarning);
  EXPECT_EQ(m.Report().signals_over, std::vector<std::string>{"inflight"});

  m.SetPending(101);
  m.Recompute();
  EXPECT_EQ(m.status(), BackpressureStatus::kActive);
  EXPECT_TRUE(m.Active());
  EXPECT_EQ(m.Report().signals_over, (std::vector<std::string>{"inflight", "pending"}));

  tickets.clear();  // every ticket ends: inflight back to 0
  EXPECT_EQ(m.TicketsInflight(), 0);
  m.Recompute();
  EXPECT_EQ(m.status(), BackpressureStatus::kWarning);
}

// §9 inflight includes the sampled sources (NATS subscription queues).
TEST(BackpressureMonitorTest, InflightAddsSampledSources) {
  testing::FakeClock clock;
  BackpressureMonitor m(LowThresholds(), clock);
  int64_t queued = 4;
  m.AddInflightSource([&] { return queued; });
  DecideTicket t = m.Begin();
  m.Recompute();
  EXPECT_EQ(m.Report().inflight, 5);
  EXPECT_EQ(m.status(), BackpressureStatus::kInactive);
  queued = 10;
  m.Recompute();
  EXPECT_EQ(m.Report().inflight, 11);
  EXPECT_EQ(m.status(), BackpressureStatus::kWarning);
}

// §9 latency_p95 over the sliding window: ticket durations land in 1 s `fast` histograms; the
// p95 interpolates inside the bucket; the window forgets an observation after the current
// second and the ten before it (11 s at most).
TEST(BackpressureMonitorTest, LatencyWindowP95SlidesOut) {
  testing::FakeClock clock;
  BackpressureMonitor m(LowThresholds(), clock);
  for (int i = 0; i < 100; ++i) {
    DecideTicket t = m.Begin();
    clock.Advance(20ms);  // (0.01, 0.025] bucket
  }
  m.Recompute();
  BackpressureReport r = m.Report();
  EXPECT_GT(r.latency_p95_seconds, 0.01);
  EXPECT_LE(r.latency_p95_seconds, 0.025);
  EXPECT_NEAR(r.latency_p95_seconds, 0.01 + 0.015 * 0.95, 1e-9);
  EXPECT_EQ(m.status(), BackpressureStatus::kWarning);
  EXPECT_EQ(r.signals_over, std::vector<std::string>{"latency_p95"});

  // The observations span seconds 1..3 of the fake monotonic clock; 11 s later every one of
  // them has left the window.
  clock.Advance(9s);
  m.Recompute();
  EXPECT_EQ(m.status(), BackpressureStatus::kWarning);
  clock.Advance(3s);
  m.Recompute();
  EXPECT_EQ(m.status(), BackpressureStatus::kInactive);
  EXPECT_EQ(m.Report().latency_p95_ms, 0);
}

// §9: fast answers dilute the p95 (the rank is 95 % of every observation in the window).
TEST(BackpressureMonitorTest, P95UsesEveryObservation) {
  testing::FakeClock clock;
  BackpressureMonitor m(LowThresholds(), clock);
  for (int i = 0; i < 4; ++i) m.RecordLatency(50ms);
  for (int i = 0; i < 96; ++i) m.RecordLatency(1ms);
  m.Recompute();
  EXPECT_LE(m.Report().latency_p95_seconds, 0.001);
  EXPECT_EQ(m.status(), BackpressureStatus::kInactive);
}

// §9 pending: unknown until fed, unknown again 5 s after the last value; unknown is not over.
TEST(BackpressureMonitorTest, PendingGoesUnknownWithoutData) {
  testing::FakeClock clock;
  BackpressureMonitor m(LowThresholds(), clock);
  m.Recompute();
  EXPECT_FALSE(m.Report().pending.has_value());
  EXPECT_EQ(m.Report().signals_unknown, std::vector<std::string>{"pending"});
  m.SetPending(500);
  m.Recompute();
  ASSERT_TRUE(m.Report().pending.has_value());
  EXPECT_EQ(*m.Report().pending, 500);
  EXPECT_TRUE(m.Report().signals_unknown.empty());
  EXPECT_EQ(m.status(), BackpressureStatus::kWarning);
  clock.Advance(5s);
  m.Recompute();
  EXPECT_FALSE(m.Report().pending.has_value());
  EXPECT_EQ(m.status(), BackpressureStatus::kInactive);
}

// configuration.md [backpressure] enabled = false: never active.
TEST(BackpressureMonitorTest, DisabledIsAlwaysInactive) {
  testing::FakeClock clock;
  BackpressureOptions o = LowThresholds();
  o.enabled = false;
  BackpressureMonitor m(o, clock);
  std::vector<DecideTicket> tickets;
  for (int i = 0; i < 10; ++i) tickets.push_back(m.Begin());
  m.SetPending(1000);
  m.Recompute();
  EXPECT_EQ(m.status(), BackpressureStatus::kInactive);
}

// Tickets: moving transfers the inflight count; End() is idempotent.
TEST(BackpressureMonitorTest, TicketMoveAndEnd) {
  testing::FakeClock clock;
  BackpressureMonitor m(LowThresholds(), clock);
  DecideTicket a = m.Begin();
  DecideTicket b = std::move(a);
  EXPECT_EQ(m.TicketsInflight(), 1);
  a.End();
  EXPECT_EQ(m.TicketsInflight(), 1);
  b.End();
  b.End();
  EXPECT_EQ(m.TicketsInflight(), 0);
}

// The recompute thread starts and stops (no FakeClock needed for the status itself).
TEST(BackpressureMonitorTest, ThreadStartsAndStops) {
  testing::FakeClock clock;
  BackpressureMonitor m(LowThresholds(), clock);
  m.Start();
  m.Start();
  m.Stop();
  m.Stop();
  EXPECT_EQ(m.status(), BackpressureStatus::kInactive);
}

}  // namespace
}  // namespace router::service
