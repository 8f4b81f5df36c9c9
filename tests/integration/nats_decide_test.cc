// NATS decide transport against a real nats-server -js (nats-contracts.md §12 scenarios 1 (streams
// part), 2, 3, 6 (sample), 7, 8 (NATS part), 22 (NATS part), 26 (reconnect part), 28 (queue
// group part); §5 decide flow; §6.1 streams; §8 readiness). The router side is built in-process:
// a DecisionService over a compiled policy snapshot (the code gRPC Decide calls) plus
// NatsTransport; requests are sent with a plain cnats client.

#include <gtest/gtest.h>
#include <nats/nats.h>
#include <simdjson.h>

#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "base/system_clock.h"
#include "config/config.h"
#include "core/decider.h"
#include "core/provider_health.h"
#include "core/snapshot.h"
#include "core/sticky_table.h"
#include "nats/nats_transport.h"
#include "nats/nkey.h"
#include "policy/policy_compiler.h"
#include "service/decision_service.h"
#include "service/readiness.h"
#include "support/nats_server.h"
#include "support/wait_for.h"

namespace router::nats_adapter {
namespace {

using namespace std::chrono_literals;
using router::testing::NatsServerOptions;
using router::testing::NatsServerProcess;
using router::testing::WaitFor;

constexpr char kSubject[] = "beamline.router.v1.decide";
constexpr char kP7030[] =
    R"({"version":"1.0","providers":[{"name":"p1","weight":70,"expected_latency_ms":840,"cost":0.0031},{"name":"p2","weight":30}]})";
// p2 only as a fallback; the rule matches a nested metadata path (POL §2 path walk).
constexpr char kNested[] =
    R"({"version":"1.0","providers":[{"name":"p1","weight":100},{"name":"p2","weight":0}],"fallbacks":[{"when":{"session.tier":"gold"},"retry":0,"to":"p2"}]})";

// ---------------------------------------------------------------- the router side
// The decision stack the Application builds (policy snapshot, decider, DecisionService).
class DecisionStack {
 public:
  DecisionStack() {
    core::SnapshotPtr snap = snapshots_.Load();
    snap = core::WithUpsert(snap, Compile(kP7030, "acme", "default", 3));
    snap = core::WithUpsert(snap, Compile(kNested, "acme", "nested", 5));
    snap = core::WithUpsert(snap, Compile(kP7030, "beta", "default", 1));
    snapshots_.Publish(snap);
    service::DecisionServiceOptions opts;
    opts.tenant_allowlist = {"acme", "beta"};
    service_ = std::make_unique<service::DecisionService>(opts, clock_, snapshots_, decider_);
  }
  service::DecisionService& service() { return *service_; }
  const Clock& clock() const { return clock_; }

 private:
  static policy::CompiledPolicyPtr Compile(const char* json, const char* tenant,
                                           const char* policy_id, uint64_t version) {
    auto compiled = policy::CompilePolicy(json, tenant, policy_id);
    EXPECT_TRUE(compiled.ok()) << compiled.status();
    auto copy = std::make_shared<policy::CompiledPolicy>(**compiled);
    copy->version = version;
    return copy;
  }

  SystemClock clock_;
  core::SnapshotHolder snapshots_;
  core::NoBreakers breakers_;
  core::NoStatistics statistics_;
  core::StickyTable sticky_{4, 1000};
  core::Decider decider_{clock_, breakers_, statistics_, sticky_};
  std::unique_ptr<service::DecisionService> service_;
};

config::Config RouterConfig(const std::string& url, const std::string& node_id) {
  config::Config c;
  c.node_id = node_id;
  c.nats.url = url;
  c.nats.decide.workers = 2;
  c.nats.reconnect_base_ms = 50;
  c.nats.reconnect_max_ms = 1000;  // §12 harness: reconnect max 1 s
  c.nats.connect_timeout_ms = 1000;
  c.nats.drain_timeout_ms = 2000;
  return c;
}

// One replica: decision stack, readiness and transport.
class RouterNode {
 public:
  explicit RouterNode(config::Config config)
      : config_(std::move(config)), readiness_(NatsTransport::ReadinessChecks(config_.nats)) {}

