// Policy rate limits over a real gRPC channel against a running router (POL §7, grpc-api.md
// §3.1 step 7): grpc-api.md §13 scenario 7, the issue #5 rate-limit acceptance (burst + rate x
// elapsed, every refusal hinted, an honoured hint is admitted) and DryRun peeking (POL §3.4).
#include <atomic>
#include <chrono>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "itest_support.h"

namespace router::itest {
namespace {

using Clock = std::chrono::steady_clock;

std::string LimitedPolicy(double rps, int burst) {
  return R"({"version":"1.0","providers":[{"name":"openai","weight":1}],"rate_limit":{"enabled":true,"requests_per_second":)" +
         std::to_string(rps) + R"(,"burst":)" + std::to_string(burst) + "}}";
}

struct Call {
  grpc::Status status;
  int64_t retry_after_ms = -1;  // trailer; -1 when absent
};

class RateLimitTest : public SharedRouterTest {
 protected:
  Call Decide(const std::string& tenant, const std::string& policy) {
    grpc::ClientContext ctx;
    SetDeadline(ctx);
    fv1::RouteDecision d;
    Call out;
    out.status = c().router->Decide(&ctx, MakeRequest(tenant, policy), &d);
    for (const auto& [k, v] : ctx.GetServerTrailingMetadata()) {
      if (std::string(k.data(), k.size()) == "retry-after-ms") {
        out.retry_after_ms = std::stoll(std::string(v.data(), v.size()));
      }
    }
    return out;
  }
};

// grpc-api.md §13 scenario 7: 1 rps, burst 1, two back-to-back Decides -> the second is
// RESOURCE_EXHAUSTED with retry-after-ms in [1000 - t, 1000] and ErrorInfo rate_limit_exceeded.
TEST_F(RateLimitTest, Scenario07PolicyBucketRetryAfter) {
  ASSERT_TRUE(IsOk(c().Upsert("rl07_tenant", "one_rps", LimitedPolicy(1, 1))));
  const auto start = Clock::now();
  Call first = Decide("rl07_tenant", "one_rps");
  Call second = Decide("rl07_tenant", "one_rps");
  const int64_t t =
      std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start).count() + 1;
  ASSERT_TRUE(IsOk(first.status));
  EXPECT_EQ(first.retry_after_ms, -1);
  ASSERT_EQ(second.status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED)
      << Describe(second.status);
  EXPECT_GE(second.retry_after_ms, 1000 - t);
  EXPECT_LE(second.retry_after_ms, 1000);
  EXPECT_EQ(second.status.error_message(),
            "rate limit exceeded for policy \"one_rps\"; retry after " +
                std::to_string(second.retry_after_ms) + " ms");
  auto info = ErrorInfoOf(second.status);
  ASSERT_TRUE(info.has_value());
  EXPECT_EQ(info->reason(), "rate_limit_exceeded");
  EXPECT_EQ(Meta(*info, "retry_after_ms"), std::to_string(second.retry_after_ms));
  EXPECT_EQ(Meta(*info, "policy_id"), "one_rps");
}

// Issue #5 acceptance: rps 100, burst 50, a 2-second burst from 4 client threads admits
// 50 + 100 x elapsed +- 2, and every refusal carries a retry-after hint (trailer, ErrorInfo and
// RetryInfo agree with the message).
TEST_F(RateLimitTest, TwoSecondBurstAdmitsBurstPlusRateTimesElapsed) {
  ASSERT_TRUE(IsOk(c().Upsert("rl_burst_tenant", "p100", LimitedPolicy(100, 50))));
  std::atomic<int> admitted{0}, refused{0}, bad_hints{0}, other{0};
  std::atomic<bool> stop{false};
  std::mutex mu;
  Clock::time_point first_end = Clock::time_point::max(), last_start = Clock::time_point::min();
  const auto start = Clock::now();
  std::vector<std::thread> threads;
  for (int i = 0; i < 4; ++i) {
    threads.emplace_back([&] {
      Clients clients(SharedRouter().process->grpc_target());
      while (!stop.load()) {
        const auto call_start = Clock::now();
        grpc::ClientContext ctx;
        SetDeadline(ctx);
        fv1::RouteDecision d;
        grpc::Status s = clients.router->Decide(&ctx, MakeRequest("rl_burst_tenant", "p100"), &d);
        const auto call_end = Clock::now();
        {
          std::lock_guard<std::mutex> lock(mu);
          first_end = std::min(first_end, call_end);
          last_start = std::max(last_start, call_start);
        }
        if (s.ok()) {
          admitted.fetch_add(1);
        } else if (s.error_code() == grpc::StatusCode::RESOURCE_EXHAUSTED) {
          refused.fetch_add(1);
          int64_t hint = -1;
          for (const auto& [k, v] : ctx.GetServerTrailingMetadata()) {
            if (std::string(k.data(), k.size()) == "retry-after-ms") {
              hint = std::stoll(std::string(v.data(), v.size()));
            }
          }
          auto info = ErrorInfoOf(s);
          if (hint < 1 || hint > 10 || !info ||
              Meta(*info, "retry_after_ms") != std::to_string(hint) ||
              s.error_message() != "rate limit exceeded for policy \"p100\"; retry after " +
                                       std::to_string(hint) + " ms") {
            bad_hints.fetch_add(1);
          }
        } else {
          other.fetch_add(1);
        }
        if (Clock::now() - start >= std::chrono::seconds(2)) stop.store(true);
      }
    });
  }
  for (auto& t : threads) t.join();
  const auto end = Clock::now();
  // The server's checks lie between the first call's start and the last call's end (outer),
  // and span at least from the first call's end to the last call's start (inner).
  const double outer = std::chrono::duration<double>(end - start).count();
  const double inner = std::chrono::duration<double>(last_start - first_end).count();
  EXPECT_EQ(other.load(), 0);
  EXPECT_EQ(bad_hints.load(), 0);
  EXPECT_GT(refused.load(), 0);  // demand exceeded the rate, so the bucket really limited
  EXPECT_GE(admitted.load(), 50 + 100 * inner - 2) << "inner " << inner;
  EXPECT_LE(admitted.load(), 50 + 100 * outer + 2) << "outer " << outer;
}

// Issue #5 acceptance: a refusal's retry-after, when honoured, is admitted (each time).
TEST_F(RateLimitTest, HonouredRetryAfterIsAdmitted) {
  ASSERT_TRUE(IsOk(c().Upsert("rl_honour_tenant", "p", LimitedPolicy(20, 2))));
  int honoured = 0;
  for (int round = 0; round < 6; ++round) {
    Call call;
    do {  // drain the bucket
      call = Decide("rl_honour_tenant", "p");
    } while (call.status.ok());
    ASSERT_EQ(call.status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED)
        << Describe(call.status);
    ASSERT_GE(call.retry_after_ms, 1);
    ASSERT_LE(call.retry_after_ms, 50);
    // Waiting for the hint is the behaviour under test (no other client uses this bucket).
    std::this_thread::sleep_for(std::chrono::milliseconds(call.retry_after_ms));
    Call again = Decide("rl_honour_tenant", "p");
    EXPECT_TRUE(IsOk(again.status)) << "round " << round;
    if (again.status.ok()) ++honoured;
  }
  EXPECT_EQ(honoured, 6);
}

// POL §3.4 / grpc-api.md §7: DryRun peeks the bucket, never charges or rejects, and reports it.
TEST_F(RateLimitTest, DryRunPeeksTheBucket) {
  ASSERT_TRUE(IsOk(c().Upsert("rl_dry_tenant", "slow", LimitedPolicy(0.5, 1))));
  fv1::DryRunResponse dry;
  ASSERT_TRUE(IsOk(c().DryRun(MakeRequest("rl_dry_tenant", "slow"), &dry)));
  EXPECT_EQ(dry.status_code(), 0);
  ASSERT_GE(dry.explanation().steps_size(), 2);
  EXPECT_EQ(dry.explanation().steps(1), "dry_run: rate limit would allow");
  ASSERT_TRUE(IsOk(Decide("rl_dry_tenant", "slow").status));  // the DryRun took nothing
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(IsOk(c().DryRun(MakeRequest("rl_dry_tenant", "slow"), &dry)));
    EXPECT_EQ(dry.status_code(), 0);
    EXPECT_EQ(dry.explanation().steps(1).rfind("dry_run: rate limit would reject, retry after ", 0),
              0u)
        << dry.explanation().steps(1);
  }
}

}  // namespace
}  // namespace router::itest
