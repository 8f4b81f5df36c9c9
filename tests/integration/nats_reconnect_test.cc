// Connection resilience against a real nats-server -js (nats-contracts.md §8 "After reconnect:
// streams and durables re-ensured, fetch loops resumed"; §6.1 "at startup and after each
// reconnect, creates missing streams and durables"; observability.md §7.2 readiness).
//
// The server is SIGKILLed and a fresh one (new, empty store directory) is started on the same
// port: the streams and both durables are gone. The in-process replica (DecisionService +
// NatsTransport, as in nats_results_test.cc) must reconnect, re-create the five streams and the
// two durables, re-bind and fetch again, and become ready again; a result published afterwards
// is processed (its usage event is stored). The connection metrics move on the way.

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nats/nats.h>

#include <chrono>
#include <csignal>
#include <memory>
#include <string>
#include <vector>

#include "base/system_clock.h"
#include "config/config.h"
#include "core/breaker_registry.h"
#include "core/decider.h"
#include "core/provider_stats.h"
#include "core/snapshot.h"
#include "core/sticky_table.h"
#include "nats/nats_transport.h"
#include "obs/metrics/router_metrics.h"
#include "policy/policy_compiler.h"
#include "service/backpressure.h"
#include "service/correlation_store.h"
#include "service/decision_service.h"
#include "service/outcome_service.h"
#include "service/readiness.h"
#include "support/jetstream_client.h"
#include "support/nats_server.h"
#include "support/wait_for.h"

namespace router::nats_adapter {
namespace {

using namespace std::chrono_literals;
using router::testing::NatsServerOptions;
using router::testing::NatsServerProcess;
using router::testing::WaitFor;
using ::testing::HasSubstr;

constexpr char kPolicy[] =
    R"({"version":"1.0","providers":[{"name":"p1","weight":70},{"name":"p2","weight":30}]})";

config::Config ReconnectConfig(const std::string& url) {
  config::Config c;
  c.node_id = "router-reconnect";
  c.nats.url = url;
  c.nats.decide.workers = 1;
  c.nats.reconnect_base_ms = 50;
  c.nats.reconnect_max_ms = 500;
  c.nats.connect_timeout_ms = 1000;
  c.nats.drain_timeout_ms = 1000;
  c.tenants.allowlist = {"acme"};
  for (config::ConsumerConfig* k :
       {&c.nats.jetstream.consumers.results, &c.nats.jetstream.consumers.acks}) {
    k->ack_wait_s = 3;
    k->nak_delays_ms = {100};
    k->fetch_expires_ms = 500;
  }
  return c;
}

// One replica with a metrics registry.
class Replica {
 public:
  explicit Replica(config::Config config)
      : config_(std::move(config)), readiness_(NatsTransport::ReadinessChecks(config_.nats)) {
    auto compiled = policy::CompilePolicy(kPolicy, "acme", "default");
    EXPECT_TRUE(compiled.ok()) << compiled.status();
    auto copy = std::make_shared<policy::CompiledPolicy>(**compiled);
    copy->version = 1;
    snapshots_.Publish(core::WithUpsert(snapshots_.Load(), copy));
    outcomes_.SetResilience(&breakers_, &stats_, nullptr);
    service::DecisionServiceOptions opts;
    opts.tenant_allowlist = config_.tenants.allowlist;
    decisions_ = std::make_unique<service::DecisionService>(opts, clock_, snapshots_, decider_);
    obs::MetricsOptions mo;
    mo.process_metrics = false;
    auto m = obs::RouterMetrics::Create(std::move(mo));
    EXPECT_TRUE(m.ok()) << m.status();
    metrics_ = *std::move(m);
  }
  ~Replica() {
    if (transport_) transport_->Stop();
  }
  absl::Status Start() {
    auto t = NatsTransport::Create(config_, *decisions_, readiness_, clock_, NullLogSink());
    if (!t.ok()) return t.status();
    transport_ = *std::move(t);
    transport_->SetMetrics(metrics_.get());
    transport_->SetOutcomeService(&outcomes_);
    transport_->SetCorrelationStore(&correlation_);
    // The 1 s consumer-info poll (§9 pending) also reports a vanished durable.
    transport_->SetBackpressure(&backpressure_, nullptr, config_.node_id);
    return transport_->Start();
  }
  service::Readiness& readiness() { return readiness_; }
  NatsTransport& transport() { return *transport_; }
  std::string Scrape() { return metrics_->Render(); }

