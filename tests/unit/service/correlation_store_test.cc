// CorrelationStore: nats-contracts.md §7.2, grpc-api.md §9, configuration.md [correlation].

#include "service/correlation_store.h"

#include <gtest/gtest.h>

#include <latch>
#include <string>
#include <thread>
#include <vector>

#include "support/fake_clock.h"

namespace router::service {
namespace {

AssignmentRecord NewRecord(std::string id, std::string tenant = "acme",
                           std::string request = "req-1") {
  AssignmentRecord r;
  r.assignment_id = std::move(id);
  r.tenant_id = std::move(tenant);
  r.request_id = std::move(request);
  r.trace_id = "7d3e0c9a51b24f6e8a1c2b3d4e5f6071";
  r.policy_id = "default";
  r.provider_id = "p1";
  r.decision_id = "d-1";
  r.subject = "caf.exec.assign.v1";
  return r;
}

class CorrelationStoreTest : public ::testing::Test {
 protected:
  CorrelationStoreOptions Opts(size_t max_entries = 1000, int64_t ttl_s = 3600) {
    CorrelationStoreOptions o;
    o.max_entries = max_entries;
    o.ttl_s = ttl_s;
    o.on_evict = [this](std::string_view reason) { evictions_.push_back(std::string(reason)); };
    return o;
  }
  testing::FakeClock clock_;
  std::vector<std::string> evictions_;
};

TEST_F(CorrelationStoreTest, CreateStartsPending) {
  CorrelationStore store(Opts(), clock_);
  AssignmentRecord in = NewRecord("a1");
  in.state = AssignmentState::kCompleted;  // ignored
  in.publish_fate = "published";           // ignored
  ASSERT_TRUE(store.Create(in));
  EXPECT_FALSE(store.Create(NewRecord("a1")));
  EXPECT_FALSE(store.Create(NewRecord("")));
  auto r = store.Get("acme", "a1");
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->state, AssignmentState::kPending);
  EXPECT_EQ(r->publish_fate, "");
  EXPECT_EQ(r->created_at_ms, clock_.WallMs());
  EXPECT_EQ(r->provider_id, "p1");
  EXPECT_EQ(store.Size(), 1u);
}

// grpc §9 / grpc §13.30: another tenant's record is invisible.
TEST_F(CorrelationStoreTest, TenantScoped) {
  CorrelationStore store(Opts(), clock_);
  store.Create(NewRecord("a1", "acme", "r1"));
  EXPECT_FALSE(store.Get("beta", "a1").has_value());
  EXPECT_FALSE(store.FindByRequest("beta", "r1").has_value());
  EXPECT_TRUE(store.FindByRequest("acme", "r1").has_value());
}

// §7.2: pending -> published -> acked -> completed.
TEST_F(CorrelationStoreTest, HappyPath) {
  CorrelationStore store(Opts(), clock_);
  store.Create(NewRecord("a1"));
  EXPECT_TRUE(store.MarkPublished("a1", 42, false, 1000));
  auto r = store.Get("acme", "a1");
  EXPECT_EQ(r->state, AssignmentState::kPublished);
  EXPECT_EQ(r->publish_fate, "published");
  EXPECT_EQ(r->stream_seq, 42);
  EXPECT_EQ(r->published_at_ms, 1000);
  EXPECT_TRUE(store.OnAck("a1", "accepted", "queued", 1100));
  r = store.Get("acme", "a1");
  EXPECT_EQ(r->state, AssignmentState::kAcked);
  EXPECT_EQ(r->ack_status, "accepted");
  EXPECT_EQ(r->ack_message, "queued");
  EXPECT_EQ(r->acked_at_ms, 1100);
  EXPECT_TRUE(store.OnResult("a1", "success", 912, 0.0034, 1200));
  r = store.Get("acme", "a1");
  EXPECT_EQ(r->state, AssignmentState::kCompleted);
  EXPECT_EQ(r->result_status, "success");
  EXPECT_EQ(r->latency_ms, 912);
  EXPECT_DOUBLE_EQ(r->cost, 0.0034);
  EXPECT_EQ(r->completed_at_ms, 1200);
  // A duplicate result is ignored.
  EXPECT_FALSE(store.OnResult("a1", "error", 1, 1, 1300, "X"));
  EXPECT_EQ(store.Get("acme", "a1")->result_status, "success");
}

TEST_F(CorrelationStoreTest, DuplicatePubAckIsDeduplicated) {
  CorrelationStore store(Opts(), clock_);
  store.Create(NewRecord("a1"));
  store.MarkPublished("a1", 7, /*duplicate=*/true);
  EXPECT_EQ(store.Get("acme", "a1")->publish_fate, "deduplicated");
  EXPECT_EQ(store.Get("acme", "a1")->published_at_ms, clock_.WallMs());
}

// §7.2 / §7.1: publish_failed, and a re-enqueue returns it to pending.
TEST_F(CorrelationStoreTest, PublishFailedThenReenqueued) {
  CorrelationStore store(Opts(), clock_);
  store.Create(NewRecord("a1"));
  EXPECT_TRUE(store.MarkPublishFailed("a1", "expired"));
  auto r = store.Get("acme", "a1");
  EXPECT_EQ(r->state, AssignmentState::kPublishFailed);
  EXPECT_EQ(r->publish_fate, "expired");
  EXPECT_FALSE(store.MarkPublishFailed("a1", "failed"));  // not pending
  EXPECT_TRUE(store.MarkPending("a1"));
  r = store.Get("acme", "a1");
  EXPECT_EQ(r->state, AssignmentState::kPending);
  EXPECT_EQ(r->publish_fate, "");
  EXPECT_FALSE(store.MarkPending("a1"));  // already pending
  EXPECT_TRUE(store.MarkPublished("a1", 9));
  EXPECT_EQ(store.Get("acme", "a1")->state, AssignmentState::kPublished);
}

// §7.2 / scenario 18: completed is terminal; a later ack only fills ack fields.
TEST_F(CorrelationStoreTest, LateAckAfterResultFillsAckFieldsOnly) {
  CorrelationStore store(Opts(), clock_);
  store.Create(NewRecord("a1"));
  store.MarkPublished("a1", 1);
  store.OnResult("a1", "success", 10, 0.5, 2000);
  EXPECT_TRUE(store.OnAck("a1", "accepted", "late", 2100));
  auto r = store.Get("acme", "a1");
  EXPECT_EQ(r->state, AssignmentState::kCompleted);
  EXPECT_EQ(r->ack_status, "accepted");
  EXPECT_EQ(r->acked_at_ms, 2100);
  // A PubAck after completion fills nothing back.
  store.MarkPublished("a1", 99);
  EXPECT_EQ(store.Get("acme", "a1")->state, AssignmentState::kCompleted);
  EXPECT_EQ(store.Get("acme", "a1")->stream_seq, 1);
}

// Out of order: an ack before the PubAck; the PubAck fills its fields, the state stays acked.
TEST_F(CorrelationStoreTest, AckBeforePubAck) {
  CorrelationStore store(Opts(), clock_);
  store.Create(NewRecord("a1"));
  store.OnAck("a1", "accepted", "", 100);
  store.MarkPublished("a1", 5, false, 90);
  auto r = store.Get("acme", "a1");
  EXPECT_EQ(r->state, AssignmentState::kAcked);
  EXPECT_EQ(r->stream_seq, 5);
  EXPECT_EQ(r->publish_fate, "published");
  // First ack wins.
  store.OnAck("a1", "rejected", "again", 200);
  EXPECT_EQ(store.Get("acme", "a1")->ack_status, "accepted");
}

// §7.2: events for unknown ids are ignored.
TEST_F(CorrelationStoreTest, UnknownIdsIgnored) {
  CorrelationStore store(Opts(), clock_);
  EXPECT_FALSE(store.MarkPublished("nope", 1));
  EXPECT_FALSE(store.MarkPublishFailed("nope"));
  EXPECT_FALSE(store.MarkPending("nope"));
  EXPECT_FALSE(store.OnAck("nope", "accepted", "", 1));
  EXPECT_FALSE(store.OnResult("nope", "success", 1, 0, 1));
  EXPECT_EQ(store.Size(), 0u);
}

// §7.2: indexed by (tenant, request_id) -> newest.
TEST_F(CorrelationStoreTest, FindByRequestReturnsNewest) {
  CorrelationStore store(Opts(), clock_);
  store.Create(NewRecord("a1", "acme", "r"));
  clock_.Advance(std::chrono::milliseconds(5));
  store.Create(NewRecord("a2", "acme", "r"));
  store.Create(NewRecord("a3", "acme", "other"));
  auto r = store.FindByRequest("acme", "r");
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->assignment_id, "a2");
  EXPECT_FALSE(store.FindByRequest("acme", "missing").has_value());
}

