// NATS decide transport against a real nats-server -js (nats-contracts.md §12 scenarios 1 (streams
// part), 2, 3, 6 (sample), 7, 8 (NATS part), 22 (NATS part), 26 (reconnect part), 28 (queue
// group part); §5 decide flow; §6.1 streams; §8 readiness). The router side is built in-process:
// a DecisionService over a compiled policy snapshot (the code gRPC Decide calls) plus
// NatsTransport; requests are sent with a plain cnats client.

#include <gtest/gtest.h>
#include <nats/nats.h>
#include <simdjson.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
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
#include "support/jetstream_client.h"
#include "support/jetstream_spec.h"
#include "support/nats_server.h"
#include "support/wait_for.h"

namespace router::nats_adapter {
namespace {

using namespace std::chrono_literals;
using router::testing::NatsServerOptions;
using router::testing::NatsServerProcess;
using router::testing::WaitFor;
using NatsClient = router::testing::JetStreamClient;
using Json = router::testing::JsonDoc;

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

// §12.8 (NATS part): a tenant outside tenants.allowlist -> unauthorized / TENANT_FORBIDDEN,
// and the rejection goes to the DLQ (§4.3).
TEST_F(NatsDecideTest, Scenario08TenantNotAllowedIsUnauthorized) {
  auto node = StartNode(RouterConfig(server_.url(), "router-a"));
  ASSERT_TRUE(node->WaitReady().ok()) << node->ChecksJson();
  Json r(client_.Request(
      kSubject,
      R"({"version":"1","request_id":"r-gamma","tenant_id":"gamma","trace_id":"tr-123","task":{"type":"t","payload_ref":"x"}})"));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.Str("/error/code"), "unauthorized");
  EXPECT_EQ(r.Str("/error/intake_error_code"), "TENANT_FORBIDDEN");
  EXPECT_EQ(r.Str("/error/message"), "Tenant validation failed: tenant_not_allowed");
  EXPECT_EQ(r.Str("/error/details/reason"), "tenant_not_allowed");
  EXPECT_EQ(r.Str("/error/details/field"), "tenant_id");
  EXPECT_EQ(r.Str("/context/request_id"), "r-gamma");
  EXPECT_EQ(r.Str("/context/trace_id"), "tr-123");
  natsMsg* stored = nullptr;
  ASSERT_TRUE(WaitFor(
                  [&] {
                    return js_GetLastMsg(&stored, client_.js(), "ROUTER_DLQ",
                                         "beamline.router.v1.decide.dlq", nullptr,
                                         nullptr) == NATS_OK;
                  },
                  10s, "envelope A in ROUTER_DLQ")
                  .ok());
  Json e(std::string(natsMsg_GetData(stored), static_cast<size_t>(natsMsg_GetDataLength(stored))));
  natsMsg_Destroy(stored);
  EXPECT_EQ(e.Str("/validation_error/code"), "TENANT_FORBIDDEN");
  EXPECT_EQ(e.Str("/context/tenant_id"), "gamma");
  EXPECT_EQ(e.Str("/context/request_id"), "r-gamma");
  EXPECT_EQ(e.Str("/context/trace_id"), "tr-123");
}

// §12.6 (sample over the wire; every row is a unit test): routing errors keep the gRPC text.
TEST_F(NatsDecideTest, Scenario06ValidationAndRoutingErrors) {
  auto node = StartNode(RouterConfig(server_.url(), "router-a"));
  ASSERT_TRUE(node->WaitReady().ok()) << node->ChecksJson();
  Json empty(client_.Request(kSubject, " "));
  EXPECT_EQ(empty.Str("/error/intake_error_code"), "PAYLOAD_TOO_SMALL");
  EXPECT_EQ(empty.Str("/error/message"),
            "Payload is too small or empty: 0 bytes, minimum: 2 bytes");
  Json v2(client_.Request(kSubject, ValidRequest("r-v2"), {{"VERSION", "2"}}));
  EXPECT_EQ(v2.Str("/error/message"), "Unsupported schema version: 2, supported versions: [1]");
  EXPECT_EQ(v2.Str("/context/request_id"), "r-v2");
  Json unknown(client_.Request(kSubject, ValidRequest("r-pnf", R"(,"policy_id":"support-chat")")));
  EXPECT_EQ(unknown.Str("/error/code"), "policy_not_found");
  EXPECT_EQ(unknown.Str("/error/message"), "policy \"support-chat\" not found for tenant \"acme\"");
  EXPECT_EQ(unknown.Str("/error/details/tenant_id"), "acme");
  EXPECT_EQ(unknown.Str("/error/details/policy_id"), "support-chat");
  Json attempt(client_.Request(kSubject, ValidRequest("r-att", R"(,"metadata":{"attempt":"x"})")));
  EXPECT_EQ(attempt.Str("/error/code"), "invalid_request");
  EXPECT_EQ(attempt.Str("/error/message"), "context.attempt: must be a non-negative integer");
  EXPECT_EQ(attempt.Str("/error/details/reason"), "invalid_context");
  EXPECT_EQ(attempt.Str("/error/details/field"), "metadata.attempt");
  EXPECT_FALSE(attempt.Has("/error/intake_error_code"));
  Json past(client_.Request(kSubject, ValidRequest("r-dl", R"(,"constraints":{"deadline":1000})")));
  EXPECT_EQ(past.Str("/error/code"), "deadline_exceeded");
  EXPECT_EQ(past.Str("/error/message"), "deadline exceeded");
}

// §1 / §2: a subject without a v<N> token and no version anywhere -> missing_version.
TEST_F(NatsDecideTest, MissingVersionOnSubjectWithoutVersionToken) {
  config::Config c = RouterConfig(server_.url(), "router-a");
  c.nats.decide.subject = "router.decide";
  c.nats.jetstream.enabled = false;
  auto node = StartNode(c);
  ASSERT_TRUE(node->WaitReady().ok()) << node->ChecksJson();
  Json r(client_.Request(
      "router.decide",
      R"({"request_id":"r1","tenant_id":"acme","task":{"type":"t","payload_ref":"x"}})"));
  EXPECT_EQ(r.Str("/error/intake_error_code"), "VERSION_UNSUPPORTED");
  EXPECT_EQ(r.Str("/error/details/reason"), "missing_version");
  EXPECT_EQ(r.Str("/error/message"),
            "Unsupported schema version: unknown, supported versions: [1]");
  // On S1 the token supplies the version: the same body is accepted there.
  Json header(client_.Request(
      "router.decide",
      R"({"request_id":"r2","tenant_id":"acme","task":{"type":"t","payload_ref":"x"}})",
      {{"version", "1"}}));
  EXPECT_TRUE(header.Bool("/ok")) << header.Str("/error/message");
}

// §5 step 1: without a reply-to the reply goes to `<S1>.reply` (reply_fallback = true).
TEST_F(NatsDecideTest, ReplyFallbackSubjectWithoutReplyTo) {
  auto node = StartNode(RouterConfig(server_.url(), "router-a"));
  ASSERT_TRUE(node->WaitReady().ok()) << node->ChecksJson();
  natsSubscription* sub = nullptr;
  ASSERT_EQ(natsConnection_SubscribeSync(&sub, client_.nc(), "beamline.router.v1.decide.reply"),
            NATS_OK);
  ASSERT_EQ(natsConnection_Flush(client_.nc()), NATS_OK);
  const std::string body = ValidRequest("r-fallback");
  ASSERT_EQ(
      natsConnection_Publish(client_.nc(), kSubject, body.data(), static_cast<int>(body.size())),
      NATS_OK);
  natsMsg* msg = nullptr;
  ASSERT_EQ(natsSubscription_NextMsg(&msg, sub, 5000), NATS_OK);
  Json r(std::string(natsMsg_GetData(msg), static_cast<size_t>(natsMsg_GetDataLength(msg))));
  natsMsg_Destroy(msg);
  natsSubscription_Destroy(sub);
  EXPECT_TRUE(r.Bool("/ok"));
  EXPECT_EQ(r.Str("/context/request_id"), "r-fallback");
}

// §5 step 11: pushing decides: published (after_publish mode; nats_assignment_test.cc covers
// the outbox); disabled and tenant_blocked pushes are answered ok with that status.
TEST_F(NatsDecideTest, PushAssignmentStatuses) {
  config::Config c = RouterConfig(server_.url(), "router-a");
  c.nats.assignments.allowed_tenants = {"acme"};
  auto node = StartNode(c);
  ASSERT_TRUE(node->WaitReady().ok()) << node->ChecksJson();
  Json push(client_.Request(kSubject, ValidRequest("r-push", R"(,"push_assignment":true)")));
  EXPECT_TRUE(push.Bool("/ok")) << push.Str("/error/message");
  EXPECT_EQ(push.Str("/assignment/status"), "published");
  Json blocked(client_.Request(
      kSubject,
      R"({"version":"1","request_id":"r-beta","tenant_id":"beta","push_assignment":"true","task":{"type":"t","payload_ref":"x"}})"));
  EXPECT_TRUE(blocked.Bool("/ok")) << blocked.Str("/error/message");
  EXPECT_EQ(blocked.Str("/assignment/status"), "tenant_blocked");
  // Rule 16 still applies to pushing requests.
  Json uncovered(client_.Request(
      kSubject, ValidRequest("r-sub", R"(,"push_assignment":1,"assignment_subject":"orders.x")")));
  EXPECT_EQ(uncovered.Str("/error/details/reason"), "assignment_subject_not_allowed");
}

TEST_F(NatsDecideTest, PushAssignmentDisabled) {
  config::Config c = RouterConfig(server_.url(), "router-a");
  c.nats.assignments.enabled = false;
  auto node = StartNode(c);
  ASSERT_TRUE(node->WaitReady().ok()) << node->ChecksJson();
  Json r(client_.Request(kSubject, ValidRequest("r-dis", R"(,"push_assignment":true)")));
  EXPECT_TRUE(r.Bool("/ok"));
  EXPECT_EQ(r.Str("/assignment/status"), "disabled");
  EXPECT_FALSE(r.Has("/assignment/assignment_id"));
}

// §12.28 (queue group part) and §10: two replicas in one queue group; every request is
// answered exactly once and both replicas serve some.
TEST_F(NatsDecideTest, QueueGroupSharesTheLoad) {
  auto a = StartNode(RouterConfig(server_.url(), "router-a"));
  auto b = StartNode(RouterConfig(server_.url(), "router-b"));
  ASSERT_TRUE(a->WaitReady().ok()) << a->ChecksJson();
  ASSERT_TRUE(b->WaitReady().ok()) << b->ChecksJson();
  natsSubscription* sub = nullptr;
  ASSERT_EQ(natsConnection_SubscribeSync(&sub, client_.nc(), "itest.replies"), NATS_OK);
  ASSERT_EQ(natsConnection_Flush(client_.nc()), NATS_OK);
  constexpr int kRequests = 100;
  for (int i = 0; i < kRequests; ++i) {
    const std::string body = ValidRequest("q-" + std::to_string(i));
    ASSERT_EQ(natsConnection_PublishRequest(client_.nc(), kSubject, "itest.replies", body.data(),
                                            static_cast<int>(body.size())),
              NATS_OK);
  }
  std::map<std::string, int> replies;
  for (int i = 0; i < kRequests; ++i) {
    natsMsg* msg = nullptr;
    ASSERT_EQ(natsSubscription_NextMsg(&msg, sub, 10000), NATS_OK) << "after " << i;
    Json r(std::string(natsMsg_GetData(msg), static_cast<size_t>(natsMsg_GetDataLength(msg))));
    natsMsg_Destroy(msg);
    EXPECT_TRUE(r.Bool("/ok"));
    ++replies[r.Str("/context/request_id")];
  }
  // No 101st reply: nothing was answered twice.
  natsMsg* extra = nullptr;
  EXPECT_EQ(natsSubscription_NextMsg(&extra, sub, 200), NATS_TIMEOUT);
  natsSubscription_Destroy(sub);
  EXPECT_EQ(replies.size(), static_cast<size_t>(kRequests));
  for (const auto& [id, n] : replies) EXPECT_EQ(n, 1) << id;
  const uint64_t served_a = a->transport().stats().decide_received.load();
  const uint64_t served_b = b->transport().stats().decide_received.load();
  EXPECT_EQ(served_a + served_b, static_cast<uint64_t>(kRequests));
  EXPECT_GT(served_a, 0u);
  EXPECT_GT(served_b, 0u);
}

// §12.22 (NATS part): 100 concurrent requests, all answered ok.
TEST_F(NatsDecideTest, Scenario22HundredConcurrentRequests) {
  auto node = StartNode(RouterConfig(server_.url(), "router-a"));
  ASSERT_TRUE(node->WaitReady().ok()) << node->ChecksJson();
  constexpr int kThreads = 4;
  constexpr int kPerThread = 25;
  std::atomic<int> ok{0};
  std::mutex mu;
  std::set<std::string> ids;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      NatsClient client;
      if (!client.Connect(server_.url()).ok()) return;
      // Every request of this thread is in flight at once (async, own inbox).
      natsSubscription* sub = nullptr;
      const std::string inbox = "itest.c." + std::to_string(t);
      natsConnection_SubscribeSync(&sub, client.nc(), inbox.c_str());
      natsConnection_Flush(client.nc());
      for (int i = 0; i < kPerThread; ++i) {
        const std::string body = ValidRequest("c-" + std::to_string(t) + "-" + std::to_string(i));
        natsConnection_PublishRequest(client.nc(), kSubject, inbox.c_str(), body.data(),
                                      static_cast<int>(body.size()));
      }
      for (int i = 0; i < kPerThread; ++i) {
        natsMsg* msg = nullptr;
        if (natsSubscription_NextMsg(&msg, sub, 10000) != NATS_OK) break;
        Json r(std::string(natsMsg_GetData(msg), static_cast<size_t>(natsMsg_GetDataLength(msg))));
        natsMsg_Destroy(msg);
        if (r.Bool("/ok")) ok.fetch_add(1);
        std::lock_guard<std::mutex> lock(mu);
        ids.insert(r.Str("/context/request_id"));
      }
      natsSubscription_Destroy(sub);
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), kThreads * kPerThread);
  EXPECT_EQ(ids.size(), static_cast<size_t>(kThreads * kPerThread));
}

