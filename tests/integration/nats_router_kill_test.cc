// Router SIGKILL during a pushing flow (nats-contracts.md §12 scenario 27, assignment half; issue
// #4 acceptance): in the default `after_publish` mode an `ok` reply means the assignment was
// PubAcked, so killing the real router process loses no answered assignment, and the
// Nats-Msg-Id dedupe keeps each one stored once. The stream is read by sequence.

#include <nats/nats.h>
#include <simdjson.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <set>
#include <string>
#include <thread>

#include "itest_support.h"
#include "support/nats_server.h"

namespace router::itest {
namespace {

using namespace std::chrono_literals;
using router::testing::NatsServerProcess;
using router::testing::WaitFor;

constexpr char kTenant[] = "kill_tenant";
constexpr char kPolicy[] = "kill_policy";

std::string KillToml(const std::string& nats_url) {
  return std::string("node_id = \"router-kill\"\n[admin]\n") + kStandardAdminKeysToml +
         "\n[nats]\nurl = \"" + nats_url + "\"\nreconnect_max_ms = 1000\n";
}

class Conn {
 public:
  ~Conn() {
    if (js_ != nullptr) jsCtx_Destroy(js_);
    if (nc_ != nullptr) natsConnection_Destroy(nc_);
  }
  bool Connect(const std::string& url) {
    return natsConnection_ConnectTo(&nc_, url.c_str()) == NATS_OK &&
           natsConnection_JetStream(&js_, nc_, nullptr) == NATS_OK;
  }
  std::string Request(const std::string& body) {
    natsMsg* reply = nullptr;
    if (natsConnection_Request(&reply, nc_, "beamline.router.v1.decide", body.data(),
                               static_cast<int>(body.size()), 3000) != NATS_OK) {
      return "";
    }
    std::string out(natsMsg_GetData(reply), static_cast<size_t>(natsMsg_GetDataLength(reply)));
    natsMsg_Destroy(reply);
    return out;
  }
  std::multiset<std::string> StoredIds() {
    std::multiset<std::string> ids;
    jsStreamInfo* si = nullptr;
    jsErrCode err = static_cast<jsErrCode>(0);
    if (js_GetStreamInfo(&si, js_, "CAF_ASSIGNMENTS", nullptr, &err) != NATS_OK) return ids;
    const uint64_t first = si->State.FirstSeq, last = si->State.LastSeq;
    jsStreamInfo_Destroy(si);
    for (uint64_t seq = first; seq != 0 && seq <= last; ++seq) {
      natsMsg* m = nullptr;
      if (js_GetMsg(&m, js_, "CAF_ASSIGNMENTS", seq, nullptr, &err) != NATS_OK) continue;
      const char* id = nullptr;
      if (natsMsgHeader_Get(m, "Nats-Msg-Id", &id) == NATS_OK) ids.insert(id);
      natsMsg_Destroy(m);
    }
    return ids;
  }

 private:
  natsConnection* nc_ = nullptr;
  jsCtx* js_ = nullptr;
};

// The assignment id of an ok pushing reply, "" otherwise.
std::string OkAssignmentId(const std::string& reply) {
  simdjson::dom::parser parser;
  simdjson::dom::element e;
  if (parser.parse(reply).get(e) != simdjson::SUCCESS) return "";
  bool ok = false;
  if (e["ok"].get(ok) != simdjson::SUCCESS || !ok) return "";
  std::string_view id;
  if (e.at_pointer("/assignment/assignment_id").get(id) != simdjson::SUCCESS) return "";
  return std::string(id);
}

// §12.27 (assignment half): 200 req/s pushing flow, router SIGKILL, restart -> every ok
// response's assignment is in the stream exactly once.
TEST(NatsRouterKillTest, Scenario27RouterSigkillLosesNoAnsweredAssignment) {
  NatsServerProcess nats;
  ASSERT_TRUE(nats.Start().ok());
  RouterOptions opts;
  opts.config_toml = KillToml(nats.url());
  opts.env.push_back(AdminKeyEnv());
  RouterProcess router(opts);
  ASSERT_TRUE(StartReady(router).ok()) << router.ReadStdout() << router.ReadStderr();
  {
    Clients clients(router.grpc_target());
    ASSERT_TRUE(IsOk(clients.Upsert(kTenant, kPolicy, kP73)));
  }
  Conn conn;
  ASSERT_TRUE(conn.Connect(nats.url()));

  std::mutex mu;
  std::set<std::string> ok_ids;
  std::atomic<bool> stop{false}, restarted{false};
  std::atomic<int> sent{0}, ok_after_restart{0};
  std::thread flow([&] {
    for (int i = 0; !stop.load(); ++i) {
      const std::string id = OkAssignmentId(conn.Request(
          R"({"version":"1","request_id":"kill-)" + std::to_string(i) + R"(","tenant_id":")" +
          kTenant + R"(","policy_id":")" + kPolicy +
          R"(","task":{"type":"t","payload":{"prompt":"hello world"}},"push_assignment":true})"));
      ++sent;
      if (!id.empty()) {
        std::lock_guard<std::mutex> lock(mu);
        ok_ids.insert(id);
        if (restarted.load()) ++ok_after_restart;
      }
      std::this_thread::sleep_for(5ms);  // ~200 req/s pacing, not synchronisation
    }
  });
  ASSERT_TRUE(WaitFor([&] { return sent.load() >= 300; }, 30s, "flow").ok());
  router.Kill();
  ASSERT_TRUE(router.Restart().ok()) << router.ReadStderr();
  ASSERT_TRUE(WaitReady(router).ok());
  restarted = true;
  EXPECT_TRUE(WaitFor([&] { return ok_after_restart.load() >= 50; }, 30s, "recovery").ok());
  stop = true;
  flow.join();
  const std::multiset<std::string> stored = conn.StoredIds();
  std::lock_guard<std::mutex> lock(mu);
  EXPECT_GT(ok_ids.size(), 300u);
  for (const auto& id : ok_ids) EXPECT_EQ(stored.count(id), 1u) << id;
  for (const auto& id : stored) EXPECT_EQ(stored.count(id), 1u) << "stored twice: " << id;
}

}  // namespace
}  // namespace router::itest
