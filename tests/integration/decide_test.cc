// Router.Decide over a real gRPC channel against a running router: grpc-api.md §13 scenarios
// 1, 2, 3, 4, 5, 9 (static part), 11, 12 (declared part), 13, 14 (without breakers), 23 and a
// loose weighted-share sanity check (the exact ±1 pp check is a unit test).

#include <atomic>
#include <latch>
#include <regex>
#include <thread>

#include "itest_support.h"
#include "support/router_http.h"

namespace router::itest {
namespace {

class DecideTest : public SharedRouterTest {};

// §13.1: unknown policy -> NOT_FOUND, never OK or INTERNAL.
TEST_F(DecideTest, Scenario01UnknownPolicyIsNotFound) {
  fv1::RouteDecision d;
  grpc::Status s = c().Decide(MakeRequest("test_tenant", "test_policy"), &d);
  EXPECT_TRUE(IsError(s, grpc::StatusCode::NOT_FOUND,
                      "policy \"test_policy\" not found for tenant \"test_tenant\"",
                      "policy_not_found"));
  auto info = ErrorInfoOf(s);
  ASSERT_TRUE(info.has_value());
  EXPECT_EQ(Meta(*info, "tenant_id"), "test_tenant");
  EXPECT_EQ(Meta(*info, "policy_id"), "test_policy");
}

// §13.2 / §3.1 step 1.
TEST_F(DecideTest, Scenario02InvalidRequests) {
  fv1::RouteDecision d;
  EXPECT_TRUE(IsError(c().Decide(MakeRequest("", "p"), &d), grpc::StatusCode::INVALID_ARGUMENT,
                      "tenant_id cannot be empty", "invalid_request"));
  fv1::RouteRequest no_message;
  no_message.set_policy_id("p");
  EXPECT_TRUE(IsError(c().Decide(no_message, &d), grpc::StatusCode::INVALID_ARGUMENT,
                      "missing message", "invalid_request"));
  EXPECT_TRUE(IsError(c().Decide(MakeRequest("bad tenant", "p"), &d),
                      grpc::StatusCode::INVALID_ARGUMENT,
                      "tenant_id must match ^[A-Za-z0-9_.-]{1,255}$", "invalid_request"));
  EXPECT_TRUE(IsError(c().Decide(MakeRequest("..", "p"), &d), grpc::StatusCode::INVALID_ARGUMENT,
                      "tenant_id must match ^[A-Za-z0-9_.-]{1,255}$", "invalid_request"));
  // Random bytes: an over-long varint and a truncated length-delimited field.
  for (const std::string& bytes : {std::string(12, '\xff'),
                                   std::string("\x0a\x05"
                                               "ab",
                                               4),
                                   std::string("\x0f\x01\x02\x03", 4)}) {
    RawResult r = RawUnary(channel(), "/beamline.flow.v1.Router/Decide", bytes);
    EXPECT_TRUE(IsError(r.status, grpc::StatusCode::INVALID_ARGUMENT, "invalid request",
                        "invalid_request"));
  }
}

// OBS §2.4: router_grpc_requests_total{service="Router",method="Decide",code} counts every
// finished Decide once. Decide reports its own calls (no interceptor runs on the hot path), so
// this checks that each exit, OK or error, is counted exactly once.
TEST_F(DecideTest, DecideCallsAreCountedOncePerStatus) {
  ASSERT_TRUE(IsOk(c().Upsert("test_tenant_counted", "test_policy_counted", kP73)));
  httplib::Client http("127.0.0.1", SharedRouter().process->http_port());
  auto count = [&](const std::string& code) {
    auto res = http.Get("/metrics");
    if (!res) return -2.0;
    const double v =
        testing::MetricValue(res->body, "router_grpc_requests_total",
                             {"service=\"Router\"", "method=\"Decide\"", "code=\"" + code + "\""});
    return v < 0 ? 0.0 : v;
  };
  const double ok0 = count("OK"), invalid0 = count("INVALID_ARGUMENT"),
               missing0 = count("NOT_FOUND");
  fv1::RouteDecision d;
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(IsOk(c().Decide(MakeRequest("test_tenant_counted", "test_policy_counted"), &d)));
  }
  EXPECT_FALSE(c().Decide(MakeRequest("", "p"), &d).ok());
  EXPECT_FALSE(
      RawUnary(channel(), "/beamline.flow.v1.Router/Decide", std::string(12, '\xff')).status.ok());
  EXPECT_FALSE(c().Decide(MakeRequest("test_tenant_counted", "no_such_policy"), &d).ok());
  EXPECT_EQ(count("OK") - ok0, 3);
  EXPECT_EQ(count("INVALID_ARGUMENT") - invalid0, 2);
  EXPECT_EQ(count("NOT_FOUND") - missing0, 1);
}

// §13.3: P(.7/.3), no metadata -> weighted/50; 10 identical Decides all succeed.
TEST_F(DecideTest, Scenario03WeightedDecision) {
  ASSERT_TRUE(IsOk(c().Upsert("test_tenant_gateway", "test_policy_gateway", kP73)));
  for (int i = 0; i < 10; ++i) {
    fv1::RouteDecision d;
    ASSERT_TRUE(IsOk(c().Decide(MakeRequest("test_tenant_gateway", "test_policy_gateway"), &d)));
    EXPECT_TRUE(d.provider_id() == "openai" || d.provider_id() == "anthropic") << d.provider_id();
    EXPECT_EQ(d.reason(), "weighted");
    EXPECT_EQ(d.priority(), 50);
    EXPECT_EQ(d.policy_version(), 1);
    EXPECT_FALSE(d.has_explanation());
  }
}

// §13.4: sticky session -> same provider, second is sticky/100.
TEST_F(DecideTest, Scenario04StickySession) {
  ASSERT_TRUE(IsOk(c().Upsert(
      "s04_tenant", "sticky_policy",
      R"({"version":"1.0","providers":[{"name":"openai","weight":0.7},{"name":"anthropic","weight":0.3}],"sticky":{"enabled":true}})")));
  auto req = MakeRequest("s04_tenant", "sticky_policy", {{"session_id", "session_1"}});
  fv1::RouteDecision first, second;
  ASSERT_TRUE(IsOk(c().Decide(req, &first)));
  EXPECT_EQ(first.reason(), "weighted");
  EXPECT_EQ(first.priority(), 50);
  ASSERT_TRUE(IsOk(c().Decide(req, &second)));
  EXPECT_EQ(second.provider_id(), first.provider_id());
  EXPECT_EQ(second.reason(), "sticky");
  EXPECT_EQ(second.priority(), 100);
  // POL §12.11: the same value under another policy is independent (a miss, not sticky).
  ASSERT_TRUE(IsOk(c().Upsert(
      "s04_tenant", "sticky_policy_2",
      R"({"version":"1.0","providers":[{"name":"openai","weight":0.7},{"name":"anthropic","weight":0.3}],"sticky":{"enabled":true}})")));
  fv1::RouteDecision other;
  ASSERT_TRUE(IsOk(c().Decide(
      MakeRequest("s04_tenant", "sticky_policy_2", {{"session_id", "session_1"}}), &other)));
  EXPECT_EQ(other.reason(), "weighted");
}

// POL §3.3 sticky explanation texts; session values never appear, only the key name.
TEST_F(DecideTest, StickyExplanationSteps) {
  ASSERT_TRUE(IsOk(c().Upsert(
      "sticky_expl_tenant", "p",
      R"({"version":"1.0","providers":[{"name":"openai","weight":0.7},{"name":"anthropic","weight":0.3}],"sticky":{"enabled":true}})")));
  auto has_step = [](const fv1::RouteDecision& d, const std::string& step) {
    for (const auto& s : d.explanation().steps()) {
      if (s == step) return true;
    }
    return false;
  };
  auto leaks = [](const fv1::RouteDecision& d, const std::string& value) {
    for (const auto& s : d.explanation().steps()) {
      if (s.find(value) != std::string::npos) return true;
    }
    return false;
  };
  auto req = MakeRequest("sticky_expl_tenant", "p",
                         {{"session_id", "secret-session-value"}, {"explain", "true"}});
  fv1::RouteDecision d;
  ASSERT_TRUE(IsOk(c().Decide(req, &d)));
  EXPECT_TRUE(has_step(d, "sticky: miss on session_id")) << d.explanation().ShortDebugString();
  EXPECT_FALSE(leaks(d, "secret-session-value")) << d.explanation().ShortDebugString();
  ASSERT_TRUE(IsOk(c().Decide(req, &d)));
  EXPECT_EQ(d.reason(), "sticky");
  EXPECT_TRUE(has_step(d, "sticky: hit on session_id -> " + d.provider_id()))
      << d.explanation().ShortDebugString();
  EXPECT_FALSE(leaks(d, "secret-session-value")) << d.explanation().ShortDebugString();
  // An empty or over-long (> 256 bytes) value disables stickiness for the request, no error.
  for (const std::string& value : {std::string(), std::string(257, 's')}) {
    ASSERT_TRUE(IsOk(c().Decide(
        MakeRequest("sticky_expl_tenant", "p", {{"session_id", value}, {"explain", "true"}}), &d)));
    EXPECT_EQ(d.reason(), "weighted");
    EXPECT_TRUE(has_step(d, "sticky: no usable value for session_id"))
        << d.explanation().ShortDebugString();
    ASSERT_TRUE(IsOk(c().Decide(
        MakeRequest("sticky_expl_tenant", "p", {{"session_id", value}, {"explain", "true"}}), &d)));
    EXPECT_EQ(d.reason(), "weighted") << "no pin for an unusable session value";
  }
}

// §13.5: policy_id resolution (field -> context -> "default").
TEST_F(DecideTest, Scenario05PolicyIdResolution) {
  fv1::RouteDecision d;
  ASSERT_TRUE(IsOk(c().Decide(MakeRequest("default_tenant", ""), &d)));
  EXPECT_EQ(Meta(d, "policy_id"), "default");
  EXPECT_EQ(d.policy_version(), 1);

  EXPECT_TRUE(IsError(c().Decide(MakeRequest("default_tenant", "", {{"policy_id", "other"}}), &d),
                      grpc::StatusCode::NOT_FOUND,
                      "policy \"other\" not found for tenant \"default_tenant\"",
                      "policy_not_found"));
  ASSERT_TRUE(
      IsOk(c().Decide(MakeRequest("default_tenant", "", {{"policy_id", "legacy_format"}}), &d)));
  EXPECT_EQ(Meta(d, "policy_id"), "legacy_format");
  EXPECT_TRUE(d.provider_id() == "openai" || d.provider_id() == "mistral") << d.provider_id();
  // The field wins over the context.
  ASSERT_TRUE(IsOk(
      c().Decide(MakeRequest("default_tenant", "legacy_format", {{"policy_id", "other"}}), &d)));
  EXPECT_EQ(Meta(d, "policy_id"), "legacy_format");

  EXPECT_TRUE(IsError(c().Decide(MakeRequest("default_tenant", "a b"), &d),
                      grpc::StatusCode::INVALID_ARGUMENT,
                      "policy_id must match ^[A-Za-z0-9_.-]{1,255}$", "invalid_request"));
  EXPECT_TRUE(IsError(c().Decide(MakeRequest("default_tenant", "", {{"policy_id", "a b"}}), &d),
                      grpc::StatusCode::INVALID_ARGUMENT,
                      "policy_id must match ^[A-Za-z0-9_.-]{1,255}$", "invalid_request"));
}

// §13.9 (static part) and POL §12.19.
TEST_F(DecideTest, Scenario09StaticNoProvider) {
  ASSERT_TRUE(IsOk(c().Upsert(
      "s09_tenant", "zero",
      R"({"version":"1.0","providers":[{"name":"openai","weight":0},{"name":"anthropic","weight":0}]})")));
  fv1::RouteDecision d;
  EXPECT_TRUE(IsError(c().Decide(MakeRequest("s09_tenant", "zero"), &d),
                      grpc::StatusCode::FAILED_PRECONDITION,
                      "policy \"zero\" can never yield a provider (no positive weight and no "
                      "fallback target)",
                      "no_provider_configured"));
  // With a rule target the fallback chain decides (synthetic status no_weighted_provider).
  ASSERT_TRUE(IsOk(c().Upsert(
      "s09_tenant", "zero_with_target",
      R"({"version":"1.0","providers":[{"name":"openai","weight":0},{"name":"anthropic","weight":0}],"fallbacks":[{"to":"local_llm"}]})")));
  ASSERT_TRUE(
      IsOk(c().Decide(MakeRequest("s09_tenant", "zero_with_target", {{"explain", "true"}}), &d)));
  EXPECT_EQ(d.provider_id(), "local_llm");
  EXPECT_EQ(d.reason(), "fallback");
  EXPECT_EQ(d.priority(), 25);
  ASSERT_GE(d.explanation().steps_size(), 1);
  EXPECT_EQ(d.explanation().steps(d.explanation().steps_size() - 1),
            "fallback_chain: status=no_weighted_provider -> local_llm")
      << d.explanation().ShortDebugString();
}

// §13.11: re-decision with rule {when:{status:["timeout"]}, retry:2, to:anthropic}.
TEST_F(DecideTest, Scenario11ReDecision) {
  ASSERT_TRUE(IsOk(c().Upsert(
      "s11_tenant", "redecide",
      R"({"version":"1.0","providers":[{"name":"openai","weight":0.7},{"name":"anthropic","weight":0.3}],)"
      R"("fallbacks":[{"when":{"status":["timeout"]},"retry":2,"to":"anthropic"}]})")));
  fv1::RouteDecision d;
  ASSERT_TRUE(IsOk(c().Decide(
      MakeRequest("s11_tenant", "redecide",
                  {{"status", "timeout"}, {"previous_provider", "openai"}, {"explain", "true"}}),
      &d)));
  EXPECT_EQ(d.provider_id(), "openai");
  EXPECT_EQ(d.reason(), "retry");
  EXPECT_EQ(d.priority(), 50);
  EXPECT_EQ(Meta(d, "retry_attempt"), "1");
  EXPECT_EQ(Meta(d, "retry_max"), "2");
  EXPECT_EQ(Meta(d, "fallback_rule"), "0");
  // Default backoff: exponential, base 100 ms, jitter in [0, 10].
  int backoff = std::stoi(Meta(d, "backoff_ms"));
  EXPECT_GE(backoff, 100);
  EXPECT_LE(backoff, 110);
  ASSERT_GE(d.explanation().steps_size(), 3) << d.explanation().ShortDebugString();
  EXPECT_EQ(d.explanation().steps(0), "policy: s11_tenant/redecide v1, strategy weighted");
  EXPECT_EQ(d.explanation().steps(1),
            "failure_path: status=timeout previous_provider=openai attempt=0");
  EXPECT_EQ(d.explanation().steps(2), "failure_path: rule 0 -> retry 1/2 on openai, backoff " +
                                          Meta(d, "backoff_ms") + " ms");

  ASSERT_TRUE(IsOk(c().Decide(MakeRequest("s11_tenant", "redecide",
                                          {{"status", "timeout"},
                                           {"previous_provider", "openai"},
                                           {"attempt", "2"},
                                           {"explain", "true"}}),
                              &d)));
  EXPECT_EQ(d.provider_id(), "anthropic");
  EXPECT_EQ(d.reason(), "fallback");
  EXPECT_EQ(d.priority(), 25);
  EXPECT_EQ(Meta(d, "fallback_rule"), "0");
  ASSERT_GE(d.explanation().steps_size(), 3) << d.explanation().ShortDebugString();
  EXPECT_EQ(d.explanation().steps(1),
            "failure_path: status=timeout previous_provider=openai attempt=2");
  EXPECT_EQ(d.explanation().steps(2), "failure_path: rule 0 -> fallback to anthropic");
  bool exhausted = false;
  for (const auto& e : d.explanation().excluded_providers()) {
    if (e.provider_id() == "openai" && e.reason() == "retries_exhausted") exhausted = true;
  }
  EXPECT_TRUE(exhausted) << d.explanation().ShortDebugString();

  // The alias current_provider gives the same result.
  ASSERT_TRUE(IsOk(c().Decide(MakeRequest("s11_tenant", "redecide",
                                          {{"status", "timeout"}, {"current_provider", "openai"}}),
                              &d)));
  EXPECT_EQ(d.provider_id(), "openai");
  EXPECT_EQ(d.reason(), "retry");

  EXPECT_TRUE(IsError(
      c().Decide(
          MakeRequest("s11_tenant", "redecide",
                      {{"status", "timeout"}, {"previous_provider", "openai"}, {"attempt", "x"}}),
          &d),
      grpc::StatusCode::INVALID_ARGUMENT, "context.attempt: must be a non-negative integer",
      "invalid_request"));
  EXPECT_TRUE(IsError(c().Decide(MakeRequest("s11_tenant", "redecide", {{"deadline", "soon"}}), &d),
                      grpc::StatusCode::INVALID_ARGUMENT,
                      "context.deadline: must be an epoch-ms integer", "invalid_request"));
  // §3.1 step 9: a deadline in the past.
  EXPECT_TRUE(IsError(c().Decide(MakeRequest("s11_tenant", "redecide", {{"deadline", "1000"}}), &d),
                      grpc::StatusCode::DEADLINE_EXCEEDED, "deadline exceeded",
                      "deadline_exceeded"));
}

// §13.12 (declared part) / §3.4.
TEST_F(DecideTest, Scenario12DeclaredLatencyAndCost) {
  ASSERT_TRUE(IsOk(c().Upsert(
      "s12_tenant", "declared",
      R"({"version":"1.0","providers":[{"name":"openai","weight":100,"expected_latency_ms":800,"cost":0.25},{"name":"anthropic","weight":0}]})")));
  fv1::RouteDecision d;
  ASSERT_TRUE(IsOk(c().Decide(MakeRequest("s12_tenant", "declared"), &d)));
  EXPECT_EQ(d.provider_id(), "openai");
  EXPECT_EQ(d.expected_latency_ms(), 800);
  EXPECT_DOUBLE_EQ(d.expected_cost(), 0.25);
  // Neither statistics nor a declared value -> 0.
  ASSERT_TRUE(
      IsOk(c().Upsert("s12_tenant", "undeclared",
                      R"({"version":"1.0","providers":[{"name":"openai","weight":100}]})")));
  ASSERT_TRUE(IsOk(c().Decide(MakeRequest("s12_tenant", "undeclared"), &d)));
  EXPECT_EQ(d.expected_latency_ms(), 0);
  EXPECT_EQ(d.expected_cost(), 0.0);
}

// §13.13 / §3.5: metadata.
TEST_F(DecideTest, Scenario13Metadata) {
  ASSERT_TRUE(IsOk(c().Upsert("s13_tenant", "meta", kP73)));
  const std::regex hex32("^[0-9a-f]{32}$");
  const std::regex uuid4("^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$");
  for (const char* header : {"x-correlation-id", "correlation-id"}) {
    SCOPED_TRACE(header);
    fv1::RouteDecision d;
    ASSERT_TRUE(IsOk(c().Decide(
        MakeRequest("s13_tenant", "meta", {{"user_tier", "gold"}, {"tenant_id", "spoofed"}}), &d,
        {{header, "c1"}})));
    const auto& md = d.metadata();
    EXPECT_EQ(Meta(d, "correlation_id"), "c1");
    EXPECT_EQ(Meta(d, "tenant_id"), "s13_tenant");  // router keys win over context keys
    EXPECT_EQ(Meta(d, "policy_id"), "meta");
    EXPECT_EQ(Meta(d, "policy_version"), "1");
    EXPECT_EQ(Meta(d, "decision_id"), d.decision_id());
    EXPECT_TRUE(std::regex_match(d.decision_id(), uuid4)) << d.decision_id();
    EXPECT_TRUE(std::regex_match(Meta(d, "trace_id"), hex32)) << Meta(d, "trace_id");
    EXPECT_EQ(Meta(d, "user_tier"), "gold");
    EXPECT_EQ(md.size(), 7u) << d.ShortDebugString();
  }
  // Without a correlation header there is no correlation_id; traceparent gives the trace id.
  fv1::RouteDecision d;
  ASSERT_TRUE(IsOk(
      c().Decide(MakeRequest("s13_tenant", "meta"), &d,
                 {{"traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"}})));
  EXPECT_EQ(d.metadata().count("correlation_id"), 0u);
  EXPECT_EQ(Meta(d, "trace_id"), "4bf92f3577b34da6a3ce929d0e0e4736");
  // x-correlation-id wins over correlation-id; a value over 256 bytes is ignored.
  ASSERT_TRUE(IsOk(c().Decide(MakeRequest("s13_tenant", "meta"), &d,
                              {{"x-correlation-id", "first"}, {"correlation-id", "second"}})));
  EXPECT_EQ(Meta(d, "correlation_id"), "first");
  ASSERT_TRUE(IsOk(c().Decide(MakeRequest("s13_tenant", "meta"), &d,
                              {{"x-correlation-id", std::string(257, 'c')}})));
  EXPECT_EQ(d.metadata().count("correlation_id"), 0u) << Meta(d, "correlation_id").size();
  // Decision ids are fresh per decision.
  fv1::RouteDecision d2;
  ASSERT_TRUE(IsOk(c().Decide(MakeRequest("s13_tenant", "meta"), &d2)));
  EXPECT_NE(d.decision_id(), d2.decision_id());
}

// §13.14 / §3.6 (breaker part needs open breakers and is not covered here).
TEST_F(DecideTest, Scenario14Explanation) {
  ASSERT_TRUE(IsOk(c().Upsert(
      "s14_tenant", "explained",
      R"({"version":"1.0","providers":[{"name":"openai","weight":70},{"name":"anthropic","weight":30},{"name":"local_llm","weight":0}]})")));
  fv1::RouteDecision d;
  ASSERT_TRUE(IsOk(c().Decide(MakeRequest("s14_tenant", "explained"), &d)));
  EXPECT_FALSE(d.has_explanation());
  ASSERT_TRUE(IsOk(c().Decide(MakeRequest("s14_tenant", "explained", {{"explain", "false"}}), &d)));
  EXPECT_FALSE(d.has_explanation());

  for (const auto& ctx :
       std::vector<std::pair<std::string, std::string>>{{"explain", "true"},
                                                        {"explain", "TRUE"},
                                                        {"detail_level", "detailed"},
                                                        {"detail_level", "verbose"}}) {
    SCOPED_TRACE(ctx.first + "=" + ctx.second);
    ASSERT_TRUE(IsOk(c().Decide(MakeRequest("s14_tenant", "explained", {ctx}), &d)));
    ASSERT_TRUE(d.has_explanation());
    ASSERT_GE(d.explanation().steps_size(), 2);
    EXPECT_EQ(d.explanation().steps(0), "policy: s14_tenant/explained v1, strategy weighted");
    bool weighted_step = false;
    for (const auto& step : d.explanation().steps()) {
      if (step == "weighted: 2 of 3 providers eligible, total weight 1.0 -> " + d.provider_id()) {
        weighted_step = true;
      }
    }
    EXPECT_TRUE(weighted_step) << d.explanation().ShortDebugString();
    ASSERT_EQ(d.explanation().excluded_providers_size(), 1);
    EXPECT_EQ(d.explanation().excluded_providers(0).provider_id(), "local_llm");
    EXPECT_EQ(d.explanation().excluded_providers(0).reason(), "zero_weight");
    // `verbose` adds one `provider:` line per provider.
    int provider_lines = 0;
    for (const auto& step : d.explanation().steps()) {
      if (step.rfind("provider: ", 0) == 0) ++provider_lines;
    }
    EXPECT_EQ(provider_lines, ctx.second == "verbose" ? 3 : 0)
        << d.explanation().ShortDebugString();
  }
}

// §13.18 (DryRun part without limiters/breakers) / §7.
TEST_F(DecideTest, Scenario18DryRun) {
  fv1::DryRunResponse resp;
  ASSERT_TRUE(IsOk(c().DryRun(MakeRequest("s18_tenant", "nope"), &resp)));
  EXPECT_EQ(resp.status_code(), 5);
  EXPECT_EQ(resp.status_message(), "policy \"nope\" not found for tenant \"s18_tenant\"");
  EXPECT_FALSE(resp.has_decision());

  ASSERT_TRUE(IsOk(c().Upsert(
      "s18_tenant", "sticky",
      R"({"version":"1.0","providers":[{"name":"openai","weight":0.7},{"name":"anthropic","weight":0.3}],"sticky":{"enabled":true}})")));
  auto req = MakeRequest("s18_tenant", "sticky", {{"session_id", "dry_session"}});
  for (int i = 0; i < 100; ++i) {
    ASSERT_TRUE(IsOk(c().DryRun(req, &resp)));
    ASSERT_EQ(resp.status_code(), 0) << resp.status_message();
    EXPECT_TRUE(resp.status_message().empty());
    ASSERT_TRUE(resp.has_decision());
    EXPECT_EQ(resp.decision().reason(), "weighted") << "a dry run must not create a pin";
    EXPECT_FALSE(resp.decision().has_explanation());
    ASSERT_TRUE(resp.has_explanation());
    ASSERT_GE(resp.explanation().steps_size(), 1);
    EXPECT_EQ(resp.explanation().steps(0), "policy: s18_tenant/sticky v1, strategy weighted");
  }
  // No pin was written: the first real Decide for the session is weighted, the next sticky.
  fv1::RouteDecision d;
  ASSERT_TRUE(IsOk(c().Decide(req, &d)));
  EXPECT_EQ(d.reason(), "weighted");
  ASSERT_TRUE(IsOk(c().Decide(req, &d)));
  EXPECT_EQ(d.reason(), "sticky");
  // A dry run reads pins: it now reports the pinned provider as sticky.
  ASSERT_TRUE(IsOk(c().DryRun(req, &resp)));
  EXPECT_EQ(resp.decision().reason(), "sticky");
  EXPECT_EQ(resp.decision().provider_id(), d.provider_id());

  // Inline document: policy_version 0; in-band errors use Decide's codes.
  ASSERT_TRUE(IsOk(c().DryRun(MakeRequest("s18_tenant", "inline"), &resp, kAdminKey,
                              R"({"version":"1.0","providers":[{"name":"solo","weight":100}]})")));
  ASSERT_EQ(resp.status_code(), 0) << resp.status_message();
  EXPECT_EQ(resp.decision().provider_id(), "solo");
  EXPECT_EQ(resp.decision().policy_version(), 0);
  // Missing request -> RPC-level INVALID_ARGUMENT.
  fv1::DryRunRequest empty;
  auto ctx = Ctx(kAdminKey);
  EXPECT_TRUE(IsError(c().admin->DryRun(ctx.get(), empty, &resp),
                      grpc::StatusCode::INVALID_ARGUMENT,
                      "invalid DryRunRequest: request is required", "invalid_request"));
}

// §13.23: upsert, decide, delete, decide.
TEST_F(DecideTest, Scenario23UpsertDecideDelete) {
  ASSERT_TRUE(
      IsOk(c().Upsert("s23_tenant", "single",
                      R"({"version":"1.0","providers":[{"name":"anthropic","weight":1.0}]})")));
  fv1::RouteDecision d;
  ASSERT_TRUE(IsOk(c().Decide(MakeRequest("s23_tenant", "single"), &d)));
  EXPECT_EQ(d.provider_id(), "anthropic");
  ASSERT_TRUE(IsOk(c().Delete("s23_tenant", "single")));
  EXPECT_TRUE(IsError(c().Decide(MakeRequest("s23_tenant", "single"), &d),
                      grpc::StatusCode::NOT_FOUND,
                      "policy \"single\" not found for tenant \"s23_tenant\"", "policy_not_found"));
}

// POL §4 over gRPC: 10,000 decisions on 70/30 land in a loose band (binomial sd ≈ 0.46 pp, so
// ±3 pp is far beyond chance), never on a zero-weight provider, all weighted/50.
TEST_F(DecideTest, WeightedSharesSanityOverGrpc) {
  ASSERT_TRUE(IsOk(c().Upsert(
      "weighted_tenant", "p73",
      R"({"version":"1.0","providers":[{"name":"openai","weight":70},{"name":"anthropic","weight":30},{"name":"never","weight":0}]})")));
  constexpr int kThreads = 4;
  constexpr int kPerThread = 2500;
  std::atomic<int> openai{0}, anthropic{0}, other{0}, errors{0}, bad_reason{0};
  std::latch start(kThreads);
  std::vector<std::thread> threads;
  const std::string target = SharedRouter().process->grpc_target();
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      Clients local(target);
      auto req = MakeRequest("weighted_tenant", "p73");
      start.arrive_and_wait();
      for (int i = 0; i < kPerThread; ++i) {
        fv1::RouteDecision d;
        if (!local.Decide(req, &d).ok()) {
          ++errors;
          continue;
        }
        if (d.reason() != "weighted" || d.priority() != 50) ++bad_reason;
        if (d.provider_id() == "openai") {
          ++openai;
        } else if (d.provider_id() == "anthropic") {
          ++anthropic;
        } else {
          ++other;
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(errors.load(), 0);
  EXPECT_EQ(other.load(), 0);
  EXPECT_EQ(bad_reason.load(), 0);
  const double share = openai.load() / static_cast<double>(kThreads * kPerThread);
  EXPECT_GT(share, 0.67);
  EXPECT_LT(share, 0.73);
}

}  // namespace
}  // namespace router::itest