  absl::Status Start() {
    auto t =
        NatsTransport::Create(config_, stack_.service(), readiness_, stack_.clock(), NullLogSink());
    if (!t.ok()) return t.status();
    transport_ = *std::move(t);
    return transport_->Start();
  }
  absl::Status WaitReady(std::chrono::milliseconds timeout = 15s) {
    return WaitFor([&] { return readiness_.Ready(); }, timeout, "transport readiness");
  }
  NatsTransport& transport() { return *transport_; }
  service::Readiness& readiness() { return readiness_; }
  DecisionStack& stack() { return stack_; }
  std::string ChecksJson() const { return readiness_.ToJson(); }

 private:
  config::Config config_;
  DecisionStack stack_;
  service::Readiness readiness_;
  std::unique_ptr<NatsTransport> transport_;
};

// ---------------------------------------------------------------- the client side
class NatsClient {
 public:
  ~NatsClient() {
    if (js_ != nullptr) jsCtx_Destroy(js_);
    if (nc_ != nullptr) natsConnection_Destroy(nc_);
  }
  absl::Status Connect(const std::string& url) {
    natsOptions* o = nullptr;
    natsOptions_Create(&o);
    natsOptions_SetURL(o, url.c_str());
    natsOptions_SetMaxReconnect(o, -1);
    natsOptions_SetReconnectWait(o, 50);
    natsStatus s = natsConnection_Connect(&nc_, o);
    natsOptions_Destroy(o);
    if (s != NATS_OK) return absl::UnavailableError(natsStatus_GetText(s));
    s = natsConnection_JetStream(&js_, nc_, nullptr);
    if (s != NATS_OK) return absl::InternalError(natsStatus_GetText(s));
    return absl::OkStatus();
  }
  // One request/reply; "" on timeout or no responders.
  std::string Request(const std::string& subject, const std::string& body,
                      const std::vector<std::pair<std::string, std::string>>& headers = {},
                      int64_t timeout_ms = 5000) {
    natsMsg* req = nullptr;
    natsMsg_Create(&req, subject.c_str(), nullptr, body.data(), static_cast<int>(body.size()));
    for (const auto& [k, v] : headers) natsMsgHeader_Add(req, k.c_str(), v.c_str());
    natsMsg* reply = nullptr;
    natsStatus s = natsConnection_RequestMsg(&reply, nc_, req, timeout_ms);
    natsMsg_Destroy(req);
    if (s != NATS_OK) return "";
    std::string out(natsMsg_GetData(reply), static_cast<size_t>(natsMsg_GetDataLength(reply)));
    natsMsg_Destroy(reply);
    return out;
  }
  natsConnection* nc() { return nc_; }
  jsCtx* js() { return js_; }

 private:
  natsConnection* nc_ = nullptr;
  jsCtx* js_ = nullptr;
};

// A parsed JSON reply.
class Json {
 public:
  explicit Json(const std::string& text) : text_(text) {
    ok_ = parser_.parse(text_).get(root_) == simdjson::SUCCESS;
  }
  bool ok() const { return ok_; }
  std::string Str(const char* pointer) const {
    std::string_view v;
    if (!ok_ || root_.at_pointer(pointer).get(v) != simdjson::SUCCESS) return "<absent>";
    return std::string(v);
  }
  int64_t Int(const char* pointer) const {
    int64_t v = -1;
    if (!ok_ || root_.at_pointer(pointer).get(v) != simdjson::SUCCESS) return -1;
    return v;
  }
  bool Bool(const char* pointer) const {
    bool v = false;
    if (!ok_ || root_.at_pointer(pointer).get(v) != simdjson::SUCCESS) return false;
    return v;
  }
  bool IsNull(const char* pointer) const {
    simdjson::dom::element e;
    return ok_ && root_.at_pointer(pointer).get(e) == simdjson::SUCCESS && e.is_null();
  }
  bool Has(const char* pointer) const {
    simdjson::dom::element e;
    return ok_ && root_.at_pointer(pointer).get(e) == simdjson::SUCCESS;
  }
  simdjson::dom::element root() const { return root_; }

 private:
  simdjson::padded_string text_;
  simdjson::dom::parser parser_;
  simdjson::dom::element root_;
  bool ok_ = false;
};

std::string ValidRequest(const std::string& request_id, const std::string& extra = "") {
  return R"({"version":"1","request_id":")" + request_id +
         R"(","tenant_id":"acme","task":{"type":"chat.completion","payload":{"prompt":"Summarise ticket 4711"}})" +
         extra + "}";
}

