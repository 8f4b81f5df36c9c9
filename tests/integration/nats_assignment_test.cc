// ExecAssignment publishing against a real nats-server -js (nats-contracts.md §12 scenarios 4,
// 5, 9 (assignment headers), 11, 21, 22 (NATS part), 24, 25, 26, 29; the real-process halves
// of 22 and 26 and the soak (23) are in nats_router_process_test.cc):
// the outbox, both reply modes, idempotent replays and re-enqueues, outages of the stream and of
// the server, graceful shutdown. The router side is built in-process (DecisionService + stores
// + NatsTransport, as the Application wires them); streams are checked by reading them
// (js_GetMsg by sequence), never by counting publishes; every wait is a deadline poll.

#include <gtest/gtest.h>
#include <nats/nats.h>
#include <simdjson.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
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
#include "policy/policy_compiler.h"
#include "service/correlation_store.h"
#include "service/decision_service.h"
#include "service/idempotency_store.h"
#include "service/readiness.h"
#include "support/jetstream_client.h"
#include "support/nats_server.h"
#include "support/wait_for.h"

namespace router::nats_adapter {
namespace {

using namespace std::chrono_literals;
using router::testing::NatsServerProcess;
using router::testing::StoredMsg;
using router::testing::WaitFor;
using Json = router::testing::JsonDoc;

constexpr char kSubject[] = "beamline.router.v1.decide";
constexpr char kAssignSubject[] = "caf.exec.assign.v1";
constexpr char kStream[] = "CAF_ASSIGNMENTS";
constexpr char kP7030[] =
    R"({"version":"1.0","providers":[{"name":"p1","weight":70,"expected_latency_ms":840,"cost":0.0031},{"name":"p2","weight":30}]})";

class RouterNode {
 public:
  explicit RouterNode(config::Config config)
      : config_(std::move(config)), readiness_(NatsTransport::ReadinessChecks(config_.nats)) {
    core::SnapshotPtr snap = snapshots_.Load();
    snap = core::WithUpsert(snap, Compile(kP7030, "acme", "default", 3));
    snap = core::WithUpsert(snap, Compile(kP7030, "beta", "default", 1));
    snapshots_.Publish(snap);
    service::DecisionServiceOptions opts;
    opts.tenant_allowlist = {"acme", "beta"};
    service_ = std::make_unique<service::DecisionService>(opts, clock_, snapshots_, decider_);
  }
  ~RouterNode() {
    if (transport_) transport_->Stop();
  }
  absl::Status Start() {
    auto t = NatsTransport::Create(config_, *service_, readiness_, clock_, NullLogSink());
    if (!t.ok()) return t.status();
    transport_ = *std::move(t);
    transport_->SetCorrelationStore(&correlation_);
    transport_->SetIdempotencyStore(&idempotency_);
    return transport_->Start();
  }
  absl::Status WaitReady(std::chrono::milliseconds timeout = 15s) {
    return WaitFor([&] { return readiness_.Ready(); }, timeout, "transport readiness");
  }
  absl::Status WaitSubscribed(std::chrono::milliseconds timeout = 15s) {
    return WaitFor([&] { return readiness_.CheckOk(kCheckDecideSubscription); }, timeout,
                   "decide subscription");
  }
  void Stop() { transport_->Stop(); }
  NatsTransport& transport() { return *transport_; }
  service::CorrelationStore& correlation() { return correlation_; }
  std::string ChecksJson() const { return readiness_.ToJson(); }

 private:
  static policy::CompiledPolicyPtr Compile(const char* json, const char* tenant,
                                           const char* policy_id, uint64_t version) {
    auto compiled = policy::CompilePolicy(json, tenant, policy_id);
    EXPECT_TRUE(compiled.ok()) << compiled.status();
    auto copy = std::make_shared<policy::CompiledPolicy>(**compiled);
    copy->version = version;
    return copy;
  }

