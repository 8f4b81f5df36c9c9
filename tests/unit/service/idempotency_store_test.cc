// IdempotencyStore: nats-contracts.md §7.1, grpc-api.md §3.7, configuration.md [idempotency].

#include "service/idempotency_store.h"

#include <gtest/gtest.h>

#include <atomic>
#include <latch>
#include <string>
#include <thread>
#include <vector>

#include "service_test_util.h"
#include "support/fake_clock.h"

namespace router::service {
namespace {

using Kind = IdempotencyAcquire::Kind;
using testutil::MapRequestContext;

IdempotencyKey GrpcKey(std::string tenant, std::string key) {
  return IdempotencyKey{Transport::kGrpc, std::move(tenant), std::move(key)};
}

IdempotencyRecord Rec(std::string response, std::string decision_id) {
  IdempotencyRecord r;
  r.response = std::move(response);
  r.decision_id = std::move(decision_id);
  return r;
}

class IdempotencyStoreTest : public ::testing::Test {
 protected:
  IdempotencyStoreOptions Opts(size_t max_entries = 1000, int64_t ttl_s = 3600) {
    IdempotencyStoreOptions o;
    o.max_entries = max_entries;
    o.ttl_s = ttl_s;
    o.on_evict = [this](std::string_view reason) { evictions_.push_back(std::string(reason)); };
    return o;
  }
  testing::FakeClock clock_;
  std::vector<std::string> evictions_;
};

// §7.1: same key and fingerprint -> the stored decision is replayed byte-identical.
TEST_F(IdempotencyStoreTest, FreshThenReplay) {
  IdempotencyStore store(Opts(), clock_);
  IdempotencyAcquire first = store.Acquire(GrpcKey("acme", "k"), "fp1");
  ASSERT_EQ(first.kind, Kind::kFresh);
  ASSERT_TRUE(first.slot.active());
  first.slot.Complete(Rec("bytes\x00\x01", "d-1"));
  EXPECT_FALSE(first.slot.active());

  IdempotencyAcquire second = store.Acquire(GrpcKey("acme", "k"), "fp1");
  ASSERT_EQ(second.kind, Kind::kReplay);
  ASSERT_NE(second.record, nullptr);
  EXPECT_EQ(second.record->response, std::string("bytes\x00\x01"));
  EXPECT_EQ(second.record->decision_id, "d-1");
  EXPECT_EQ(second.record->created_at_ms, clock_.WallMs());
  EXPECT_FALSE(second.slot.active());
  EXPECT_EQ(store.Size(), 1u);
  ASSERT_NE(store.Peek(GrpcKey("acme", "k")), nullptr);
}

// §7.1 / grpc §3.7: same key, other fingerprint -> violation (ALREADY_EXISTS).
TEST_F(IdempotencyStoreTest, DifferentFingerprintIsMismatch) {
  IdempotencyStore store(Opts(), clock_);
  store.Acquire(GrpcKey("acme", "k"), "fp1").slot.Complete(Rec("r", "d"));
  IdempotencyAcquire again = store.Acquire(GrpcKey("acme", "k"), "fp2");
  EXPECT_EQ(again.kind, Kind::kMismatch);
  EXPECT_EQ(again.record, nullptr);
  // The stored entry is untouched.
  EXPECT_EQ(store.Acquire(GrpcKey("acme", "k"), "fp1").kind, Kind::kReplay);
}

// grpc §3.7: a namespace separate from NATS; keys are per tenant.
TEST_F(IdempotencyStoreTest, TransportAndTenantSeparateKeys) {
  IdempotencyStore store(Opts(), clock_);
  store.Acquire(GrpcKey("acme", "k"), "fp").slot.Complete(Rec("g", "d1"));
  IdempotencyAcquire nats = store.Acquire(IdempotencyKey{Transport::kNats, "acme", "k"}, "fp");
  EXPECT_EQ(nats.kind, Kind::kFresh);
  nats.slot.Complete(Rec("n", "d2"));
  EXPECT_EQ(store.Acquire(GrpcKey("beta", "k"), "fp").kind, Kind::kFresh);
  EXPECT_EQ(store.Acquire(GrpcKey("acme", "k"), "fp").record->response, "g");
  EXPECT_EQ(store.Acquire(IdempotencyKey{Transport::kNats, "acme", "k"}, "fp").record->response,
            "n");
}

// §7.1: errors are never stored, so a retry re-executes (Abandon, or a dropped slot).
TEST_F(IdempotencyStoreTest, AbandonedOrDroppedSlotStoresNothing) {
  IdempotencyStore store(Opts(), clock_);
  IdempotencyAcquire a = store.Acquire(GrpcKey("acme", "k"), "fp");
  a.slot.Abandon();
  IdempotencyAcquire b = store.Acquire(GrpcKey("acme", "k"), "other");
  EXPECT_EQ(b.kind, Kind::kFresh);
  { IdempotencySlot dropped = std::move(b.slot); }
  EXPECT_EQ(store.Acquire(GrpcKey("acme", "k"), "fp").kind, Kind::kFresh);
  EXPECT_EQ(store.Size(), 0u);
}

// §7.1: expired entries count as absent (TTL idempotency.ttl_s), counted as "expired".
TEST_F(IdempotencyStoreTest, ExpiredEntryIsAbsent) {
  IdempotencyStore store(Opts(1000, 10), clock_);
  store.Acquire(GrpcKey("acme", "k"), "fp").slot.Complete(Rec("r", "d"));
  clock_.Advance(std::chrono::milliseconds(9999));
  EXPECT_EQ(store.Acquire(GrpcKey("acme", "k"), "fp").kind, Kind::kReplay);
  clock_.Advance(std::chrono::milliseconds(1));
  EXPECT_EQ(store.Peek(GrpcKey("acme", "k")), nullptr);
  IdempotencyAcquire again = store.Acquire(GrpcKey("acme", "k"), "other-fp");
  EXPECT_EQ(again.kind, Kind::kFresh);
  EXPECT_EQ(store.EvictedExpired(), 1u);
  EXPECT_EQ(evictions_, std::vector<std::string>{"expired"});
}

TEST_F(IdempotencyStoreTest, SweepRemovesExpired) {
  IdempotencyStore store(Opts(1000, 10), clock_);
  for (int i = 0; i < 5; ++i) {
    store.Acquire(GrpcKey("acme", "k" + std::to_string(i)), "fp").slot.Complete(Rec("r", "d"));
  }
  store.MarkResultProcessed("a-1");
  EXPECT_EQ(store.Size(), 6u);
  EXPECT_EQ(store.Sweep(), 0u);
  clock_.Advance(std::chrono::seconds(10));
  EXPECT_EQ(store.Sweep(), 6u);
  EXPECT_EQ(store.Size(), 0u);
  EXPECT_EQ(store.EvictedExpired(), 6u);
}

// §7.1: bounded by max_entries, oldest evicted first (router_idempotency_evictions_total).
TEST_F(IdempotencyStoreTest, CapacityEvictsOldest) {
  IdempotencyStore store(Opts(3), clock_);
  for (int i = 0; i < 4; ++i) {
    store.Acquire(GrpcKey("acme", "k" + std::to_string(i)), "fp").slot.Complete(Rec("r", "d"));
    clock_.Advance(std::chrono::milliseconds(1));
  }
  EXPECT_EQ(store.Size(), 3u);
  EXPECT_EQ(store.EvictedCapacity(), 1u);
  EXPECT_EQ(evictions_, std::vector<std::string>{"capacity"});
  EXPECT_EQ(store.Peek(GrpcKey("acme", "k0")), nullptr);
  for (int i = 1; i < 4; ++i) {
    EXPECT_NE(store.Peek(GrpcKey("acme", "k" + std::to_string(i))), nullptr) << i;
  }
}

// In-progress slots are never evicted by the bound.
TEST_F(IdempotencyStoreTest, InProgressSlotSurvivesCapacity) {
  IdempotencyStore store(Opts(1), clock_);
  IdempotencyAcquire held = store.Acquire(GrpcKey("acme", "held"), "fp");
  for (int i = 0; i < 3; ++i) {
    store.Acquire(GrpcKey("acme", "k" + std::to_string(i)), "fp").slot.Complete(Rec("r", "d"));
  }
  held.slot.Complete(Rec("held", "d"));
  EXPECT_EQ(store.Acquire(GrpcKey("acme", "held"), "fp").kind, Kind::kReplay);
  EXPECT_EQ(store.Size(), 1u);
}

// A large bound uses several shards; every key stays retrievable.
TEST_F(IdempotencyStoreTest, ShardedStoreKeepsEveryKey) {
  IdempotencyStore store(Opts(200'000), clock_);
  for (int i = 0; i < 5000; ++i) {
    store.Acquire(GrpcKey("acme", "k" + std::to_string(i)), "fp")
        .slot.Complete(Rec(std::to_string(i), "d"));
  }
  EXPECT_EQ(store.Size(), 5000u);
  for (int i = 0; i < 5000; i += 97) {
    auto r = store.Peek(GrpcKey("acme", "k" + std::to_string(i)));
    ASSERT_NE(r, nullptr);
    EXPECT_EQ(r->response, std::to_string(i));
  }
}

// §7.1 / grpc §3.7: concurrent duplicates wait for the first and never run the pipeline twice.
TEST_F(IdempotencyStoreTest, ConcurrentDuplicatesRunPipelineOnce) {
  IdempotencyStore store(Opts(), clock_);
  constexpr int kThreads = 16;
  std::atomic<int> runs{0};
  std::atomic<int> replays{0};
  std::latch start(kThreads);
  std::vector<std::thread> threads;
  std::vector<std::string> seen(kThreads);
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      start.arrive_and_wait();
      IdempotencyAcquire a = store.Acquire(GrpcKey("acme", "same"), "fp");
      if (a.kind == Kind::kFresh) {
        runs.fetch_add(1);
        a.slot.Complete(Rec("decision-of-" + std::to_string(t), "d"));
        seen[t] = "decision-of-" + std::to_string(t);
      } else if (a.kind == Kind::kReplay) {
        replays.fetch_add(1);
        seen[t] = a.record->response;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(runs.load(), 1);
  EXPECT_EQ(replays.load(), kThreads - 1);
  for (int t = 1; t < kThreads; ++t) EXPECT_EQ(seen[t], seen[0]);
}

// While the owner holds the slot, duplicates block; they all replay its record.
TEST_F(IdempotencyStoreTest, DuplicatesWaitForTheOwner) {
  IdempotencyStore store(Opts(), clock_);
  IdempotencyAcquire owner = store.Acquire(GrpcKey("acme", "k"), "fp");
  ASSERT_EQ(owner.kind, Kind::kFresh);
  constexpr int kThreads = 8;
  std::latch arrived(kThreads + 1);
  std::vector<Kind> kinds(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      arrived.count_down();
      kinds[t] = store.Acquire(GrpcKey("acme", "k"), "fp").kind;
    });
  }
  arrived.arrive_and_wait();
  owner.slot.Complete(Rec("r", "d"));
  for (auto& th : threads) th.join();
  for (Kind k : kinds) EXPECT_EQ(k, Kind::kReplay);
}

// An abandoned first attempt (error) hands the key to exactly one waiter.
TEST_F(IdempotencyStoreTest, AbandonHandsKeyToOneWaiter) {
  IdempotencyStore store(Opts(), clock_);
  IdempotencyAcquire owner = store.Acquire(GrpcKey("acme", "k"), "fp");
  constexpr int kThreads = 8;
  std::latch arrived(kThreads + 1);
  std::atomic<int> fresh{0};
  std::atomic<int> replay{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      arrived.count_down();
      IdempotencyAcquire a = store.Acquire(GrpcKey("acme", "k"), "fp");
      if (a.kind == Kind::kFresh) {
        fresh.fetch_add(1);
        a.slot.Complete(Rec("second", "d2"));
      } else if (a.kind == Kind::kReplay) {
        replay.fetch_add(1);
      }
    });
  }
  arrived.arrive_and_wait();
  owner.slot.Abandon();
  for (auto& th : threads) th.join();
  EXPECT_EQ(fresh.load(), 1);
  EXPECT_EQ(replay.load(), kThreads - 1);
}

// The wait is bounded: a stuck owner yields kInProgress, nothing runs.
TEST_F(IdempotencyStoreTest, BoundedWaitReportsInProgress) {
  IdempotencyStoreOptions o = Opts();
  o.wait_timeout_ms = 20;
  IdempotencyStore store(o, clock_);
  IdempotencyAcquire owner = store.Acquire(GrpcKey("acme", "k"), "fp");
  IdempotencyAcquire dup = store.Acquire(GrpcKey("acme", "k"), "fp");
  EXPECT_EQ(dup.kind, Kind::kInProgress);
  EXPECT_FALSE(dup.slot.active());
  owner.slot.Complete(Rec("r", "d"));
  EXPECT_EQ(store.Acquire(GrpcKey("acme", "k"), "fp").kind, Kind::kReplay);
}

// §7.1 "Results": key marked after the usage PubAck; same TTL.
TEST_F(IdempotencyStoreTest, ResultKeys) {
  IdempotencyStore store(Opts(1000, 60), clock_);
  EXPECT_FALSE(store.IsResultProcessed("a-1"));
  store.MarkResultProcessed("a-1");
  store.MarkResultProcessed("a-1");
  EXPECT_TRUE(store.IsResultProcessed("a-1"));
  EXPECT_FALSE(store.IsResultProcessed("a-2"));
  EXPECT_EQ(store.Size(), 1u);
  clock_.Advance(std::chrono::seconds(60));
  EXPECT_FALSE(store.IsResultProcessed("a-1"));
}

// grpc §3.7: fingerprint over tenant, resolved policy, context minus idempotency_key,
// message_type, payload.
TEST(IdempotencyFingerprintTest, GrpcFingerprint) {
  MapRequestContext a{{"idempotency_key", "k1"}, {"x", "1"}, {"y", "2"}};
  MapRequestContext b{{"idempotency_key", "k2"}, {"y", "2"}, {"x", "1"}};
  MapRequestContext c{{"idempotency_key", "k1"}, {"x", "1"}, {"y", "3"}};
  const std::string fa = GrpcDecideFingerprint("acme", "default", a, "chat", "p");
  EXPECT_EQ(fa.size(), 64u);
  EXPECT_EQ(fa, GrpcDecideFingerprint("acme", "default", b, "chat", "p"));
  EXPECT_NE(fa, GrpcDecideFingerprint("acme", "default", c, "chat", "p"));
  EXPECT_NE(fa, GrpcDecideFingerprint("beta", "default", a, "chat", "p"));
  EXPECT_NE(fa, GrpcDecideFingerprint("acme", "other", a, "chat", "p"));
  EXPECT_NE(fa, GrpcDecideFingerprint("acme", "default", a, "chat2", "p"));
  EXPECT_NE(fa, GrpcDecideFingerprint("acme", "default", a, "chat", "q"));
}

// §7.1: NATS fingerprint is over the canonical JSON: member order and whitespace do not matter.
TEST(IdempotencyFingerprintTest, NatsFingerprintIsCanonical) {
  const std::string f1 = NatsDecideFingerprint("acme", "default", R"({"type":"t","b":[1,2]})", "",
                                               R"({"s":"1"})", true, "caf.exec.assign.v1", "");
  const std::string f2 = NatsDecideFingerprint("acme", "default", R"({ "b": [1, 2], "type": "t" })",
                                               "", R"({"s": "1"})", true, "caf.exec.assign.v1", "");
  EXPECT_EQ(f1, f2);
  EXPECT_NE(f1, NatsDecideFingerprint("acme", "default", R"({"type":"t","b":[1,2]})", "",
                                      R"({"s":"1"})", false, "caf.exec.assign.v1", ""));
  EXPECT_NE(f1, NatsDecideFingerprint("acme", "default", R"({"type":"u","b":[1,2]})", "",
                                      R"({"s":"1"})", true, "caf.exec.assign.v1", ""));
  EXPECT_EQ(CanonicalJsonFingerprint(R"({"b":1,"a":2})"),
            CanonicalJsonFingerprint(R"({"a":2, "b":1})"));
}

}  // namespace
}  // namespace router::service
