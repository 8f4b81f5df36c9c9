// DecisionService steps 4, 5 and 7 (POL §3.1, §7; grpc-api.md §3.1; nats-contracts.md §9):
// backpressure and the tenant / policy token buckets, exact messages, tags and retry hints,
// DryRun peeking (POL §3.4), on a FakeClock.
#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

#include "base/errors.h"
#include "core/decider.h"
#include "core/provider_health.h"
#include "core/rate_limiter.h"
#include "core/snapshot.h"
#include "core/sticky_table.h"
#include "service/backpressure.h"
#include "service/decision_service.h"
#include "service_test_util.h"
#include "support/fake_clock.h"

namespace router::service {
namespace {

using namespace std::chrono_literals;
using testutil::CompileStamped;
using testutil::MapRequestContext;

constexpr char kLimited[] = R"({"providers":[{"name":"openai","weight":100}],
    "rate_limit":{"enabled":true,"requests_per_second":10,"burst":5}})";
constexpr char kUnlimited[] = R"({"providers":[{"name":"openai","weight":100}],
    "rate_limit":{"enabled":false,"requests_per_second":1,"burst":1}})";

std::map<std::string, std::string> DetailMap(const absl::Status& s) {
  std::map<std::string, std::string> out;
  for (const auto& [k, v] : ErrorDetails(s)) out[k] = v;
  return out;
}

class DecisionLimitsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Publish(kLimited, "p1");
    Publish(kUnlimited, "free");
    service_.SetRateLimiter(&limiter_);
  }

  void Publish(std::string_view json, std::string_view policy) {
    auto compiled = CompileStamped(json, "t1", policy, 1);
    ASSERT_NE(compiled, nullptr);
    snapshots_.Publish(core::WithUpsert(snapshots_.Load(), compiled));
  }

  DecideCall Call(std::string_view policy = "p1", std::string_view tenant = "t1") {
    DecideCall call;
    call.tenant_id = tenant;
    call.policy_id = policy;
    call.context = &ctx_;
    return call;
  }

  // Drives the monitor `active` (inflight and pending over their thresholds).
  void MakeActive() {
    for (int i = 0; i < 3; ++i) tickets_.push_back(monitor_.Begin());
    monitor_.SetPending(10);
    monitor_.Recompute();
    ASSERT_TRUE(monitor_.Active());
  }

  static BackpressureOptions Thresholds() {
    BackpressureOptions o;
    o.inflight_overload = 2;
    o.queue_overload = 5;
    return o;
  }

  router::testing::FakeClock clock_;
  core::NoBreakers health_;
  core::NoStatistics stats_;
  core::StickyTable sticky_;
  core::Decider decider_{clock_, health_, stats_, sticky_};
  core::SnapshotHolder snapshots_;
  core::RateLimiter limiter_{clock_};
  BackpressureMonitor monitor_{Thresholds(), clock_};
  std::vector<DecideTicket> tickets_;
  MapRequestContext ctx_;
  DecisionService service_{DecisionServiceOptions{}, clock_, snapshots_, decider_};
};

// grpc-api.md §3.1 step 7 / POL §12 scenario 28: rps 10, burst 5 -> the 6th is refused with the
// exact message, tag and hint; after the hint one more passes.
TEST_F(DecisionLimitsTest, PolicyBucketRefusesWithExactHint) {
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(service_.Decide(Call()).status.ok());
  DecideOutput out = service_.Decide(Call());
  EXPECT_EQ(out.status.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(StdView(out.status.message()),
            "rate limit exceeded for policy \"p1\"; retry after 100 ms");
  EXPECT_EQ(ErrorTag(out.status), "rate_limit_exceeded");
  EXPECT_EQ(RetryAfterMs(out.status), 100);
  EXPECT_EQ(DetailMap(out.status)["policy_id"], "p1");
  EXPECT_EQ(DetailMap(out.status)["tenant_id"], "t1");
  clock_.Advance(100ms);
  EXPECT_TRUE(service_.Decide(Call()).status.ok());
  EXPECT_FALSE(service_.Decide(Call()).status.ok());
}

// POL §12 scenario 28: disabled limits nothing.
TEST_F(DecisionLimitsTest, DisabledPolicyLimitLimitsNothing) {
  for (int i = 0; i < 50; ++i) ASSERT_TRUE(service_.Decide(Call("free")).status.ok());
}

// grpc-api.md §3.1: a token taken at step 7 is not refunded when a later step fails.
TEST_F(DecisionLimitsTest, TokenIsNotRefundedWhenALaterStepFails) {
  ctx_.Set("deadline", "1");  // long past
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(service_.Decide(Call()).status.code(), absl::StatusCode::kDeadlineExceeded);
  }
  ctx_.Erase("deadline");
  EXPECT_EQ(ErrorTag(service_.Decide(Call()).status), "rate_limit_exceeded");
}