// §7.2: TTL from creation (events do not extend it); Sweep removes expired records.
TEST_F(CorrelationStoreTest, TtlFromCreationAndSweep) {
  CorrelationStore store(Opts(1000, 60), clock_);
  store.Create(NewRecord("a1", "acme", "r"));
  clock_.Advance(std::chrono::seconds(59));
  store.OnAck("a1", "accepted", "", 0);
  EXPECT_TRUE(store.Get("acme", "a1").has_value());
  clock_.Advance(std::chrono::seconds(1));
  EXPECT_FALSE(store.Get("acme", "a1").has_value());
  EXPECT_FALSE(store.FindByRequest("acme", "r").has_value());
  EXPECT_FALSE(store.OnResult("a1", "success", 1, 0, 0));
  EXPECT_EQ(store.Sweep(), 1u);
  EXPECT_EQ(store.Size(), 0u);
  EXPECT_EQ(store.EvictedExpired(), 1u);
  EXPECT_EQ(evictions_, std::vector<std::string>{"expired"});
  // The id can be tracked again after expiry.
  EXPECT_TRUE(store.Create(NewRecord("a1", "acme", "r")));
  EXPECT_EQ(store.FindByRequest("acme", "r")->assignment_id, "a1");
}

// An expired record whose id is created again before any Sweep is replaced in place: counted
// once as expired, the size stays 1, the old request key no longer finds it, and the stale
// FIFO entry of the old record never evicts the new one.
TEST_F(CorrelationStoreTest, ExpiredIdCreatedAgainBeforeSweep) {
  CorrelationStore store(Opts(1000, 60), clock_);
  ASSERT_TRUE(store.Create(NewRecord("a1", "acme", "old")));
  clock_.Advance(std::chrono::seconds(60));
  ASSERT_TRUE(store.Create(NewRecord("a1", "acme", "new")));
  EXPECT_EQ(store.Size(), 1u);
  EXPECT_EQ(store.EvictedExpired(), 1u);
  EXPECT_FALSE(store.FindByRequest("acme", "old").has_value());
  EXPECT_EQ(store.FindByRequest("acme", "new")->assignment_id, "a1");
  EXPECT_EQ(store.Sweep(), 0u);
  EXPECT_TRUE(store.Get("acme", "a1").has_value());
  clock_.Advance(std::chrono::seconds(60));
  EXPECT_EQ(store.Sweep(), 1u);
  EXPECT_EQ(store.Size(), 0u);
}