  config::Config config_;
  SystemClock clock_;
  core::SnapshotHolder snapshots_;
  core::NoBreakers breakers_;
  core::NoStatistics statistics_;
  core::StickyTable sticky_{4, 1000};
  core::Decider decider_{clock_, breakers_, statistics_, sticky_};
  std::unique_ptr<service::DecisionService> service_;
  service::IdempotencyStore idempotency_{service::IdempotencyStoreOptions{}, clock_};
  service::CorrelationStore correlation_{service::CorrelationStoreOptions{}, clock_};
  service::Readiness readiness_;
  std::unique_ptr<NatsTransport> transport_;
};

config::Config RouterConfig(const std::string& url) {
  config::Config c;
  c.node_id = "router-a";
  c.nats.url = url;
  c.nats.decide.workers = 2;
  c.nats.reconnect_base_ms = 50;
  c.nats.reconnect_max_ms = 1000;  // §12 harness
  c.nats.connect_timeout_ms = 1000;
  c.nats.drain_timeout_ms = 3000;
  return c;
}

// The shared client, narrowed to this suite: decides on S1, the assignment stream.
class Client : public router::testing::JetStreamClient {
 public:
  std::string Request(const std::string& body, int64_t timeout_ms = 6000) {
    return JetStreamClient::Request(kSubject, body, {}, timeout_ms);
  }
  // Every stored message of the assignment stream, by sequence.
  std::vector<StoredMsg> Read() { return JetStreamClient::Read(kStream); }
  std::multiset<std::string> StoredIds() { return JetStreamClient::StoredIds(kStream); }
  bool DeleteStream() {
    jsErrCode err = static_cast<jsErrCode>(0);
    return js_DeleteStream(js(), kStream, nullptr, &err) == NATS_OK;
  }
  bool CreateStream() {
    jsStreamConfig cfg;
    jsStreamConfig_Init(&cfg);
    cfg.Name = kStream;
    const char* subjects[] = {kAssignSubject};
    cfg.Subjects = subjects;
    cfg.SubjectsLen = 1;
    cfg.Storage = js_FileStorage;
    cfg.Duplicates = static_cast<int64_t>(120) * 1000 * 1000 * 1000;
    cfg.MaxAge = static_cast<int64_t>(3600) * 1000 * 1000 * 1000;
    jsStreamInfo* si = nullptr;
    jsErrCode err = static_cast<jsErrCode>(0);
    natsStatus s = js_AddStream(&si, js(), &cfg, nullptr, &err);
    if (si != nullptr) jsStreamInfo_Destroy(si);
    return s == NATS_OK;
  }
};

std::string Push(const std::string& request_id, const std::string& extra = "", bool push = true) {
  return R"({"version":"1","request_id":")" + request_id +
         R"(","tenant_id":"acme","task":{"type":"chat.completion","payload":{"prompt":"Summarise ticket 4711"}},"push_assignment":)" +
         (push ? "true" : "false") + extra + "}";
}

bool IsLowerUuidV4(const std::string& s) {
  if (s.size() != 36 || s[14] != '4') return false;
  for (size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      if (c != '-') return false;
    } else if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
      return false;
    }
  }
  return s[19] == '8' || s[19] == '9' || s[19] == 'a' || s[19] == 'b';
}

// Runs `fn(i)` for i in [0, n) on `threads` threads.
void Parallel(int n, int threads, const std::function<void(int)>& fn) {
  std::atomic<int> next{0};
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&] {
      for (int i = next++; i < n; i = next++) fn(i);
    });
  }
  for (auto& th : pool) th.join();
}

class NatsAssignmentTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(server_.Start().ok());
    ASSERT_TRUE(client_.Connect(server_.url()).ok());
  }
  std::unique_ptr<RouterNode> StartReady(config::Config c) {
    auto node = std::make_unique<RouterNode>(std::move(c));
    EXPECT_TRUE(node->Start().ok());
    EXPECT_TRUE(node->WaitReady().ok()) << node->ChecksJson();
    return node;
  }

  NatsServerProcess server_;
  Client client_;
};

