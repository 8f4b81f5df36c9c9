// Backpressure end to end (nats-contracts.md §9, §3.9, §12 scenarios 12 and 13; grpc-api.md §13
// scenario 8): a real router process with lowered thresholds and the `decide_delay_ms` test
// hook, a real nats-server, a NATS flood kept in flight, the S9 status subject and /metrics.
#include <httplib.h>
#include <nats/nats.h>
#include <simdjson.h>

#include <atomic>
#include <chrono>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "itest_support.h"
#include "support/nats_server.h"
#include "support/router_http.h"

namespace router::itest {
namespace {

using namespace std::chrono_literals;
using router::testing::NatsServerProcess;
using router::testing::WaitFor;

constexpr char kDecideSubject[] = "beamline.router.v1.decide";
constexpr char kStatusSubject[] = "beamline.router.v1.status.backpressure";
constexpr char kTenant[] = "bp_tenant";
constexpr char kPolicy[] = "bp_policy";
constexpr int kInFlight = 200;

std::string RouterToml(const std::string& nats_url, const std::string& node_id) {
  return std::string("node_id = \"") + node_id + "\"\n[admin]\n" + kStandardAdminKeysToml +
         R"(
[backpressure]
inflight_overload = 5
latency_overload_ms = 10

[testing]
decide_delay_ms = 20

[nats]
url = ")" +
         nats_url + "\"\n";
}

std::string DecideBody(int n) {
  return R"({"version":"1","request_id":"bp-)" + std::to_string(n) + R"(","tenant_id":")" +
         kTenant + R"(","policy_id":")" + kPolicy +
         R"(","task":{"type":"chat.completion","payload":{"prompt":"hello"}}})";
}

// A field of a JSON document by path ("data.status"), as text; "" when absent.
std::string JsonField(const std::string& json, std::initializer_list<const char*> path) {
  simdjson::dom::parser parser;
  simdjson::dom::element e;
  if (parser.parse(json).get(e) != simdjson::SUCCESS) return "";
  for (const char* key : path) {
    if (e[key].get(e) != simdjson::SUCCESS) return "";
  }
  std::string_view s;
  if (e.get_string().get(s) == simdjson::SUCCESS) return std::string(s);
  return simdjson::minify(e);
}

class NatsConn {
 public:
  ~NatsConn() {
    if (nc_ != nullptr) natsConnection_Destroy(nc_);
  }
  absl::Status Connect(const std::string& url) {
    natsStatus s = natsConnection_ConnectTo(&nc_, url.c_str());
    return s == NATS_OK ? absl::OkStatus() : absl::UnavailableError(natsStatus_GetText(s));
  }
  // One request/reply; "" on timeout or no responders.
  std::string Request(const std::string& subject, const std::string& body,
                      int64_t timeout_ms = 2000) {
    natsMsg* reply = nullptr;
    if (natsConnection_Request(&reply, nc_, subject.c_str(), body.data(),
                               static_cast<int>(body.size()), timeout_ms) != NATS_OK) {
      return "";
    }
    std::string out(natsMsg_GetData(reply), static_cast<size_t>(natsMsg_GetDataLength(reply)));
    natsMsg_Destroy(reply);
    return out;
  }
  natsConnection* nc() { return nc_; }

 private:
  natsConnection* nc_ = nullptr;
};

// Keeps kInFlight decide requests outstanding: every reply triggers the next request.
class Flood {
 public:
  explicit Flood(natsConnection* nc) : nc_(nc) {}
  ~Flood() { (void)Stop(); }

  absl::Status Start() {
    if (natsConnection_Subscribe(&sub_, nc_, "bpflood.reply.*", &OnReply, this) != NATS_OK) {
      return absl::InternalError("subscribe");
    }
    natsSubscription_SetPendingLimits(sub_, -1, -1);
    for (int i = 0; i < kInFlight; ++i) Send(i);
    return absl::OkStatus();
  }
  // Stops re-sending and waits (bounded) until every outstanding request was answered.
  absl::Status Stop() {
    if (sub_ == nullptr) return absl::OkStatus();
    stop_.store(true);
    absl::Status s = WaitFor([&] { return outstanding_.load() == 0; }, 10s, "flood drained");
    natsSubscription_Unsubscribe(sub_);
    natsSubscription_Destroy(sub_);
    sub_ = nullptr;
    return s;
  }

  int ok() const { return ok_.load(); }
  int overloaded() const { return overloaded_.load(); }
  int other() const { return other_.load(); }
  int bad_overload_replies() const { return bad_overload_.load(); }
  std::string first_other() {
    std::lock_guard<std::mutex> lock(mu_);
    return first_other_;
  }

