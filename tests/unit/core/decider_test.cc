// Selection S1-S6, reasons, exclusions and explanation texts (POL §3.2-3.4, §4, §5, §8;
// acceptance scenarios POL §12: 1-3, 11-19, 31, 33, 34).
#include "core/decider.h"

#include <gtest/gtest.h>

#include <latch>
#include <map>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "base/errors.h"
#include "core/random.h"
#include "core_test_util.h"
#include "support/fake_clock.h"
#include "support/fake_provider_health.h"

namespace router::core {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using testutil::MakePolicy;
using testutil::MapContext;
using testutil::Provider;
using testutil::Rule;
using testutil::VarEq;
using testutil::VarIn;
using Excl = std::vector<std::pair<std::string, std::string>>;
using Steps = std::vector<std::string>;

class DeciderTest : public ::testing::Test {
 protected:
  void SetUp() override { ReseedThisThreadForTest(1); }
  void TearDown() override { SetGlobalSeed(0); }

  DecideResult Run(const policy::CompiledPolicy& p, const MapContext& ctx,
                   ExplainLevel explain = ExplainLevel::kNone, bool dry_run = false) {
    DecideRequest req;
    req.policy = &p;
    req.context = &ctx;
    req.explain = explain;
    req.dry_run = dry_run;
    return decider_.Decide(req);
  }
  DecideResult Explain(const policy::CompiledPolicy& p, const MapContext& ctx) {
    return Run(p, ctx, ExplainLevel::kDetailed);
  }
  static Excl Excluded(const DecideResult& r) {
    Excl out;
    for (size_t i = 0; i < r.excluded_count; ++i) {
      out.emplace_back(std::string(r.excluded[i].provider),
                       std::string(ExclusionName(r.excluded[i].reason)));
    }
    return out;
  }
  std::optional<std::string> PinOf(const policy::CompiledPolicy& p, std::string_view session) {
    auto pin = sticky_.Peek({p.tenant_id, p.policy_id, session}, clock_.MonoNow());
    if (!pin.has_value()) return std::nullopt;
    return std::string(pin->name());
  }
  static void EnableSticky(policy::CompiledPolicy& p, int64_t ttl_seconds = 3600) {
    p.sticky.enabled = true;
    p.sticky.ttl_seconds = ttl_seconds;
  }

