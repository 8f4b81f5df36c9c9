// Health, reflection and wire compatibility over gRPC: grpc-api.md §13 scenarios 29 (health and
// reflection part) and 30 (golden encodings with the predecessor's field numbers; GetAssignment
// without NATS).

#include <signal.h>

#include <algorithm>

#include "itest_support.h"

namespace router::itest {
namespace {

class HealthCompatTest : public SharedRouterTest {};

// §13.29 / §11 / OBS §7.3.
TEST_F(HealthCompatTest, Scenario29HealthServices) {
  for (const char* service : {"", "beamline.flow.v1.Router", "beamline.flow.v1.RouterAdmin"}) {
    SCOPED_TRACE(service);
    int serving = 0;
    ASSERT_TRUE(IsOk(HealthCheck(channel(), service, &serving)));
    EXPECT_EQ(serving, kServing);
  }
  int serving = 0;
  grpc::Status unknown = HealthCheck(channel(), "no.such.Service", &serving);
  EXPECT_EQ(unknown.error_code(), grpc::StatusCode::NOT_FOUND) << Describe(unknown);
}

// §13.29 / §11: reflection (v1alpha) lists both services.
TEST_F(HealthCompatTest, Scenario29ReflectionListsServices) {
  std::vector<std::string> services;
  ASSERT_TRUE(IsOk(ListReflectionServices(channel(), &services)));
  EXPECT_NE(std::find(services.begin(), services.end(), "beamline.flow.v1.Router"), services.end());
  EXPECT_NE(std::find(services.begin(), services.end(), "beamline.flow.v1.RouterAdmin"),
            services.end());
}

// §13.30: a RouteRequest encoded by hand with the predecessor's numbers decodes identically,
// and the RouteDecision's inherited fields 1-6 sit at their old numbers.
TEST_F(HealthCompatTest, Scenario30GoldenRouteRequestAndDecision) {
  ASSERT_TRUE(IsOk(c().Upsert(
      "s30_tenant", "golden",
      R"({"version":"1.0","providers":[{"name":"openai","weight":100,"expected_latency_ms":700,"cost":0.5}]})")));
  // Message{message_id=1, tenant_id=2, trace_id=3, message_type=4, payload=5, metadata=6,
  // timestamp_ms=7}; RouteRequest{message=1, policy_id=2, context=3}.
  const std::string message = LenField(1, "m-42") + LenField(2, "s30_tenant") +
                              LenField(4, "chat") + LenField(5, "hello") +
                              MapEntryField(6, "mk", "mv") + VarintField(7, 1700000000000ULL);
  const std::string golden =
      LenField(1, message) + LenField(2, "golden") + MapEntryField(3, "tier", "gold");

  fv1::RouteRequest parsed;
  ASSERT_TRUE(parsed.ParseFromString(golden));
  EXPECT_EQ(parsed.message().message_id(), "m-42");
  EXPECT_EQ(parsed.message().tenant_id(), "s30_tenant");
  EXPECT_EQ(parsed.message().message_type(), "chat");
  EXPECT_EQ(parsed.message().payload(), "hello");
  EXPECT_EQ(parsed.message().metadata().at("mk"), "mv");
  EXPECT_EQ(parsed.message().timestamp_ms(), 1700000000000);
  EXPECT_EQ(parsed.policy_id(), "golden");
  EXPECT_EQ(parsed.context().at("tier"), "gold");

  RawResult r = RawUnary(channel(), "/beamline.flow.v1.Router/Decide", golden);
  ASSERT_TRUE(IsOk(r.status));
  std::vector<WireField> fields;
  ASSERT_TRUE(ParseWire(r.body, &fields));
  std::string provider, reason;
  int64_t priority = -1, latency = -1;
  double cost = -1;
  std::map<std::string, std::string> metadata;
  for (const auto& f : fields) {
    if (f.number == 1 && f.wire_type == 2) provider = f.bytes;
    if (f.number == 2 && f.wire_type == 2) reason = f.bytes;
    if (f.number == 3 && f.wire_type == 0) priority = static_cast<int64_t>(f.varint);
    if (f.number == 4 && f.wire_type == 0) latency = static_cast<int64_t>(f.varint);
    if (f.number == 5 && f.wire_type == 1) cost = WireDouble(f);
    if (f.number == 6 && f.wire_type == 2) {
      std::vector<WireField> entry;
      ASSERT_TRUE(ParseWire(f.bytes, &entry));
      std::string k, v;
      for (const auto& e : entry) {
        if (e.number == 1) k = e.bytes;
        if (e.number == 2) v = e.bytes;
      }
      metadata[k] = v;
    }
  }
  EXPECT_EQ(provider, "openai");
  EXPECT_EQ(reason, "weighted");
  EXPECT_EQ(priority, 50);
  EXPECT_EQ(latency, 700);
  EXPECT_DOUBLE_EQ(cost, 0.5);
  EXPECT_EQ(metadata["tier"], "gold");
  EXPECT_EQ(metadata["tenant_id"], "s30_tenant");
  EXPECT_EQ(metadata["policy_id"], "golden");
  // The generated class reads the same bytes identically.
  fv1::RouteDecision decision;
  ASSERT_TRUE(decision.ParseFromString(r.body));
  EXPECT_EQ(decision.provider_id(), provider);
  EXPECT_EQ(decision.reason(), reason);
  EXPECT_EQ(decision.priority(), priority);
  EXPECT_EQ(decision.expected_latency_ms(), latency);
  EXPECT_EQ(decision.metadata().size(), metadata.size());
  EXPECT_EQ(decision.policy_version(), 1);
}

// §13.30: AdminPolicy {policy_id=1, providers=2 {id=1, weight=2}, sticky=3, rules=4 {match=1,
// prefer=2, fallback=3}} written by an old client is accepted and read back at the same numbers.
TEST_F(HealthCompatTest, Scenario30GoldenAdminPolicy) {
  const std::string policy =
      LenField(1, "golden_admin") + LenField(2, LenField(1, "openai") + DoubleField(2, 0.6)) +
      LenField(2, LenField(1, "anthropic") + DoubleField(2, 0.4)) + VarintField(3, 1) +
      LenField(4, LenField(1, "status:timeout") + LenField(3, "anthropic"));
  const std::string upsert = LenField(1, "s30_tenant") + LenField(2, policy);
  RawResult up = RawUnary(channel(), "/beamline.flow.v1.RouterAdmin/UpsertPolicy", upsert,
                          {{"x-api-key", kAdminKey}});
  ASSERT_TRUE(IsOk(up.status));
  EXPECT_EQ(up.body, VarintField(1, 1)) << "UpsertPolicyResponse{ok=1: true}";

  RawResult get =
      RawUnary(channel(), "/beamline.flow.v1.RouterAdmin/GetPolicy",
               LenField(1, "s30_tenant") + LenField(2, "golden_admin"), {{"x-api-key", kAdminKey}});
  ASSERT_TRUE(IsOk(get.status));
  std::vector<WireField> top;
  ASSERT_TRUE(ParseWire(get.body, &top));
  ASSERT_EQ(top.size(), 1u);
  ASSERT_EQ(top[0].number, 1);
  std::vector<WireField> fields;
  ASSERT_TRUE(ParseWire(top[0].bytes, &fields));
  std::string policy_id, policy_json;
  std::vector<std::pair<std::string, double>> providers;
  bool sticky = false;
  std::vector<std::pair<std::string, std::string>> rules;
  int64_t version = 0;
  for (const auto& f : fields) {
    if (f.number == 1) policy_id = f.bytes;
    if (f.number == 2) {
      std::vector<WireField> p;
      ASSERT_TRUE(ParseWire(f.bytes, &p));
      std::string id;
      double w = -1;
      for (const auto& e : p) {
        if (e.number == 1) id = e.bytes;
        if (e.number == 2 && e.wire_type == 1) w = WireDouble(e);
      }
      providers.emplace_back(id, w);
    }
    if (f.number == 3 && f.wire_type == 0) sticky = f.varint != 0;
    if (f.number == 4) {
      std::vector<WireField> rule;
      ASSERT_TRUE(ParseWire(f.bytes, &rule));
      std::string match, fallback;
      for (const auto& e : rule) {
        if (e.number == 1) match = e.bytes;
        if (e.number == 2) ADD_FAILURE() << "prefer must be empty on output";
        if (e.number == 3) fallback = e.bytes;
      }
      rules.emplace_back(match, fallback);
    }
    if (f.number == 5) policy_json = f.bytes;
    if (f.number == 6 && f.wire_type == 0) version = static_cast<int64_t>(f.varint);
  }
  EXPECT_EQ(policy_id, "golden_admin");
  ASSERT_EQ(providers.size(), 2u);
  EXPECT_EQ(providers[0].first, "openai");
  EXPECT_DOUBLE_EQ(providers[0].second, 0.6);
  EXPECT_EQ(providers[1].first, "anthropic");
  EXPECT_DOUBLE_EQ(providers[1].second, 0.4);
  EXPECT_TRUE(sticky);
  ASSERT_EQ(rules.size(), 1u);
  EXPECT_EQ(rules[0].first, "status:timeout");
  EXPECT_EQ(rules[0].second, "anthropic");
  EXPECT_EQ(version, 1);
  EXPECT_NE(policy_json.find(R"("sticky":{"enabled":true})"), std::string::npos) << policy_json;
}

// §13.30 / §9: GetAssignment without NATS.
TEST_F(HealthCompatTest, Scenario30GetAssignmentWithoutNats) {
  fv1::GetAssignmentRequest req;
  req.set_tenant_id("test_tenant");
  req.set_assignment_id("7b0e1f0c-2f5e-4d8e-9a43-1f1f5d1c2b3a");
  fv1::GetAssignmentResponse resp;
  auto ctx = Ctx(kViewerKey);
  EXPECT_TRUE(IsError(
      c().admin->GetAssignment(ctx.get(), req, &resp), grpc::StatusCode::FAILED_PRECONDITION,
      "assignment tracking disabled: NATS is not configured", "assignments_disabled"));
  req.clear_assignment_id();
  req.set_request_id("req-1");
  auto ctx2 = Ctx(kAdminKey);
  EXPECT_TRUE(IsError(
      c().admin->GetAssignment(ctx2.get(), req, &resp), grpc::StatusCode::FAILED_PRECONDITION,
      "assignment tracking disabled: NATS is not configured", "assignments_disabled"));
  req.clear_request_id();
  auto ctx3 = Ctx(kAdminKey);
  EXPECT_TRUE(IsError(
      c().admin->GetAssignment(ctx3.get(), req, &resp), grpc::StatusCode::INVALID_ARGUMENT,
      "invalid GetAssignmentRequest: assignment_id or request_id is required", "invalid_request"));
  req.set_assignment_id("a1");
  auto ctx4 = Ctx(kNoRoleKey);
  EXPECT_TRUE(
      IsError(c().admin->GetAssignment(ctx4.get(), req, &resp), grpc::StatusCode::PERMISSION_DENIED,
              "permission denied: read on tenant \"test_tenant\" required", "permission_denied"));
}

// §11 / OBS §7.3: Watch sends the current status first.
TEST_F(HealthCompatTest, HealthWatchSendsCurrentStatus) {
  grpc::ClientContext ctx;
  SetDeadline(ctx);
  static const char kMethod[] = "/grpc.health.v1.Health/Watch";
  grpc::internal::RpcMethod rpc(kMethod, grpc::internal::RpcMethod::SERVER_STREAMING);
  std::unique_ptr<grpc::ClientReader<grpc::ByteBuffer>> reader(
      grpc::internal::ClientReaderFactory<grpc::ByteBuffer>::Create(channel(), rpc, &ctx,
                                                                    ToByteBuffer("")));
  grpc::ByteBuffer first;
  ASSERT_TRUE(reader->Read(&first));
  EXPECT_EQ(FromByteBuffer(first), VarintField(1, kServing));
  ctx.TryCancel();
  reader->Finish();
}

// §11 / OBS §7.4: SIGTERM flips health to NOT_SERVING at once, while the server still answers
// during server.shutdown_delay_ms; then the process exits 0.
TEST(ShutdownTest, HealthFlipsToNotServingBeforeDraining) {
  RouterOptions opts;
  opts.config_toml = "[server]\nshutdown_delay_ms = 1500\n";
  opts.env.push_back(AdminKeyEnv());
  RouterProcess router(opts);
  ASSERT_TRUE(StartReady(router).ok());
  auto channel = MakeChannel(router.grpc_target());
  int serving = 0;
  ASSERT_TRUE(IsOk(HealthCheck(channel.get(), "beamline.flow.v1.RouterAdmin", &serving)));
  ASSERT_EQ(serving, kServing);

  router.Signal(SIGTERM);
  ASSERT_TRUE(router::testing::WaitFor(
                  [&] {
                    int s = 0;
                    return HealthCheck(channel.get(), "", &s).ok() && s == kNotServing;
                  },
                  std::chrono::seconds(5), "health \"\" NOT_SERVING")
                  .ok());
  // Still within the delay: every method is still served.
  for (const char* service : {"beamline.flow.v1.Router", "beamline.flow.v1.RouterAdmin"}) {
    SCOPED_TRACE(service);
    ASSERT_TRUE(IsOk(HealthCheck(channel.get(), service, &serving)));
    EXPECT_EQ(serving, kNotServing);
  }
  Clients c(router.grpc_target());
  fv1::RouteDecision d;
  EXPECT_TRUE(IsOk(c.Decide(MakeRequest("default_tenant", "default"), &d)));
  c.channel.reset();
  c.router.reset();
  c.admin.reset();
  channel.reset();

  auto code = router.WaitExit(std::chrono::seconds(30));
  ASSERT_TRUE(code.ok()) << code.status();
  EXPECT_EQ(*code, 0) << router.ReadStderr();
}

}  // namespace
}  // namespace router::itest