 private:
  config::Config config_;
  SystemClock clock_;
  service::Readiness readiness_;
  core::SnapshotHolder snapshots_;
  core::BreakerRegistry breakers_{clock_, snapshots_};
  core::ProviderStats stats_{clock_};
  service::OutcomeService outcomes_{config_.tenants.allowlist};
  service::CorrelationStore correlation_{service::CorrelationStoreOptions{}, clock_};
  core::StickyTable sticky_{4, 1000};
  core::Decider decider_{clock_, breakers_, stats_, sticky_};
  std::unique_ptr<service::DecisionService> decisions_;
  service::BackpressureMonitor backpressure_{service::BackpressureOptions{}, clock_};
  std::unique_ptr<obs::RouterMetrics> metrics_;
  std::unique_ptr<NatsTransport> transport_;
};

using Client = router::testing::JetStreamClient;

std::string ResultBody(const std::string& id) {
  return R"({"version":"1","assignment_id":")" + id + R"(","request_id":"req-)" + id +
         R"(","status":"success","provider_id":"p1","job":{"type":"chat.completion"},"latency_ms":912,"cost":0.0034,"tenant_id":"acme","timestamp":1795688131035})";
}

// The value of the unlabelled sample `name` in an exposition (-1 when absent).
double Sample(const std::string& text, const std::string& name) {
  const std::string key = "\n" + name + " ";
  const size_t at = text.find(key);
  if (at == std::string::npos) return -1;
  return std::stod(text.substr(at + key.size()));
}

// §8 after reconnect + §6.1 ensure after each reconnect, with a server that lost its store.
TEST(NatsReconnectTest, FreshServerOnSamePortGetsStreamsAndDurablesBackAndFetchingResumes) {
  NatsServerProcess first;
  ASSERT_TRUE(first.Start().ok());
  const int port = first.port();
  // Declared before the replica so that it outlives the replica's shutdown.
  std::unique_ptr<NatsServerProcess> fresh;
  Replica replica(ReconnectConfig(first.url()));
  ASSERT_TRUE(replica.Start().ok());
  ASSERT_TRUE(WaitFor([&] { return replica.readiness().Ready(); }, 20s, "ready").ok())
      << replica.readiness().ToJson();
  EXPECT_EQ(Sample(replica.Scrape(), "router_nats_connection_status"), 1);

  // The server dies with its store; readiness follows the disconnect (readiness_grace_ms 0).
  first.Kill(SIGKILL);
  ASSERT_TRUE(WaitFor([&] { return !replica.readiness().Ready(); }, 10s, "not ready").ok());

  // A fresh server, empty store, same port (a later -p wins over the helper's own).
  NatsServerOptions fresh_options;
  fresh_options.extra_args = {"-p", std::to_string(port)};
  fresh = std::make_unique<NatsServerProcess>(fresh_options);
  ASSERT_TRUE(fresh->Start().ok()) << fresh->ReadLog();
  ASSERT_EQ(fresh->port(), port);

  ASSERT_TRUE(WaitFor([&] { return replica.readiness().Ready(); }, 30s, "ready again").ok())
      << replica.readiness().ToJson();

  Client client;
  ASSERT_TRUE(client.Connect(fresh->url()).ok());
  for (const char* stream :
       {"CAF_ASSIGNMENTS", "CAF_RESULTS", "CAF_ACKS", "BEAMLINE_USAGE", "ROUTER_DLQ"}) {
    EXPECT_TRUE(client.StreamExists(stream)) << stream;
  }
  EXPECT_TRUE(client.DurableExists("CAF_RESULTS", "router-results"));
  EXPECT_TRUE(client.DurableExists("CAF_ACKS", "router-acks"));

  // Fetching resumed: a result published now is processed (usage event stored, §6.5).
  const std::string id = "9a0b1c2d-3e4f-4a5b-8c6d-7e8f9a0b1c2d";
  ASSERT_TRUE(client.Publish("caf.exec.result.v1", ResultBody(id), {{"Nats-Msg-Id", "res-" + id}}) >
              0);
  EXPECT_TRUE(
      WaitFor([&] { return client.StoredCount("BEAMLINE_USAGE") == 1; }, 15s, "usage event").ok())
      << replica.readiness().ToJson();
  EXPECT_TRUE(WaitFor(
                  [&] {
                    return replica.transport().worker_metrics().Get("router_results_total",
                                                                    {"success"}) == 1;
                  },
                  10s, "result counted")
                  .ok());

  // The lifecycle is visible in the metrics (observability.md §2.5).
  const std::string text = replica.Scrape();
  EXPECT_EQ(Sample(text, "router_nats_connection_status"), 1);
  EXPECT_GE(Sample(text, "router_nats_connection_lost_total"), 1);
  EXPECT_GE(Sample(text, "router_nats_connection_established_total"), 2);
  EXPECT_GE(Sample(text, "router_nats_reconnect_attempts_total"), 1);
  EXPECT_THAT(text, HasSubstr("router_jetstream_stream_ensure_total{stream=\"usage\",result="
                              "\"created\"} 2\n"));
  EXPECT_THAT(text, HasSubstr("router_jetstream_consumer_bound{consumer=\"results\"} 1\n"));
}