// §7.2: bound max_entries, oldest evicted.
TEST_F(CorrelationStoreTest, CapacityEvictsOldest) {
  CorrelationStore store(Opts(2), clock_);
  store.Create(NewRecord("a1", "acme", "r1"));
  store.Create(NewRecord("a2", "acme", "r2"));
  store.Create(NewRecord("a3", "acme", "r3"));
  EXPECT_EQ(store.Size(), 2u);
  EXPECT_FALSE(store.Get("acme", "a1").has_value());
  EXPECT_FALSE(store.FindByRequest("acme", "r1").has_value());
  EXPECT_TRUE(store.Get("acme", "a3").has_value());
  EXPECT_EQ(store.EvictedCapacity(), 1u);
  EXPECT_EQ(evictions_, std::vector<std::string>{"capacity"});
}

// S10 reply body: the proto Assignment as JSON with proto field names; round trip.
TEST_F(CorrelationStoreTest, JsonRoundTrip) {
  AssignmentRecord r = NewRecord("a1");
  r.state = AssignmentState::kCompleted;
  r.ack_status = "accepted";
  r.ack_message = "q \"x\"";
  r.result_status = "success";
  r.latency_ms = 912;
  r.cost = 0.0034;
  r.created_at_ms = 1795688130123;
  r.publish_fate = "published";
  r.stream_seq = 48213;
  const std::string json = AssignmentRecordToJson(r);
  EXPECT_NE(json.find("\"assignment_id\":\"a1\""), std::string::npos);
  EXPECT_NE(json.find("\"state\":\"completed\""), std::string::npos);
  EXPECT_NE(json.find("\"cost\":0.0034"), std::string::npos);
  EXPECT_NE(json.find("\"stream_seq\":48213"), std::string::npos);
  auto back = AssignmentRecordFromJson(json);
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(AssignmentRecordToJson(*back), json);
  EXPECT_FALSE(AssignmentRecordFromJson("{").has_value());
  EXPECT_FALSE(AssignmentRecordFromJson("{\"state\":\"acked\"}").has_value());
}

// Thread-safety: concurrent creates and events across shards.
TEST_F(CorrelationStoreTest, ConcurrentUpdates) {
  CorrelationStore store(Opts(200'000), clock_);
  constexpr int kThreads = 8;
  constexpr int kPer = 500;
  std::latch start(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      start.arrive_and_wait();
      for (int i = 0; i < kPer; ++i) {
        const std::string id = "a-" + std::to_string(t) + "-" + std::to_string(i);
        store.Create(NewRecord(id, "acme", "r-" + std::to_string(i)));
        store.MarkPublished(id, i);
        store.OnResult(id, "success", i, 0, 1);
        store.OnAck(id, "accepted", "", 1);
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(store.Size(), static_cast<size_t>(kThreads * kPer));
  for (int t = 0; t < kThreads; ++t) {
    auto r = store.Get("acme", "a-" + std::to_string(t) + "-7");
    ASSERT_TRUE(r.has_value());
    EXPECT_EQ(r->state, AssignmentState::kCompleted);
    EXPECT_EQ(r->ack_status, "accepted");
  }
  EXPECT_TRUE(store.FindByRequest("acme", "r-3").has_value());
}

}  // namespace
}  // namespace router::service