// §12.26 (reconnect part), §8: SIGKILL the server, restart it on the same port and store:
// readiness goes false, then true, and decides are served again.
TEST_F(NatsDecideTest, Scenario26ReconnectsAfterServerKill) {
  auto node = StartNode(RouterConfig(server_.url(), "router-a"));
  ASSERT_TRUE(node->WaitReady().ok()) << node->ChecksJson();
  EXPECT_TRUE(client_.Request(kSubject, ValidRequest("before")).find("\"ok\":true") !=
              std::string::npos);
  server_.Kill(SIGKILL);
  ASSERT_TRUE(WaitFor([&] { return !node->readiness().CheckOk(kCheckNats); }, 10s,
                      "nats check to fail after the kill")
                  .ok());
  EXPECT_FALSE(node->readiness().Ready());
  EXPECT_EQ(node->transport().connection().StatusGauge(), 0.5);  // reconnecting
  ASSERT_TRUE(server_.Restart().ok());
  ASSERT_TRUE(node->WaitReady(20s).ok()) << node->ChecksJson();
  EXPECT_EQ(node->transport().connection().StatusGauge(), 1);
  std::string reply;
  ASSERT_TRUE(WaitFor(
                  [&] {
                    reply = client_.Request(kSubject, ValidRequest("after"), {}, 1000);
                    return !reply.empty();
                  },
                  20s, "a decide after the restart")
                  .ok());
  Json r(reply);
  EXPECT_TRUE(r.Bool("/ok"));
  EXPECT_EQ(r.Str("/context/request_id"), "after");
  EXPECT_GE(node->transport().stats().connections_lost.load(), 1u);
}