bool IsLowerHex32(const std::string& s) {
  if (s.size() != 32) return false;
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

class NatsDecideTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(server_.Start().ok());
    ASSERT_TRUE(client_.Connect(server_.url()).ok());
  }
  std::unique_ptr<RouterNode> StartNode(config::Config config) {
    auto node = std::make_unique<RouterNode>(std::move(config));
    absl::Status s = node->Start();
    EXPECT_TRUE(s.ok()) << s;
    return node;
  }

  NatsServerProcess server_;
  NatsClient client_;
};

// §12.3: a valid request with a reply inbox -> ok, provider in {p1, p2}, request_id echoed,
// metadata with tenant_id, policy_id, decision_id and a 32-hex trace_id; §3.2 fields.
TEST_F(NatsDecideTest, Scenario03DecideRoundTrip) {
  auto node = StartNode(RouterConfig(server_.url(), "router-a"));
  ASSERT_TRUE(node->WaitReady().ok()) << node->ChecksJson();
  Json r(client_.Request(kSubject, ValidRequest("req-0001", R"(,"metadata":{"channel":"web"})")));
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r.Bool("/ok"));
  const std::string provider = r.Str("/decision/provider_id");
  EXPECT_TRUE(provider == "p1" || provider == "p2") << provider;
  EXPECT_EQ(r.Str("/decision/reason"), "weighted");
  EXPECT_EQ(r.Int("/decision/priority"), 50);
  EXPECT_EQ(r.Str("/decision/policy_id"), "default");
  EXPECT_EQ(r.Int("/decision/policy_version"), 3);
  EXPECT_EQ(r.Str("/context/request_id"), "req-0001");
  EXPECT_EQ(r.Str("/decision/metadata/tenant_id"), "acme");
  EXPECT_EQ(r.Str("/decision/metadata/policy_id"), "default");
  EXPECT_EQ(r.Str("/decision/metadata/policy_version"), "3");
  EXPECT_EQ(r.Str("/decision/metadata/decision_id"), r.Str("/decision/decision_id"));
  EXPECT_EQ(r.Str("/decision/metadata/channel"), "web");
  EXPECT_TRUE(IsLowerHex32(r.Str("/decision/metadata/trace_id")));
  EXPECT_EQ(r.Str("/context/trace_id"), r.Str("/decision/metadata/trace_id"));
  EXPECT_FALSE(r.Has("/assignment"));
}

// §3.2 "exactly what gRPC Decide returns for the same input": the NATS reply equals the
// DecisionService output for the equivalent flat gRPC context, including a rule that matches
// a nested metadata path (POL §2).
TEST_F(NatsDecideTest, DecisionEqualsTheSharedServiceOutput) {
  auto node = StartNode(RouterConfig(server_.url(), "router-a"));
  ASSERT_TRUE(node->WaitReady().ok()) << node->ChecksJson();
  Json r(client_.Request(
      kSubject,
      R"({"version":1,"request_id":"r-nested","tenant_id":"acme","policy_id":"nested","trace_id":"7D3E0C9A51B24F6E8A1C2B3D4E5F6071",)"
      R"("task":{"type":"t","payload_ref":"blob://x"},"constraints":{"status":"timeout","previous_provider":"p1"},)"
      R"("metadata":{"session":{"tier":"gold"}}})"));
  ASSERT_TRUE(r.ok());
  ASSERT_TRUE(r.Bool("/ok")) << r.Str("/error/message");

  class MapContext final : public service::RequestContext {
   public:
    std::map<std::string, std::string, std::less<>> m;
    std::optional<std::string_view> Find(std::string_view k) const override {
      auto it = m.find(k);
      if (it == m.end()) return std::nullopt;
      return std::string_view(it->second);
    }
    size_t Size() const override { return m.size(); }
    void ForEach(const std::function<void(std::string_view, std::string_view)>& fn) const override {
      for (const auto& [k, v] : m) fn(k, v);
    }
  } grpc_context;
  grpc_context.m = {{"status", "timeout"}, {"previous_provider", "p1"}, {"session.tier", "gold"}};
  service::DecideCall call;
  call.tenant_id = "acme";
  call.policy_id = "nested";
  call.message_type = "t";
  call.context = &grpc_context;
  service::DecideOutput direct = node->stack().service().Decide(call);
  ASSERT_TRUE(direct.status.ok()) << direct.status;

  EXPECT_EQ(r.Str("/decision/provider_id"), direct.provider_id);
  EXPECT_EQ(r.Str("/decision/provider_id"), "p2");
  EXPECT_EQ(r.Str("/decision/reason"), direct.reason);
  EXPECT_EQ(r.Str("/decision/reason"), "fallback");
  EXPECT_EQ(r.Int("/decision/priority"), direct.priority);
  EXPECT_EQ(r.Int("/decision/policy_version"), direct.policy_version);
  EXPECT_EQ(r.Int("/decision/expected_latency_ms"), direct.expected_latency_ms);
  EXPECT_EQ(r.Str("/decision/metadata/fallback_rule"), "0");
  EXPECT_EQ(r.Str("/decision/metadata/session.tier"), "gold");
  // A 32-hex payload trace_id is the propagation id (lowercased) and echoed verbatim.
  EXPECT_EQ(r.Str("/decision/metadata/trace_id"), "7d3e0c9a51b24f6e8a1c2b3d4e5f6071");
  EXPECT_EQ(r.Str("/context/trace_id"), "7D3E0C9A51B24F6E8A1C2B3D4E5F6071");
}

