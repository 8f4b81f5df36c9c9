// LogRateLimiter (obs/logging/rate_limiter.h): OBS §5.4 key (event, subsystem, error_code), at
// most `burst` records per window, one summary per window that suppressed something, 4096-key
// LRU.
#include "obs/logging/rate_limiter.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

namespace router::obs {
namespace {

constexpr int64_t kMs = 1'000'000;  // ns
constexpr int64_t kStart = 5'000 * kMs;

using Summaries = std::vector<LogRateLimiter::Summary>;

class LogRateLimiterTest : public ::testing::Test {
 protected:
  bool Admit(std::string_view event, int64_t now, std::string_view subsystem = "store",
             std::string_view code = "") {
    return limiter_.Admit(event, subsystem, code, LogLevel::kError, now, burst_, interval_ms_,
                          &summaries_);
  }

  LogRateLimiter limiter_{4096};
  uint32_t burst_ = 3;
  int64_t interval_ms_ = 1000;
  Summaries summaries_;
};

TEST_F(LogRateLimiterTest, BurstPassesThenSuppresses) {
  EXPECT_TRUE(Admit("store.write_failed", kStart));
  EXPECT_TRUE(Admit("store.write_failed", kStart + 1));
  EXPECT_TRUE(Admit("store.write_failed", kStart + 2));
  EXPECT_FALSE(Admit("store.write_failed", kStart + 3));
  EXPECT_FALSE(Admit("store.write_failed", kStart + 999 * kMs));
  EXPECT_TRUE(summaries_.empty());  // the window is still open
}

TEST_F(LogRateLimiterTest, NextRecordAfterTheWindowGetsTheSummaryFirst) {
  for (int i = 0; i < 5; ++i) Admit("store.write_failed", kStart, "store", "internal");
  EXPECT_TRUE(Admit("store.write_failed", kStart + 1000 * kMs, "store", "internal"));
  ASSERT_EQ(summaries_.size(), 1u);
  EXPECT_EQ(summaries_[0].event, "store.write_failed");
  EXPECT_EQ(summaries_[0].subsystem, "store");
  EXPECT_EQ(summaries_[0].error_code, "internal");
  EXPECT_EQ(summaries_[0].level, LogLevel::kError);
  EXPECT_EQ(summaries_[0].suppressed, 2u);
  EXPECT_EQ(summaries_[0].window_ms, 1000);
  // A fresh window: burst again.
  EXPECT_TRUE(Admit("store.write_failed", kStart + 1001 * kMs, "store", "internal"));
  EXPECT_TRUE(Admit("store.write_failed", kStart + 1002 * kMs, "store", "internal"));
  EXPECT_FALSE(Admit("store.write_failed", kStart + 1003 * kMs, "store", "internal"));
}

TEST_F(LogRateLimiterTest, NoSummaryWhenNothingWasSuppressed) {
  Admit("e", kStart);
  Admit("e", kStart + 1);
  EXPECT_TRUE(Admit("e", kStart + 2000 * kMs));
  limiter_.Sweep(kStart + 10'000 * kMs, &summaries_);
  EXPECT_TRUE(summaries_.empty());
  EXPECT_FALSE(limiter_.NextDeadlineNs().has_value());
}

TEST_F(LogRateLimiterTest, SweepSummarisesClosedWindowsOnce) {
  for (int i = 0; i < 4; ++i) Admit("a", kStart);
  for (int i = 0; i < 6; ++i) Admit("b", kStart + 500 * kMs);
  ASSERT_TRUE(limiter_.NextDeadlineNs().has_value());
  EXPECT_EQ(*limiter_.NextDeadlineNs(), kStart + 1000 * kMs);

  limiter_.Sweep(kStart + 999 * kMs, &summaries_);
  EXPECT_TRUE(summaries_.empty());
  limiter_.Sweep(kStart + 1000 * kMs, &summaries_);
  ASSERT_EQ(summaries_.size(), 1u);
  EXPECT_EQ(summaries_[0].event, "a");
  EXPECT_EQ(summaries_[0].suppressed, 1u);
  EXPECT_EQ(*limiter_.NextDeadlineNs(), kStart + 1500 * kMs);

  limiter_.Sweep(kStart + 1500 * kMs, &summaries_);
  ASSERT_EQ(summaries_.size(), 2u);
  EXPECT_EQ(summaries_[1].event, "b");
  EXPECT_EQ(summaries_[1].suppressed, 3u);
  limiter_.Sweep(kStart + 9000 * kMs, &summaries_);
  EXPECT_EQ(summaries_.size(), 2u);
  EXPECT_FALSE(limiter_.NextDeadlineNs().has_value());
}

TEST_F(LogRateLimiterTest, KeyIsEventSubsystemAndErrorCode) {
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(Admit("e", kStart, "store", "x"));
  EXPECT_FALSE(Admit("e", kStart, "store", "x"));
  EXPECT_TRUE(Admit("e", kStart, "store", "y"));  // other error_code
  EXPECT_TRUE(Admit("e", kStart, "nats", "x"));   // other subsystem
  EXPECT_TRUE(Admit("f", kStart, "store", "x"));  // other event
  EXPECT_EQ(limiter_.KeyCount(), 4u);
}

TEST_F(LogRateLimiterTest, WindowKeepsTheLengthItOpenedWith) {
  for (int i = 0; i < 4; ++i) Admit("e", kStart);
  interval_ms_ = 10'000;  // SIGHUP changes log.rate_limit_interval_ms
  EXPECT_TRUE(Admit("e", kStart + 1000 * kMs));
  ASSERT_EQ(summaries_.size(), 1u);
  EXPECT_EQ(summaries_[0].window_ms, 1000);
  for (int i = 0; i < 3; ++i) Admit("e", kStart + 1000 * kMs);
  EXPECT_FALSE(Admit("e", kStart + 5000 * kMs));  // new 10 s window
}

TEST_F(LogRateLimiterTest, LeastRecentlyUsedKeyIsEvictedWithItsSummary) {
  LogRateLimiter small(2);
  auto admit = [&](std::string_view event) {
    return small.Admit(event, "s", "", LogLevel::kWarn, kStart, 1, 1000, &summaries_);
  };
  EXPECT_TRUE(admit("a"));
  EXPECT_FALSE(admit("a"));  // a suppressed once
  EXPECT_TRUE(admit("b"));
  EXPECT_FALSE(admit("a"));  // a is now most recent
  EXPECT_TRUE(admit("c"));   // evicts b (least recent), nothing suppressed there
  EXPECT_TRUE(summaries_.empty());
  EXPECT_TRUE(admit("d"));  // evicts a: its summary comes out
  ASSERT_EQ(summaries_.size(), 1u);
  EXPECT_EQ(summaries_[0].event, "a");
  EXPECT_EQ(summaries_[0].level, LogLevel::kWarn);
  EXPECT_EQ(summaries_[0].suppressed, 2u);
  EXPECT_EQ(small.KeyCount(), 2u);
  EXPECT_TRUE(admit("a"));  // forgotten: a fresh window
}

TEST_F(LogRateLimiterTest, DefaultTracksAtMost4096Keys) {
  LogRateLimiter limiter;
  for (int i = 0; i < 5000; ++i) {
    limiter.Admit("e" + std::to_string(i), "s", "", LogLevel::kError, kStart, 10, 10'000,
                  &summaries_);
  }
  EXPECT_EQ(limiter.KeyCount(), 4096u);
}

TEST_F(LogRateLimiterTest, SweepAllFlushesOpenWindows) {
  for (int i = 0; i < 7; ++i) Admit("e", kStart);
  limiter_.SweepAll(&summaries_);
  ASSERT_EQ(summaries_.size(), 1u);
  EXPECT_EQ(summaries_[0].suppressed, 4u);
  limiter_.SweepAll(&summaries_);
  EXPECT_EQ(summaries_.size(), 1u);
}

}  // namespace
}  // namespace router::obs
