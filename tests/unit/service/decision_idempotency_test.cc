// DecisionService step 8, idempotency (grpc-api.md §3.1 step 8, §3.7; NATS §7.1): replay,
// conflict, errors never stored, DryRun never consults, NATS keys passed by the transport.
#include <gtest/gtest.h>

#include <string>

#include "base/errors.h"
#include "core/decider.h"
#include "core/provider_health.h"
#include "core/random.h"
#include "core/snapshot.h"
#include "core/sticky_table.h"
#include "service/decision_service.h"
#include "service/idempotency_store.h"
#include "service_test_util.h"
#include "support/fake_clock.h"

namespace router::service {
namespace {

using testutil::CompileStamped;
using testutil::MapRequestContext;

constexpr char kPolicy[] = R"({"providers":[{"name":"a","weight":50},{"name":"b","weight":50}]})";

class DecisionIdempotencyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    core::ReseedThisThreadForTest(7);
    auto compiled = CompileStamped(kPolicy, "t1", "p1", 3);
    ASSERT_NE(compiled, nullptr);
    snapshots_.Publish(core::WithUpsert(snapshots_.Load(), compiled));
    service_.SetIdempotencyStore(&store_);
  }
  void TearDown() override { core::SetGlobalSeed(0); }

  static DecideCall Call(const MapRequestContext& ctx, std::string_view payload = "x",
                         std::string_view policy = "p1") {
    DecideCall call;
    call.tenant_id = "t1";
    call.policy_id = policy;
    call.message_type = "chat";
    call.message_payload = payload;
    call.context = &ctx;
    return call;
  }

  // What a transport does with a fresh keyed success: store the bytes it answers.
  static void Answer(DecideOutput& out) {
    if (out.idempotency != nullptr) {
      IdempotencyRecord r;
      r.response = "bytes-of-" + out.decision_id;
      r.decision_id = out.decision_id;
      out.idempotency->Complete(std::move(r));
    }
  }

  router::testing::FakeClock clock_;
  core::NoBreakers health_;
  core::NoStatistics stats_;
  core::StickyTable sticky_;
  core::Decider decider_{clock_, health_, stats_, sticky_};
  core::SnapshotHolder snapshots_;
  DecisionService service_{DecisionServiceOptions{}, clock_, snapshots_, decider_};
  IdempotencyStore store_{IdempotencyStoreOptions{}, clock_};
};

// §3.7: same key and fingerprint -> the stored record, nothing decided.
TEST_F(DecisionIdempotencyTest, ReplayReturnsStoredRecord) {
  MapRequestContext ctx{{"idempotency_key", "k1"}};
  DecideOutput first = service_.Decide(Call(ctx));
  ASSERT_TRUE(first.status.ok()) << first.status;
  EXPECT_EQ(first.replay, nullptr);
  ASSERT_NE(first.idempotency, nullptr);
  Answer(first);
  for (int i = 0; i < 5; ++i) {
    DecideOutput again = service_.Decide(Call(ctx));
    ASSERT_TRUE(again.status.ok()) << again.status;
    ASSERT_NE(again.replay, nullptr);
    EXPECT_EQ(again.replay->response, "bytes-of-" + first.decision_id);
    EXPECT_EQ(again.decision_id, first.decision_id);
    EXPECT_EQ(again.idempotency, nullptr);
    EXPECT_TRUE(again.provider_id.empty());  // nothing selected
  }
  EXPECT_EQ(store_.Hits(Transport::kGrpc), 5u);
}