 private:
  void Send(int slot) {
    const std::string reply = "bpflood.reply." + std::to_string(slot);
    const std::string body = DecideBody(counter_.fetch_add(1));
    outstanding_.fetch_add(1);
    if (natsConnection_PublishRequest(nc_, kDecideSubject, reply.c_str(), body.data(),
                                      static_cast<int>(body.size())) != NATS_OK) {
      outstanding_.fetch_sub(1);
    }
  }

  static void OnReply(natsConnection*, natsSubscription*, natsMsg* msg, void* closure) {
    auto* self = static_cast<Flood*>(closure);
    const std::string subject = natsMsg_GetSubject(msg);
    const std::string data(natsMsg_GetData(msg), static_cast<size_t>(natsMsg_GetDataLength(msg)));
    natsMsg_Destroy(msg);
    self->Count(data);
    self->outstanding_.fetch_sub(1);
    if (!self->stop_.load()) self->Send(std::stoi(subject.substr(subject.rfind('.') + 1)));
  }

  void Count(const std::string& data) {
    if (JsonField(data, {"ok"}) == "true") {
      ok_.fetch_add(1);
      return;
    }
    if (JsonField(data, {"error", "code"}) == "overloaded") {
      overloaded_.fetch_add(1);
      // §3.3 / §9: retry_after_ms = backpressure.retry_after_ms, the gRPC text, status active.
      if (JsonField(data, {"error", "retry_after_ms"}) != "1000" ||
          JsonField(data, {"error", "message"}) != "router overloaded; retry after 1000 ms" ||
          JsonField(data, {"error", "details", "status"}) != "active") {
        bad_overload_.fetch_add(1);
      }
      return;
    }
    other_.fetch_add(1);
    std::lock_guard<std::mutex> lock(mu_);
    if (first_other_.empty()) first_other_ = data;
  }

  natsConnection* nc_;
  natsSubscription* sub_ = nullptr;
  std::atomic<bool> stop_{false};
  std::atomic<int> outstanding_{0}, counter_{0}, ok_{0}, overloaded_{0}, other_{0},
      bad_overload_{0};
  std::mutex mu_;
  std::string first_other_;
};

// Polls S9 in the background and records every status it reports.
class StatusWatcher {
 public:
  explicit StatusWatcher(NatsConn& conn) : conn_(conn) {
    thread_ = std::thread([this] {
      while (!stop_.load()) {
        const std::string status =
            JsonField(conn_.Request(kStatusSubject, "{}", 1000), {"data", "status"});
        if (!status.empty()) {
          std::lock_guard<std::mutex> lock(mu_);
          seen_.insert(status);
          last_ = status;
        }
        std::this_thread::sleep_for(20ms);  // poll interval, not synchronisation
      }
    });
  }
  ~StatusWatcher() {
    stop_.store(true);
    thread_.join();
  }
  std::string last() {
    std::lock_guard<std::mutex> lock(mu_);
    return last_;
  }
  std::set<std::string> seen() {
    std::lock_guard<std::mutex> lock(mu_);
    return seen_;
  }

 private:
  NatsConn& conn_;
  std::atomic<bool> stop_{false};
  std::mutex mu_;
  std::set<std::string> seen_;
  std::string last_;
  std::thread thread_;
};

using router::testing::MetricValue;

class BackpressureTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(nats_.Start().ok()); }

  std::unique_ptr<RouterProcess> StartRouter(const std::string& node_id) {
    RouterOptions opts;
    opts.config_toml = RouterToml(nats_.url(), node_id);
    opts.env.push_back(AdminKeyEnv());
    opts.extra_args.push_back("--enable-testing-hooks");
    auto router = std::make_unique<RouterProcess>(opts);
    absl::Status s = StartReady(*router);
    EXPECT_TRUE(s.ok()) << s << "\n" << router->ReadStdout() << router->ReadStderr();
    return s.ok() ? std::move(router) : nullptr;
  }

  NatsServerProcess nats_;
};