// §8: a failed first connect does not stop startup; the transport connects once a server
// appears and becomes ready.
TEST_F(NatsDecideTest, FirstConnectRetriesInTheBackground) {
  const std::string url = server_.url();
  server_.Kill(SIGKILL);
  auto node = StartNode(RouterConfig(url, "router-a"));
  EXPECT_FALSE(node->readiness().CheckOk(kCheckNats));
  ASSERT_TRUE(server_.Restart().ok());
  ASSERT_TRUE(node->WaitReady(20s).ok()) << node->ChecksJson();
  NatsClient fresh;
  ASSERT_TRUE(fresh.Connect(server_.url()).ok());
  Json r(fresh.Request(kSubject, ValidRequest("late")));
  EXPECT_TRUE(r.Bool("/ok"));
}

// §6.1 / §12.1 (streams part): after Start the five streams exist with the spec settings,
// read back through the raw JetStream API.
TEST_F(NatsDecideTest, Scenario01StreamsCreatedWithSpecSettings) {
  auto node = StartNode(RouterConfig(server_.url(), "router-a"));
  ASSERT_TRUE(node->WaitReady().ok()) << node->ChecksJson();
  router::testing::ExpectSpecStreams(client_);
  // A second replica starting against the existing streams is ready too and reports no drift.
  auto b = StartNode(RouterConfig(server_.url(), "router-b"));
  ASSERT_TRUE(b->WaitReady().ok()) << b->ChecksJson();
  EXPECT_EQ(b->transport().stats().stream_drift_reports.load(), 0u);
}