  router::testing::FakeClock clock_;
  router::testing::FakeProviderHealth health_;
  router::testing::FakeStatistics stats_;
  StickyTable sticky_{8, 10'000};
  Decider decider_{clock_, health_, stats_, sticky_};
};

// ---------------------------------------------------------------- POL §12 scenarios 1-3

// Scenario 1: providers 70/20/10, 100,000 decisions per seed, shares within ±1 pp (plus
// chi-square p >= 0.001), every decision weighted/50.
TEST_F(DeciderTest, Scenario1WeightedShares) {
  auto p = MakePolicy("acme", "chat",
                      {Provider("a", 700000), Provider("b", 200000), Provider("c", 100000)});
  const double expected[] = {0.7, 0.2, 0.1};
  MapContext ctx;
  for (uint64_t seed : {1, 2, 3}) {
    SCOPED_TRACE(seed);
    SetGlobalSeed(seed);
    std::map<std::string, int> counts;
    for (int i = 0; i < 100'000; ++i) {
      DecideResult r = Run(*p, ctx);
      ASSERT_TRUE(r.status.ok());
      ASSERT_EQ(r.reason, Reason::kWeighted);
      ASSERT_EQ(ReasonPriority(r.reason), 50);
      ++counts[std::string(r.provider)];
    }
    double chi = 0;
    for (int i = 0; i < 3; ++i) {
      const int c = counts[p->providers[i].name];
      EXPECT_NEAR(c / 100'000.0, expected[i], 0.01);
      const double e = expected[i] * 100'000;
      chi += (c - e) * (c - e) / e;
    }
    EXPECT_LT(chi, testutil::ChiSquareCritical001(2));
  }
}

// Scenario 2: weights 50/50/0: the third is never chosen and is excluded as zero_weight.
TEST_F(DeciderTest, Scenario2ZeroWeightNeverChosen) {
  auto p =
      MakePolicy("acme", "chat", {Provider("a", 500000), Provider("b", 500000), Provider("c", 0)});
  MapContext ctx;
  int a = 0;
  for (int i = 0; i < 100'000; ++i) {
    DecideResult r = Run(*p, ctx);
    ASSERT_NE(r.provider, "c");
    a += r.provider == "a";
  }
  EXPECT_NEAR(a / 100'000.0, 0.5, 0.01);
  DecideResult r = Explain(*p, ctx);
  EXPECT_EQ(Excluded(r), (Excl{{"c", "zero_weight"}}));
  ASSERT_EQ(r.steps.size(), 2u);
  EXPECT_EQ(r.steps[0], "policy: acme/chat v1, strategy weighted");
  EXPECT_EQ(r.steps[1],
            "weighted: 2 of 3 providers eligible, total weight 1.0 -> " + std::string(r.provider));
}

// Scenario 3: the three weight forms (a 70 / b 30, a 0.7 / b 0.3, weights {"a":0.7,"b":0.3})
// compile to micro-shares 700000/300000 (built by hand here; the compiler's conversion is
// tested in unit_policy) and give identical sequences under one seed.
TEST_F(DeciderTest, Scenario3ScaleEquivalenceGivesIdenticalSequences) {
  std::vector<std::shared_ptr<policy::CompiledPolicy>> forms;
  for (int i = 0; i < 3; ++i) {
    forms.push_back(MakePolicy("acme", "p" + std::to_string(i),
                               {Provider("a", 700000), Provider("b", 300000)}));
  }
  MapContext ctx;
  std::vector<std::string> sequences[3];
  for (int f = 0; f < 3; ++f) {
    ReseedThisThreadForTest(1234);
    for (int i = 0; i < 2000; ++i) sequences[f].emplace_back(Run(*forms[f], ctx).provider);
  }
  EXPECT_EQ(sequences[0], sequences[1]);
  EXPECT_EQ(sequences[0], sequences[2]);
}

// ---------------------------------------------------------------- sticky: scenarios 11-14

// Scenario 11: the same session decides twice: same provider, the second sticky/100; the same
// value under another tenant or policy is independent.
TEST_F(DeciderTest, Scenario11StickyBasics) {
  auto p = MakePolicy("acme", "chat", {Provider("a", 500000), Provider("b", 500000)});
  EnableSticky(*p);
  MapContext ctx{{"session_id", "user-42"}};
  DecideResult first = Explain(*p, ctx);
  ASSERT_TRUE(first.status.ok());
  EXPECT_EQ(first.reason, Reason::kWeighted);
  EXPECT_EQ(first.sticky, StickyOutcome::kMiss);
  EXPECT_EQ(first.steps[1], "sticky: miss on session_id");
  DecideResult second = Explain(*p, ctx);
  EXPECT_EQ(second.provider, first.provider);
  EXPECT_EQ(second.reason, Reason::kSticky);
  EXPECT_EQ(ReasonPriority(second.reason), 100);
  EXPECT_EQ(second.sticky, StickyOutcome::kHit);
  EXPECT_EQ(second.steps, (Steps{"policy: acme/chat v1, strategy weighted",
                                 "sticky: hit on session_id -> " + std::string(first.provider)}));

  auto other_tenant = MakePolicy("globex", "chat", {Provider("a", 500000), Provider("b", 500000)});
  auto other_policy = MakePolicy("acme", "chat2", {Provider("a", 500000), Provider("b", 500000)});
  EnableSticky(*other_tenant);
  EnableSticky(*other_policy);
  EXPECT_EQ(Run(*other_tenant, ctx).sticky, StickyOutcome::kMiss);
  EXPECT_EQ(Run(*other_policy, ctx).sticky, StickyOutcome::kMiss);
  EXPECT_EQ(sticky_.Size(), 3u);
}

// Scenario 12: ttl 2 s; decisions at t = 0, 1.5, 3.0, 5.1 s: pin; hit and renew; hit; miss and
// re-pin.
TEST_F(DeciderTest, Scenario12SlidingTtl) {
  auto p = MakePolicy("acme", "chat", {Provider("a", 500000), Provider("b", 500000)});
  EnableSticky(*p, 2);
  MapContext ctx{{"session_id", "s-1"}};
  DecideResult t0 = Run(*p, ctx);
  EXPECT_EQ(t0.sticky, StickyOutcome::kMiss);
  EXPECT_EQ(t0.reason, Reason::kWeighted);
  const std::string pinned(t0.provider);

  clock_.Advance(milliseconds(1500));
  DecideResult t1 = Run(*p, ctx);
  EXPECT_EQ(t1.sticky, StickyOutcome::kHit);
  EXPECT_EQ(t1.provider, pinned);

  clock_.Advance(milliseconds(1500));  // t = 3.0 s: alive only because t = 1.5 s renewed it
  DecideResult t3 = Run(*p, ctx);
  EXPECT_EQ(t3.sticky, StickyOutcome::kHit);
  EXPECT_EQ(t3.reason, Reason::kSticky);

  clock_.Advance(milliseconds(2100));  // t = 5.1 s > 3.0 + 2
  DecideResult t5 = Run(*p, ctx);
  EXPECT_EQ(t5.sticky, StickyOutcome::kMiss);
  EXPECT_EQ(t5.reason, Reason::kWeighted);
  EXPECT_EQ(PinOf(*p, "s-1"), std::string(t5.provider));  // re-pinned
  clock_.Advance(milliseconds(1999));
  EXPECT_TRUE(PinOf(*p, "s-1").has_value());
  clock_.Advance(milliseconds(1));
  EXPECT_FALSE(PinOf(*p, "s-1").has_value());
}

// Scenario 13: a session pinned to openai; openai's breaker opens: weighted to another provider,
// openai excluded circuit_open, the pin moves; after recovery the session stays on the new pin.
TEST_F(DeciderTest, Scenario13HealthAwareSticky) {
  auto p = MakePolicy("acme", "chat", {Provider("openai", 500000), Provider("anthropic", 500000)});
  EnableSticky(*p);
  p->breaker.enabled = true;
  sticky_.Put({"acme", "chat", "s-9"}, "openai", clock_.MonoNow(), seconds(3600));
  MapContext ctx{{"session_id", "s-9"}};
  EXPECT_EQ(Run(*p, ctx).reason, Reason::kSticky);

  health_.SetOpen("openai");
  DecideResult r = Explain(*p, ctx);
  ASSERT_TRUE(r.status.ok());
  EXPECT_EQ(r.reason, Reason::kWeighted);
  EXPECT_EQ(r.provider, "anthropic");
  EXPECT_EQ(Excluded(r), (Excl{{"openai", "circuit_open"}}));
  EXPECT_EQ(r.sticky, StickyOutcome::kRepin);
  EXPECT_EQ(r.repin_reason, Exclusion::kCircuitOpen);
  EXPECT_EQ(r.steps, (Steps{"policy: acme/chat v1, strategy weighted",
                            "sticky: pin openai not usable (circuit_open); re-pinning",
                            "weighted: 1 of 2 providers eligible, total weight 0.5 -> anthropic"}));
  EXPECT_EQ(PinOf(*p, "s-9"), "anthropic");

  health_.SetClosed("openai");
  for (int i = 0; i < 20; ++i) {
    DecideResult after = Run(*p, ctx);
    EXPECT_EQ(after.reason, Reason::kSticky);
    EXPECT_EQ(after.provider, "anthropic");
  }
}

// Scenario 14: version 2 removes the pinned provider: re-pin, reported as not_in_policy.
TEST_F(DeciderTest, Scenario14PinLeavesThePolicy) {
  auto v1 = MakePolicy("acme", "chat", {Provider("legacy", 1'000'000)}, {}, 1);
  auto v2 = MakePolicy("acme", "chat", {Provider("openai", 1'000'000)}, {}, 2);
  EnableSticky(*v1);
  EnableSticky(*v2);
  MapContext ctx{{"session_id", "s-3"}};
  EXPECT_EQ(Run(*v1, ctx).provider, "legacy");
  EXPECT_EQ(PinOf(*v1, "s-3"), "legacy");

  DecideResult r = Explain(*v2, ctx);
  EXPECT_EQ(r.provider, "openai");
  EXPECT_EQ(r.reason, Reason::kWeighted);
  EXPECT_EQ(r.sticky, StickyOutcome::kRepin);
  EXPECT_EQ(r.repin_reason, Exclusion::kNotInPolicy);
  EXPECT_EQ(Excluded(r), (Excl{{"legacy", "not_in_policy"}}));
  EXPECT_EQ(r.steps, (Steps{"policy: acme/chat v2, strategy weighted",
                            "sticky: pin legacy not usable (not_in_policy); re-pinning",
                            "weighted: 1 of 1 providers eligible, total weight 1.0 -> openai"}));
  EXPECT_EQ(PinOf(*v2, "s-3"), "openai");
  // The excluded name outlives the table entry and survives copies of the result.
  DecideResult copy = r;
  r = DecideResult{};
  EXPECT_EQ(copy.excluded[0].provider, "legacy");
}

// ---------------------------------------------------------------- S2: scenarios 15-17

class FailurePathTest : public DeciderTest {
 protected:
  void SetUp() override {
    DeciderTest::SetUp();
    policy_ = MakePolicy(
        "acme", "chat",
        {Provider("openai", 600000), Provider("anthropic", 300000), Provider("mistral", 100000)},
        {Rule(VarIn("status", {"timeout", "5xx"}), 2, "anthropic", 100, false)});
    policy_->breaker.enabled = true;
  }
  MapContext Ctx(std::string previous_key, std::optional<std::string> attempt,
                 std::string status = "timeout") {
    MapContext ctx{{"status", status}, {previous_key, "openai"}};
    if (attempt.has_value()) ctx.Set("attempt", *attempt);
    return ctx;
  }
  std::shared_ptr<policy::CompiledPolicy> policy_;
};

// Scenario 15 (and the current_provider alias): retry 1/2 backoff 100, retry 2/2 backoff 200,
// then fallback anthropic/25 with openai retries_exhausted.
TEST_F(FailurePathTest, Scenario15ReDecision) {
  for (std::string key : {"previous_provider", "current_provider"}) {
    SCOPED_TRACE(key);
    DecideResult r0 = Explain(*policy_, Ctx(key, std::nullopt));
    ASSERT_TRUE(r0.status.ok());
    EXPECT_EQ(r0.provider, "openai");
    EXPECT_EQ(r0.reason, Reason::kRetry);
    EXPECT_EQ(ReasonPriority(r0.reason), 50);
    EXPECT_TRUE(r0.from_failure_path);
    EXPECT_EQ(r0.retry_attempt, 1);
    EXPECT_EQ(r0.retry_max, 2);
    EXPECT_EQ(r0.backoff_ms, 100);
    EXPECT_EQ(r0.fallback_rule, 0);
    EXPECT_EQ(r0.steps, (Steps{"policy: acme/chat v1, strategy weighted",
                               "failure_path: status=timeout previous_provider=openai attempt=0",
                               "failure_path: rule 0 -> retry 1/2 on openai, backoff 100 ms"}));

    DecideResult r1 = Explain(*policy_, Ctx(key, "1"));
    EXPECT_EQ(r1.provider, "openai");
    EXPECT_EQ(r1.reason, Reason::kRetry);
    EXPECT_EQ(r1.retry_attempt, 2);
    EXPECT_EQ(r1.retry_max, 2);
    EXPECT_EQ(r1.backoff_ms, 200);
    EXPECT_EQ(r1.steps.back(), "failure_path: rule 0 -> retry 2/2 on openai, backoff 200 ms");

    DecideResult r2 = Explain(*policy_, Ctx(key, "2"));
    EXPECT_EQ(r2.provider, "anthropic");
    EXPECT_EQ(r2.reason, Reason::kFallback);
    EXPECT_EQ(ReasonPriority(r2.reason), 25);
    EXPECT_TRUE(r2.from_failure_path);
    EXPECT_EQ(r2.fallback_rule, 0);
    EXPECT_EQ(Excluded(r2), (Excl{{"openai", "retries_exhausted"}}));
    EXPECT_EQ(r2.steps, (Steps{"policy: acme/chat v1, strategy weighted",
                               "failure_path: status=timeout previous_provider=openai attempt=2",
                               "failure_path: rule 0 -> fallback to anthropic"}));
  }
}

// previous_provider wins over current_provider when both are set.
TEST_F(FailurePathTest, PreviousProviderWinsOverAlias) {
  MapContext ctx{
      {"status", "timeout"}, {"previous_provider", "mistral"}, {"current_provider", "openai"}};
  DecideResult r = Run(*policy_, ctx);
  EXPECT_EQ(r.provider, "mistral");
  EXPECT_EQ(r.reason, Reason::kRetry);
}

// Scenario 16: status 400 (no rule matches) -> the normal path decides without P; `success`
// does not enter S2 at all.
TEST_F(FailurePathTest, Scenario16NoMatchingRule) {
  DecideResult r = Explain(*policy_, Ctx("previous_provider", "0", "400"));
  ASSERT_TRUE(r.status.ok());
  EXPECT_EQ(r.reason, Reason::kWeighted);
  EXPECT_NE(r.provider, "openai");
  EXPECT_FALSE(r.from_failure_path);
  EXPECT_EQ(Excluded(r), (Excl{{"openai", "previous_attempt_failed"}}));
  EXPECT_EQ(r.steps[1], "failure_path: status=400 previous_provider=openai attempt=0");
  EXPECT_EQ(r.steps[2], "failure_path: no rule yielded a provider");
  EXPECT_EQ(r.steps[3],
            "weighted: 2 of 3 providers eligible, total weight 0.4 -> " + std::string(r.provider));

  for (std::string ok : {"success", "ok", ""}) {
    DecideResult s = Explain(*policy_, Ctx("previous_provider", "0", ok));
    EXPECT_EQ(s.reason, Reason::kWeighted);
    EXPECT_EQ(s.excluded_count, 0u);
    EXPECT_EQ(s.steps.size(), 2u) << "S2 must not run for status '" << ok << "'";
  }
  // Without P the normal path may choose any candidate, openai included.
  bool saw_openai = false;
  for (int i = 0; i < 200 && !saw_openai; ++i) {
    saw_openai = Run(*policy_, Ctx("previous_provider", "0", "success")).provider == "openai";
  }
  EXPECT_TRUE(saw_openai);
}

// Scenario 17: scenario 15 with anthropic open at attempt 2: rule 0 is skipped and the normal
// path decides; with a second matching rule, that rule decides.
TEST_F(FailurePathTest, Scenario17TargetOpen) {
  health_.SetOpen("anthropic");
  DecideResult r = Explain(*policy_, Ctx("previous_provider", "2"));
  ASSERT_TRUE(r.status.ok());
  EXPECT_EQ(r.provider, "mistral");
  EXPECT_EQ(r.reason, Reason::kWeighted);
  EXPECT_EQ(Excluded(r), (Excl{{"anthropic", "circuit_open"}, {"openai", "retries_exhausted"}}));
  EXPECT_EQ(r.steps, (Steps{"policy: acme/chat v1, strategy weighted",
                            "failure_path: status=timeout previous_provider=openai attempt=2",
                            "failure_path: no rule yielded a provider",
                            "weighted: 1 of 3 providers eligible, total weight 0.1 -> mistral"}));

  policy_->rules.push_back(Rule(VarEq("status", "timeout"), 0, "local_llm"));
  testutil::Finalize(*policy_);
  DecideResult r2 = Explain(*policy_, Ctx("previous_provider", "2"));
  EXPECT_EQ(r2.provider, "local_llm");
  EXPECT_EQ(r2.reason, Reason::kFallback);
  EXPECT_EQ(r2.fallback_rule, 1);
  EXPECT_EQ(r2.steps.back(), "failure_path: rule 1 -> fallback to local_llm");
}

// S2 (a): a previous provider that is neither a provider nor a target is not_in_policy; S2 (c):
// a target equal to P is previous_attempt_failed.
TEST_F(FailurePathTest, UnknownPreviousAndTargetEqualToPrevious) {
  MapContext ctx{{"status", "timeout"}, {"previous_provider", "ghost"}};
  DecideResult r = Run(*policy_, ctx);
  EXPECT_EQ(r.provider, "anthropic");  // rule 0 (c)
  EXPECT_EQ(Excluded(r), (Excl{{"ghost", "not_in_policy"}}));

  auto p = MakePolicy("acme", "chat", {Provider("openai", 1'000'000)},
                      {Rule(VarEq("status", "timeout"), 0, "openai")});
  MapContext ctx2{{"status", "timeout"}, {"previous_provider", "openai"}};
  DecideResult r2 = Run(*p, ctx2);
  // The only candidate failed: failover through S5 skips P, then UNAVAILABLE.
  EXPECT_EQ(r2.status.code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(Excluded(r2), (Excl{{"openai", "retries_exhausted"}}));
}

// S2 (a): a later rule with a larger retry budget still retries P; P is not listed as excluded.
TEST_F(FailurePathTest, LaterRuleRetriesAfterAnEarlierOneIsExhausted) {
  auto p = MakePolicy("acme", "chat", {Provider("openai", 1'000'000)},
                      {Rule(VarEq("status", "timeout"), 1, ""),
                       Rule(VarEq("status", "timeout"), 3, "", 50, false)});
  MapContext ctx{{"status", "timeout"}, {"previous_provider", "openai"}, {"attempt", "2"}};
  DecideResult r = Run(*p, ctx);
  EXPECT_EQ(r.reason, Reason::kRetry);
  EXPECT_EQ(r.fallback_rule, 1);
  EXPECT_EQ(r.retry_attempt, 3);
  EXPECT_EQ(r.backoff_ms, 200);  // 50 * 2^2
  EXPECT_EQ(r.excluded_count, 0u);
}

TEST_F(FailurePathTest, AttemptMustBeAnIntegerUpTo1000) {
  for (std::string bad : {"abc", "-1", "1001", "", "1.0", "+1", " 1"}) {
    DecideResult r = Run(*policy_, Ctx("previous_provider", bad));
    EXPECT_EQ(r.status.code(), absl::StatusCode::kInvalidArgument) << bad;
    EXPECT_EQ(StdView(r.status.message()), "context.attempt: must be a non-negative integer");
    EXPECT_EQ(ErrorTag(r.status), "invalid_request");
  }
  // Checked even without a failure status (POL §3.1 step 1).
  MapContext ctx{{"attempt", "x"}};
  EXPECT_EQ(Run(*policy_, ctx).status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(Run(*policy_, Ctx("previous_provider", "1000")).status.ok());
}

// A retry on a half-open P takes a probe slot; a lost race falls through to (c).
TEST_F(FailurePathTest, RetryOnHalfOpenTakesAProbe) {
  health_.SetHalfOpen("openai", 1);
  DecideResult r = Run(*policy_, Ctx("previous_provider", "0"));
  EXPECT_EQ(r.provider, "openai");
  EXPECT_TRUE(r.probe_taken);
  EXPECT_EQ(health_.Acquired("openai"), 1);
  DecideResult r2 = Run(*policy_, Ctx("previous_provider", "0"));
  EXPECT_EQ(r2.provider, "anthropic");  // no free slot: openai half_open_full, rule 0 (c)
  EXPECT_FALSE(r2.probe_taken);
  EXPECT_EQ(Excluded(r2), (Excl{{"openai", "half_open_full"}}));
}

// Scenario 18: breaker chain to local_llm (circuit_breaker_fallback/20); both open: UNAVAILABLE
// listing both, retry_after_ms from the earliest half-open transition.
TEST_F(DeciderTest, Scenario18BreakerChain) {
  auto p = MakePolicy("acme", "chat", {Provider("openai", 1'000'000)},
                      {Rule(VarEq("status", "circuit_breaker_open"), 0, "local_llm")});
  p->breaker.enabled = true;
  MapContext ctx;
  health_.SetOpen("openai", 1500);
  DecideResult r = Explain(*p, ctx);
  ASSERT_TRUE(r.status.ok());
  EXPECT_EQ(r.provider, "local_llm");
  EXPECT_EQ(r.reason, Reason::kCircuitBreakerFallback);
  EXPECT_EQ(ReasonPriority(r.reason), 20);
  EXPECT_FALSE(r.from_failure_path);
  EXPECT_EQ(Excluded(r), (Excl{{"openai", "circuit_open"}}));
  EXPECT_EQ(r.steps, (Steps{"policy: acme/chat v1, strategy weighted",
                            "fallback_chain: status=circuit_breaker_open -> local_llm"}));

  health_.SetOpen("local_llm", 400);
  DecideResult u = Explain(*p, ctx);
  EXPECT_EQ(u.status.code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(StdView(u.status.message()), "no provider available: all 2 providers excluded");
  EXPECT_EQ(ErrorTag(u.status), "no_provider_available");
  EXPECT_EQ(ErrorDetails(u.status),
            (ErrorDetailList{{"excluded", "openai=circuit_open,local_llm=circuit_open"},
                             {"retry_after_ms", "400"}}));
  EXPECT_EQ(Excluded(u), (Excl{{"openai", "circuit_open"}, {"local_llm", "circuit_open"}}));
  EXPECT_EQ(u.steps.back(), "fallback_chain: no target available");

  // Forced open (no time bound) and half_open_full give no retry hint.
  health_.SetOpen("openai", std::nullopt);
  health_.SetHalfOpen("local_llm", 0);
  DecideResult f = Run(*p, ctx);
  EXPECT_EQ(f.status.code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(RetryAfterMs(f.status), 0);
  EXPECT_EQ(ErrorDetails(f.status),
            (ErrorDetailList{{"excluded", "openai=circuit_open,local_llm=half_open_full"}}));
}

// S5 chain order: matching rules' targets first, then every remaining target in rule order.
TEST_F(DeciderTest, FallbackChainTriesMatchingRulesFirstThenTheRest) {
  auto p = MakePolicy("acme", "chat", {Provider("openai", 1'000'000)},
                      {Rule(VarEq("status", "timeout"), 0, "t1"),
                       Rule(VarEq("status", "circuit_breaker_open"), 0, "t2"),
                       Rule(VarEq("status", "circuit_breaker_open"), 0, "t3")});
  p->breaker.enabled = true;
  health_.SetOpen("openai");
  health_.SetOpen("t2");
  MapContext ctx;
  DecideResult r = Run(*p, ctx);
  EXPECT_EQ(r.provider, "t3");
  EXPECT_EQ(Excluded(r), (Excl{{"openai", "circuit_open"}, {"t2", "circuit_open"}}));
  health_.SetOpen("t3");
  DecideResult r2 = Run(*p, ctx);
  EXPECT_EQ(r2.provider, "t1");  // non-matching rule's target, tried last
}

// Scenario 19: all weights 0 and no target -> FAILED_PRECONDITION; a rule with `to` -> fallback/25
// (synthetic no_weighted_provider).
TEST_F(DeciderTest, Scenario19StaticNoProvider) {
  auto p = MakePolicy("acme", "chat", {Provider("a", 0), Provider("b", 0)});
  MapContext ctx;
  DecideResult r = Explain(*p, ctx);
  EXPECT_EQ(r.status.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(StdView(r.status.message()),
            "policy \"chat\" can never yield a provider (no positive weight and no fallback "
            "target)");
  EXPECT_EQ(ErrorTag(r.status), "no_provider_configured");

  p->rules.push_back(Rule({}, 1, "local"));
  testutil::Finalize(*p);
  DecideResult f = Explain(*p, ctx);
  ASSERT_TRUE(f.status.ok());
  EXPECT_EQ(f.provider, "local");
  EXPECT_EQ(f.reason, Reason::kFallback);
  EXPECT_EQ(ReasonPriority(f.reason), 25);
  EXPECT_EQ(f.fallback_rule, -1);  // S5, not a re-decision
  EXPECT_EQ(Excluded(f), (Excl{{"a", "zero_weight"}, {"b", "zero_weight"}}));
  EXPECT_EQ(f.steps.back(), "fallback_chain: status=no_weighted_provider -> local");
}

// S5 evaluates `when` with status replaced by the synthetic value.
TEST_F(DeciderTest, FallbackChainSeesTheSyntheticStatus) {
  auto p = MakePolicy("acme", "chat", {Provider("a", 0)},
                      {Rule(VarEq("status", "timeout"), 0, "x"),
                       Rule(VarEq("status", "no_weighted_provider"), 0, "y")});
  MapContext ctx{{"status", "timeout"}, {"previous_provider", "x"}};
  DecideResult r = Run(*p, ctx);
  // S2: rule 0 (b) x exhausted (retry 0), (c) x = P; rule 1 does not match "timeout".
  // S5: rule 1 matches the synthetic status -> y.
  EXPECT_EQ(r.provider, "y");
  EXPECT_EQ(r.reason, Reason::kFallback);
}

// ---------------------------------------------------------------- probes (POL §3.2 S1)

TEST_F(DeciderTest, LostProbeRaceExcludesAndRechooses) {
  auto p = MakePolicy("acme", "chat", {Provider("a", 999999), Provider("b", 1)});
  p->breaker.enabled = true;
  health_.SetHalfOpenRaceLost("a");
  MapContext ctx;
  DecideResult r = Explain(*p, ctx);
  ASSERT_TRUE(r.status.ok());
  EXPECT_EQ(r.provider, "b");
  EXPECT_FALSE(r.probe_taken);
  EXPECT_EQ(Excluded(r), (Excl{{"a", "half_open_full"}}));
  EXPECT_EQ(r.steps.back(), "weighted: 1 of 2 providers eligible, total weight 0.000001 -> b");
}

TEST_F(DeciderTest, HalfOpenStickyHitTakesAProbeAndRenews) {
  auto p = MakePolicy("acme", "chat", {Provider("a", 500000), Provider("b", 500000)});
  EnableSticky(*p, 10);
  p->breaker.enabled = true;
  sticky_.Put({"acme", "chat", "s"}, "a", clock_.MonoNow(), seconds(10));
  health_.SetHalfOpen("a", 1);
  MapContext ctx{{"session_id", "s"}};
  clock_.Advance(seconds(5));
  DecideResult r = Run(*p, ctx);
  EXPECT_EQ(r.reason, Reason::kSticky);
  EXPECT_TRUE(r.probe_taken);
  clock_.Advance(seconds(9));  // alive only if the hit at t = 5 s renewed the pin
  EXPECT_EQ(PinOf(*p, "s"), "a");
  // No free slot now: the pin is not usable and S4 re-pins to b.
  DecideResult r2 = Run(*p, ctx);
  EXPECT_EQ(r2.provider, "b");
  EXPECT_EQ(r2.sticky, StickyOutcome::kRepin);
  EXPECT_EQ(r2.repin_reason, Exclusion::kHalfOpenFull);
  EXPECT_EQ(PinOf(*p, "s"), "b");
}

// Concurrent decisions on a half-open provider with 3 free slots: exactly 3 take a probe; the
// others exclude it as half_open_full and fall back (POL §12 scenario 23, decide side).
TEST_F(DeciderTest, ConcurrentProbeAcquisitionGrantsOnlyFreeSlots) {
  auto p = MakePolicy("acme", "chat", {Provider("a", 1'000'000)}, {Rule({}, 0, "local")});
  p->breaker.enabled = true;
  health_.SetHalfOpen("a", 3);
  constexpr int kThreads = 8;
  std::vector<DecideResult> results(kThreads);
  std::latch start(kThreads);
  std::vector<std::thread> threads;
  MapContext ctx;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      start.arrive_and_wait();
      results[t] = Run(*p, ctx);
    });
  }
  for (auto& th : threads) th.join();
  int probes = 0;
  for (const DecideResult& r : results) {
    ASSERT_TRUE(r.status.ok());
    if (r.provider == "a") {
      EXPECT_TRUE(r.probe_taken);
      ++probes;
    } else {
      EXPECT_EQ(r.provider, "local");
      EXPECT_EQ(r.reason, Reason::kCircuitBreakerFallback);
      EXPECT_EQ(Excluded(r), (Excl{{"a", "half_open_full"}}));
    }
  }
  EXPECT_EQ(probes, 3);
  EXPECT_EQ(health_.Acquired("a"), 3);
  EXPECT_EQ(health_.FreeSlots("a"), 0);
}

TEST_F(DeciderTest, DisabledBreakerNeverConsultsHealth) {
  auto p = MakePolicy("acme", "chat", {Provider("a", 1'000'000)});
  health_.SetOpen("a");
  MapContext ctx;
  DecideResult r = Run(*p, ctx);
  EXPECT_EQ(r.provider, "a");
  EXPECT_EQ(r.excluded_count, 0u);
}

// ---------------------------------------------------------------- DryRun: scenario 31

// Scenario 31 (decide side): a half-open provider with sticky on: no pin, no slot held, the
// explanation is present; an existing pin is read but not renewed.
TEST_F(DeciderTest, Scenario31DryRunChangesNothing) {
  auto p = MakePolicy("acme", "chat", {Provider("a", 1'000'000)});
  EnableSticky(*p, 10);
  p->breaker.enabled = true;
  health_.SetHalfOpen("a", 1);
  MapContext ctx{{"session_id", "dry"}};
  DecideResult r = Run(*p, ctx, ExplainLevel::kNone, /*dry_run=*/true);
  ASSERT_TRUE(r.status.ok());
  EXPECT_EQ(r.provider, "a");  // half-open with a free slot counts as allowed
  EXPECT_FALSE(r.probe_taken);
  EXPECT_EQ(health_.TotalAcquireCalls(), 0);
  EXPECT_EQ(health_.FreeSlots("a"), 1);
  EXPECT_EQ(sticky_.Size(), 0u);
  EXPECT_EQ(r.steps, (Steps{"policy: acme/chat v1, strategy weighted", "sticky: miss on session_id",
                            "weighted: 1 of 1 providers eligible, total weight 1.0 -> a"}));

  sticky_.Put({"acme", "chat", "dry"}, "a", clock_.MonoNow(), seconds(10));
  clock_.Advance(seconds(5));
  DecideResult hit = Run(*p, ctx, ExplainLevel::kNone, true);
  EXPECT_EQ(hit.reason, Reason::kSticky);
  EXPECT_EQ(health_.TotalAcquireCalls(), 0);
  clock_.Advance(seconds(5));
  EXPECT_FALSE(PinOf(*p, "dry").has_value());  // not renewed by the dry run
  EXPECT_EQ(sticky_.counters().hits.load() + sticky_.counters().misses.load(), 0u);
}

// ---------------------------------------------------------------- statistics: scenarios 33-34

// Scenario 33: expected latency from usable statistics, else declared, else 0.
TEST_F(DeciderTest, Scenario33ExpectedLatency) {
  auto p = MakePolicy("acme", "chat", {Provider("a", 1'000'000, 900, 0.25)});
  MapContext ctx;
  DecideResult declared = Run(*p, ctx);
  EXPECT_EQ(declared.expected_latency_ms, 900);
  EXPECT_DOUBLE_EQ(declared.expected_cost, 0.25);
  // Successes at 400, 500, 600 ms with alpha 0.2: 400 -> 420 -> 456.
  double ewma = 400;
  ewma = 0.2 * 500 + 0.8 * ewma;
  ewma = 0.2 * 600 + 0.8 * ewma;
  stats_.Set("a", ewma, 0.5);
  DecideResult observed = Run(*p, ctx);
  EXPECT_EQ(observed.expected_latency_ms, 456);
  EXPECT_DOUBLE_EQ(observed.expected_cost, 0.5);
  auto bare = MakePolicy("acme", "bare", {Provider("b", 1'000'000)});
  DecideResult none = Run(*bare, ctx);
  EXPECT_EQ(none.expected_latency_ms, 0);
  EXPECT_DOUBLE_EQ(none.expected_cost, 0);
}

// Scenario 34: least_latency with EWMAs 900/1100/600 and tolerance 0.1 always picks the 600 ms
// provider; 600 and 650 split by weight; a provider with no metric joins the band.
TEST_F(DeciderTest, Scenario34LeastLatency) {
  auto p = MakePolicy("acme", "fast",
                      {Provider("a", 300000), Provider("b", 300000), Provider("c", 400000)});
  p->selection.strategy = policy::Strategy::kLeastLatency;
  p->selection.tie_tolerance = 0.1;
  stats_.Set("a", 900);
  stats_.Set("b", 1100);
  stats_.Set("c", 600);
  MapContext ctx;
  for (int i = 0; i < 1000; ++i) {
    DecideResult r = Run(*p, ctx);
    ASSERT_EQ(r.provider, "c");
    ASSERT_EQ(r.reason, Reason::kBestScore);
    ASSERT_EQ(ReasonPriority(r.reason), 50);
  }
  DecideResult e = Explain(*p, ctx);
  EXPECT_EQ(Excluded(e), (Excl{{"a", "outside_tie_band"}, {"b", "outside_tie_band"}}));
  EXPECT_EQ(e.steps, (Steps{"policy: acme/fast v1, strategy least_latency",
                            "best_score: least_latency best c (600 ms), 1 within tolerance -> c"}));

  stats_.Set("a", 600);
  stats_.Set("b", 650);
  stats_.Set("c", 1100);
  int a = 0, b = 0;
  for (int i = 0; i < 20'000; ++i) {
    DecideResult r = Run(*p, ctx);
    ASSERT_NE(r.provider, "c");
    a += r.provider == "a";
    b += r.provider == "b";
  }
  EXPECT_NEAR(a / 20'000.0, 0.5, 0.02);  // equal weights within the band

  auto q = MakePolicy("acme", "fast2",
                      {Provider("a", 500000), Provider("b", 250000), Provider("u", 250000)});
  q->selection.strategy = policy::Strategy::kLeastLatency;
  stats_.Clear();
  stats_.Set("a", 600);
  stats_.Set("b", 5000);
  bool saw_unknown = false;
  for (int i = 0; i < 200; ++i) {
    DecideResult r = Run(*q, ctx);
    ASSERT_NE(r.provider, "b");
    saw_unknown |= r.provider == "u";
  }
  EXPECT_TRUE(saw_unknown);
  // With no known metric at all the choice is plain weighted, reason best_score.
  stats_.Clear();
  DecideResult none = Explain(*q, ctx);
  EXPECT_EQ(none.reason, Reason::kBestScore);
  EXPECT_EQ(none.steps.back(),
            "best_score: least_latency best - (unknown), 3 within tolerance -> " +
                std::string(none.provider));
}

// POL §8: costs compare as exact doubles; with a best cost of 0 only zero-cost and unknown
// providers are in the band. Declared values count when there are no statistics.
TEST_F(DeciderTest, LowestCostZeroBand) {
  auto p = MakePolicy("acme", "cheap",
                      {Provider("a", 250000, std::nullopt, 0.0), Provider("b", 250000, 10, 0.001),
                       Provider("u", 250000), Provider("z", 250000)});
  p->selection.strategy = policy::Strategy::kLowestCost;
  p->selection.tie_tolerance = 1.0;
  stats_.Set("z", std::nullopt, 0.0);
  MapContext ctx;
  for (int i = 0; i < 300; ++i) ASSERT_NE(Run(*p, ctx).provider, "b");
  DecideResult e = Explain(*p, ctx);
  EXPECT_EQ(Excluded(e), (Excl{{"b", "outside_tie_band"}}));
  EXPECT_EQ(e.steps.back(),
            "best_score: lowest_cost best a (0), 3 within tolerance -> " + std::string(e.provider));
}

TEST_F(DeciderTest, StickyAppliesToStrategies) {
  auto p = MakePolicy("acme", "fast", {Provider("a", 500000), Provider("b", 500000)});
  p->selection.strategy = policy::Strategy::kLeastLatency;
  EnableSticky(*p);
  stats_.Set("a", 100);
  stats_.Set("b", 900);
  MapContext ctx{{"session_id", "s"}};
  EXPECT_EQ(Run(*p, ctx).reason, Reason::kBestScore);
  stats_.Set("a", 900);
  stats_.Set("b", 100);
  DecideResult r = Run(*p, ctx);
  EXPECT_EQ(r.reason, Reason::kSticky);
  EXPECT_EQ(r.provider, "a");
}

// ---------------------------------------------------------------- explanation (POL §3.3)

TEST_F(DeciderTest, VerboseExplanationTexts) {
  auto p = MakePolicy("acme", "chat",
                      {Provider("a", 700000, 300, 0.5), Provider("b", 200000), Provider("c", 0)},
                      {Rule(VarEq("status", "timeout"), 1, "local")}, 7);
  EnableSticky(*p);
  stats_.Set("b", 249.6, 0.0125);
  MapContext ctx{{"status", "error"}, {"previous_provider", "a"}, {"session_id", "secret-value"}};
  DecideResult r = Run(*p, ctx, ExplainLevel::kVerbose);
  ASSERT_TRUE(r.status.ok());
  EXPECT_EQ(r.steps,
            (Steps{"policy: acme/chat v7, strategy weighted",
                   "provider: a weight 0.7 breaker disabled latency 300 ms (declared) cost 0.5 "
                   "(declared)",
                   "provider: b weight 0.2 breaker disabled latency 250 ms (observed) cost 0.0125 "
                   "(observed)",
                   "provider: c weight 0.0 breaker disabled latency 0 ms (none) cost 0 (none)",
                   "failure_path: status=error previous_provider=a attempt=0",
                   "failure_path: rule 0 not matched", "failure_path: no rule yielded a provider",
                   "sticky: miss on session_id",
                   "weighted: 1 of 3 providers eligible, total weight 0.2 -> b"}));
  // Session values never appear, only the key name.
  for (const auto& s : r.steps) EXPECT_EQ(s.find("secret-value"), std::string::npos) << s;
  EXPECT_EQ(Excluded(r), (Excl{{"c", "zero_weight"}, {"a", "previous_attempt_failed"}}));
}

TEST_F(DeciderTest, VerboseShowsBreakerStates) {
  auto p = MakePolicy("acme", "chat",
                      {Provider("a", 500000), Provider("b", 250000), Provider("c", 250000)});
  p->breaker.enabled = true;
  health_.SetOpen("a");
  health_.SetHalfOpen("b", 2);
  MapContext ctx;
  DecideResult r = Run(*p, ctx, ExplainLevel::kVerbose);
  EXPECT_EQ(r.steps[1], "provider: a weight 0.5 breaker open latency 0 ms (none) cost 0 (none)");
  EXPECT_EQ(r.steps[2],
            "provider: b weight 0.25 breaker half_open latency 0 ms (none) cost 0 (none)");
  EXPECT_EQ(r.steps[3], "provider: c weight 0.25 breaker closed latency 0 ms (none) cost 0 (none)");
}

TEST_F(DeciderTest, NoUsableSessionValueDisablesStickiness) {
  auto p = MakePolicy("acme", "chat", {Provider("a", 1'000'000)});
  EnableSticky(*p);
  p->sticky.session_key = "conversation";
  for (auto ctx : {MapContext{}, MapContext{{"conversation", ""}},
                   MapContext{{"conversation", std::string(257, 'v')}}}) {
    DecideResult r = Explain(*p, ctx);
    EXPECT_EQ(r.sticky, StickyOutcome::kOff);
    EXPECT_EQ(r.steps[1], "sticky: no usable value for conversation");
  }
  EXPECT_EQ(sticky_.Size(), 0u);
  MapContext ok{{"conversation", std::string(256, 'v')}};
  EXPECT_EQ(Run(*p, ok).sticky, StickyOutcome::kMiss);
  EXPECT_EQ(sticky_.Size(), 1u);
}

TEST_F(DeciderTest, NoExplanationUnlessAsked) {
  auto p = MakePolicy("acme", "chat", {Provider("a", 1'000'000)});
  MapContext ctx;
  EXPECT_TRUE(Run(*p, ctx).steps.empty());
  EXPECT_FALSE(Explain(*p, ctx).steps.empty());
}

// A failed decision writes no pin (POL §3.1 step 12).
TEST_F(DeciderTest, FailedDecisionWritesNoPin) {
  auto p = MakePolicy("acme", "chat", {Provider("a", 1'000'000)});
  EnableSticky(*p);
  p->breaker.enabled = true;
  health_.SetOpen("a");
  MapContext ctx{{"session_id", "s"}};
  EXPECT_EQ(Run(*p, ctx).status.code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(sticky_.Size(), 0u);
}

// S2 and S5 never move a session.
TEST_F(DeciderTest, RetryAndFallbackChainNeverMoveAPin) {
  auto p = MakePolicy("acme", "chat", {Provider("a", 500000), Provider("b", 500000)},
                      {Rule(VarEq("status", "timeout"), 1, "c")});
  EnableSticky(*p);
  p->breaker.enabled = true;
  sticky_.Put({"acme", "chat", "s"}, "a", clock_.MonoNow(), seconds(100));
  MapContext retry{{"session_id", "s"}, {"status", "timeout"}, {"previous_provider", "b"}};
  EXPECT_EQ(Run(*p, retry).reason, Reason::kRetry);
  MapContext fb{
      {"session_id", "s"}, {"status", "timeout"}, {"previous_provider", "b"}, {"attempt", "1"}};
  EXPECT_EQ(Run(*p, fb).provider, "c");
  health_.SetOpen("a");
  health_.SetOpen("b");
  MapContext plain{{"session_id", "s"}};
  EXPECT_EQ(Run(*p, plain).reason, Reason::kCircuitBreakerFallback);
  EXPECT_EQ(PinOf(*p, "s"), "a");
}

TEST(DeciderFormatTest, MicroShareFraction) {
  EXPECT_EQ(FormatMicroShares(0), "0.0");
  EXPECT_EQ(FormatMicroShares(900000), "0.9");
  EXPECT_EQ(FormatMicroShares(1000000), "1.0");
  EXPECT_EQ(FormatMicroShares(1), "0.000001");
  EXPECT_EQ(FormatMicroShares(1234500), "1.2345");
  EXPECT_EQ(FormatMicroShares(32000000), "32.0");
}

}  // namespace
}  // namespace router::core
