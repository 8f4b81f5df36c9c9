// Snapshot consistency under concurrent writes (policy-and-decisions.md §10 Snapshots, §12.32
// second part, over gRPC): 8 threads decide while another upserts the same policy 1,000 times,
// alternating two documents whose only provider differs. Odd versions hold provider "a", even
// versions provider "b"; a decision must never pair a version with the other document's
// provider, and a thread never sees versions go backwards.

#include <atomic>
#include <latch>
#include <mutex>
#include <thread>

#include "itest_support.h"

namespace router::itest {
namespace {

class ConcurrencyTest : public SharedRouterTest {};

TEST_F(ConcurrencyTest, DecisionsNeverMixVersionAndDocument) {
  const std::string doc_a = R"({"version":"1.0","providers":[{"name":"a","weight":100}]})";
  const std::string doc_b = R"({"version":"1.0","providers":[{"name":"b","weight":100}]})";
  constexpr char kTenant[] = "concurrency_tenant";
  constexpr char kPolicy[] = "flip";
  constexpr int kUpserts = 1000;
  constexpr int kDeciders = 8;
  ASSERT_TRUE(IsOk(c().Upsert(kTenant, kPolicy, doc_a)));  // v1: "a"

  const std::string target = SharedRouter().process->grpc_target();
  std::atomic<bool> done{false};
  std::atomic<int> decisions{0}, errors{0}, mismatches{0}, regressions{0}, upsert_errors{0};
  std::mutex first_problem_mu;
  std::string first_problem;
  auto note = [&](const std::string& what) {
    std::lock_guard<std::mutex> lock(first_problem_mu);
    if (first_problem.empty()) first_problem = what;
  };
  std::latch start(kDeciders + 1);
  std::vector<std::thread> threads;
  for (int t = 0; t < kDeciders; ++t) {
    threads.emplace_back([&] {
      Clients local(target);
      auto req = MakeRequest(kTenant, kPolicy);
      int64_t last_version = 0;
      start.arrive_and_wait();
      while (!done.load(std::memory_order_acquire)) {
        fv1::RouteDecision d;
        grpc::Status s = local.Decide(req, &d);
        if (!s.ok()) {
          ++errors;
          note("decide error: " + Describe(s));
          continue;
        }
        ++decisions;
        const int64_t v = d.policy_version();
        const std::string want = v % 2 == 1 ? "a" : "b";
        if (d.provider_id() != want || Meta(d, "policy_version") != std::to_string(v)) {
          ++mismatches;
          note("version " + std::to_string(v) + " decided " + d.provider_id() +
               " (metadata policy_version " + Meta(d, "policy_version") + ")");
        }
        if (v < last_version) {
          ++regressions;
          note("version went back from " + std::to_string(last_version) + " to " +
               std::to_string(v));
        }
        last_version = v;
      }
    });
  }
  threads.emplace_back([&] {
    Clients local(target);
    start.arrive_and_wait();
    for (int i = 0; i < kUpserts; ++i) {
      // Upsert i moves the policy to version i + 2: even versions get "b", odd ones "a".
      grpc::Status s = local.Upsert(kTenant, kPolicy, i % 2 == 0 ? doc_b : doc_a);
      if (!s.ok()) {
        ++upsert_errors;
        note("upsert error: " + Describe(s));
      }
    }
    done.store(true, std::memory_order_release);
  });
  for (auto& t : threads) t.join();

  EXPECT_EQ(upsert_errors.load(), 0) << first_problem;
  EXPECT_EQ(errors.load(), 0) << first_problem;
  EXPECT_EQ(mismatches.load(), 0) << first_problem;
  EXPECT_EQ(regressions.load(), 0) << first_problem;
  EXPECT_GT(decisions.load(), kDeciders) << "deciders made no progress";

  fv1::AdminPolicy got;
  ASSERT_TRUE(IsOk(c().Get(kTenant, kPolicy, &got)));
  EXPECT_EQ(got.version(), kUpserts + 1);
  fv1::RouteDecision d;
  ASSERT_TRUE(IsOk(c().Decide(MakeRequest(kTenant, kPolicy), &d)));
  EXPECT_EQ(d.policy_version(), kUpserts + 1);
  EXPECT_EQ(d.provider_id(), (kUpserts + 1) % 2 == 1 ? "a" : "b");
}

}  // namespace
}  // namespace router::itest