// §3.1 step 8: different request under the same key -> ALREADY_EXISTS (exact text and tag).
TEST_F(DecisionIdempotencyTest, DifferentRequestIsAlreadyExists) {
  MapRequestContext ctx{{"idempotency_key", "k1"}};
  DecideOutput first = service_.Decide(Call(ctx, "payload-1"));
  Answer(first);
  DecideOutput other = service_.Decide(Call(ctx, "payload-2"));
  EXPECT_EQ(other.status.code(), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(StdView(other.status.message()), "idempotency_key reused with a different request");
  EXPECT_EQ(ErrorTag(other.status), "idempotency_key_reused");
  MapRequestContext ctx2{{"idempotency_key", "k1"}, {"region", "eu"}};
  EXPECT_EQ(service_.Decide(Call(ctx2, "payload-1")).status.code(),
            absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(store_.Conflicts(Transport::kGrpc), 2u);
}

// §3.7: errors are never stored; a later success under the key is fresh.
TEST_F(DecisionIdempotencyTest, ErrorsAreNotStored) {
  MapRequestContext ctx{{"idempotency_key", "k1"}};
  DecideOutput missing = service_.Decide(Call(ctx, "x", "nope"));
  EXPECT_EQ(missing.status.code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(missing.idempotency, nullptr);
  MapRequestContext past{{"idempotency_key", "k2"}, {"deadline", "1"}};
  DecideOutput late = service_.Decide(Call(past));
  EXPECT_EQ(late.status.code(), absl::StatusCode::kDeadlineExceeded);
  // k2 was released by the failed attempt: a fresh decision now.
  MapRequestContext ok{{"idempotency_key", "k2"}};
  DecideOutput fresh = service_.Decide(Call(ok));
  ASSERT_TRUE(fresh.status.ok());
  EXPECT_EQ(fresh.replay, nullptr);
  EXPECT_NE(fresh.idempotency, nullptr);
  EXPECT_EQ(store_.Size(), 0u);  // nothing completed yet
}

// A fresh keyed decision that the transport drops (e.g. encode failure) stores nothing.
TEST_F(DecisionIdempotencyTest, DroppedSlotStoresNothing) {
  MapRequestContext ctx{{"idempotency_key", "k1"}};
  { DecideOutput out = service_.Decide(Call(ctx)); }
  DecideOutput again = service_.Decide(Call(ctx, "other payload"));
  ASSERT_TRUE(again.status.ok());
  EXPECT_EQ(again.replay, nullptr);
}

// grpc §7: DryRun never consults the table nor fills it.
TEST_F(DecisionIdempotencyTest, DryRunIgnoresIdempotency) {
  MapRequestContext ctx{{"idempotency_key", "k1"}};
  DecideOutput first = service_.Decide(Call(ctx));
  Answer(first);
  DecideOutput dry = service_.DryRun(Call(ctx, "different"));
  ASSERT_TRUE(dry.status.ok()) << dry.status;
  EXPECT_EQ(dry.replay, nullptr);
  EXPECT_EQ(dry.idempotency, nullptr);
  EXPECT_NE(dry.decision_id, first.decision_id);
}

// Without a key, or without a store, step 8 does nothing.
TEST_F(DecisionIdempotencyTest, NoKeyNoIdempotency) {
  MapRequestContext ctx;
  DecideOutput out = service_.Decide(Call(ctx));
  ASSERT_TRUE(out.status.ok());
  EXPECT_EQ(out.idempotency, nullptr);
  EXPECT_EQ(out.replay, nullptr);
}

// NATS §7.1: the transport passes key and fingerprint; a separate namespace from gRPC.
TEST_F(DecisionIdempotencyTest, NatsKeysComeFromTheTransport) {
  MapRequestContext ctx;
  DecideCall call = Call(ctx);
  call.transport = Transport::kNats;
  call.idempotency_key = "k1";
  call.idempotency_fingerprint = "fp-nats";
  DecideOutput first = service_.Decide(call);
  ASSERT_NE(first.idempotency, nullptr);
  Answer(first);
  DecideOutput replay = service_.Decide(call);
  ASSERT_NE(replay.replay, nullptr);
  call.idempotency_fingerprint = "fp-other";
  EXPECT_EQ(service_.Decide(call).status.code(), absl::StatusCode::kAlreadyExists);
  // The same key over gRPC is another key.
  MapRequestContext grpc_ctx{{"idempotency_key", "k1"}};
  DecideOutput grpc = service_.Decide(Call(grpc_ctx));
  ASSERT_TRUE(grpc.status.ok());
  EXPECT_EQ(grpc.replay, nullptr);
  EXPECT_EQ(store_.Hits(Transport::kNats), 1u);
}

}  // namespace
}  // namespace router::service
