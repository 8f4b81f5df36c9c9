// process_* metrics source (observability.md §2.5 PROC): /proc/self/stat parsing.
#include "obs/metrics/process_stats.h"

#include <gtest/gtest.h>

namespace router::obs {
namespace {

// The comm field may hold spaces and parentheses; fields resume after the last ')'.
TEST(ProcessStatsTest, ParsesProcStat) {
  const char* kStat =
      "4242 (beam (x) router) S 1 4242 4242 0 -1 4194560 1234 0 0 0 250 150 0 0 20 0 7 0 "
      "100000 123456789 2048 18446744073709551615 1 1 0 0 0 0 0 4096 0 0 0 0 17 1 0 0 0 0 0\n";
  auto stats = ParseProcStat(kStat, 100, 4096, 1700000000);
  ASSERT_TRUE(stats.ok()) << stats.status();
  EXPECT_DOUBLE_EQ(stats->cpu_seconds, 4.0);  // (250 + 150) / 100
  EXPECT_DOUBLE_EQ(stats->threads, 7);
  EXPECT_DOUBLE_EQ(stats->start_time_seconds, 1700001000);  // boot + 100000 / 100
  EXPECT_DOUBLE_EQ(stats->virtual_memory_bytes, 123456789);
  EXPECT_DOUBLE_EQ(stats->resident_memory_bytes, 2048.0 * 4096);
}

TEST(ProcessStatsTest, RejectsMalformedStat) {
  EXPECT_EQ(ParseProcStat("garbage", 100, 4096, 0).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ParseProcStat("1 (x) S 1 2 3", 100, 4096, 0).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(ProcessStatsTest, ReadsThisProcess) {
  auto stats = ReadProcessStats();
  ASSERT_TRUE(stats.ok()) << stats.status();
  EXPECT_GE(stats->threads, 1);
  EXPECT_GT(stats->resident_memory_bytes, 0);
  EXPECT_GT(stats->virtual_memory_bytes, stats->resident_memory_bytes);
  EXPECT_GE(stats->open_fds, 3);  // stdin, stdout, stderr
  EXPECT_GT(stats->max_fds, 0);
  EXPECT_GT(stats->start_time_seconds, 1.5e9);
}

}  // namespace
}  // namespace router::obs
