// Snapshots (POL §10): lookup, sorted listing, copy-on-write, atomic publish; effective breaker
// configuration (POL §6).
#include "core/snapshot.h"

#include <gtest/gtest.h>

#include <atomic>
#include <latch>
#include <thread>
#include <vector>

#include "core_test_util.h"

namespace router::core {
namespace {

using testutil::MakePolicy;
using testutil::Provider;

policy::CompiledPolicyPtr P(std::string tenant, std::string id, uint64_t version = 1) {
  return MakePolicy(std::move(tenant), std::move(id), {Provider("a", 1'000'000)}, {}, version);
}

TEST(SnapshotTest, EmptySnapshotFindsNothing) {
  Snapshot empty;
  EXPECT_EQ(empty.Find("t", "p"), nullptr);
  EXPECT_TRUE(empty.ListTenant("t").empty());
  EXPECT_EQ(empty.size(), 0u);
  SnapshotHolder holder;
  ASSERT_NE(holder.Load(), nullptr);
  EXPECT_EQ(holder.Load()->size(), 0u);
}

TEST(SnapshotTest, FindAndSortedListing) {
  SnapshotBuilder b;
  b.Upsert(P("t1", "zeta"));
  b.Upsert(P("t1", "alpha"));
  b.Upsert(P("t1", "Beta"));
  b.Upsert(P("t2", "alpha"));
  SnapshotPtr s = b.Build();
  EXPECT_EQ(s->size(), 4u);
  EXPECT_EQ(s->generation(), 1u);
  ASSERT_NE(s->Find("t1", "alpha"), nullptr);
  EXPECT_EQ((*s->Find("t1", "alpha"))->policy_id, "alpha");
  EXPECT_EQ(s->Find("t1", "missing"), nullptr);
  EXPECT_EQ(s->Find("t3", "alpha"), nullptr);
  auto list = s->ListTenant("t1");
  ASSERT_EQ(list.size(), 3u);
  EXPECT_EQ(list[0]->policy_id, "Beta");  // byte order
  EXPECT_EQ(list[1]->policy_id, "alpha");
  EXPECT_EQ(list[2]->policy_id, "zeta");
  EXPECT_EQ(s->TenantPolicyCount("t2"), 1u);
  EXPECT_EQ(s->Tenants(), (std::vector<std::string>{"t1", "t2"}));
}

// The writer builds the next snapshot copy-on-write; readers of the old one see no change.
TEST(SnapshotTest, CopyOnWriteLeavesThePreviousSnapshotIntact) {
  SnapshotPtr s1 = WithUpsert(nullptr, P("t1", "p", 1));
  s1 = WithUpsert(s1, P("t2", "q", 1));
  SnapshotPtr s2 = WithUpsert(s1, P("t1", "p", 2));
  EXPECT_EQ((*s1->Find("t1", "p"))->version, 1u);
  EXPECT_EQ((*s2->Find("t1", "p"))->version, 2u);
  EXPECT_EQ(s2->generation(), s1->generation() + 1);
  // The untouched tenant's table is shared, not copied.
  EXPECT_EQ(s1->Find("t2", "q"), s2->Find("t2", "q"));

  SnapshotPtr s3 = WithRemoval(s2, "t1", "p");
  EXPECT_EQ(s3->Find("t1", "p"), nullptr);
  EXPECT_TRUE(s3->ListTenant("t1").empty());
  EXPECT_EQ(s3->Tenants(), (std::vector<std::string>{"t2"}));
  EXPECT_NE(s2->Find("t1", "p"), nullptr);
  EXPECT_EQ(s3->size(), 1u);

  SnapshotBuilder b(s3);
  EXPECT_FALSE(b.Remove("t1", "p"));
  EXPECT_FALSE(b.Remove("nobody", "p"));
  EXPECT_TRUE(b.Remove("t2", "q"));
  EXPECT_EQ(b.Build()->size(), 0u);
}

// POL §6: the effective breaker config comes from the lowest policy_id that enables it and
// names the provider (as a provider or a rule target).
TEST(SnapshotTest, EffectiveBreakerConfigFromLowestPolicyId) {
  auto make = [](std::string id, bool enabled, int threshold, std::string target) {
    auto p = MakePolicy("t", std::move(id), {Provider("a", 1'000'000)},
                        {testutil::Rule({}, 0, std::move(target))});
    p->breaker.enabled = enabled;
    p->breaker.failure_threshold = threshold;
    return p;
  };
  SnapshotBuilder b;
  b.Upsert(make("m", true, 7, "x"));
  b.Upsert(make("b", false, 3, "x"));
  b.Upsert(make("c", true, 9, "y"));
  SnapshotPtr s = b.Build();
  ASSERT_NE(s->EffectiveBreakerConfig("t", "a"), nullptr);
  EXPECT_EQ(s->EffectiveBreakerConfig("t", "a")->failure_threshold, 9);  // "c" < "m"
  EXPECT_EQ(s->EffectiveBreakerConfig("t", "x")->failure_threshold, 7);  // "b" is disabled
  EXPECT_EQ(s->EffectiveBreakerConfig("t", "y")->failure_threshold, 9);
  EXPECT_EQ(s->EffectiveBreakerConfig("t", "z"), nullptr);
  EXPECT_EQ(s->EffectiveBreakerConfig("u", "a"), nullptr);
  SnapshotPtr s2 = WithRemoval(s, "t", "c");  // recomputed on publish
  EXPECT_EQ(s2->EffectiveBreakerConfig("t", "a")->failure_threshold, 7);
  EXPECT_EQ(s2->EffectiveBreakerConfig("t", "y"), nullptr);
}

// POL §10: a reader never sees a half-applied update. Each policy version v carries
// rate_limit.burst = v; readers check the pair while a writer publishes 2,000 versions.
TEST(SnapshotTest, ConcurrentReadersSeeWholeVersions) {
  auto versioned = [](uint64_t v) {
    auto p = MakePolicy("t", "p", {Provider("a", 1'000'000)}, {}, v);
    p->rate_limit.burst = static_cast<int64_t>(v);
    return p;
  };
  SnapshotHolder holder(WithUpsert(nullptr, versioned(1)));
  constexpr int kReaders = 3;
  std::atomic<bool> done{false};
  std::atomic<int> mismatches{0};
  std::latch start(kReaders + 1);
  std::vector<std::thread> readers;
  for (int r = 0; r < kReaders; ++r) {
    readers.emplace_back([&] {
      start.arrive_and_wait();
      uint64_t last = 0;
      while (!done.load(std::memory_order_acquire)) {
        SnapshotPtr s = holder.Load();
        const policy::CompiledPolicyPtr* p = s->Find("t", "p");
        if (p == nullptr || static_cast<uint64_t>((*p)->rate_limit.burst) != (*p)->version ||
            (*p)->version < last) {
          mismatches.fetch_add(1);
        }
        if (p != nullptr) last = (*p)->version;
      }
    });
  }
  start.arrive_and_wait();
  for (uint64_t v = 2; v <= 2000; ++v) holder.Publish(WithUpsert(holder.Load(), versioned(v)));
  done.store(true, std::memory_order_release);
  for (auto& t : readers) t.join();
  EXPECT_EQ(mismatches.load(), 0);
  EXPECT_EQ((*holder.Load()->Find("t", "p"))->version, 2000u);
}

}  // namespace
}  // namespace router::core