// §12.4 (after_publish): `published`, lowercase v4 id, and already when the reply arrives
// exactly one stream message with that Nats-Msg-Id, the §2 headers and a §3.4 body with
// deadline_ms per formula (840 ms x 5 = 4200 -> clamped to 5000; p2 has no estimate -> 5000).
TEST_F(NatsAssignmentTest, Scenario04PublishedBeforeTheReply) {
  auto node = StartReady(RouterConfig(server_.url()));
  Json r(
      client_.Request(Push("req-4", R"(,"metadata":{"channel":"web"},"options":{"priority":80})")));
  ASSERT_TRUE(r.Bool("/ok")) << r.Str("/error/message");
  EXPECT_EQ(r.Str("/assignment/status"), "published");
  EXPECT_EQ(r.Str("/assignment/subject"), kAssignSubject);
  const std::string id = r.Str("/assignment/assignment_id");
  EXPECT_TRUE(IsLowerUuidV4(id)) << id;
  auto stored = client_.Read();  // no wait: the reply came after the PubAck
  ASSERT_EQ(stored.size(), 1u);
  const StoredMsg& m = stored[0];
  EXPECT_EQ(m.Header("Nats-Msg-Id"), id);
  EXPECT_EQ(m.Header("tenant_id"), "acme");
  EXPECT_EQ(m.Header("version"), "1");
  EXPECT_EQ(m.Header("request_id"), "req-4");
  const std::string trace = r.Str("/decision/metadata/trace_id");
  const std::string tp = m.Header("traceparent");
  ASSERT_EQ(tp.size(), 55u);
  EXPECT_EQ(tp.substr(0, 3), "00-");
  EXPECT_EQ(tp.substr(3, 32), trace);
  EXPECT_EQ(tp.substr(53), "00");  // new root, no OTLP endpoint
  EXPECT_EQ(m.Header("trace_id"), trace);
  EXPECT_EQ(m.Header("span_id"), tp.substr(36, 16));
  EXPECT_EQ(m.Header("X-Trace-Id"), trace);
  EXPECT_EQ(m.Header("X-Span-Id"), tp.substr(36, 16));
  Json body(m.body);
  ASSERT_TRUE(body.ok()) << m.body;
  EXPECT_EQ(body.Str("/version"), "1");
  EXPECT_EQ(body.Str("/assignment_id"), id);
  EXPECT_EQ(body.Str("/request_id"), "req-4");
  EXPECT_EQ(body.Str("/tenant_id"), "acme");
  EXPECT_EQ(body.Str("/decision_id"), r.Str("/decision/decision_id"));
  EXPECT_GT(body.Int("/issued_at_ms"), 0);
  EXPECT_EQ(body.Str("/executor/provider_id"), r.Str("/decision/provider_id"));
  EXPECT_EQ(body.Str("/executor/channel"), "nats");
  EXPECT_EQ(body.Str("/job/type"), "chat.completion");
  EXPECT_EQ(body.Int("/options/priority"), 80);
  EXPECT_EQ(body.Int("/options/deadline_ms"), 5000);
  EXPECT_EQ(body.Int("/options/retry/max_attempts"), 2);
  EXPECT_EQ(body.Int("/options/retry/backoff_ms"), 200);
  EXPECT_EQ(body.Str("/correlation/trace_id"), trace);
  EXPECT_EQ(body.Str("/decision/policy_id"), "default");
  EXPECT_EQ(body.Int("/decision/policy_version"), 3);
  EXPECT_EQ(body.Str("/decision/metadata/decision_id"), r.Str("/decision/decision_id"));
  EXPECT_EQ(body.Str("/metadata/channel"), "web");
  // The correlation record followed the fate (§7.2).
  auto record = node->correlation().Get("acme", id);
  ASSERT_TRUE(record.has_value());
  EXPECT_EQ(record->state, service::AssignmentState::kPublished);
  EXPECT_EQ(record->stream_seq, static_cast<int64_t>(m.seq));

  // A non-pushing decide followed by a pushing one leaves exactly one new stream message.
  Json plain(client_.Request(Push("req-4b", "", /*push=*/false)));
  ASSERT_TRUE(plain.Bool("/ok"));
  EXPECT_FALSE(plain.Has("/assignment"));
  Json second(client_.Request(Push("req-4c")));
  ASSERT_TRUE(second.Bool("/ok"));
  auto ids = client_.StoredIds();
  EXPECT_EQ(ids.size(), 2u);
  EXPECT_EQ(ids.count(second.Str("/assignment/assignment_id")), 1u);
}

// §12.4 immediate mode: `pending`, then the message appears (deadline poll, 5 s).
TEST_F(NatsAssignmentTest, Scenario04ImmediateModeIsPendingThenStored) {
  config::Config c = RouterConfig(server_.url());
  c.nats.assignments.reply_mode = config::ReplyMode::kImmediate;
  auto node = StartReady(c);
  Json r(client_.Request(Push("req-4i")));
  ASSERT_TRUE(r.Bool("/ok"));
  EXPECT_EQ(r.Str("/assignment/status"), "pending");
  const std::string id = r.Str("/assignment/assignment_id");
  EXPECT_TRUE(WaitFor([&] { return client_.StoredIds().count(id) == 1; }, 5s, "stored").ok());
  EXPECT_EQ(client_.StoredIds().size(), 1u);
}

