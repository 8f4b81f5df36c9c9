// Router.Decide idempotency over a real gRPC channel: grpc-api.md §3.7 and §13 scenario 15
// (replay byte-identical with `x-idempotent-replay: true`, different request -> ALREADY_EXISTS,
// 8 concurrent identical calls -> one decision), errors never stored, DryRun never consults it.

#include <latch>
#include <set>
#include <thread>

#include "itest_support.h"

namespace router::itest {
namespace {

struct DecideBytes {
  grpc::Status status;
  std::string body;     // serialized RouteDecision as received
  bool replay = false;  // x-idempotent-replay: true
};

DecideBytes RawDecide(grpc::Channel* channel, const fv1::RouteRequest& req) {
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  grpc::internal::RpcMethod rpc("/beamline.flow.v1.Router/Decide",
                                grpc::internal::RpcMethod::NORMAL_RPC);
  grpc::ByteBuffer response;
  DecideBytes out;
  out.status = grpc::internal::BlockingUnaryCall<grpc::ByteBuffer, grpc::ByteBuffer>(
      channel, rpc, &ctx, ToByteBuffer(req.SerializeAsString()), &response);
  if (out.status.ok()) out.body = FromByteBuffer(response);
  for (const auto& [k, v] : ctx.GetServerInitialMetadata()) {
    if (std::string(k.data(), k.size()) == "x-idempotent-replay" &&
        std::string(v.data(), v.size()) == "true") {
      out.replay = true;
    }
  }
  return out;
}

std::string DecisionIdOf(const std::string& body) {
  fv1::RouteDecision d;
  if (!d.ParseFromString(body)) return "<unparsable>";
  return d.decision_id();
}

class IdempotencyTest : public SharedRouterTest {
 protected:
  void SetUp() override {
    SharedRouterTest::SetUp();
    ASSERT_TRUE(IsOk(c().Upsert("idem_tenant", "idem_policy", kP73)));
    static int run = 0;
    suffix_ = "-" + std::to_string(++run);  // keys stay fresh under --gtest_repeat
  }
  fv1::RouteRequest Req(const std::string& key, const std::string& payload = "hello",
                        const std::string& message_id = "m-1") const {
    fv1::RouteRequest req = MakeRequest("idem_tenant", "idem_policy",
                                        {{"idempotency_key", key + suffix_}, {"explain", "true"}});
    req.mutable_message()->set_payload(payload);
    req.mutable_message()->set_message_id(message_id);
    return req;
  }
  std::string suffix_;
};

// §13.15 / §3.7: same key and request -> byte-identical RouteDecision (same decision_id,
// metadata, explanation) with x-idempotent-replay: true. message_id is not part of the
// fingerprint.
TEST_F(IdempotencyTest, Scenario15ReplayIsByteIdentical) {
  DecideBytes first = RawDecide(channel(), Req("k-replay"));
  ASSERT_TRUE(IsOk(first.status));
  EXPECT_FALSE(first.replay);
  fv1::RouteDecision d;
  ASSERT_TRUE(d.ParseFromString(first.body));
  EXPECT_TRUE(d.has_explanation());
  EXPECT_FALSE(d.decision_id().empty());
  for (int i = 0; i < 5; ++i) {
    DecideBytes again = RawDecide(channel(), Req("k-replay", "hello", "m-" + std::to_string(i)));
    ASSERT_TRUE(IsOk(again.status));
    EXPECT_TRUE(again.replay);
    EXPECT_EQ(again.body, first.body);
  }
  // The same key of another tenant is another key.
  ASSERT_TRUE(IsOk(c().Upsert("idem_tenant2", "idem_policy", kP73)));
  fv1::RouteRequest other = Req("k-replay");
  other.mutable_message()->set_tenant_id("idem_tenant2");
  DecideBytes other_tenant = RawDecide(channel(), other);
  ASSERT_TRUE(IsOk(other_tenant.status));
  EXPECT_FALSE(other_tenant.replay);
  EXPECT_NE(DecisionIdOf(other_tenant.body), d.decision_id());
}

// §13.15 / §3.1 step 8: same key, different request -> ALREADY_EXISTS.
TEST_F(IdempotencyTest, Scenario15DifferentRequestIsAlreadyExists) {
  ASSERT_TRUE(IsOk(RawDecide(channel(), Req("k-conflict", "payload-a")).status));
  fv1::RouteDecision d;
  EXPECT_TRUE(IsError(c().Decide(Req("k-conflict", "payload-b"), &d),
                      grpc::StatusCode::ALREADY_EXISTS,
                      "idempotency_key reused with a different request", "idempotency_key_reused"));
  fv1::RouteRequest other_context = Req("k-conflict", "payload-a");
  (*other_context.mutable_context())["region"] = "eu";
  EXPECT_TRUE(IsError(c().Decide(other_context, &d), grpc::StatusCode::ALREADY_EXISTS,
                      "idempotency_key reused with a different request", "idempotency_key_reused"));
  // The original is still replayed.
  EXPECT_TRUE(RawDecide(channel(), Req("k-conflict", "payload-a")).replay);
}

// §3.7: only successful decisions are stored; errors are never replayed.
TEST_F(IdempotencyTest, ErrorsAreNotStored) {
  fv1::RouteRequest req = Req("k-error");
  const std::string missing = "idem_missing_policy" + suffix_;
  req.set_policy_id(missing);
  fv1::RouteDecision d;
  EXPECT_EQ(c().Decide(req, &d).error_code(), grpc::StatusCode::NOT_FOUND);
  ASSERT_TRUE(IsOk(c().Upsert("idem_tenant", missing, kP73)));
  DecideBytes now = RawDecide(channel(), req);
  ASSERT_TRUE(IsOk(now.status));
  EXPECT_FALSE(now.replay);
  // A malformed key is rejected at step 1 and stores nothing either.
  fv1::RouteRequest bad = Req("k");
  (*bad.mutable_context())["idempotency_key"] = std::string(257, 'k');
  EXPECT_TRUE(IsError(c().Decide(bad, &d), grpc::StatusCode::INVALID_ARGUMENT,
                      "context.idempotency_key: must be 1-256 bytes without control characters",
                      "invalid_request"));
}

// §7: DryRun never consults nor fills the idempotency table.
TEST_F(IdempotencyTest, DryRunIgnoresIdempotency) {
  DecideBytes first = RawDecide(channel(), Req("k-dry"));
  ASSERT_TRUE(IsOk(first.status));
  fv1::DryRunRequest dry;
  *dry.mutable_request() = Req("k-dry");
  fv1::DryRunResponse resp;
  auto ctx = Ctx(kAdminKey);
  ASSERT_TRUE(IsOk(c().admin->DryRun(ctx.get(), dry, &resp)));
  EXPECT_EQ(resp.status_code(), 0);
  EXPECT_NE(resp.decision().decision_id(), DecisionIdOf(first.body));

  *dry.mutable_request() = Req("k-dry-only");
  auto ctx2 = Ctx(kAdminKey);
  ASSERT_TRUE(IsOk(c().admin->DryRun(ctx2.get(), dry, &resp)));
  DecideBytes after = RawDecide(channel(), Req("k-dry-only"));
  ASSERT_TRUE(IsOk(after.status));
  EXPECT_FALSE(after.replay);
}

// §13.15: 8 concurrent identical calls -> one decision (the others wait for it and replay).
TEST_F(IdempotencyTest, Scenario15ConcurrentIdenticalCallsMakeOneDecision) {
  for (int round = 0; round < 3; ++round) {
    const std::string key = "k-concurrent-" + std::to_string(round);
    constexpr int kCalls = 8;
    std::vector<DecideBytes> results(kCalls);
    std::latch start(kCalls);
    std::vector<std::thread> threads;
    for (int i = 0; i < kCalls; ++i) {
      threads.emplace_back([&, i] {
        auto channel = MakeChannel(SharedRouter().process->grpc_target());
        start.arrive_and_wait();
        results[i] = RawDecide(channel.get(), Req(key));
      });
    }
    for (auto& t : threads) t.join();
    std::set<std::string> bodies;
    int fresh = 0;
    for (const auto& r : results) {
      ASSERT_TRUE(IsOk(r.status));
      bodies.insert(r.body);
      if (!r.replay) ++fresh;
    }
    EXPECT_EQ(bodies.size(), 1u) << "round " << round;
    EXPECT_EQ(fresh, 1) << "round " << round;
  }
}

}  // namespace
}  // namespace router::itest