// §6.1: a deleted stream is recreated when a publisher asks for the ensure step again (at most
// every 5 s).
TEST_F(NatsDecideTest, RequestedEnsureRecreatesADeletedStream) {
  auto node = StartNode(RouterConfig(server_.url(), "router-a"));
  ASSERT_TRUE(node->WaitReady().ok()) << node->ChecksJson();
  ASSERT_EQ(js_DeleteStream(client_.js(), "BEAMLINE_USAGE", nullptr, nullptr), NATS_OK);
  EXPECT_EQ(Json(client_.Request("$JS.API.STREAM.INFO.BEAMLINE_USAGE", "")).Int("/error/code"),
            404);
  node->transport().RequestStreamEnsure();
  EXPECT_TRUE(
      WaitFor(
          [&] {
            return Json(client_.Request("$JS.API.STREAM.INFO.BEAMLINE_USAGE", "")).Has("/config");
          },
          15s, "BEAMLINE_USAGE recreated")
          .ok());
}

// §6.1 with manage_streams = false: missing streams are not created and the replica is not
// ready (jetstream check), decides are still served.
TEST_F(NatsDecideTest, VerifyOnlyDoesNotCreateStreams) {
  config::Config c = RouterConfig(server_.url(), "router-a");
  c.nats.jetstream.manage_streams = false;
  auto node = StartNode(c);
  ASSERT_TRUE(WaitFor([&] { return node->readiness().CheckOk(kCheckDecideSubscription); }, 15s,
                      "decide subscription")
                  .ok())
      << node->ChecksJson();
  EXPECT_FALSE(node->readiness().CheckOk(kCheckJetStream));
  EXPECT_FALSE(node->readiness().Ready());
  Json info(client_.Request("$JS.API.STREAM.INFO.CAF_ASSIGNMENTS", ""));
  EXPECT_EQ(info.Int("/error/code"), 404);
  Json r(client_.Request(kSubject, ValidRequest("still-served")));
  EXPECT_TRUE(r.Bool("/ok"));
}

