// Router SIGKILL during a pushing flow (nats-contracts.md §12 scenario 27, assignment half; issue
// #4 acceptance). In the default `after_publish` mode an `ok` reply means the assignment was
// PubAcked, so killing the real router process loses no answered assignment, and the
// Nats-Msg-Id dedupe keeps each one stored once. In `immediate` mode (§5.1) the loss window is
// the outbox at the kill: with a healthy JetStream only assignments answered within the last
// `publish.pub_ack_timeout_ms` + 1 s; those are counted and printed, not required to be zero.
// The stream is read by sequence.

#include <atomic>
#include <chrono>
#include <cstdio>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "itest_support.h"
#include "support/jetstream_client.h"
#include "support/nats_server.h"
#include "support/router_http.h"

namespace router::itest {
namespace {

using namespace std::chrono_literals;
using router::testing::HttpBody;
using router::testing::JetStreamClient;
using router::testing::JsonDoc;
using router::testing::MetricValue;
using router::testing::NatsServerProcess;
using router::testing::WaitFor;

constexpr char kTenant[] = "kill_tenant";
constexpr char kPolicy[] = "kill_policy";
constexpr char kDecideSubject[] = "beamline.router.v1.decide";
constexpr char kAssignments[] = "CAF_ASSIGNMENTS";

std::string KillToml(const std::string& nats_url, const std::string& extra = "") {
  return std::string("node_id = \"router-kill\"\n[admin]\n") + kStandardAdminKeysToml +
         "\n[nats]\nurl = \"" + nats_url + "\"\nreconnect_max_ms = 1000\n" + extra;
}

std::string KillBody(int i) {
  return R"({"version":"1","request_id":"kill-)" + std::to_string(i) + R"(","tenant_id":")" +
         kTenant + R"(","policy_id":")" + kPolicy +
         R"(","task":{"type":"t","payload":{"prompt":"hello world"}},"push_assignment":true})";
}

using Clock = std::chrono::steady_clock;

// What a kill run saw: every ok reply's assignment id with the time it was answered.
struct KillRun {
  std::map<std::string, Clock::time_point> ok_before_kill;
  std::set<std::string> ok_after_restart;
  Clock::time_point killed_at;
  double outbox_depth_before_kill = -1;
};

// Starts nats-server and a real router with `extra` TOML, runs a ~200 req/s pushing flow
// until `sent_before_kill` requests were sent, SIGKILLs the router, restarts it on the same data
// dir and keeps the flow going until 50 more `ok` replies arrived.
void RunRouterKill(NatsServerProcess& nats, JetStreamClient& client, const std::string& extra,
                   int sent_before_kill, KillRun* run) {
  RouterOptions opts;
  opts.config_toml = KillToml(nats.url(), extra);
  opts.env.push_back(AdminKeyEnv());
  RouterProcess router(opts);
  ASSERT_TRUE(StartReady(router).ok()) << router.ReadStdout() << router.ReadStderr();
  {
    Clients clients(router.grpc_target());
    ASSERT_TRUE(IsOk(clients.Upsert(kTenant, kPolicy, kP73)));
  }
  std::mutex mu;
  std::atomic<bool> stop{false}, killed{false}, restarted{false};
  std::atomic<int> sent{0}, ok_after_restart{0};
  std::thread flow([&] {
    for (int i = 0; !stop.load(); ++i) {
      JsonDoc r(client.Request(kDecideSubject, KillBody(i), {}, 3000));
      const auto answered_at = Clock::now();
      ++sent;
      if (r.Bool("/ok")) {
        const std::string id = r.Str("/assignment/assignment_id");
        std::lock_guard<std::mutex> lock(mu);
        if (restarted.load()) {
          run->ok_after_restart.insert(id);
          ++ok_after_restart;
        } else if (!killed.load()) {
          run->ok_before_kill[id] = answered_at;
        }
      }
      std::this_thread::sleep_for(5ms);  // ~200 req/s pacing, not synchronisation
    }
  });
  const bool flowing = WaitFor([&] { return sent.load() >= sent_before_kill; }, 30s, "flow").ok();
  EXPECT_TRUE(flowing);
  if (flowing) {
    run->outbox_depth_before_kill =
        MetricValue(HttpBody(router.http_port(), "/metrics"), "router_assignment_outbox_depth");
    {
      std::lock_guard<std::mutex> lock(mu);  // no reply is recorded as "before" after this
      killed = true;
      run->killed_at = Clock::now();
    }
    router.Kill();
    const absl::Status restart = router.Restart();
    EXPECT_TRUE(restart.ok()) << restart << router.ReadStderr();
    EXPECT_TRUE(WaitReady(router).ok());
    restarted = true;
    EXPECT_TRUE(WaitFor([&] { return ok_after_restart.load() >= 50; }, 30s, "recovery").ok());
  }
  stop = true;
  flow.join();
}

class NatsRouterKillTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(nats_.Start().ok());
    ASSERT_TRUE(client_.Connect(nats_.url()).ok());
  }

  NatsServerProcess nats_;
  JetStreamClient client_;
};

// §12.27 (assignment half): 200 req/s pushing flow, router SIGKILL, restart -> every ok
// response's assignment is in the stream exactly once.
TEST_F(NatsRouterKillTest, Scenario27RouterSigkillLosesNoAnsweredAssignment) {
  KillRun run;
  RunRouterKill(nats_, client_, "", 300, &run);
  const std::multiset<std::string> stored = client_.StoredIds(kAssignments);
  EXPECT_GT(run.ok_before_kill.size() + run.ok_after_restart.size(), 300u);
  for (const auto& [id, at] : run.ok_before_kill) EXPECT_EQ(stored.count(id), 1u) << id;
  for (const auto& id : run.ok_after_restart) EXPECT_EQ(stored.count(id), 1u) << id;
  for (const auto& id : stored) EXPECT_EQ(stored.count(id), 1u) << "stored twice: " << id;
}

// §12.27 with reply_mode = "immediate" (§5.1): the `ok` / `pending` replies whose assignment is
// missing after the restart are counted and printed; each was answered within the loss window
// (the last pub_ack_timeout_ms (5000) + 1 s before the kill), so there are at most the outbox
// depth at the kill; none is stored twice, and every assignment answered after the restart is
// stored. The flow runs ~8 s before the kill so that the window excludes most replies.
TEST_F(NatsRouterKillTest, Scenario27ImmediateModeLossStaysWithinTheWindow) {
  constexpr auto kWindow = 5000ms + 1s;  // publish.pub_ack_timeout_ms (default) + 1 s
  KillRun run;
  RunRouterKill(nats_, client_, "[nats.assignments]\nreply_mode = \"immediate\"\n", 1500, &run);
  std::multiset<std::string> stored;
  EXPECT_TRUE(WaitFor(
                  [&] {
                    stored = client_.StoredIds(kAssignments);
                    for (const auto& id : run.ok_after_restart) {
                      if (stored.count(id) == 0) return false;
                    }
                    return true;
                  },
                  10s, "every assignment answered after the restart stored")
                  .ok());
  int missing = 0, outside_window = 0;
  for (const auto& [id, at] : run.ok_before_kill) {
    if (stored.count(id) != 0) continue;
    ++missing;
    if (at < run.killed_at - kWindow) {
      ++outside_window;
      ADD_FAILURE()
          << id << " answered "
          << std::chrono::duration_cast<std::chrono::milliseconds>(run.killed_at - at).count()
          << " ms before the kill is missing";
    }
  }
  std::printf(
      "[ scenario 27 immediate ] %d of %zu pending replies before the kill missing after the "
      "restart (outbox depth just before the kill: %.0f); %d outside the %lld ms window\n",
      missing, run.ok_before_kill.size(), run.outbox_depth_before_kill, outside_window,
      static_cast<long long>(std::chrono::milliseconds(kWindow).count()));
  EXPECT_GT(run.ok_before_kill.size(), 1000u);
  EXPECT_EQ(outside_window, 0);
  EXPECT_LE(missing, 10000);  // outbox.capacity: the bound during an outage
  for (const auto& id : stored) EXPECT_EQ(stored.count(id), 1u) << "stored twice: " << id;
}

}  // namespace
}  // namespace router::itest
