// Hostile and malformed input over gRPC (grpc-api.md §1 "handlers take raw bytes", §3.1 step 1,
// configuration.md server.grpc_max_message_bytes and decide.max_context_*): every bad request
// gets a clear non-OK status and the router keeps serving.

#include "itest_support.h"

namespace router::itest {
namespace {

constexpr char kDecide[] = "/beamline.flow.v1.Router/Decide";

class BadInputTest : public SharedRouterTest {
 protected:
  void SetUp() override {
    SharedRouterTest::SetUp();
    if (HasFatalFailure()) return;
    ASSERT_TRUE(IsOk(c().Upsert("bad_input_tenant", "p", kP73)));
  }
  // A normal Decide still succeeds.
  void ExpectStillServing() {
    fv1::RouteDecision d;
    EXPECT_TRUE(IsOk(c().Decide(MakeRequest("bad_input_tenant", "p"), &d)))
        << "router stopped serving";
  }
  std::string ValidRequestBytes() {
    return MakeRequest("bad_input_tenant", "p").SerializeAsString();
  }
};

TEST_F(BadInputTest, MalformedProtobufIsInvalidRequest) {
  for (const std::string& bytes : {std::string(12, '\xff'),
                                   std::string("\x0a\x7f"
                                               "abc",
                                               5),
                                   std::string("\x0b", 1), std::string("\x12\x80", 2)}) {
    RawResult r = RawUnary(channel(), kDecide, bytes);
    EXPECT_TRUE(IsError(r.status, grpc::StatusCode::INVALID_ARGUMENT, "invalid request",
                        "invalid_request"));
  }
  ExpectStillServing();
}

TEST_F(BadInputTest, EmptyBodyIsMissingMessage) {
  RawResult r = RawUnary(channel(), kDecide, "");
  EXPECT_TRUE(
      IsError(r.status, grpc::StatusCode::INVALID_ARGUMENT, "missing message", "invalid_request"));
  ExpectStillServing();
}

TEST_F(BadInputTest, OversizedRequestIsRejected) {
  // > 1 MiB (server.grpc_max_message_bytes default 1048576).
  auto req = MakeRequest("bad_input_tenant", "p", {{"blob", std::string(1536 * 1024, 'x')}});
  fv1::RouteDecision d;
  grpc::Status s = c().Decide(req, &d);
  EXPECT_FALSE(s.ok());
  EXPECT_EQ(s.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << Describe(s);
  ExpectStillServing();
}

TEST_F(BadInputTest, ContextBounds) {
  fv1::RouteDecision d;
  std::vector<std::pair<std::string, std::string>> many;
  for (int i = 0; i < 10000; ++i) many.emplace_back("k" + std::to_string(i), "v");
  EXPECT_TRUE(IsError(c().Decide(MakeRequest("bad_input_tenant", "p", many), &d),
                      grpc::StatusCode::INVALID_ARGUMENT, "context: at most 64 entries",
                      "invalid_request"));
  many.resize(65);
  EXPECT_TRUE(IsError(c().Decide(MakeRequest("bad_input_tenant", "p", many), &d),
                      grpc::StatusCode::INVALID_ARGUMENT, "context: at most 64 entries",
                      "invalid_request"));
  many.resize(64);
  EXPECT_TRUE(IsOk(c().Decide(MakeRequest("bad_input_tenant", "p", many), &d)));

  EXPECT_TRUE(IsError(
      c().Decide(MakeRequest("bad_input_tenant", "p", {{std::string(129, 'k'), "v"}}), &d),
      grpc::StatusCode::INVALID_ARGUMENT, "context: key exceeds 128 bytes", "invalid_request"));
  EXPECT_TRUE(
      IsOk(c().Decide(MakeRequest("bad_input_tenant", "p", {{std::string(128, 'k'), "v"}}), &d)));
  EXPECT_TRUE(IsError(
      c().Decide(MakeRequest("bad_input_tenant", "p", {{"big", std::string(1025, 'v')}}), &d),
      grpc::StatusCode::INVALID_ARGUMENT, "context.big: exceeds 1024 bytes", "invalid_request"));
  EXPECT_TRUE(IsOk(
      c().Decide(MakeRequest("bad_input_tenant", "p", {{"big", std::string(1024, 'v')}}), &d)));
  // Reserved keys are format-checked at step 1 (§3.2).
  EXPECT_TRUE(IsError(
      c().Decide(MakeRequest("bad_input_tenant", "p", {{"idempotency_key", std::string(257, 'i')}}),
                 &d),
      grpc::StatusCode::INVALID_ARGUMENT,
      "context.idempotency_key: must be 1-256 bytes without control characters",
      "invalid_request"));
  EXPECT_TRUE(IsError(c().Decide(MakeRequest("bad_input_tenant", "p",
                                             {{"idempotency_key",
                                               "a\x01"
                                               "b"}}),
                                 &d),
                      grpc::StatusCode::INVALID_ARGUMENT,
                      "context.idempotency_key: must be 1-256 bytes without control characters",
                      "invalid_request"));
  EXPECT_TRUE(IsError(c().Decide(MakeRequest("bad_input_tenant", "p", {{"attempt", "1001"}}), &d),
                      grpc::StatusCode::INVALID_ARGUMENT,
                      "context.attempt: must be a non-negative integer", "invalid_request"));
  ExpectStillServing();
}

TEST_F(BadInputTest, InvalidUtf8IsInvalidRequest) {
  const std::string bad = "\xff\xfe\x80";
  // In Message.tenant_id, in RouteRequest.policy_id, in a context key and value.
  const std::vector<std::string> requests = {
      LenField(1, LenField(2, bad)),
      LenField(1, LenField(2, "bad_input_tenant")) + LenField(2, "p" + bad),
      LenField(1, LenField(2, "bad_input_tenant")) + MapEntryField(3, "k" + bad, "v"),
      LenField(1, LenField(2, "bad_input_tenant")) + MapEntryField(3, "k", "v" + bad),
  };
  for (size_t i = 0; i < requests.size(); ++i) {
    SCOPED_TRACE("request " + std::to_string(i));
    RawResult r = RawUnary(channel(), kDecide, requests[i]);
    EXPECT_TRUE(IsError(r.status, grpc::StatusCode::INVALID_ARGUMENT, "invalid request",
                        "invalid_request"));
  }
  ExpectStillServing();
}

TEST_F(BadInputTest, UnknownMethodIsUnimplemented) {
  for (const char* method : {"/beamline.flow.v1.Router/Nope", "/beamline.flow.v1.Nope/Decide",
                             "/no.such.Service/Method"}) {
    SCOPED_TRACE(method);
    RawResult r = RawUnary(channel(), method, ValidRequestBytes());
    EXPECT_EQ(r.status.error_code(), grpc::StatusCode::UNIMPLEMENTED) << Describe(r.status);
  }
  ExpectStillServing();
}

TEST_F(BadInputTest, ValidRawRequestSucceeds) {
  RawResult r = RawUnary(channel(), kDecide, ValidRequestBytes());
  ASSERT_TRUE(IsOk(r.status));
  fv1::RouteDecision d;
  ASSERT_TRUE(d.ParseFromString(r.body));
  EXPECT_EQ(d.reason(), "weighted");
}

}  // namespace
}  // namespace router::itest