// grpc-api.md §3.1 step 5: the tenant bucket (config) precedes the lookup; overrides apply.
TEST_F(DecisionLimitsTest, TenantBucketPrecedesTheLookup) {
  TenantRateLimits tenant;
  tenant.enabled = true;
  tenant.defaults = {1, 1};
  tenant.overrides["t2"] = {2, 2};
  service_.SetRateLimiter(&limiter_, tenant);
  EXPECT_TRUE(service_.Decide(Call("free")).status.ok());
  DecideOutput out = service_.Decide(Call("no-such-policy"));
  EXPECT_EQ(out.status.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(StdView(out.status.message()), "tenant rate limit exceeded; retry after 1000 ms");
  EXPECT_EQ(ErrorTag(out.status), "rate_limit_exceeded");
  EXPECT_EQ(RetryAfterMs(out.status), 1000);
  // t2's override: burst 2 (its policies are unknown: NOT_FOUND after the bucket grants).
  EXPECT_EQ(service_.Decide(Call("x", "t2")).status.code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(service_.Decide(Call("x", "t2")).status.code(), absl::StatusCode::kNotFound);
  DecideOutput third = service_.Decide(Call("x", "t2"));
  EXPECT_EQ(StdView(third.status.message()), "tenant rate limit exceeded; retry after 500 ms");
}

// grpc-api.md §3.1 step 4 / nats-contracts.md §9: `active` -> RESOURCE_EXHAUSTED with the
// configured hint, before the lookup, consuming no token.
TEST_F(DecisionLimitsTest, BackpressureRefusesBeforeLookupWithoutTokens) {
  service_.SetBackpressure(&monitor_);
  MakeActive();
  for (int i = 0; i < 10; ++i) {
    DecideOutput out = service_.Decide(Call());
    EXPECT_EQ(out.status.code(), absl::StatusCode::kResourceExhausted);
    EXPECT_EQ(StdView(out.status.message()), "router overloaded; retry after 1000 ms");
    EXPECT_EQ(ErrorTag(out.status), "overloaded");
    EXPECT_EQ(RetryAfterMs(out.status), 1000);
    EXPECT_EQ(DetailMap(out.status)["status"], "active");
    EXPECT_EQ(DetailMap(out.status)["signals"], "inflight,pending");
  }
  EXPECT_EQ(ErrorTag(service_.Decide(Call("no-such-policy")).status), "overloaded");
  // DryRun is exempt (grpc-api.md §13 scenario 8).
  EXPECT_TRUE(service_.DryRun(Call()).status.ok());

  tickets_.clear();
  monitor_.Recompute();
  ASSERT_FALSE(monitor_.Active());  // warning (pending only): served
  for (int i = 0; i < 5; ++i) EXPECT_TRUE(service_.Decide(Call()).status.ok()) << i;  // full
  EXPECT_EQ(ErrorTag(service_.Decide(Call()).status), "rate_limit_exceeded");
}

// POL §3.4: DryRun peeks the buckets, never charges or rejects, and reports them.
TEST_F(DecisionLimitsTest, DryRunPeeksAndReports) {
  DecideOutput dry = service_.DryRun(Call());
  ASSERT_TRUE(dry.status.ok()) << dry.status;
  ASSERT_GE(dry.steps.size(), 2u);
  EXPECT_EQ(dry.steps[0], "policy: t1/p1 v1, strategy weighted");
  EXPECT_EQ(dry.steps[1], "dry_run: rate limit would allow");
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(service_.Decide(Call()).status.ok());
  for (int i = 0; i < 3; ++i) {
    dry = service_.DryRun(Call());
    ASSERT_TRUE(dry.status.ok()) << dry.status;
    EXPECT_EQ(dry.steps[1], "dry_run: rate limit would reject, retry after 100 ms");
  }
  clock_.Advance(100ms);
  EXPECT_TRUE(service_.Decide(Call()).status.ok());  // the DryRuns took nothing
  // No limiter enabled for the policy: no dry_run step.
  for (const auto& step : service_.DryRun(Call("free")).steps) {
    EXPECT_EQ(step.rfind("dry_run:", 0), std::string::npos) << step;
  }
}

}  // namespace
}  // namespace router::service