// nats-contracts.md §12 scenario 12 (+ grpc-api.md §13 scenario 8 on the same router):
// decide_delay_ms 20, inflight_overload 5, latency_overload_ms 10, 200 requests kept in flight
// -> S9 reports active; requests arriving then get `overloaded` with retry_after_ms 1000 and
// without the deferral (every overloaded router_decide_duration_seconds observation <= 0.01 s);
// gRPC Decide gets RESOURCE_EXHAUSTED with retry-after-ms 1000 while DryRun and admin calls
// succeed; after the flood S9 reports inactive again (20 s: the p95 window needs up to 11.25 s).
TEST_F(BackpressureTest, Scenario12FloodGoesActiveAndRecovers) {
  auto router = StartRouter("router-bp");
  ASSERT_NE(router, nullptr);
  Clients clients(router->grpc_target());
  ASSERT_TRUE(IsOk(clients.Upsert(kTenant, kPolicy, kP73)));

  NatsConn conn;
  ASSERT_TRUE(conn.Connect(nats_.url()).ok());
  // S9 answers before any load: inactive, thresholds as configured (§3.9).
  std::string idle;
  ASSERT_TRUE(WaitFor(
                  [&] {
                    idle = conn.Request(kStatusSubject, "{}", 500);
                    return !idle.empty();
                  },
                  10s, "S9 reply")
                  .ok());
  EXPECT_EQ(JsonField(idle, {"success"}), "true") << idle;
  EXPECT_EQ(JsonField(idle, {"data", "status"}), "inactive") << idle;
  EXPECT_EQ(JsonField(idle, {"data", "subject"}), kDecideSubject);
  EXPECT_EQ(JsonField(idle, {"data", "node_id"}), "router-bp");
  EXPECT_EQ(JsonField(idle, {"data", "thresholds"}),
            R"({"queue_overload":1000,"latency_overload_ms":10,"inflight_overload":5})");
  EXPECT_EQ(JsonField(idle, {"data", "policy"}),
            R"({"retry_after_seconds":1,"max_retry_attempts":3})");
  EXPECT_EQ(JsonField(idle, {"data", "retry_after_ms"}), "0");
  EXPECT_EQ(JsonField(conn.Request(kStatusSubject, "[1,2]"), {"error", "code"}), "invalid_request");

  StatusWatcher watcher(conn);
  NatsConn load_conn;
  ASSERT_TRUE(load_conn.Connect(nats_.url()).ok());
  Flood flood(load_conn.nc());
  ASSERT_TRUE(flood.Start().ok());
  ASSERT_TRUE(WaitFor([&] { return watcher.seen().count("active") > 0; }, 20s, "S9 active").ok())
      << "ok=" << flood.ok() << " overloaded=" << flood.overloaded();
  ASSERT_TRUE(WaitFor([&] { return flood.overloaded() >= 50; }, 20s, "overloaded replies").ok());

  // grpc-api.md §13 scenario 8: gRPC Decide while active -> RESOURCE_EXHAUSTED, hint 1000.
  grpc::Status refused;
  std::string hint;
  ASSERT_TRUE(WaitFor(
                  [&] {
                    grpc::ClientContext ctx;
                    SetDeadline(ctx);
                    fv1::RouteDecision d;
                    refused = clients.router->Decide(&ctx, MakeRequest(kTenant, kPolicy), &d);
                    for (const auto& [k, v] : ctx.GetServerTrailingMetadata()) {
                      if (std::string(k.data(), k.size()) == "retry-after-ms") {
                        hint = std::string(v.data(), v.size());
                      }
                    }
                    return refused.error_code() == grpc::StatusCode::RESOURCE_EXHAUSTED;
                  },
                  20s, "gRPC Decide refused as overloaded")
                  .ok());
  EXPECT_TRUE(IsError(refused, grpc::StatusCode::RESOURCE_EXHAUSTED,
                      "router overloaded; retry after 1000 ms", "overloaded"));
  EXPECT_EQ(hint, "1000");
  fv1::DryRunResponse dry;
  EXPECT_TRUE(IsOk(clients.DryRun(MakeRequest(kTenant, kPolicy), &dry)));
  EXPECT_EQ(dry.status_code(), 0);
  fv1::AdminPolicy got;
  EXPECT_TRUE(IsOk(clients.Get(kTenant, kPolicy, &got)));

  ASSERT_TRUE(flood.Stop().ok());
  EXPECT_EQ(flood.other(), 0) << flood.first_other();
  EXPECT_EQ(flood.bad_overload_replies(), 0);
  EXPECT_GT(flood.ok(), 0);
  ASSERT_TRUE(WaitFor([&] { return watcher.last() == "inactive"; }, 20s, "S9 inactive").ok())
      << "last " << watcher.last();
  // Each state was reported on the status subject.
  EXPECT_EQ(watcher.seen(), (std::set<std::string>{"inactive", "warning", "active"}));

  // Scenario 12: no overloaded decide waited behind accepted work (histogram, not wall clock).
  httplib::Client http("127.0.0.1", router->http_port());
  auto res = http.Get("/metrics");
  ASSERT_TRUE(res) << "no /metrics";
  const std::string& text = res->body;
  const std::vector<std::string> nats_overloaded = {"transport=\"nats\"", "outcome=\"overloaded\""};
  const double count = MetricValue(text, "router_decide_duration_seconds_count", nats_overloaded);
  std::vector<std::string> le = nats_overloaded;
  le.push_back("le=\"0.01\"");
  const double fast = MetricValue(text, "router_decide_duration_seconds_bucket", le);
  EXPECT_GT(count, 0);
  EXPECT_EQ(fast, count) << "overloaded decides slower than 10 ms";
  EXPECT_GE(MetricValue(text, "router_backpressure_events_total", {"event_type=\"active\""}), 1);
  EXPECT_GE(MetricValue(text, "router_backpressure_recovery_total", {}), 1);
  EXPECT_GE(MetricValue(text, "router_backpressure_rejections_total", {"transport=\"nats\""}),
            flood.overloaded());
  EXPECT_EQ(MetricValue(text, "router_backpressure_status", {}), 0);
}