// §8 / §6.1: a durable deleted while the connection stays up (no reconnect) is noticed by the
// 1 s consumer-info poll, re-created and re-bound; fetching resumes (the fetch loop alone would
// only see its pull requests expire).
TEST(NatsReconnectTest, DurableDeletedWhileConnectedIsRecreated) {
  NatsServerProcess server;
  ASSERT_TRUE(server.Start().ok());
  Replica replica(ReconnectConfig(server.url()));
  ASSERT_TRUE(replica.Start().ok());
  ASSERT_TRUE(WaitFor([&] { return replica.readiness().Ready(); }, 20s, "ready").ok())
      << replica.readiness().ToJson();
  Client client;
  ASSERT_TRUE(client.Connect(server.url()).ok());
  ASSERT_EQ(js_DeleteConsumer(client.js(), "CAF_RESULTS", "router-results", nullptr, nullptr),
            NATS_OK);
  ASSERT_TRUE(WaitFor([&] { return client.DurableExists("CAF_RESULTS", "router-results"); }, 15s,
                      "durable re-created")
                  .ok());
  ASSERT_TRUE(WaitFor([&] { return replica.readiness().Ready(); }, 15s, "ready again").ok())
      << replica.readiness().ToJson();
  const std::string id = "5b6c7d8e-9f0a-4b1c-8d2e-3f4a5b6c7d8e";
  ASSERT_TRUE(client.Publish("caf.exec.result.v1", ResultBody(id), {{"Nats-Msg-Id", "res-" + id}}) >
              0);
  EXPECT_TRUE(
      WaitFor([&] { return client.StoredCount("BEAMLINE_USAGE") == 1; }, 15s, "usage event").ok())
      << replica.readiness().ToJson();
}