// §12.7: `{bad json` -> invalid_request / SCHEMA_VALIDATION_FAILED, request_id null, and one
// envelope A on beamline.router.v1.decide.dlq with the body's SHA-256 and no payload.
TEST_F(NatsDecideTest, Scenario07MalformedBodyRepliesAndLandsInDlq) {
  auto node = StartNode(RouterConfig(server_.url(), "router-a"));
  ASSERT_TRUE(node->WaitReady().ok()) << node->ChecksJson();
  Json r(
      client_.Request(kSubject, "{bad json", {{"X-Custom", "kept"}, {"Nats-Msg-Id", "dropped"}}));
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r.Bool("/ok"));
  EXPECT_EQ(r.Str("/error/code"), "invalid_request");
  EXPECT_EQ(r.Str("/error/intake_error_code"), "SCHEMA_VALIDATION_FAILED");
  EXPECT_EQ(r.Str("/error/message"), "Schema validation failed: invalid_format");
  EXPECT_EQ(r.Str("/error/details/reason"), "invalid_format");
  EXPECT_TRUE(r.IsNull("/context/request_id"));

  natsMsg* stored = nullptr;
  ASSERT_TRUE(WaitFor(
                  [&] {
                    jsErrCode err = static_cast<jsErrCode>(0);
                    return js_GetLastMsg(&stored, client_.js(), "ROUTER_DLQ",
                                         "beamline.router.v1.decide.dlq", nullptr, &err) == NATS_OK;
                  },
                  10s, "envelope A in ROUTER_DLQ")
                  .ok());
  std::string body(natsMsg_GetData(stored), static_cast<size_t>(natsMsg_GetDataLength(stored)));
  const char* reason = nullptr;
  EXPECT_EQ(natsMsgHeader_Get(stored, "x-dlq-reason", &reason), NATS_OK);
  EXPECT_STREQ(reason, "intake_validation");
  const char* custom = nullptr;
  EXPECT_EQ(natsMsgHeader_Get(stored, "X-Custom", &custom), NATS_OK);
  const char* msg_id = nullptr;
  EXPECT_NE(natsMsgHeader_Get(stored, "Nats-Msg-Id", &msg_id), NATS_OK);
  natsMsg_Destroy(stored);
  Json e(body);
  ASSERT_TRUE(e.ok()) << body;
  EXPECT_EQ(e.Str("/version"), "1");
  EXPECT_EQ(e.Str("/reason"), "intake_validation");
  EXPECT_EQ(e.Str("/original_subject"), kSubject);
  // printf '{bad json' | sha256sum
  EXPECT_EQ(e.Str("/original_payload_hash"),
            "adc6108125c1695bcc60737d467fdb09cc68b8f11e008ee56803a6162d0b7240");
  EXPECT_EQ(e.Str("/validation_error/code"), "SCHEMA_VALIDATION_FAILED");
  EXPECT_EQ(e.Str("/validation_error/message"), "Schema validation failed: invalid_format");
  EXPECT_EQ(e.Str("/validation_error/severity"), "error");
  EXPECT_TRUE(e.IsNull("/source"));
  EXPECT_FALSE(e.Has("/message"));
  EXPECT_FALSE(e.Has("/original_payload_b64"));
  EXPECT_EQ(e.Str("/router_node_id"), "router-a");
  EXPECT_GT(e.Int("/received_at"), 1600000000000);
  EXPECT_EQ(body.find("bad json"), std::string::npos);  // never the payload
}

}  // namespace
}  // namespace router::nats_adapter