// nats-contracts.md §12 scenario 13: three replicas, one S9 request collected on an inbox ->
// three replies with distinct node_id (deadline 5 s), then no fourth within 200 ms.
TEST_F(BackpressureTest, Scenario13StatusFanIn) {
  std::vector<std::unique_ptr<RouterProcess>> routers;
  for (const char* id : {"router-a", "router-b", "router-c"}) {
    routers.push_back(StartRouter(id));
    ASSERT_NE(routers.back(), nullptr);
  }
  NatsConn conn;
  ASSERT_TRUE(conn.Connect(nats_.url()).ok());
  // Every replica subscribes S9 once its connection is set up (readiness covers the decide
  // subscription; the status subscription is made in the same setup pass).
  // Given: every replica's S9 subscription is live at the server (a replica reports ready once
  // its setup pass ran, but the server may register the interest a moment later). Warm-up polls
  // on their own inboxes until each node_id has answered once; only then is the one-request
  // fan-in measured.
  std::set<std::string> warmed;
  ASSERT_TRUE(WaitFor(
                  [&] {
                    natsInbox* probe_inbox = nullptr;
                    natsSubscription* probe = nullptr;
                    if (natsInbox_Create(&probe_inbox) != NATS_OK) return false;
                    if (natsConnection_SubscribeSync(&probe, conn.nc(), probe_inbox) == NATS_OK &&
                        natsConnection_PublishRequestString(conn.nc(), kStatusSubject, probe_inbox,
                                                            "{}") == NATS_OK) {
                      natsMsg* msg = nullptr;
                      while (natsSubscription_NextMsg(&msg, probe, 200) == NATS_OK) {
                        const std::string data(natsMsg_GetData(msg),
                                               static_cast<size_t>(natsMsg_GetDataLength(msg)));
                        natsMsg_Destroy(msg);
                        warmed.insert(JsonField(data, {"data", "node_id"}));
                      }
                    }
                    natsSubscription_Destroy(probe);
                    natsInbox_Destroy(probe_inbox);
                    return warmed.size() == 3;
                  },
                  20s, "every replica answered S9 once")
                  .ok());
  natsInbox* inbox = nullptr;
  ASSERT_EQ(natsInbox_Create(&inbox), NATS_OK);
  natsSubscription* sub = nullptr;
  ASSERT_EQ(natsConnection_SubscribeSync(&sub, conn.nc(), inbox), NATS_OK);
  ASSERT_EQ(natsConnection_PublishRequestString(conn.nc(), kStatusSubject, inbox, "{}"), NATS_OK);
  std::set<std::string> nodes;
  const auto deadline = std::chrono::steady_clock::now() + 5s;
  while (nodes.size() < 3 && std::chrono::steady_clock::now() < deadline) {
    natsMsg* msg = nullptr;
    if (natsSubscription_NextMsg(&msg, sub, 100) != NATS_OK) continue;
    const std::string data(natsMsg_GetData(msg), static_cast<size_t>(natsMsg_GetDataLength(msg)));
    natsMsg_Destroy(msg);
    EXPECT_EQ(JsonField(data, {"success"}), "true") << data;
    nodes.insert(JsonField(data, {"data", "node_id"}));
  }
  EXPECT_EQ(nodes, (std::set<std::string>{"router-a", "router-b", "router-c"}));
  natsMsg* fourth = nullptr;
  EXPECT_NE(natsSubscription_NextMsg(&fourth, sub, 200), NATS_OK);
  if (fourth != nullptr) natsMsg_Destroy(fourth);
  natsSubscription_Destroy(sub);
  natsInbox_Destroy(inbox);
}

}  // namespace
}  // namespace router::itest