// §1 / §12.2: a stream capturing the decide subject makes the replica not ready.
TEST_F(NatsDecideTest, Scenario02CapturedDecideSubjectIsNotReady) {
  jsStreamConfig cfg;
  jsStreamConfig_Init(&cfg);
  const char* subjects[] = {"beamline.router.>"};
  cfg.Name = "CAPTURE";
  cfg.Subjects = subjects;
  cfg.SubjectsLen = 1;
  cfg.Storage = js_MemoryStorage;
  ASSERT_EQ(js_AddStream(nullptr, client_.js(), &cfg, nullptr, nullptr), NATS_OK);
  auto node = StartNode(RouterConfig(server_.url(), "router-a"));
  ASSERT_TRUE(
      WaitFor([&] { return node->readiness().CheckOk(kCheckNats); }, 15s, "connected").ok());
  ASSERT_TRUE(WaitFor(
                  [&] {
                    for (const auto& c : node->readiness().Checks()) {
                      if (c.name == kCheckDecideSubscription &&
                          c.message.find("CAPTURE") != std::string::npos) {
                        return true;
                      }
                    }
                    return false;
                  },
                  15s, "decide_subscription failing with the capturing stream")
                  .ok())
      << node->ChecksJson();
  EXPECT_FALSE(node->readiness().Ready());
}

