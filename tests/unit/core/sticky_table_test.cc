// Sticky pins (POL §5): key isolation, sliding TTL, bounds and eviction, sweep, counters.
#include "core/sticky_table.h"

#include <gtest/gtest.h>

#include <latch>
#include <string>
#include <thread>
#include <vector>

namespace router::core {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

MonoTime At(int64_t ms) { return MonoTime(milliseconds(ms)); }

TEST(StickyTableTest, PutThenPeekAndLookup) {
  StickyTable table(4, 100);
  const PinKey key{"t1", "p1", "session-1"};
  EXPECT_FALSE(table.Peek(key, At(0)).has_value());
  EXPECT_EQ(table.Put(key, "openai", At(0), seconds(10)), StickyTable::PutResult::kCreated);
  ASSERT_TRUE(table.Peek(key, At(1)).has_value());
  EXPECT_EQ(table.Peek(key, At(1))->name(), "openai");
  auto hit = table.LookupAndRenew(key, At(2), seconds(10));
  ASSERT_TRUE(hit.has_value());
  EXPECT_EQ(hit->name(), "openai");
  EXPECT_EQ(table.Size(), 1u);
  EXPECT_EQ(table.counters().hits.load(), 1u);
}

// POL §5: pins are never shared across tenants, policies or values.
TEST(StickyTableTest, KeyIsTenantPolicyAndValue) {
  StickyTable table(4, 100);
  table.Put({"t1", "p1", "s"}, "a", At(0), seconds(10));
  EXPECT_FALSE(table.Peek({"t2", "p1", "s"}, At(0)).has_value());
  EXPECT_FALSE(table.Peek({"t1", "p2", "s"}, At(0)).has_value());
  EXPECT_FALSE(table.Peek({"t1", "p1", "s2"}, At(0)).has_value());
  // The NUL separator keeps "t1"+"p1x" apart from "t1p"+"1x".
  table.Put({"t1p", "1", "s"}, "b", At(0), seconds(10));
  EXPECT_EQ(table.Peek({"t1", "p1", "s"}, At(0))->name(), "a");
  // Session values are bytes: embedded NUL and high bytes are distinct keys.
  const std::string binary("a\0b\xff", 4);
  table.Put({"t1", "p1", binary}, "c", At(0), seconds(10));
  EXPECT_EQ(table.Peek({"t1", "p1", binary}, At(0))->name(), "c");
  EXPECT_FALSE(table.Peek({"t1", "p1", std::string_view("a\0b", 3)}, At(0)).has_value());
}

// POL §5: an expired pin is never returned; every hit slides expires_at = now + ttl.
TEST(StickyTableTest, SlidingTtl) {
  StickyTable table(1, 100);
  const PinKey key{"t", "p", "s"};
  table.Put(key, "a", At(0), seconds(2));
  EXPECT_TRUE(table.LookupAndRenew(key, At(1500), seconds(2)).has_value());  // now expires 3.5 s
  EXPECT_TRUE(table.LookupAndRenew(key, At(3000), seconds(2)).has_value());  // now expires 5.0 s
  EXPECT_FALSE(table.Peek(key, At(5000)).has_value());  // expired exactly at expires_at
  EXPECT_FALSE(table.LookupAndRenew(key, At(5100), seconds(2)).has_value());
  EXPECT_EQ(table.Size(), 0u);  // the expired entry was dropped by the lookup
  EXPECT_EQ(table.counters().misses.load(), 1u);
  EXPECT_EQ(table.counters().evictions_expired.load(), 1u);
}

// POL §5: a renewal MAY be skipped when less than 1 s has passed since the previous one.
TEST(StickyTableTest, RenewalWithinOneSecondIsSkipped) {
  StickyTable table(1, 100);
  const PinKey key{"t", "p", "s"};
  table.Put(key, "a", At(0), seconds(2));
  EXPECT_TRUE(table.LookupAndRenew(key, At(900), seconds(2)).has_value());  // skipped
  EXPECT_FALSE(table.Peek(key, At(2000)).has_value());
}

TEST(StickyTableTest, PeekNeverRenews) {
  StickyTable table(1, 100);
  const PinKey key{"t", "p", "s"};
  table.Put(key, "a", At(0), seconds(2));
  EXPECT_TRUE(table.Peek(key, At(1900)).has_value());
  EXPECT_FALSE(table.Peek(key, At(2000)).has_value());
  EXPECT_EQ(table.counters().hits.load() + table.counters().misses.load(), 0u);
}

TEST(StickyTableTest, ConditionalRenewalAndRenew) {
  StickyTable table(1, 100);
  const PinKey key{"t", "p", "s"};
  table.Put(key, "a", At(0), seconds(2));
  auto pin =
      table.LookupAndRenew(key, At(1500), seconds(2), [](std::string_view) { return false; });
  ASSERT_TRUE(pin.has_value());
  EXPECT_FALSE(table.Peek(key, At(2000)).has_value());        // not renewed
  EXPECT_FALSE(table.Renew(key, "a", At(2000), seconds(2)));  // expired
  table.Put(key, "a", At(3000), seconds(2));
  EXPECT_FALSE(table.Renew(key, "b", At(4500), seconds(2)));  // names another provider
  EXPECT_TRUE(table.Renew(key, "a", At(4500), seconds(2)));
  EXPECT_TRUE(table.Peek(key, At(6000)).has_value());
}

TEST(StickyTableTest, PutResultsAndRepinCounter) {
  StickyTable table(1, 100);
  const PinKey key{"t", "p", "s"};
  EXPECT_EQ(table.Put(key, "a", At(0), seconds(2)), StickyTable::PutResult::kCreated);
  EXPECT_EQ(table.Put(key, "a", At(10), seconds(2)), StickyTable::PutResult::kRefreshed);
  EXPECT_EQ(table.Put(key, "b", At(20), seconds(2)), StickyTable::PutResult::kReplaced);
  EXPECT_EQ(table.Put(key, "c", At(5000), seconds(2)), StickyTable::PutResult::kCreated);
  EXPECT_EQ(table.counters().repins.load(), 1u);
  EXPECT_EQ(table.Size(), 1u);
  EXPECT_EQ(table.Put({"t", "p", ""}, "a", At(0), seconds(2)), StickyTable::PutResult::kRejected);
  EXPECT_EQ(table.Put({"t", "p", std::string(257, 'x')}, "a", At(0), seconds(2)),
            StickyTable::PutResult::kRejected);
  EXPECT_EQ(table.Put({"t", "p", std::string(256, 'x')}, "a", At(0), seconds(2)),
            StickyTable::PutResult::kCreated);
  EXPECT_EQ(table.Put({"t", "p", "s"}, std::string(129, 'p'), At(0), seconds(2)),
            StickyTable::PutResult::kRejected);
}

TEST(StickyTableTest, ShardsRoundUpToPowerOfTwoAndSplitTheCap) {
  StickyTable table(6, 80);
  EXPECT_EQ(table.shard_count(), 8u);
  EXPECT_EQ(table.shard_capacity(), 10u);
  StickyTable defaults;
  EXPECT_EQ(defaults.shard_count(), 64u);
  EXPECT_EQ(defaults.shard_capacity(), 1'000'000u / 64);
}

// Keys of `table` that land in `shard`, generated deterministically.
std::vector<std::string> SessionsInShard(const StickyTable& table, size_t shard, size_t n) {
  std::vector<std::string> out;
  for (int i = 0; out.size() < n; ++i) {
    std::string s = "sess-" + std::to_string(i);
    if (table.ShardOf({"t", "p", s}) == shard) out.push_back(s);
  }
  return out;
}

// POL §5 bounds: a full shard evicts the earliest expires_at; shards stay within their share.
TEST(StickyTableTest, FullShardEvictsEarliestExpiry) {
  StickyTable table(4, 12);  // 3 per shard
  auto sessions = SessionsInShard(table, 2, 5);
  table.Put({"t", "p", sessions[0]}, "a", At(0), seconds(30));
  table.Put({"t", "p", sessions[1]}, "a", At(0), seconds(10));  // earliest
  table.Put({"t", "p", sessions[2]}, "a", At(0), seconds(20));
  EXPECT_EQ(table.ShardSizeForTest(2), 3u);
  table.Put({"t", "p", sessions[3]}, "a", At(1), seconds(60));
  EXPECT_EQ(table.ShardSizeForTest(2), 3u);
  EXPECT_FALSE(table.Peek({"t", "p", sessions[1]}, At(2)).has_value());
  EXPECT_TRUE(table.Peek({"t", "p", sessions[0]}, At(2)).has_value());
  EXPECT_TRUE(table.Peek({"t", "p", sessions[2]}, At(2)).has_value());
  EXPECT_EQ(table.counters().evictions_capacity.load(), 1u);
  EXPECT_EQ(table.Size(), 3u);
}

// POL §5: an insert into a full shard first purges that shard's expired entries.
TEST(StickyTableTest, FullShardPurgesExpiredFirst) {
  StickyTable table(4, 12);
  auto sessions = SessionsInShard(table, 1, 4);
  table.Put({"t", "p", sessions[0]}, "a", At(0), seconds(1));
  table.Put({"t", "p", sessions[1]}, "a", At(0), seconds(1));
  table.Put({"t", "p", sessions[2]}, "a", At(0), seconds(100));
  table.Put({"t", "p", sessions[3]}, "a", At(5000), seconds(100));
  EXPECT_EQ(table.ShardSizeForTest(1), 2u);
  EXPECT_EQ(table.counters().evictions_expired.load(), 2u);
  EXPECT_EQ(table.counters().evictions_capacity.load(), 0u);
  EXPECT_TRUE(table.Peek({"t", "p", sessions[2]}, At(5000)).has_value());
}

TEST(StickyTableTest, ManyInsertsNeverExceedTheCap) {
  StickyTable table(8, 64);
  for (int i = 0; i < 5000; ++i) {
    table.Put({"t", "p", "s" + std::to_string(i)}, "a", At(i), seconds(3600));
  }
  EXPECT_LE(table.Size(), 64u);
  for (size_t s = 0; s < table.shard_count(); ++s) EXPECT_LE(table.ShardSizeForTest(s), 8u);
  EXPECT_EQ(table.Size() + table.counters().evictions_capacity.load(), 5000u);
}

TEST(StickyTableTest, SweepRemovesOnlyExpired) {
  StickyTable table(4, 100);
  for (int i = 0; i < 10; ++i) {
    table.Put({"t", "p", "s" + std::to_string(i)}, "a", At(0), seconds(i < 6 ? 1 : 100));
  }
  EXPECT_EQ(table.Sweep(At(999)), 0u);
  EXPECT_EQ(table.Sweep(At(1000)), 6u);
  EXPECT_EQ(table.Size(), 4u);
  EXPECT_EQ(table.counters().evictions_expired.load(), 6u);
}

TEST(StickyTableTest, ErasePolicyRemovesItsPinsOnly) {
  StickyTable table(4, 100);
  table.Put({"t", "p", "a"}, "x", At(0), seconds(10));
  table.Put({"t", "p", "b"}, "x", At(0), seconds(10));
  table.Put({"t", "p2", "a"}, "x", At(0), seconds(10));
  table.Put({"t2", "p", "a"}, "x", At(0), seconds(10));
  EXPECT_EQ(table.ErasePolicy("t", "p"), 2u);
  EXPECT_EQ(table.Size(), 2u);
  EXPECT_TRUE(table.Peek({"t", "p2", "a"}, At(0)).has_value());
}

TEST(StickyTableTest, ConcurrentWritersKeepCountsConsistent) {
  StickyTable table(4, 100'000);
  constexpr int kThreads = 4;
  constexpr int kPerThread = 2000;
  std::latch start(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      start.arrive_and_wait();
      for (int i = 0; i < kPerThread; ++i) {
        const std::string s = std::to_string(t) + "-" + std::to_string(i);
        table.Put({"t", "p", s}, "a", At(0), seconds(10));
        table.LookupAndRenew({"t", "p", s}, At(1), seconds(10));
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(table.Size(), static_cast<size_t>(kThreads * kPerThread));
  EXPECT_EQ(table.counters().hits.load(), static_cast<uint64_t>(kThreads * kPerThread));
}

}  // namespace
}  // namespace router::core