// §12.5: assignment_subject not covered -> invalid_request / assignment_subject_not_allowed,
// nothing published.
TEST_F(NatsAssignmentTest, Scenario05UncoveredSubjectPublishesNothing) {
  auto node = StartReady(RouterConfig(server_.url()));
  Json r(client_.Request(Push("req-5", R"(,"assignment_subject":"orders.x")")));
  EXPECT_FALSE(r.Bool("/ok"));
  EXPECT_EQ(r.Str("/error/code"), "invalid_request");
  EXPECT_EQ(r.Str("/error/details/reason"), "assignment_subject_not_allowed");
  EXPECT_TRUE(client_.Read().empty());
}

// §12.9 (assignment part): trace_id "tr-123" -> header trace_id tr-123 and a valid traceparent
// with a fresh id, which is also metadata trace_id.
TEST_F(NatsAssignmentTest, Scenario09LenientTraceIdInAssignmentHeaders) {
  auto node = StartReady(RouterConfig(server_.url()));
  Json r(client_.Request(Push("req-9", R"(,"trace_id":"tr-123")")));
  ASSERT_TRUE(r.Bool("/ok"));
  EXPECT_EQ(r.Str("/context/trace_id"), "tr-123");
  auto stored = client_.Read();
  ASSERT_EQ(stored.size(), 1u);
  EXPECT_EQ(stored[0].Header("trace_id"), "tr-123");
  EXPECT_EQ(stored[0].Header("traceparent").substr(3, 32), r.Str("/decision/metadata/trace_id"));
  Json body(stored[0].body);
  EXPECT_EQ(body.Str("/correlation/trace_id"), "tr-123");
}