// §4.3: decide DLQ envelopes are limited to nats.dlq.decide_rate_per_s per replica; the excess
// is dropped and counted, and the stream holds exactly the envelopes that were published.
TEST_F(NatsDecideTest, DlqRateLimitDropsTheExcess) {
  config::Config c = RouterConfig(server_.url(), "router-a");
  c.nats.dlq.decide_rate_per_s = 1;
  auto node = StartNode(c);
  ASSERT_TRUE(node->WaitReady().ok()) << node->ChecksJson();
  constexpr int kInvalid = 20;
  for (int i = 0; i < kInvalid; ++i) {
    Json r(client_.Request(kSubject, "{bad json " + std::to_string(i)));
    ASSERT_EQ(r.Str("/error/code"), "invalid_request");
  }
  const NatsStats& stats = node->transport().stats();
  ASSERT_TRUE(WaitFor(
                  [&] {
                    return stats.dlq_published.load() + stats.dlq_rate_dropped.load() ==
                           static_cast<uint64_t>(kInvalid);
                  },
                  10s, "every envelope published or dropped")
                  .ok());
  EXPECT_GT(stats.dlq_rate_dropped.load(), 0u);
  EXPECT_GE(stats.dlq_published.load(), 1u);
  Json info(client_.Request("$JS.API.STREAM.INFO.ROUTER_DLQ", ""));
  EXPECT_EQ(info.Int("/state/messages"), static_cast<int64_t>(stats.dlq_published.load()));
}

// §8 readiness_grace_ms: a disconnect shorter than the grace never turns the router not ready.
TEST_F(NatsDecideTest, ReadinessGraceCoversShortDisconnects) {
  config::Config c = RouterConfig(server_.url(), "router-a");
  c.nats.readiness_grace_ms = 600000;
  auto node = StartNode(c);
  ASSERT_TRUE(node->WaitReady().ok()) << node->ChecksJson();
  // The listener outlives this scope's locals (it fires during the transport's Stop): it holds
  // only the readiness (alive until after the transport) and a shared counter.
  auto nats_failures = std::make_shared<std::atomic<int>>(0);
  service::Readiness* readiness = &node->readiness();
  readiness->OnChange([readiness, nats_failures] {
    if (!readiness->CheckOk(kCheckNats)) nats_failures->fetch_add(1);
  });
  const NatsStats& stats = node->transport().stats();
  const uint64_t established = stats.connections_established.load();
  server_.Kill(SIGKILL);
  ASSERT_TRUE(WaitFor([&] { return stats.connections_lost.load() >= 1; }, 10s, "disconnect").ok());
  ASSERT_TRUE(server_.Restart().ok());
  ASSERT_TRUE(
      WaitFor([&] { return stats.connections_established.load() > established; }, 20s, "reconnect")
          .ok());
  ASSERT_TRUE(node->WaitReady().ok()) << node->ChecksJson();
  EXPECT_EQ(nats_failures->load(), 0);
}

