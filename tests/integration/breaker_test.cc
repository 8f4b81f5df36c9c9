// Live circuit breakers and statistics over real gRPC (POL §6, §8): grpc-api.md §13 scenarios
// 9 (breaker part), 10, 12 (EWMA part), 14 (open-breaker part), 16; the admin breaker RPCs
// (§8); breaker metrics on /metrics; and the outage drill of issue #5 (a steady Decide loop at
// 200 req/s for 30 s while provider A's outcomes turn to timeouts and back). Outcomes reach the
// router through ReportOutcome (the worker role is played by the test); OutageDrillOverNats
// repeats the drill with A's outcomes published as §3.6 ExecResults on caf.exec.result.v1 to a
// router with a real nats-server, consumed by its fan-out subscription (nats-contracts.md S6).

#include <httplib.h>
#include <nats/nats.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "itest_support.h"
#include "support/nats_server.h"

namespace router::itest {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

class BreakerTest : public SharedRouterTest {
 protected:
  grpc::Status States(const std::string& tenant, const std::string& provider,
                      fv1::GetCircuitBreakerStatesResponse* out,
                      const std::string& key = kAdminKey) {
    fv1::GetCircuitBreakerStatesRequest req;
    req.set_tenant_id(tenant);
    req.set_provider_id(provider);
    auto ctx = Ctx(key);
    return c().admin->GetCircuitBreakerStates(ctx.get(), req, out);
  }
  grpc::Status Reset(const std::string& tenant, const std::string& provider,
                     const std::string& target, fv1::ResetCircuitBreakerResponse* out = nullptr,
                     const std::string& key = kAdminKey) {
    fv1::ResetCircuitBreakerRequest req;
    req.set_tenant_id(tenant);
    req.set_provider_id(provider);
    req.set_target_state(target);
    fv1::ResetCircuitBreakerResponse resp;
    auto ctx = Ctx(key);
    grpc::Status s = c().admin->ResetCircuitBreaker(ctx.get(), req, &resp);
    if (out != nullptr) *out = resp;
    return s;
  }
  fv1::CircuitBreakerState StateOf(const std::string& tenant, const std::string& provider) {
    fv1::GetCircuitBreakerStatesResponse resp;
    EXPECT_TRUE(IsOk(States(tenant, provider, &resp)));
    if (resp.states_size() != 1) {
      ADD_FAILURE() << "no breaker listed for " << tenant << "/" << provider;
      return {};
    }
    return resp.states(0);
  }
  std::string Outcome(const std::string& tenant, const std::string& provider,
                      const std::string& status, int64_t latency_ms = 0) {
    fv1::ReportOutcomeResponse resp;
    EXPECT_TRUE(IsOk(c().Report(tenant, provider, status, "", latency_ms, 0, &resp)));
    EXPECT_TRUE(resp.ok());
    return resp.circuit_state();
  }
  std::string Metrics() {
    httplib::Client http("127.0.0.1", SharedRouter().process->http_port());
    auto res = http.Get("/metrics");
    return res && res->status == 200 ? res->body : std::string();
  }
};

// grpc §13.16: failure_threshold 5, min_requests 10: one timeout leaves it closed, five open it
// (failure_threshold_exceeded, circuit_state=open); reset closes it; `open` forces it past
// timeout_ms; a viewer's reset is PERMISSION_DENIED. Resets are audited (POL §12.27).
TEST_F(BreakerTest, Scenario16OpensFromReportOutcomeAndResets) {
  const std::string t = "test_tenant";
  ASSERT_TRUE(
      IsOk(c().Upsert(t, "s16_policy",
                      R"({"providers":[{"name":"s16_a","weight":70},{"name":"s16_b","weight":30}],
                  "circuit_breaker":{"enabled":true,"failure_threshold":5,"min_requests":10,
                                     "timeout_ms":1000}})")));
  // No breaker before the first outcome; the pair exists only through the policy.
  fv1::GetCircuitBreakerStatesResponse none;
  ASSERT_TRUE(IsOk(States(t, "s16_a", &none)));
  EXPECT_EQ(none.states_size(), 0);

  EXPECT_EQ(Outcome(t, "s16_a", "timeout"), "closed");  // the first failure does not open it
  for (int i = 0; i < 3; ++i) EXPECT_EQ(Outcome(t, "s16_a", "timeout"), "closed");
  EXPECT_EQ(Outcome(t, "s16_a", "timeout"), "open");
  fv1::CircuitBreakerState s = StateOf(t, "s16_a");
  EXPECT_EQ(s.state(), "open");
  EXPECT_EQ(s.last_trigger_reason(), "failure_threshold_exceeded");
  EXPECT_EQ(s.window_requests(), 5);
  EXPECT_EQ(s.window_failures(), 5);
  EXPECT_DOUBLE_EQ(s.error_rate(), 1.0);
  EXPECT_GT(s.open_remaining_ms(), 0);
  EXPECT_LE(s.open_remaining_ms(), 1000);
  EXPECT_FALSE(s.forced_open());
  EXPECT_GT(s.state_changed_at_ms(), 0);
  // Decisions exclude it.
  for (int i = 0; i < 20; ++i) {
    fv1::RouteDecision d;
    ASSERT_TRUE(IsOk(c().Decide(MakeRequest(t, "s16_policy"), &d)));
    EXPECT_EQ(d.provider_id(), "s16_b");
  }

  // A viewer may read but not reset; an operator may reset.
  fv1::GetCircuitBreakerStatesResponse as_viewer;
  EXPECT_TRUE(IsOk(States(t, "", &as_viewer, kViewerKey)));
  EXPECT_EQ(as_viewer.states_size(), 1);
  EXPECT_TRUE(
      IsError(Reset(t, "s16_a", "", nullptr, kViewerKey), grpc::StatusCode::PERMISSION_DENIED,
              "permission denied: write on tenant \"test_tenant\" required", "permission_denied"));

  fv1::ResetCircuitBreakerResponse reset;
  ASSERT_TRUE(IsOk(Reset(t, "s16_a", "", &reset, kOperatorKey)));
  EXPECT_TRUE(reset.ok());
  EXPECT_EQ(reset.state().state(), "closed");
  EXPECT_EQ(reset.state().consecutive_failures(), 0);
  EXPECT_EQ(reset.state().window_requests(), 0);
  EXPECT_EQ(reset.state().last_trigger_reason(), "failure_threshold_exceeded");  // kept

  ASSERT_TRUE(IsOk(Reset(t, "s16_a", "open", &reset)));
  EXPECT_EQ(reset.state().state(), "open");
  EXPECT_TRUE(reset.state().forced_open());
  EXPECT_EQ(reset.state().open_remaining_ms(), 0);
  // Forced open holds past timeout_ms (1 s): let 1.5 s pass (a time-based negative, not a
  // synchronisation), during which the 250 ms sweep would have moved an unforced breaker.
  std::this_thread::sleep_for(milliseconds(1500));
  EXPECT_EQ(StateOf(t, "s16_a").state(), "open");
  ASSERT_TRUE(IsOk(Reset(t, "s16_a", "half_open", &reset)));
  EXPECT_EQ(reset.state().state(), "half_open");
  EXPECT_EQ(reset.state().half_open_in_flight(), 0);
  ASSERT_TRUE(IsOk(Reset(t, "s16_a", "closed", &reset)));
  EXPECT_EQ(reset.state().state(), "closed");

  // Errors: unknown pair, bad target, missing provider.
  EXPECT_TRUE(IsError(Reset(t, "nobody", ""), grpc::StatusCode::NOT_FOUND,
                      "no circuit breaker for provider \"nobody\" of tenant \"test_tenant\""));
  EXPECT_TRUE(IsError(Reset(t, "s16_a", "ajar"), grpc::StatusCode::INVALID_ARGUMENT,
                      "target_state must be one of \"closed\", \"half_open\", \"open\"",
                      "invalid_request"));
  EXPECT_TRUE(IsError(Reset(t, "", ""), grpc::StatusCode::INVALID_ARGUMENT,
                      "invalid ResetCircuitBreakerRequest: provider_id is required",
                      "invalid_request"));

  // Metrics: the breaker's series moved (observability.md §2.5 BRK rows).
  const std::string m = Metrics();
  EXPECT_NE(m.find("router_circuit_breaker_trigger_reason_total{tenant_id=\"test_tenant\","
                   "provider_id=\"s16_a\",reason=\"failure_threshold_exceeded\"} 1"),
            std::string::npos)
      << m.substr(0, 2000);
  EXPECT_NE(m.find("router_circuit_breaker_manual_operations_total{tenant_id=\"test_tenant\","
                   "provider_id=\"s16_a\",operation=\"force_open\"} 1"),
            std::string::npos);
  EXPECT_NE(m.find("router_circuit_breaker_state{tenant_id=\"test_tenant\",provider_id=\"s16_a\","
                   "state=\"closed\"} 1"),
            std::string::npos);
  EXPECT_NE(m.find("router_provider_outcomes_total{tenant_id=\"test_tenant\",provider_id=\"s16_a\","
                   "status=\"timeout\",source=\"report_outcome\"} 5"),
            std::string::npos);
}

// grpc §13.9 / §13.10 / §13.14 with live breakers: both P(.7/.3) breakers open -> UNAVAILABLE
// with retry-after-ms (time-bound exclusions); with a rule to local_llm ->
// circuit_breaker_fallback/20; explain lists circuit_open.
TEST_F(BreakerTest, Scenarios9And10And14BothBreakersOpen) {
  const std::string t = "brk_s10";
  const std::string breaker = R"("circuit_breaker":{"enabled":true,"timeout_ms":60000})";
  ASSERT_TRUE(IsOk(c().Upsert(
      t, "with_rule",
      R"({"providers":[{"name":"openai","weight":0.7},{"name":"anthropic","weight":0.3}],)" +
          breaker + R"(,"fallbacks":[{"when":{},"retry":0,"to":"local_llm"}]})")));
  ASSERT_TRUE(IsOk(c().Upsert(
      t, "no_rule",
      R"({"providers":[{"name":"openai","weight":0.7},{"name":"anthropic","weight":0.3}],)" +
          breaker + "}")));
  for (const char* p : {"openai", "anthropic"}) {
    for (int i = 0; i < 4; ++i) EXPECT_EQ(Outcome(t, p, "error", 0), "closed");  // unclassified
    for (int i = 0; i < 5; ++i) Outcome(t, p, "error");
    EXPECT_EQ(StateOf(t, p).state(), "closed");  // errors without a code are not failures
    for (int i = 0; i < 4; ++i) Outcome(t, p, "timeout");
    fv1::ReportOutcomeResponse resp;
    ASSERT_TRUE(IsOk(c().Report(t, p, "error", "HTTP_503", 0, 0, &resp)));
    EXPECT_EQ(resp.circuit_state(), "open");
  }

  fv1::RouteDecision d;
  ASSERT_TRUE(IsOk(c().Decide(MakeRequest(t, "with_rule", {{"explain", "true"}}), &d)));
  EXPECT_EQ(d.provider_id(), "local_llm");
  EXPECT_EQ(d.reason(), "circuit_breaker_fallback");
  EXPECT_EQ(d.priority(), 20);
  ASSERT_EQ(d.explanation().excluded_providers_size(), 2);
  EXPECT_EQ(d.explanation().excluded_providers(0).provider_id(), "openai");
  EXPECT_EQ(d.explanation().excluded_providers(0).reason(), "circuit_open");
  ASSERT_GT(d.explanation().steps_size(), 0);
  EXPECT_EQ(d.explanation().steps(0).rfind("policy:", 0), 0u);

  RawResult raw = RawUnary(channel(), "/beamline.flow.v1.Router/Decide",
                           MakeRequest(t, "no_rule").SerializeAsString());
  EXPECT_TRUE(IsError(raw.status, grpc::StatusCode::UNAVAILABLE,
                      "no provider available: all 2 providers excluded", "no_provider_available"))
      << Describe(raw.status);
  auto info = ErrorInfoOf(raw.status);
  ASSERT_TRUE(info.has_value());
  EXPECT_NE(Meta(*info, "excluded"), "<absent>");  // grpc §13.9: ErrorInfo `excluded`
  auto hint = raw.trailers.find("retry-after-ms");
  ASSERT_NE(hint, raw.trailers.end());
  const int64_t ms = std::stoll(hint->second);
  EXPECT_GT(ms, 50'000);
  EXPECT_LE(ms, 60'000);

  fv1::GetCircuitBreakerStatesResponse all;
  ASSERT_TRUE(IsOk(States(t, "", &all)));
  ASSERT_EQ(all.states_size(), 2);
  EXPECT_EQ(all.states(0).provider_id(), "anthropic");  // sorted by provider_id
  EXPECT_EQ(all.states(1).provider_id(), "openai");
  EXPECT_EQ(all.states(1).last_trigger_reason(), "failure_threshold_exceeded");
}

// grpc §13.12 (EWMA part): declared 800 ms, then three successes at 400 ms -> the EWMA.
TEST_F(BreakerTest, Scenario12ExpectedLatencyFollowsTheEwma) {
  const std::string t = "brk_s12";
  ASSERT_TRUE(IsOk(c().Upsert(
      t, "p", R"({"providers":[{"name":"openai","weight":1.0,"expected_latency_ms":800}]})")));
  fv1::RouteDecision d;
  ASSERT_TRUE(IsOk(c().Decide(MakeRequest(t, "p"), &d)));
  EXPECT_EQ(d.expected_latency_ms(), 800);
  // No breaker configured: statistics only, circuit_state "".
  EXPECT_EQ(Outcome(t, "openai", "success", 400), "");
  EXPECT_EQ(Outcome(t, "openai", "success", 500), "");
  ASSERT_TRUE(IsOk(c().Decide(MakeRequest(t, "p"), &d)));
  EXPECT_EQ(d.expected_latency_ms(), 800);  // 2 samples < min_samples 3
  EXPECT_EQ(Outcome(t, "openai", "success", 600), "");
  ASSERT_TRUE(IsOk(c().Decide(MakeRequest(t, "p"), &d)));
  EXPECT_EQ(d.expected_latency_ms(), 456);  // POL §12.33: 400 -> 420 -> 456
  EXPECT_NE(Metrics().find("router_provider_latency_ewma_seconds{tenant_id=\"brk_s12\","
                           "provider_id=\"openai\"} 0.456"),
            std::string::npos);
}

// Issue #5 outage drill: a client decides at 200 req/s for 30 s and reports each call's outcome
// like a worker. Provider A's calls time out from 5 s to 18 s, B is always healthy.
//  - within one second of the threshold A stops being chosen;
//  - while open, A is chosen at most half_open_max_calls times per timeout_ms period;
//  - once healthy, A returns within timeout_ms + success_threshold probes.
// The test prints attempts-on-A per second.
TEST_F(BreakerTest, OutageDrill) {
  const std::string t = "brk_drill";
  constexpr int64_t kTimeoutMs = 2000;
  constexpr int kMaxCalls = 2;
  constexpr int kSuccessThreshold = 2;
  ASSERT_TRUE(IsOk(c().Upsert(t, "drill",
                              R"({"providers":[{"name":"A","weight":50},{"name":"B","weight":50}],
          "circuit_breaker":{"enabled":true,"failure_threshold":5,"min_requests":20,
                             "timeout_ms":2000,"half_open_max_calls":2,"success_threshold":2}})")));
  constexpr int kRate = 200;
  constexpr int kSeconds = 30;
  const auto outage_start = milliseconds(5000);
  const auto outage_end = milliseconds(18000);
  struct Call {
    milliseconds at;  // decision start, from the drill start
    bool on_a;
    std::string state_after;  // A's circuit_state after its outcome ("" for B)
  };
  std::vector<Call> calls;
  calls.reserve(kRate * kSeconds);
  const auto start = Clock::now();
  const fv1::RouteRequest request = MakeRequest(t, "drill");
  int errors = 0;
  for (int i = 0; i < kRate * kSeconds; ++i) {
    // Pacing of the load generator (not synchronisation): one call every 5 ms.
    std::this_thread::sleep_until(start + std::chrono::microseconds(1'000'000 / kRate) * i);
    const auto at = std::chrono::duration_cast<milliseconds>(Clock::now() - start);
    fv1::RouteDecision d;
    if (!c().Decide(request, &d).ok()) {
      ++errors;
      continue;
    }
    const bool on_a = d.provider_id() == "A";
    const bool failing = on_a && at >= outage_start && at < outage_end;
    fv1::ReportOutcomeResponse resp;
    c().Report(t, d.provider_id(), failing ? "timeout" : "success", "", failing ? 0 : 120, 0,
               &resp);
    calls.push_back({at, on_a, on_a ? resp.circuit_state() : ""});
  }
  EXPECT_EQ(errors, 0);

  // attempts-on-A per second.
  std::map<int64_t, std::pair<int, int>> per_second;  // second -> (on A, total)
  for (const Call& call : calls) {
    auto& [a, total] = per_second[call.at.count() / 1000];
    a += call.on_a ? 1 : 0;
    ++total;
  }
  std::printf(
      "\n[outage drill] A times out during [5 s, 18 s); timeout_ms 2000, "
      "half_open_max_calls 2, success_threshold 2\n");
  std::printf("[outage drill] second  attempts_on_A  decisions\n");
  for (const auto& [second, counts] : per_second) {
    std::printf("[outage drill] %6lld  %13d  %9d\n", static_cast<long long>(second), counts.first,
                counts.second);
  }
  std::fflush(stdout);

  // The threshold: the outcome that opened A.
  auto opened = std::find_if(calls.begin(), calls.end(), [&](const Call& call) {
    return call.on_a && call.at >= outage_start && call.state_after == "open";
  });
  ASSERT_NE(opened, calls.end()) << "A never opened";
  const milliseconds open_at = opened->at;
  EXPECT_LT(open_at, outage_start + milliseconds(1000));  // 5 timeouts at ~100 A-calls/s
  // Within one second of the threshold A stops being chosen, except for half-open probes:
  // at most half_open_max_calls per timeout_ms period while the outage lasts.
  for (milliseconds window = open_at + milliseconds(1); window < outage_end;
       window += milliseconds(100)) {
    const int on_a = static_cast<int>(std::count_if(calls.begin(), calls.end(), [&](const Call& c) {
      return c.on_a && c.at >= window && c.at < window + milliseconds(kTimeoutMs) &&
             c.at < outage_end;
    }));
    EXPECT_LE(on_a, kMaxCalls) << "A chosen " << on_a << " times in the " << kTimeoutMs
                               << " ms from " << window.count() << " ms";
  }
  int first_second_after_open = 0;
  for (const Call& call : calls) {
    if (call.on_a && call.at > open_at && call.at <= open_at + milliseconds(1000)) {
      ++first_second_after_open;
    }
  }
  EXPECT_EQ(first_second_after_open, 0) << "A chosen within 1 s after opening (timeout_ms 2 s)";

  // Recovery: A closes again within timeout_ms + success_threshold probes of the outage end
  // (probes are 5 ms apart at 200 req/s; 500 ms slack for scheduling on a loaded machine).
  auto closed = std::find_if(calls.begin(), calls.end(), [&](const Call& call) {
    return call.on_a && call.at >= outage_end && call.state_after == "closed";
  });
  ASSERT_NE(closed, calls.end()) << "A never recovered";
  EXPECT_LE(closed->at, outage_end + milliseconds(kTimeoutMs) +
                            milliseconds(5 * kSuccessThreshold) + milliseconds(500))
      << "A closed at " << closed->at.count() << " ms";
  // And is then chosen at its weight again: about half of the last 5 seconds.
  int late_a = 0, late = 0;
  for (const Call& call : calls) {
    if (call.at >= milliseconds(25'000)) {
      ++late;
      late_a += call.on_a ? 1 : 0;
    }
  }
  ASSERT_GT(late, 0);
  EXPECT_NEAR(static_cast<double>(late_a) / late, 0.5, 0.1);
  fv1::CircuitBreakerState final_state = StateOf(t, "A");
  EXPECT_EQ(final_state.state(), "closed");
  // The last automatic transition was the final open -> half_open (timeout_elapsed is one of
  // the five trigger reasons, POL §6); closing is not a trigger.
  EXPECT_EQ(final_state.last_trigger_reason(), "timeout_elapsed");
}

// Issue #5 outage drill over real gRPC + real NATS: the router runs with a nats-server; a client
// decides at 200 req/s for 20 s over gRPC and, like a worker, publishes each of A's outcomes as a
// §3.6 ExecResult (distinct assignment_id, so the fan-out dedup keeps every one) on
// caf.exec.result.v1. The router applies them through its fan-out subscription (nats-contracts.md
// S6, §6.5), asynchronously: the breaker's transitions are therefore taken from what the router
// reports (GetCircuitBreakerStates, polled by a monitor thread), not from the publish. A's calls
// time out from 5 s to 13 s. Same properties and slack as OutageDrill:
//  - within one second of the threshold (the router's open) A stops being chosen;
//  - while open, A is chosen at most half_open_max_calls times per timeout_ms period;
//  - once healthy, A returns within timeout_ms + success_threshold probes.
// The test prints attempts-on-A per second.
TEST_F(BreakerTest, OutageDrillOverNats) {
  using router::testing::NatsServerProcess;
  using router::testing::WaitFor;
  NatsServerProcess nats;
  ASSERT_TRUE(nats.Start().ok());
  RouterOptions opts;
  opts.config_toml = std::string("node_id = \"router-drill\"\n[admin]\n") + kStandardAdminKeysToml +
                     "\n[nats]\nurl = \"" + nats.url() + "\"\nreconnect_max_ms = 1000\n";
  opts.env.push_back(AdminKeyEnv());
  RouterProcess router(opts);
  ASSERT_TRUE(StartReady(router).ok()) << router.ReadStdout() << router.ReadStderr();
  Clients clients(router.grpc_target());

  const std::string t = "brk_nats_drill";
  constexpr int64_t kTimeoutMs = 2000;
  constexpr int kMaxCalls = 2;
  constexpr int kSuccessThreshold = 2;
  ASSERT_TRUE(
      IsOk(clients.Upsert(t, "drill",
                          R"({"providers":[{"name":"A","weight":50},{"name":"B","weight":50}],
          "circuit_breaker":{"enabled":true,"failure_threshold":5,"min_requests":20,
                             "timeout_ms":2000,"half_open_max_calls":2,"success_threshold":2}})")));

  natsConnection* nc = nullptr;
  ASSERT_EQ(natsConnection_ConnectTo(&nc, nats.url().c_str()), NATS_OK);
  const std::string run = std::to_string(
      std::chrono::duration_cast<milliseconds>(std::chrono::system_clock::now().time_since_epoch())
          .count());
  int published = 0;
  // One §3.6 ExecResult for A (core publish: the fan-out is a core subscription).
  auto publish = [&](bool timeout) {
    const std::string id = "drill-" + run + "-" + std::to_string(published++);
    const std::string body =
        R"({"version":"1","assignment_id":")" + id + R"(","request_id":"req-)" + id +
        R"(","status":")" + (timeout ? "timeout" : "success") +
        R"(","provider_id":"A","job":{"type":"chat.completion"},"latency_ms":)" +
        (timeout ? "0" : "120") + R"(,"tenant_id":")" + t + R"("})";
    natsMsg* m = nullptr;
    natsMsg_Create(&m, "caf.exec.result.v1", nullptr, body.data(), static_cast<int>(body.size()));
    natsMsgHeader_Set(m, "Nats-Msg-Id", ("res-" + id).c_str());
    const natsStatus s = natsConnection_PublishMsg(nc, m);
    natsMsg_Destroy(m);
    return s == NATS_OK;
  };
  auto state_of_a = [&](fv1::CircuitBreakerState* out) {
    fv1::GetCircuitBreakerStatesRequest req;
    req.set_tenant_id(t);
    req.set_provider_id("A");
    fv1::GetCircuitBreakerStatesResponse resp;
    auto ctx = Ctx(kAdminKey);
    if (!clients.admin->GetCircuitBreakerStates(ctx.get(), req, &resp).ok() ||
        resp.states_size() != 1) {
      return false;
    }
    *out = resp.states(0);
    return true;
  };
  // The fan-out is subscribed once a published result reaches A's breaker (there is no breaker
  // before the first outcome); a result published before the subscription is not seen by the
  // fan-out, so each poll publishes another one.
  fv1::CircuitBreakerState warm;
  ASSERT_TRUE(WaitFor(
                  [&] {
                    if (state_of_a(&warm)) return true;
                    publish(false);
                    natsConnection_FlushTimeout(nc, 1000);
                    return false;
                  },
                  std::chrono::seconds(20), "A's breaker fed by the fan-out")
                  .ok())
      << router.ReadStderr();
  EXPECT_EQ(warm.state(), "closed");

  constexpr int kRate = 200;
  constexpr int kSeconds = 20;
  const auto outage_start = milliseconds(5000);
  const auto outage_end = milliseconds(13000);
  struct Call {
    milliseconds at;  // decision start, from the drill start
    bool on_a;
  };
  struct Seen {
    milliseconds at;  // when the monitor saw A's breaker in `state`
    std::string state;
  };
  std::vector<Call> calls;
  calls.reserve(kRate * kSeconds);
  std::vector<Seen> seen;  // A's observed state changes (written by the monitor only)
  std::atomic<bool> stop{false};
  const auto start = Clock::now();
  // The monitor polls the router's view of A every 10 ms (the breaker's state after the
  // asynchronous fan-out applied the published results).
  std::thread monitor([&] {
    Clients admin(router.grpc_target());
    while (!stop.load()) {
      fv1::GetCircuitBreakerStatesRequest req;
      req.set_tenant_id(t);
      req.set_provider_id("A");
      fv1::GetCircuitBreakerStatesResponse resp;
      auto ctx = Ctx(kAdminKey);
      const auto at = std::chrono::duration_cast<milliseconds>(Clock::now() - start);
      if (admin.admin->GetCircuitBreakerStates(ctx.get(), req, &resp).ok() &&
          resp.states_size() == 1 &&
          (seen.empty() || seen.back().state != resp.states(0).state())) {
        seen.push_back({at, resp.states(0).state()});
      }
      std::this_thread::sleep_for(milliseconds(10));  // poll period, not synchronisation
    }
  });
  const fv1::RouteRequest request = MakeRequest(t, "drill");
  int errors = 0, publish_errors = 0;
  for (int i = 0; i < kRate * kSeconds; ++i) {
    // Pacing of the load generator (not synchronisation): one call every 5 ms.
    std::this_thread::sleep_until(start + std::chrono::microseconds(1'000'000 / kRate) * i);
    const auto at = std::chrono::duration_cast<milliseconds>(Clock::now() - start);
    fv1::RouteDecision d;
    if (!clients.Decide(request, &d).ok()) {
      ++errors;
      continue;
    }
    const bool on_a = d.provider_id() == "A";
    if (on_a && !publish(at >= outage_start && at < outage_end)) ++publish_errors;
    calls.push_back({at, on_a});
  }
  natsConnection_FlushTimeout(nc, 5000);
  // The last results may still be in flight; the router's final state is read after a poll
  // (EXPECT, not ASSERT: the monitor thread must be joined).
  EXPECT_TRUE(WaitFor(
                  [&] {
                    fv1::CircuitBreakerState s;
                    return state_of_a(&s) && s.state() == "closed";
                  },
                  std::chrono::seconds(10), "A closed at the end")
                  .ok());
  stop = true;
  monitor.join();
  natsConnection_Destroy(nc);
  EXPECT_EQ(errors, 0);
  EXPECT_EQ(publish_errors, 0);

  std::map<int64_t, std::pair<int, int>> per_second;  // second -> (on A, total)
  for (const Call& call : calls) {
    auto& [a, total] = per_second[call.at.count() / 1000];
    a += call.on_a ? 1 : 0;
    ++total;
  }
  std::printf(
      "\n[nats outage drill] A times out during [5 s, 13 s) (ExecResults over NATS); "
      "timeout_ms 2000, half_open_max_calls 2, success_threshold 2\n");
  std::printf("[nats outage drill] second  attempts_on_A  decisions\n");
  for (const auto& [second, counts] : per_second) {
    std::printf("[nats outage drill] %6lld  %13d  %9d\n", static_cast<long long>(second),
                counts.first, counts.second);
  }
  std::printf("[nats outage drill] A's states seen by the router:");
  for (const Seen& s : seen)
    std::printf(" %lld:%s", static_cast<long long>(s.at.count()), s.state.c_str());
  std::printf("\n");
  std::fflush(stdout);

  // The threshold: the router's open after the outage began (observed by the monitor, so at
  // most one poll after the transition).
  auto opened = std::find_if(seen.begin(), seen.end(), [&](const Seen& s) {
    return s.at >= outage_start && s.state == "open";
  });
  ASSERT_NE(opened, seen.end()) << "A never opened";
  const milliseconds open_at = opened->at;
  EXPECT_LT(open_at, outage_start + milliseconds(1000));  // 5 timeouts at ~100 A-calls/s
  for (milliseconds window = open_at + milliseconds(1); window < outage_end;
       window += milliseconds(100)) {
    const int on_a = static_cast<int>(std::count_if(calls.begin(), calls.end(), [&](const Call& c) {
      return c.on_a && c.at >= window && c.at < window + milliseconds(kTimeoutMs) &&
             c.at < outage_end;
    }));
    EXPECT_LE(on_a, kMaxCalls) << "A chosen " << on_a << " times in the " << kTimeoutMs
                               << " ms from " << window.count() << " ms";
  }
  int first_second_after_open = 0;
  for (const Call& call : calls) {
    if (call.on_a && call.at > open_at && call.at <= open_at + milliseconds(1000)) {
      ++first_second_after_open;
    }
  }
  EXPECT_EQ(first_second_after_open, 0) << "A chosen within 1 s after opening (timeout_ms 2 s)";

  // Recovery: the router closes A within timeout_ms + success_threshold probes of the outage
  // end (probes 5 ms apart; the same 500 ms slack as OutageDrill, which here also covers the
  // publish -> fan-out delay and the 10 ms monitor poll).
  auto closed = std::find_if(seen.begin(), seen.end(), [&](const Seen& s) {
    return s.at >= outage_end && s.state == "closed";
  });
  ASSERT_NE(closed, seen.end()) << "A never recovered";
  EXPECT_LE(closed->at, outage_end + milliseconds(kTimeoutMs) +
                            milliseconds(5 * kSuccessThreshold) + milliseconds(500))
      << "A closed at " << closed->at.count() << " ms";
  // And is then chosen at its weight again: about half of the last 4 seconds.
  int late_a = 0, late = 0;
  for (const Call& call : calls) {
    if (call.at >= milliseconds(16'000)) {
      ++late;
      late_a += call.on_a ? 1 : 0;
    }
  }
  ASSERT_GT(late, 0);
  EXPECT_NEAR(static_cast<double>(late_a) / late, 0.5, 0.1);
  fv1::CircuitBreakerState final_state;
  ASSERT_TRUE(state_of_a(&final_state));
  EXPECT_EQ(final_state.state(), "closed");
  EXPECT_EQ(final_state.last_trigger_reason(), "timeout_elapsed");
}

}  // namespace
}  // namespace router::itest