// §12.11: same key and payload twice with new request ids -> same decision_id and
// assignment_id, replayed:true, one stream message; same key with another task ->
// IDEMPOTENCY_VIOLATION, no assignment.
TEST_F(NatsAssignmentTest, Scenario11IdempotentReplay) {
  auto node = StartReady(RouterConfig(server_.url()));
  const std::string key = R"(,"idempotency_key":"acme-ticket-4711-a1")";
  Json a(client_.Request(Push("req-11a", key)));
  Json b(client_.Request(Push("req-11b", key)));
  ASSERT_TRUE(a.Bool("/ok"));
  ASSERT_TRUE(b.Bool("/ok")) << b.Str("/error/message");
  EXPECT_EQ(b.Str("/decision/decision_id"), a.Str("/decision/decision_id"));
  EXPECT_EQ(b.Str("/assignment/assignment_id"), a.Str("/assignment/assignment_id"));
  EXPECT_EQ(b.Str("/assignment/status"), "published");
  EXPECT_TRUE(b.Bool("/context/replayed"));
  EXPECT_EQ(b.Str("/context/request_id"), "req-11b");
  EXPECT_FALSE(a.Has("/context/replayed"));
  Json c(client_.Request(
      R"({"version":"1","request_id":"req-11c","tenant_id":"acme","task":{"type":"other","payload_ref":"blob://x"},"push_assignment":true,"idempotency_key":"acme-ticket-4711-a1"})"));
  EXPECT_FALSE(c.Bool("/ok"));
  EXPECT_EQ(c.Str("/error/code"), "invalid_request");
  EXPECT_EQ(c.Str("/error/intake_error_code"), "IDEMPOTENCY_VIOLATION");
  EXPECT_EQ(client_.StoredIds().size(), 1u);
}

// §12.21: 1000 sequential pushing decides -> 1000 ok; the stream holds exactly 1000 messages
// whose Nats-Msg-Id set equals the responses' assignment_id set.
TEST_F(NatsAssignmentTest, Scenario21ThousandSequential) {
  auto node = StartReady(RouterConfig(server_.url()));
  std::set<std::string> ids;
  std::vector<double> latencies;
  for (int i = 0; i < 1000; ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    Json r(client_.Request(Push("seq-" + std::to_string(i))));
    latencies.push_back(
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
    ASSERT_TRUE(r.Bool("/ok")) << i << " " << r.Str("/error/message");
    ASSERT_EQ(r.Str("/assignment/status"), "published");
    ids.insert(r.Str("/assignment/assignment_id"));
  }
  EXPECT_EQ(ids.size(), 1000u);
  std::multiset<std::string> stored;
  EXPECT_TRUE(
      WaitFor([&] { return (stored = client_.StoredIds()).size() >= 1000; }, 10s, "1000").ok());
  EXPECT_EQ(stored.size(), 1000u);
  EXPECT_EQ(std::set<std::string>(stored.begin(), stored.end()), ids);
  std::sort(latencies.begin(), latencies.end());
  std::printf("[ scenario 21 ] latency ms p50 %.2f p95 %.2f p99 %.2f max %.2f\n", latencies[500],
              latencies[950], latencies[990], latencies.back());
}

// §12.22 (NATS part): 100 concurrent pushing decides -> all ok, exactly 100 distinct
// assignments in the stream.
TEST_F(NatsAssignmentTest, Scenario22HundredConcurrent) {
  auto node = StartReady(RouterConfig(server_.url()));
  std::mutex mu;
  std::set<std::string> ids;
  std::atomic<int> ok{0};
  Parallel(100, 25, [&](int i) {
    Json r(client_.Request(Push("con-" + std::to_string(i))));
    if (r.Bool("/ok") && r.Str("/assignment/status") == "published") {
      ++ok;
      std::lock_guard<std::mutex> lock(mu);
      ids.insert(r.Str("/assignment/assignment_id"));
    }
  });
  EXPECT_EQ(ok.load(), 100);
  auto stored = client_.StoredIds();
  EXPECT_EQ(stored.size(), 100u);
  EXPECT_EQ(std::set<std::string>(stored.begin(), stored.end()), ids);
}

// §12.24: assignment stream deleted, manage_streams = false: pushing decides get
// `unavailable` / assignment_not_persisted with retry_after_ms within publish_timeout_ms,
// non-pushing decides succeed; after the stream is recreated, a retry with the same key gives
// `published` with the first assignment_id, and the stream holds each exactly once.
TEST_F(NatsAssignmentTest, Scenario24StreamDownThenRetriesWithTheKey) {
  { auto bootstrap = StartReady(RouterConfig(server_.url())); }  // creates every stream
  ASSERT_TRUE(client_.DeleteStream());
  config::Config c = RouterConfig(server_.url());
  c.nats.jetstream.manage_streams = false;
  c.nats.assignments.publish_timeout_ms = 500;
  c.nats.jetstream.publish.max_attempts = 10;
  RouterNode node(c);
  ASSERT_TRUE(node.Start().ok());
  ASSERT_TRUE(node.WaitSubscribed().ok()) << node.ChecksJson();
  constexpr int kN = 200;
  std::vector<std::string> first(kN);
  std::atomic<int> unavailable{0}, bad_retry_after{0};
  Parallel(kN, 50, [&](int i) {
    Json r(client_.Request(
        Push("down-" + std::to_string(i), R"(,"idempotency_key":"k-)" + std::to_string(i) + "\"")));
    if (!r.Bool("/ok") && r.Str("/error/code") == "unavailable" &&
        r.Str("/error/details/reason") == "assignment_not_persisted") {
      ++unavailable;
      first[i] = r.Str("/error/details/assignment_id");
      const int64_t ra = r.Int("/error/retry_after_ms");
      if (ra < 100 || ra > 500) ++bad_retry_after;
    }
  });
  EXPECT_EQ(unavailable.load(), kN);
  EXPECT_EQ(bad_retry_after.load(), 0);
  Json plain(client_.Request(Push("down-plain", "", false)));
  EXPECT_TRUE(plain.Bool("/ok"));

  ASSERT_TRUE(client_.CreateStream());
  // The caller retries with its key and honours retry_after_ms (§5, §5.1): an entry may still
  // be waiting for its next send when the first retry arrives.
  std::atomic<int> published{0}, same_id{0};
  Parallel(kN, 50, [&](int i) {
    for (int attempt = 0; attempt < 20; ++attempt) {
      Json r(client_.Request(Push("down-" + std::to_string(i) + "-retry",
                                  R"(,"idempotency_key":"k-)" + std::to_string(i) + "\"")));
      if (r.Bool("/ok")) {
        if (r.Str("/assignment/status") == "published") ++published;
        if (r.Str("/assignment/assignment_id") == first[i]) ++same_id;
        return;
      }
      if (r.Str("/error/details/assignment_id") != first[i]) return;
      // The protocol's retry hint, not a synchronisation wait.
      std::this_thread::sleep_for(
          std::chrono::milliseconds(std::max<int64_t>(r.Int("/error/retry_after_ms"), 1)));
    }
  });
  EXPECT_EQ(published.load(), kN);
  EXPECT_EQ(same_id.load(), kN);
  auto stored = client_.StoredIds();
  EXPECT_EQ(stored.size(), static_cast<size_t>(kN));
  EXPECT_EQ(std::set<std::string>(stored.begin(), stored.end()),
            std::set<std::string>(first.begin(), first.end()));
}

// §12.24 immediate mode: `pending` at once; the entries keep retrying and are published with
// no client action once the stream is back (within max_age_ms).
TEST_F(NatsAssignmentTest, Scenario24ImmediateModeRetriesUntilTheStreamIsBack) {
  { auto bootstrap = StartReady(RouterConfig(server_.url())); }
  ASSERT_TRUE(client_.DeleteStream());
  config::Config c = RouterConfig(server_.url());
  c.nats.jetstream.manage_streams = false;
  c.nats.assignments.reply_mode = config::ReplyMode::kImmediate;
  RouterNode node(c);
  ASSERT_TRUE(node.Start().ok());
  ASSERT_TRUE(node.WaitSubscribed().ok()) << node.ChecksJson();
  constexpr int kN = 200;
  std::mutex mu;
  std::set<std::string> ids;
  Parallel(kN, 50, [&](int i) {
    Json r(client_.Request(Push("imm-" + std::to_string(i))));
    if (r.Bool("/ok") && r.Str("/assignment/status") == "pending") {
      std::lock_guard<std::mutex> lock(mu);
      ids.insert(r.Str("/assignment/assignment_id"));
    }
  });
  ASSERT_EQ(ids.size(), static_cast<size_t>(kN));
  ASSERT_TRUE(client_.CreateStream());
  std::multiset<std::string> stored;
  EXPECT_TRUE(
      WaitFor([&] { return (stored = client_.StoredIds()).size() >= kN; }, 15s, "republished")
          .ok());
  EXPECT_EQ(stored.size(), static_cast<size_t>(kN));
  EXPECT_EQ(std::set<std::string>(stored.begin(), stored.end()), ids);
}

// §12.25: capacity 10, max_age 3000, max_attempts 10, publish_timeout 500: of 11 concurrent
// pushing decides exactly 10 are accepted (`unavailable`) and one gets `overloaded` /
// outbox_full; non-pushing decides succeed; the 10 entries end `expired` and the correlation
// records show publish_failed.
TEST_F(NatsAssignmentTest, Scenario25OutboxFullAndExpiry) {
  { auto bootstrap = StartReady(RouterConfig(server_.url())); }
  ASSERT_TRUE(client_.DeleteStream());
  config::Config c = RouterConfig(server_.url());
  c.nats.jetstream.manage_streams = false;
  c.nats.jetstream.outbox.capacity = 10;
  c.nats.jetstream.outbox.max_age_ms = 3000;
  c.nats.jetstream.publish.max_attempts = 10;
  c.nats.assignments.publish_timeout_ms = 500;
  RouterNode node(c);
  ASSERT_TRUE(node.Start().ok());
  ASSERT_TRUE(node.WaitSubscribed().ok()) << node.ChecksJson();
  std::atomic<int> unavailable{0}, full{0};
  std::mutex mu;
  std::vector<std::string> ids;
  Parallel(11, 11, [&](int i) {
    Json r(client_.Request(Push("full-" + std::to_string(i))));
    if (r.Str("/error/code") == "unavailable") {
      ++unavailable;
      std::lock_guard<std::mutex> lock(mu);
      ids.push_back(r.Str("/error/details/assignment_id"));
    }
    if (r.Str("/error/code") == "overloaded" && r.Str("/error/details/reason") == "outbox_full" &&
        r.Int("/error/retry_after_ms") > 0) {
      ++full;
    }
  });
  EXPECT_EQ(unavailable.load(), 10);
  EXPECT_EQ(full.load(), 1);
  EXPECT_TRUE(client_.Request(Push("full-plain", "", false)).find(R"("ok":true)") !=
              std::string::npos);
  EXPECT_TRUE(WaitFor(
                  [&] {
                    for (const auto& id : ids) {
                      auto rec = node.correlation().Get("acme", id);
                      if (!rec || rec->state != service::AssignmentState::kPublishFailed) {
                        return false;
                      }
                    }
                    return true;
                  },
                  10s, "expired")
                  .ok());
  for (const auto& id : ids) EXPECT_EQ(node.correlation().Get("acme", id)->publish_fate, "expired");
}

// §12.26: nats-server SIGKILL and restart on the same port and store during a pushing flow:
// the router stays up, NATS decides succeed again, every `ok` response's assignment is in the
// stream exactly once (both reply modes).
void RunServerRestart(NatsServerProcess& server, Client& client, config::ReplyMode mode) {
  config::Config c = RouterConfig(server.url());
  c.nats.assignments.reply_mode = mode;
  RouterNode node(c);
  ASSERT_TRUE(node.Start().ok());
  ASSERT_TRUE(node.WaitReady().ok()) << node.ChecksJson();
  std::mutex mu;
  std::set<std::string> ok_ids;
  std::atomic<bool> stop{false};
  std::atomic<int> sent{0}, oks_after_restart{0};
  std::atomic<bool> restarted{false};
  std::thread flow([&] {
    for (int i = 0; !stop.load(); ++i) {
      Json r(client.Request(Push("kill-" + std::to_string(i)), 3000));
      ++sent;
      if (r.Bool("/ok")) {
        std::lock_guard<std::mutex> lock(mu);
        ok_ids.insert(r.Str("/assignment/assignment_id"));
        if (restarted.load()) ++oks_after_restart;
      }
      std::this_thread::sleep_for(5ms);  // pacing of the flow (~200/s), not synchronisation
    }
  });
  ASSERT_TRUE(WaitFor([&] { return sent.load() >= 100; }, 20s, "flow").ok());
  server.Kill();
  std::this_thread::sleep_for(2s);  // the outage itself (scenario timing), not a sync wait
  ASSERT_TRUE(server.Restart().ok());
  restarted = true;
  EXPECT_TRUE(WaitFor([&] { return oks_after_restart.load() >= 50; }, 30s, "recovery").ok());
  stop = true;
  flow.join();
  std::multiset<std::string> stored;
  EXPECT_TRUE(WaitFor(
                  [&] {
                    stored = client.StoredIds();
                    for (const auto& id : ok_ids) {
                      if (stored.count(id) != 1) return false;
                    }
                    return true;
                  },
                  15s, "every ok stored")
                  .ok());
  for (const auto& id : ok_ids) EXPECT_EQ(stored.count(id), 1u) << id;
  for (const auto& id : stored) EXPECT_EQ(stored.count(id), 1u) << "duplicate " << id;
}

TEST_F(NatsAssignmentTest, Scenario26ServerKillAfterPublish) {
  RunServerRestart(server_, client_, config::ReplyMode::kAfterPublish);
}

TEST_F(NatsAssignmentTest, Scenario26ServerKillImmediate) {
  RunServerRestart(server_, client_, config::ReplyMode::kImmediate);
}

// §12.29: Stop (SIGTERM path) during a pushing flow -> every request answered before the stop
// is `ok` with its assignment in the stream; durables are not touched.
TEST_F(NatsAssignmentTest, Scenario29GracefulShutdownFlushes) {
  auto node = StartReady(RouterConfig(server_.url()));
  std::mutex mu;
  std::set<std::string> ok_ids;
  std::atomic<int> answered{0}, errors{0};
  std::atomic<bool> stop{false};
  std::vector<std::thread> flows;
  for (int t = 0; t < 4; ++t) {
    flows.emplace_back([&, t] {
      for (int i = 0; !stop.load(); ++i) {
        std::string reply =
            client_.Request(Push("term-" + std::to_string(t) + "-" + std::to_string(i)), 2000);
        if (reply.empty()) continue;  // not answered: the router was gone
        Json r(reply);
        ++answered;
        if (!r.Bool("/ok")) {
          ++errors;
          continue;
        }
        std::lock_guard<std::mutex> lock(mu);
        ok_ids.insert(r.Str("/assignment/assignment_id"));
      }
    });
  }
  ASSERT_TRUE(WaitFor([&] { return answered.load() >= 200; }, 20s, "flow").ok());
  node->Stop();
  stop = true;
  for (auto& f : flows) f.join();
  EXPECT_EQ(errors.load(), 0);
  auto stored = client_.StoredIds();
  for (const auto& id : ok_ids) EXPECT_EQ(stored.count(id), 1u) << id;
}

}  // namespace
}  // namespace router::nats_adapter