// §8 auth: an nkey seed file (public key derived by the router) against a server that only
// admits that nkey.
TEST(NatsAuthTest, NkeySeedFileAuthenticates) {
  std::array<uint8_t, 32> raw{};
  for (size_t i = 0; i < raw.size(); ++i) raw[i] = static_cast<uint8_t>(i * 7 + 3);
  const std::string seed = EncodeNkeySeed(kNkeyPrefixUser, raw);
  auto pub = NkeyPublicKeyFromSeed(seed);
  ASSERT_TRUE(pub.ok()) << pub.status();
  NatsServerOptions opts;
  opts.config_text = "authorization { users = [ { nkey: \"" + *pub + "\" } ] }\n";
  NatsServerProcess server(opts);
  ASSERT_TRUE(server.Start().ok()) << server.ReadLog();
  const std::string seed_file = server.temp_dir() + "/router.nk";
  {
    std::ofstream out(seed_file);
    out << seed << "\n";
  }
  config::Config c = RouterConfig(server.url(), "router-a");
  c.nats.auth.nkey_seed_file = seed_file;
  RouterNode node(c);
  ASSERT_TRUE(node.Start().ok());
  ASSERT_TRUE(node.WaitReady().ok()) << node.ChecksJson();

  // Without credentials the server refuses the connection.
  config::Config anonymous = RouterConfig(server.url(), "router-b");
  anonymous.nats.jetstream.enabled = false;
  RouterNode refused(anonymous);
  ASSERT_TRUE(refused.Start().ok());
  EXPECT_TRUE(WaitFor(
                  [&] {
                    const std::string log = server.ReadLog();
                    return log.find("authentication error") != std::string::npos ||
                           log.find("Authorization Violation") != std::string::npos;
                  },
                  10s, "the server to refuse the anonymous connection")
                  .ok())
      << server.ReadLog();
  EXPECT_FALSE(refused.readiness().CheckOk(kCheckNats));
}

// §8 auth: user/password and token.
TEST(NatsAuthTest, UserPasswordAndToken) {
  {
    NatsServerOptions opts;
    opts.extra_args = {"--user", "router", "--pass", "s3cret-pw"};
    NatsServerProcess server(opts);
    ASSERT_TRUE(server.Start().ok()) << server.ReadLog();
    config::Config c = RouterConfig(server.url(), "router-a");
    c.nats.auth.user = "router";
    c.nats.auth.password = "s3cret-pw";
    RouterNode node(c);
    ASSERT_TRUE(node.Start().ok());
    EXPECT_TRUE(node.WaitReady().ok()) << node.ChecksJson();
  }
  {
    NatsServerOptions opts;
    opts.extra_args = {"--auth", "tok-123456"};
    NatsServerProcess server(opts);
    ASSERT_TRUE(server.Start().ok()) << server.ReadLog();
    config::Config c = RouterConfig(server.url(), "router-a");
    c.nats.auth.token = "tok-123456";
    RouterNode node(c);
    ASSERT_TRUE(node.Start().ok());
    EXPECT_TRUE(node.WaitReady().ok()) << node.ChecksJson();
  }
}

// §8 TLS: a tls:// URL with nats.tls.ca_file verifying a self-signed server certificate.
TEST(NatsTlsTest, TlsUrlWithCaFile) {
  const std::string dir = ::testing::TempDir() + "/nats-tls-" + std::to_string(::getpid());
  std::filesystem::create_directories(dir);
  const std::string cmd =
      "openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=127.0.0.1 "
      "-addext subjectAltName=IP:127.0.0.1 -keyout " +
      dir + "/key.pem -out " + dir + "/cert.pem >/dev/null 2>&1";
  if (std::system(cmd.c_str()) != 0) GTEST_SKIP() << "openssl CLI not available";
  NatsServerOptions opts;
  opts.extra_args = {"--tls", "--tlscert", dir + "/cert.pem", "--tlskey", dir + "/key.pem"};
  NatsServerProcess server(opts);
  ASSERT_TRUE(server.Start().ok()) << server.ReadLog();
  config::Config c = RouterConfig("tls://127.0.0.1:" + std::to_string(server.port()), "router-a");
  c.nats.tls.ca_file = dir + "/cert.pem";
  {
    RouterNode node(c);
    ASSERT_TRUE(node.Start().ok());
    EXPECT_TRUE(node.WaitReady().ok()) << node.ChecksJson();
  }
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace router::nats_adapter