// Observability §2.5: the #4 runtime families move on real NATS traffic (intake rejections by
// code and source, payload sizes, trace ids kept but nonconforming, a blocked push, the worker's
// latency of a processed result, the stream ensure counts, the connection gauge).
TEST(NatsRuntimeMetricsTest, IntakeResultsAndStreamsAreCountedOnTheScrape) {
  NatsServerProcess server;
  ASSERT_TRUE(server.Start().ok());
  config::Config c = ReconnectConfig(server.url());
  c.nats.assignments.allowed_tenants = {"beta"};  // acme may not push: tenant_blocked
  Replica replica(c);
  ASSERT_TRUE(replica.Start().ok());
  ASSERT_TRUE(WaitFor([&] { return replica.readiness().Ready(); }, 20s, "ready").ok())
      << replica.readiness().ToJson();
  Client client;
  ASSERT_TRUE(client.Connect(server.url()).ok());
  const std::string decide = "beamline.router.v1.decide";
  // §4.1 rule 1 (PAYLOAD_TOO_SMALL), rule 3 (SCHEMA_VALIDATION_FAILED), rule 4
  // (VERSION_UNSUPPORTED).
  EXPECT_NE(client.Request(decide, " x ").find("invalid_request"), std::string::npos);
  EXPECT_NE(client.Request(decide, R"({"tenant_id":"acme",)").find("invalid_request"),
            std::string::npos);
  EXPECT_NE(client.Request(decide, R"({"version":"2","request_id":"r","tenant_id":"acme"})")
                .find("invalid_request"),
            std::string::npos);
  // A valid pushing decide of a tenant that may not push, with a nonconforming trace id.
  const std::string reply = client.Request(
      decide,
      R"({"version":"1","request_id":"r-push","tenant_id":"acme","trace_id":"not-a-trace-id","push_assignment":true,"task":{"type":"t","payload_ref":"blob://x"}})");
  EXPECT_NE(reply.find("tenant_blocked"), std::string::npos) << reply;
  // A result with a worker-reported latency of 912 ms.
  const std::string id = "3f6c1e9a-8b2d-4c47-9e15-6a0d2b7f41c3";
  ASSERT_TRUE(client.Publish("caf.exec.result.v1", ResultBody(id), {{"Nats-Msg-Id", "res-" + id}}) >
              0);
  ASSERT_TRUE(
      WaitFor([&] { return client.StoredCount("BEAMLINE_USAGE") == 1; }, 15s, "usage event").ok());
  ASSERT_TRUE(WaitFor(
                  [&] {
                    return replica.transport().worker_metrics().Get("router_results_total",
                                                                    {"success"}) == 1;
                  },
                  10s, "result counted")
                  .ok());

  const std::string text = replica.Scrape();
  for (const char* line : {
           "router_intake_validation_errors_total{source=\"decide\",code=\"PAYLOAD_TOO_SMALL\"} "
           "1\n",
           "router_intake_validation_errors_total{source=\"decide\",code=\"SCHEMA_VALIDATION_"
           "FAILED\"} 1\n",
           "router_intake_validation_errors_total{source=\"decide\",code=\"VERSION_UNSUPPORTED\"} "
           "1\n",
           "router_intake_validation_errors_total{source=\"results\",code=\"SCHEMA_VALIDATION_"
           "FAILED\"} 0\n",
           "router_intake_payload_bytes_count{source=\"decide\"} 4\n",
           "router_intake_payload_bytes_count{source=\"results\"} 1\n",
           "router_intake_trace_id_nonconforming_total{source=\"decide\"} 1\n",
           "router_assignment_blocked_total 1\n",
           "router_assignment_skipped_total 0\n",
           "router_result_latency_seconds_count{status=\"success\"} 1\n",
           "router_result_latency_seconds_bucket{status=\"success\",le=\"0.5\"} 0\n",
           "router_result_latency_seconds_bucket{status=\"success\",le=\"1\"} 1\n",
           "router_jetstream_stream_ensure_total{stream=\"assignments\",result=\"created\"} 1\n",
           "router_jetstream_stream_ensure_total{stream=\"results\",result=\"created\"} 2\n",
           "router_jetstream_stream_config_drift{stream=\"usage\"} 0\n",
           "router_nats_connection_status 1\n",
           "router_nats_connection_established_total 1\n",
       }) {
    EXPECT_NE(text.find(line), std::string::npos) << line;
  }
}

}  // namespace
}  // namespace router::nats_adapter
