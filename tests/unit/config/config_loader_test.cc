// LoadConfig: configuration.md §2 (keys and defaults), §3 (environment), §1/§4 (precedence and
// relative paths) and §5 (validation rules 1-11, collected as `<path>: <problem>` lines).

#include "config/config_loader.h"

#include <sys/stat.h>

#include <filesystem>

#include "config/admin_auth.h"
#include "config/config_internal.h"
#include "config_test_util.h"

namespace router::config {
namespace {

namespace fs = std::filesystem;
using testing::ConfigTestBase;

class ConfigLoaderTest : public ConfigTestBase {};

// §2 defaults, with no file at all.
TEST_F(ConfigLoaderTest, DefaultsLoadWithoutFile) {
  auto r = LoadConfig(options_);
  ASSERT_TRUE(r.ok()) << r.status();
  const Config& c = *r;
  EXPECT_EQ(c.data_dir, (dir_ / "data").string());
  EXPECT_EQ(c.node_id, "testhost");
  EXPECT_EQ(c.config_file, "");
  EXPECT_EQ(c.config_dir, dir_.string());
  EXPECT_EQ(c.loaded_at_ms, 1'700'000'000'123);
  EXPECT_FALSE(fs::exists(dir_ / "data"));  // loading writes nothing

  EXPECT_EQ(c.server.grpc_listen, "0.0.0.0:9000");
  EXPECT_EQ(c.server.http_listen, "0.0.0.0:9001");
  EXPECT_EQ(c.server.worker_threads, 0);
  EXPECT_EQ(c.server.grpc_max_message_bytes, 1048576);
  EXPECT_EQ(c.server.grpc_max_concurrent_streams, 1024);
  EXPECT_TRUE(c.server.grpc_reflection);
  EXPECT_EQ(c.server.shutdown_delay_ms, 0);
  EXPECT_EQ(c.server.shutdown_grace_ms, 20000);
  EXPECT_FALSE(c.server.tls.enabled);

  EXPECT_EQ(c.log.level, LogLevel::kInfo);
  EXPECT_EQ(c.log.output, LogOutput::kStdout);
  EXPECT_EQ(c.log.queue_capacity, 8192);
  EXPECT_EQ(c.log.max_record_bytes, 16384);
  EXPECT_EQ(c.log.rate_limit_burst, 10);
  EXPECT_EQ(c.log.rate_limit_interval_ms, 10000);

  EXPECT_TRUE(c.metrics.enabled);
  EXPECT_EQ(c.metrics.max_series_per_metric, 5000);
  EXPECT_EQ(c.metrics.tenant_labels, TenantLabels::kCapped);
  EXPECT_EQ(c.metrics.max_tenant_label_values, 200);
  EXPECT_TRUE(c.metrics.process_metrics);

  EXPECT_EQ(c.tracing.otlp_endpoint, "");
  EXPECT_EQ(c.tracing.otlp_timeout_ms, 5000);
  EXPECT_EQ(c.tracing.otlp_compression, OtlpCompression::kNone);
  EXPECT_DOUBLE_EQ(c.tracing.sample_ratio, 0.1);
  EXPECT_TRUE(c.tracing.parent_based);
  EXPECT_TRUE(c.tracing.export_unsampled_errors);
  EXPECT_TRUE(c.tracing.internal_spans);
  EXPECT_EQ(c.tracing.batch_max_spans, 512);
  EXPECT_EQ(c.tracing.batch_interval_ms, 1000);
  EXPECT_EQ(c.tracing.queue_max_spans, 8192);
  EXPECT_EQ(c.tracing.service_name, "beamline-router");
  EXPECT_EQ(c.health.stall_threshold_ms, 10000);

  EXPECT_TRUE(c.admin.enabled);
  EXPECT_EQ(c.admin.audit_retention_days, 90);
  EXPECT_TRUE(c.admin.keys.empty());
  EXPECT_EQ(c.checkpoint.current_cp, "CP2-baseline");
  EXPECT_TRUE(c.checkpoint.cp2_plus_allowed);
  EXPECT_TRUE(c.tenants.allowlist.empty());
  EXPECT_EQ(c.decide.rng_seed, 0);
  EXPECT_EQ(c.decide.max_context_entries, 64);
  EXPECT_EQ(c.decide.max_context_key_bytes, 128);
  EXPECT_EQ(c.decide.max_context_value_bytes, 1024);

  EXPECT_EQ(c.policy_store.backend, StoreBackend::kSqlite);
  EXPECT_EQ(c.policy_store.sqlite_path, (dir_ / "data" / "policies.db").string());
  EXPECT_EQ(c.policy_store.fixtures_dir, "");
  EXPECT_TRUE(c.policy_store.load_fixtures);
  EXPECT_EQ(c.policy_store.max_policies_per_tenant, 1000);
  EXPECT_EQ(c.policy_store.busy_timeout_ms, 5000);
  EXPECT_EQ(c.policy_store.poll_interval_ms, 2000);
  EXPECT_EQ(c.policy_store.integrity_check, IntegrityCheck::kQuick);

  EXPECT_EQ(c.rate_limit.max_buckets, 100000);
  EXPECT_FALSE(c.rate_limit.tenant.enabled);
  EXPECT_DOUBLE_EQ(c.rate_limit.tenant.requests_per_second, 1000);
  EXPECT_EQ(c.rate_limit.tenant.burst, 2000);
  EXPECT_EQ(c.circuit_breaker.max_entries, 100000);
  EXPECT_DOUBLE_EQ(c.stats.ewma_alpha, 0.2);
  EXPECT_EQ(c.stats.min_samples, 3);
  EXPECT_EQ(c.stats.max_age_s, 300);
  EXPECT_EQ(c.sticky.max_entries, 1000000);
  EXPECT_EQ(c.sticky.shards, 64);
  EXPECT_EQ(c.idempotency.ttl_s, 3600);
  EXPECT_EQ(c.idempotency.max_entries, 200000);
  EXPECT_EQ(c.idempotency.scope, IdempotencyScope::kReplica);
  EXPECT_EQ(c.correlation.ttl_s, 3600);
  EXPECT_EQ(c.correlation.max_entries, 200000);
  EXPECT_TRUE(c.backpressure.enabled);
  EXPECT_EQ(c.backpressure.inflight_overload, 500);
  EXPECT_EQ(c.backpressure.latency_overload_ms, 5000);
  EXPECT_EQ(c.backpressure.queue_overload, 1000);
  EXPECT_EQ(c.backpressure.retry_after_ms, 1000);
  EXPECT_TRUE(c.extensions.registry.empty());
  EXPECT_EQ(c.testing.decide_delay_ms, 0);
}

TEST_F(ConfigLoaderTest, NatsDefaults) {
  auto r = LoadConfig(options_);
  ASSERT_TRUE(r.ok()) << r.status();
  const NatsConfig& n = r->nats;
  EXPECT_FALSE(n.Enabled());
  EXPECT_EQ(n.name, "beamline-router");
  EXPECT_EQ(n.connect_timeout_ms, 2000);
  EXPECT_EQ(n.reconnect_base_ms, 500);
  EXPECT_EQ(n.reconnect_max_ms, 5000);
  EXPECT_EQ(n.ping_interval_ms, 5000);
  EXPECT_EQ(n.max_pings_out, 2);
  EXPECT_EQ(n.readiness_grace_ms, 0);
  EXPECT_EQ(n.drain_timeout_ms, 5000);
  EXPECT_EQ(n.max_payload_bytes, 1048576);
  EXPECT_FALSE(n.tls.enabled);
  EXPECT_TRUE(n.tls.verify);
  EXPECT_TRUE(n.decide.enabled);
  EXPECT_EQ(n.decide.subject, "beamline.router.v1.decide");
  EXPECT_EQ(n.decide.queue_group, "router-decide-group");
  EXPECT_TRUE(n.decide.reply_fallback);
  EXPECT_EQ(n.decide.min_payload_bytes, 10);
  EXPECT_EQ(n.decide.workers, 0);
  EXPECT_EQ(n.assignments.subject, "caf.exec.assign.v1");
  EXPECT_EQ(n.assignments.reply_mode, ReplyMode::kAfterPublish);
  EXPECT_EQ(n.assignments.publish_timeout_ms, 2000);
  EXPECT_EQ(n.assignments.deadline_multiplier, 5);
  EXPECT_EQ(n.assignments.deadline_min_ms, 5000);
  EXPECT_EQ(n.assignments.deadline_max_ms, 60000);
  EXPECT_TRUE(n.fanout.enabled);
  EXPECT_EQ(n.usage.subject, "beamline.usage.v1.metered");
  EXPECT_EQ(n.status.subject, "beamline.router.v1.status.backpressure");
  EXPECT_TRUE(n.dlq.enabled);
  EXPECT_TRUE(n.dlq.include_payload);
  EXPECT_EQ(n.dlq.decide_rate_per_s, 100);
  EXPECT_TRUE(n.assignment_lookup.enabled);

  const JetStreamConfig& js = n.jetstream;
  EXPECT_TRUE(js.enabled);
  EXPECT_TRUE(js.manage_streams);
  EXPECT_EQ(js.api_timeout_ms, 5000);
  EXPECT_EQ(js.replicas, 1);
  EXPECT_EQ(js.publish.max_outstanding, 4096);
  EXPECT_EQ(js.publish.pub_ack_timeout_ms, 5000);
  EXPECT_EQ(js.publish.max_attempts, 5);
  EXPECT_EQ(js.publish.retry_base_ms, 100);
  EXPECT_EQ(js.publish.retry_max_ms, 2000);
  EXPECT_EQ(js.outbox.capacity, 10000);
  EXPECT_EQ(js.outbox.max_age_ms, 60000);
  EXPECT_EQ(js.outbox.retain_after_ack_ms, 1000);

  using Subjects = std::vector<std::string>;
  EXPECT_EQ(js.streams.assignments.name, "CAF_ASSIGNMENTS");
  EXPECT_EQ(js.streams.assignments.subjects, Subjects{"caf.exec.assign.v1"});
  EXPECT_EQ(js.streams.assignments.max_age_s, 3600);
  EXPECT_EQ(js.streams.assignments.max_bytes, 1LL << 30);
  EXPECT_EQ(js.streams.results.name, "CAF_RESULTS");
  EXPECT_EQ(js.streams.results.subjects, Subjects{"caf.exec.result.v1"});
  EXPECT_EQ(js.streams.results.max_age_s, 86400);
  EXPECT_EQ(js.streams.acks.name, "CAF_ACKS");
  EXPECT_EQ(js.streams.acks.subjects, Subjects{"caf.exec.assign.v1.ack"});
  EXPECT_EQ(js.streams.acks.max_bytes, 256LL << 20);
  EXPECT_EQ(js.streams.usage.name, "BEAMLINE_USAGE");
  EXPECT_EQ(js.streams.usage.subjects, Subjects{"beamline.usage.v1.metered"});
  EXPECT_EQ(js.streams.usage.max_age_s, 604800);
  EXPECT_EQ(js.streams.usage.max_bytes, 4LL << 30);
  EXPECT_EQ(js.streams.usage.duplicate_window_s, 600);
  EXPECT_EQ(js.streams.dlq.name, "ROUTER_DLQ");
  EXPECT_EQ(js.streams.dlq.subjects,
            (Subjects{"beamline.router.v1.decide.dlq", "caf.exec.result.v1.dlq",
                      "caf.exec.assign.v1.ack.dlq"}));
  EXPECT_EQ(js.streams.dlq.max_age_s, 1209600);
  for (const StreamConfig* s :
       {&js.streams.assignments, &js.streams.results, &js.streams.acks, &js.streams.dlq}) {
    EXPECT_EQ(s->duplicate_window_s, 120) << s->name;
  }

  const ConsumerConfig& res = js.consumers.results;
  EXPECT_EQ(res.durable, "router-results");
  EXPECT_EQ(res.filter_subject, "caf.exec.result.v1");
  EXPECT_EQ(res.ack_wait_s, 30);
  EXPECT_EQ(res.max_deliver, 10);
  EXPECT_EQ(res.nak_delays_ms,
            (std::vector<int64_t>{1000, 2000, 5000, 10000, 20000, 30000, 60000, 60000, 60000}));
  EXPECT_EQ(res.max_ack_pending, 4096);
  EXPECT_EQ(res.fetch_batch, 128);
  EXPECT_EQ(res.fetch_expires_ms, 5000);
  EXPECT_EQ(res.max_inflight, 256);
  const ConsumerConfig& acks = js.consumers.acks;
  EXPECT_EQ(acks.durable, "router-acks");
  EXPECT_EQ(acks.filter_subject, "caf.exec.assign.v1.ack");
  EXPECT_EQ(acks.max_deliver, 5);
  EXPECT_EQ(acks.nak_delays_ms, (std::vector<int64_t>{1000, 5000, 15000, 30000}));
  EXPECT_EQ(acks.max_inflight, 64);
}

// Every key of §2 can be set (each would be reported as unknown otherwise).
TEST_F(ConfigLoaderTest, EveryKeyIsKnown) {
  Write("certs/server.crt", "x");
  Write("certs/server.key", "x");
  Write("certs/ca.crt", "x");
  Write("fixtures/README", "x");
  auto r = LoadText(R"(
data_dir = "d"
node_id = "n1"
[server]
grpc_listen = "127.0.0.1:0"
http_listen = "127.0.0.1:0"
worker_threads = 0
grpc_max_message_bytes = 2048
grpc_max_concurrent_streams = 10
grpc_reflection = false
shutdown_delay_ms = 1
shutdown_grace_ms = 2
tls = { enabled = true, cert_file = "certs/server.crt", key_file = "certs/server.key", client_ca_file = "certs/ca.crt" }
[log]
level = "warn"
output = "file"
file = "router.log"
queue_capacity = 1
max_record_bytes = 2
rate_limit_burst = 3
rate_limit_interval_ms = 4
redact_keys = ["x_secret"]
[metrics]
enabled = false
max_series_per_metric = 1
tenant_labels = "allowlist"
max_tenant_label_values = 2
tenant_label_allowlist = ["acme"]
process_metrics = false
[tracing]
otlp_endpoint = "https://collector:4318"
otlp_headers = { authorization = "Bearer x" }
otlp_timeout_ms = 1
otlp_compression = "gzip"
sample_ratio = 1
parent_based = false
export_unsampled_errors = false
internal_spans = false
batch_max_spans = 1
batch_interval_ms = 2
queue_max_spans = 3
service_name = "svc"
resource_attributes = { "deployment.environment" = "test" }
[health]
stall_threshold_ms = 1
[admin]
enabled = false
audit_retention_days = 0
[[admin.keys]]
principal = "p"
key = "key-0123456789"
grants = [{ tenant = "acme", role = "viewer" }]
[checkpoint]
current_cp = "CP3"
cp2_plus_allowed = false
[tenants]
allowlist = ["acme"]
[decide]
rng_seed = 42
max_context_entries = 1
max_context_key_bytes = 2
max_context_value_bytes = 3
[policy_store]
backend = "sqlite"
sqlite_path = "p.db"
postgres_dsn = ""
fixtures_dir = "fixtures"
load_fixtures = false
max_policies_per_tenant = 1
busy_timeout_ms = 0
poll_interval_ms = 0
integrity_check = "full"
[rate_limit]
max_buckets = 1
[rate_limit.tenant]
enabled = true
requests_per_second = 0.5
burst = 1
overrides = { acme = { requests_per_second = 2, burst = 3 } }
[circuit_breaker]
max_entries = 1
[stats]
ewma_alpha = 1.0
min_samples = 1
max_age_s = 1
[sticky]
max_entries = 1
shards = 1
[idempotency]
ttl_s = 1
max_entries = 1
scope = "replica"
[correlation]
ttl_s = 1
max_entries = 1
[backpressure]
enabled = false
inflight_overload = 1
latency_overload_ms = 10000
queue_overload = 1
retry_after_ms = 1
[[extensions.registry]]
id = "pii"
type = "validator"
subject = "beamline.ext.pii"
timeout_ms = 1
retry = 2
enabled = false
max_payload_bytes = 3
max_metadata_bytes = 4
[nats]
url = "nats://a:4222, tls://b:4222"
name = "r"
connect_timeout_ms = 1
reconnect_base_ms = 1
reconnect_max_ms = 1
ping_interval_ms = 1
max_pings_out = 1
readiness_grace_ms = 1
drain_timeout_ms = 1
max_payload_bytes = 1
auth = { creds_file = "", nkey_seed_file = "", user = "u", password = "pw", token = "" }
tls = { enabled = false, verify = false, server_name = "sni", ca_file = "certs/ca.crt", cert_file = "certs/server.crt", key_file = "certs/server.key" }
decide = { enabled = false, subject = "d.s", queue_group = "g", reply_fallback = false, min_payload_bytes = 0, workers = 2 }
assignments = { enabled = false, subject = "a.s", allowed_tenants = ["acme"], reply_mode = "immediate", publish_timeout_ms = 100, deadline_multiplier = 1, deadline_min_ms = 1, deadline_max_ms = 1 }
fanout = { enabled = false }
usage = { subject = "u.s" }
status = { subject = "st.*" }
dlq = { enabled = false, include_payload = false, decide_rate_per_s = 1 }
assignment_lookup = { enabled = false }
[nats.jetstream]
enabled = true
manage_streams = false
domain = "hub"
api_timeout_ms = 1
replicas = 3
publish = { max_outstanding = 1, pub_ack_timeout_ms = 1, max_attempts = 1, retry_base_ms = 1, retry_max_ms = 1 }
outbox = { capacity = 1, max_age_ms = 1000, retain_after_ack_ms = 0 }
[nats.jetstream.streams.assignments]
name = "A"
subjects = ["a.s", "a.extra"]
max_age_s = 10
max_bytes = 10
duplicate_window_s = 5
[nats.jetstream.streams.results]
name = "R"
[nats.jetstream.streams.acks]
name = "K"
[nats.jetstream.streams.usage]
name = "U"
[nats.jetstream.streams.dlq]
name = "D"
[nats.jetstream.consumers.results]
durable = "dr"
filter_subject = "r.s"
ack_wait_s = 1
max_deliver = 2
nak_delays_ms = [5]
max_ack_pending = 1
fetch_batch = 1
fetch_expires_ms = 1
max_inflight = 1
[nats.jetstream.consumers.acks]
durable = "da"
filter_subject = "k.s"
)");
  ASSERT_TRUE(r.ok()) << r.status().message();
  const Config& c = *r;
  EXPECT_EQ(c.data_dir, (dir_ / "d").string());
  EXPECT_EQ(c.node_id, "n1");
  EXPECT_EQ(c.server.grpc_max_message_bytes, 2048);
  EXPECT_EQ(c.server.tls.cert_file, (dir_ / "certs/server.crt").string());
  EXPECT_EQ(c.log.level, LogLevel::kWarn);
  EXPECT_EQ(c.log.file, (dir_ / "router.log").string());
  EXPECT_EQ(c.metrics.tenant_labels, TenantLabels::kAllowlist);
  EXPECT_EQ(c.tracing.otlp_headers.at("authorization"), "Bearer x");
  EXPECT_DOUBLE_EQ(c.tracing.sample_ratio, 1.0);
  EXPECT_EQ(c.tracing.resource_attributes.at("deployment.environment"), "test");
  ASSERT_EQ(c.admin.keys.size(), 1u);
  EXPECT_EQ(c.admin.keys[0].key_sha256, Sha256Hex("key-0123456789"));
  EXPECT_EQ(c.admin.keys[0].grants[0].role, AdminRole::kViewer);
  EXPECT_EQ(c.decide.rng_seed, 42);
  EXPECT_EQ(c.policy_store.sqlite_path, (dir_ / "p.db").string());
  EXPECT_EQ(c.policy_store.integrity_check, IntegrityCheck::kFull);
  EXPECT_DOUBLE_EQ(c.rate_limit.tenant.overrides.at("acme").requests_per_second, 2);
  EXPECT_EQ(c.rate_limit.tenant.overrides.at("acme").burst, 3);
  ASSERT_EQ(c.extensions.registry.size(), 1u);
  EXPECT_EQ(c.extensions.registry[0].type, ExtensionType::kValidator);
  EXPECT_TRUE(c.nats.tls.enabled);  // tls:// implies enabled
  EXPECT_EQ(c.nats.assignments.reply_mode, ReplyMode::kImmediate);
  EXPECT_EQ(c.nats.jetstream.streams.assignments.subjects,
            (std::vector<std::string>{"a.s", "a.extra"}));
  EXPECT_TRUE(c.nats.jetstream.streams.assignments.subjects_configured);
  EXPECT_EQ(c.nats.jetstream.streams.results.subjects, std::vector<std::string>{"r.s"});
  EXPECT_EQ(c.nats.jetstream.streams.dlq.subjects,
            (std::vector<std::string>{"d.s.dlq", "r.s.dlq", "k.s.dlq"}));
  EXPECT_EQ(c.nats.jetstream.consumers.acks.ack_wait_s, 30);  // unset keys keep defaults
}

// §3: every environment override.
TEST_F(ConfigLoaderTest, EveryEnvironmentVariable) {
  std::string file = Write("env.toml", "node_id = \"from-file\"\n");
  options_.environment = {
      {"BEAMLINE_ROUTER_CONFIG", file},
      {"BEAMLINE_ROUTER_ADMIN_API_KEY", "env-admin-key-0123456789"},
      {"BEAMLINE_ROUTER_NATS_URL", "nats://n:4222"},
      {"BEAMLINE_ROUTER_GRPC_LISTEN", "127.0.0.1:7000"},
      {"BEAMLINE_ROUTER_HTTP_LISTEN", "127.0.0.1:7001"},
      {"BEAMLINE_ROUTER_DATA_DIR", "envdata"},
      {"BEAMLINE_ROUTER_LOG_LEVEL", "debug"},
  };
  auto r = LoadConfig(options_);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->config_file, file);
  EXPECT_EQ(r->node_id, "from-file");
  EXPECT_EQ(r->nats.url, "nats://n:4222");
  EXPECT_EQ(r->server.grpc_listen, "127.0.0.1:7000");
  EXPECT_EQ(r->server.http_listen, "127.0.0.1:7001");
  EXPECT_EQ(r->data_dir, (dir_ / "envdata").string());
  EXPECT_EQ(r->policy_store.sqlite_path, (dir_ / "envdata" / "policies.db").string());
  EXPECT_EQ(r->log.level, LogLevel::kDebug);
  ASSERT_EQ(r->admin.keys.size(), 1u);
  const AdminKeyConfig& admin = r->admin.keys[0];
  EXPECT_EQ(admin.principal, "admin");
  EXPECT_EQ(admin.key_sha256, Sha256Hex("env-admin-key-0123456789"));
  ASSERT_EQ(admin.grants.size(), 1u);
  EXPECT_EQ(admin.grants[0].tenant, "*");
  EXPECT_EQ(admin.grants[0].role, AdminRole::kAdmin);
  EXPECT_TRUE(admin.from_environment);
}

// §3: any other BEAMLINE_ROUTER_* variable is an error; generic variables are not read.
TEST_F(ConfigLoaderTest, UnknownEnvironmentVariable) {
  options_.environment = {{"BEAMLINE_ROUTER_NATS_UR", "x"},
                          {"BEAMLINE_ROUTER_SOMETHING", "y"},
                          {"NATS_URL", "nats://ignored:4222"},
                          {"GRPC_PORT", "1"},
                          {"OTEL_EXPORTER_OTLP_ENDPOINT", "http://x"}};
  auto r = LoadConfig(options_);
  EXPECT_EQ(Lines(r), (std::vector<std::string>{
                          "BEAMLINE_ROUTER_NATS_UR: unknown environment variable (did you mean "
                          "\"BEAMLINE_ROUTER_NATS_URL\"?)",
                          "BEAMLINE_ROUTER_SOMETHING: unknown environment variable"}));
  options_.environment = {{"NATS_URL", "nats://ignored:4222"}, {"GRPC_PORT", "1"}};
  auto ok = LoadConfig(options_);
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(ok->nats.url, "");
  EXPECT_EQ(ok->server.grpc_listen, "0.0.0.0:9000");
}

// §3: an empty value is a value: an empty NATS URL turns NATS off.
TEST_F(ConfigLoaderTest, EmptyEnvironmentNatsUrlTurnsNatsOff) {
  options_.environment = {{"BEAMLINE_ROUTER_NATS_URL", ""}};
  auto r = LoadText("[nats]\nurl = \"nats://127.0.0.1:4222\"\n");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_FALSE(r->nats.Enabled());
}

// §1: defaults < file < environment < CLI, for each overridable key.
TEST_F(ConfigLoaderTest, Precedence) {
  const std::string text = R"(
data_dir = "filedata"
[server]
grpc_listen = "127.0.0.1:1000"
http_listen = "127.0.0.1:1001"
[log]
level = "warn"
[nats]
url = "nats://file:4222"
)";
  auto file_only = LoadText(text);
  ASSERT_TRUE(file_only.ok()) << file_only.status();
  EXPECT_EQ(file_only->server.grpc_listen, "127.0.0.1:1000");
  EXPECT_EQ(file_only->log.level, LogLevel::kWarn);
  EXPECT_EQ(file_only->nats.url, "nats://file:4222");

  options_.environment = {{"BEAMLINE_ROUTER_GRPC_LISTEN", "127.0.0.1:2000"},
                          {"BEAMLINE_ROUTER_HTTP_LISTEN", "127.0.0.1:2001"},
                          {"BEAMLINE_ROUTER_DATA_DIR", "envdata"},
                          {"BEAMLINE_ROUTER_LOG_LEVEL", "error"},
                          {"BEAMLINE_ROUTER_NATS_URL", "nats://env:4222"}};
  auto env = LoadText(text);
  ASSERT_TRUE(env.ok()) << env.status();
  EXPECT_EQ(env->server.grpc_listen, "127.0.0.1:2000");
  EXPECT_EQ(env->server.http_listen, "127.0.0.1:2001");
  EXPECT_EQ(env->data_dir, (dir_ / "envdata").string());
  EXPECT_EQ(env->log.level, LogLevel::kError);
  EXPECT_EQ(env->nats.url, "nats://env:4222");

  options_.overrides.grpc_listen = "127.0.0.1:3000";
  options_.overrides.http_listen = "127.0.0.1:3001";
  options_.overrides.data_dir = "clidata";
  options_.overrides.log_level = "debug";
  options_.overrides.nats_url = "nats://cli:4222";
  auto cli = LoadText(text);
  ASSERT_TRUE(cli.ok()) << cli.status();
  EXPECT_EQ(cli->server.grpc_listen, "127.0.0.1:3000");
  EXPECT_EQ(cli->server.http_listen, "127.0.0.1:3001");
  EXPECT_EQ(cli->data_dir, (dir_ / "clidata").string());
  EXPECT_EQ(cli->log.level, LogLevel::kDebug);
  EXPECT_EQ(cli->nats.url, "nats://cli:4222");
}

// An invalid environment value that the CLI overrides is not an error; a bad winning value
// names its source.
TEST_F(ConfigLoaderTest, OnlyTheWinningOverrideIsValidated) {
  options_.environment = {{"BEAMLINE_ROUTER_LOG_LEVEL", "verbose"}};
  options_.overrides.log_level = "info";
  EXPECT_TRUE(LoadConfig(options_).ok());
  options_.overrides.log_level.reset();
  EXPECT_EQ(Lines(LoadConfig(options_)),
            std::vector<std::string>{
                "log.level: must be one of \"error\", \"warn\", \"info\", \"debug\" (got "
                "\"verbose\") (from BEAMLINE_ROUTER_LOG_LEVEL)"});
  options_.environment.clear();
  options_.overrides.grpc_listen = "nope";
  EXPECT_EQ(Lines(LoadConfig(options_)),
            std::vector<std::string>{"server.grpc_listen: must be host:port (IPv6 in brackets), "
                                     "got \"nope\" (from --grpc-listen)"});
}

TEST_F(ConfigLoaderTest, ConfigPathFromEnvironmentUnlessFlag) {
  std::string a = Write("a.toml", "node_id = \"a\"\n");
  std::string b = Write("b.toml", "node_id = \"b\"\n");
  options_.environment = {{"BEAMLINE_ROUTER_CONFIG", a}};
  EXPECT_EQ(LoadConfig(options_)->node_id, "a");
  options_.config_path = b;
  EXPECT_EQ(LoadConfig(options_)->node_id, "b");
  options_.config_path = "b.toml";  // relative to the working directory
  EXPECT_EQ(LoadConfig(options_)->config_file, b);
}

// §1: relative paths in the file resolve against the file's directory; from the environment
// or CLI against the working directory.
TEST_F(ConfigLoaderTest, RelativePaths) {
  std::string file = Write("etc/router/r.toml", "data_dir = \"state\"\n");
  options_.config_path = file;
  auto from_file = LoadConfig(options_);
  ASSERT_TRUE(from_file.ok()) << from_file.status();
  EXPECT_EQ(from_file->data_dir, (dir_ / "etc/router/state").string());
  EXPECT_EQ(from_file->config_dir, (dir_ / "etc/router").string());
  options_.overrides.data_dir = "cli/state";
  EXPECT_EQ(LoadConfig(options_)->data_dir, (dir_ / "cli/state").string());
  options_.overrides.data_dir = "/abs/state";
  options_.check_files = false;
  EXPECT_EQ(LoadConfig(options_)->data_dir, "/abs/state");
}

// §5 rule 2, the spec's own example.
TEST_F(ConfigLoaderTest, UnknownKeyWithHint) {
  EXPECT_EQ(Lines(LoadText("[nats.jetstream.consumers.results]\nack_wiat_s = 30\n")),
            std::vector<std::string>{"nats.jetstream.consumers.results.ack_wiat_s: unknown key "
                                     "(did you mean \"ack_wait_s\"?)"});
}

TEST_F(ConfigLoaderTest, UnknownTablesAndKeysAtAnyDepth) {
  EXPECT_EQ(Lines(LoadText(R"(
data_dri = "x"
colour = 1
[sever]
grpc_listen = "127.0.0.1:1"
[nats.jetstream.consumer.results]
ack_wait_s = 1
[nats.jetstream.streams.usages]
max_age_s = 1
[server.tls]
enable = true
[[admin.keys]]
principal = "p"
key = "key-0123456789"
grants = [{ tenant = "*", role = "admin", rol = "x" }]
)")),
            (std::vector<std::string>{
                "server.tls.enable: unknown key (did you mean \"enabled\"?)",
                "admin.keys[0].grants[0].rol: unknown key (did you mean \"role\"?)",
                "nats.jetstream.streams.usages: unknown table (did you mean \"usage\"?)",
                "nats.jetstream.consumer: unknown table (did you mean \"consumers\"?)",
                "colour: unknown key",
                "data_dri: unknown key (did you mean \"data_dir\"?)",
                "sever: unknown table (did you mean \"server\"?)",
            }));
}

// §5 rule 2: wrong types.
TEST_F(ConfigLoaderTest, WrongTypes) {
  EXPECT_EQ(Lines(LoadText(R"(
node_id = 7
[server]
grpc_listen = 9000
grpc_reflection = "yes"
shutdown_grace_ms = 1.5
[tracing]
sample_ratio = "all"
resource_attributes = { "deployment.environment" = 1 }
[tenants]
allowlist = ["a", 2]
[nats]
jetstream = 3
)")),
            (std::vector<std::string>{
                "node_id: expected string, got integer",
                "server.grpc_listen: expected string, got integer",
                "server.grpc_reflection: expected boolean, got string",
                "server.shutdown_grace_ms: expected integer, got float",
                "tracing.sample_ratio: expected float, got string",
                "tracing.resource_attributes.\"deployment.environment\": expected string, got "
                "integer",
                "tenants.allowlist[1]: expected string, got integer",
                "nats.jetstream: expected table, got integer",
            }));
}

// §5 rule 1: syntax errors with line and column; nothing else is reported about the file.
TEST_F(ConfigLoaderTest, SyntaxErrorHasLineAndColumn) {
  auto r = LoadText("node_id = \"a\"\n[server\n");
  std::vector<std::string> lines = Lines(r);
  ASSERT_EQ(lines.size(), 1u) << r.status();
  EXPECT_EQ(lines[0].rfind((dir_ / "router.toml").string() + ":2:", 0), 0u) << lines[0];
}

TEST_F(ConfigLoaderTest, MissingFile) {
  options_.config_path = (dir_ / "nope.toml").string();
  EXPECT_EQ(Lines(LoadConfig(options_)),
            std::vector<std::string>{(dir_ / "nope.toml").string() +
                                     ": cannot read config file: No such file or directory"});
}

TEST_F(ConfigLoaderTest, DirectoryIsNotAConfigFile) {
  options_.config_path = dir_.string();
  EXPECT_EQ(Lines(LoadConfig(options_)),
            std::vector<std::string>{dir_.string() + ": cannot read config file: Is a directory"});
}

TEST_F(ConfigLoaderTest, EmptyFileMeansDefaults) { ExpectOk(""); }

// §5: every problem collected, one line each.
TEST_F(ConfigLoaderTest, AllProblemsAreCollected) {
  EXPECT_EQ(Lines(LoadText(R"(
[log]
level = "loud"
queue_capacity = 0
[sticky]
shards = 3
[policy_store]
backend = "postgres"
)")),
            (std::vector<std::string>{
                "log.level: must be one of \"error\", \"warn\", \"info\", \"debug\" (got "
                "\"loud\")",
                "log.queue_capacity: must be >= 1",
                "policy_store.backend: postgres backend not supported in this version",
                "sticky.shards: must be a power of two",
            }));
}

// §5 rule 2 and 10: ranges and enums.
TEST_F(ConfigLoaderTest, Ranges) {
  ExpectError("[backpressure]\nlatency_overload_ms = 10001\n",
              "backpressure.latency_overload_ms: must be between 1 and 10000");
  ExpectOk("[backpressure]\nlatency_overload_ms = 10000\n");
  ExpectError("[stats]\newma_alpha = 0.0\n", "stats.ewma_alpha: must be in (0, 1]");
  ExpectOk("[stats]\newma_alpha = 1\n");
  ExpectError("[tracing]\nsample_ratio = 1.5\n", "tracing.sample_ratio: must be between 0 and 1");
  ExpectError("[tracing]\nsample_ratio = nan\n", "tracing.sample_ratio: must be between 0 and 1");
  ExpectError("[sticky]\nshards = 0\n", "sticky.shards: must be a power of two");
  ExpectOk("[sticky]\nshards = 1024\n");
  ExpectError("[server]\nworker_threads = 4\n",
              "server.worker_threads: must be 0 (gRPC sizes its own thread pool in this version)");
  ExpectError("[decide]\nmax_context_entries = 0\n", "decide.max_context_entries: must be >= 1");
  ExpectError("[rate_limit.tenant]\nrequests_per_second = 0\n",
              "rate_limit.tenant.requests_per_second: must be a finite number > 0");
  ExpectError("[rate_limit.tenant]\noverrides = { acme = { burst = 1 } }\n",
              "rate_limit.tenant.overrides.acme.requests_per_second: required");
  ExpectError(
      "[rate_limit.tenant]\noverrides = { \"a b\" = { burst = 1, requests_per_second = 1 } }\n",
      "rate_limit.tenant.overrides.\"a b\": tenant must match ^[A-Za-z0-9_.-]{1,255}$ "
      "(not \".\" or \"..\")");
  ExpectError("[idempotency]\nscope = \"cluster\"\n",
              "idempotency.scope: cluster scope not supported in this version");
  ExpectError("[nats.jetstream]\nreplicas = 6\n",
              "nats.jetstream.replicas: must be between 1 and 5");
  ExpectError("[tenants]\nallowlist = [\"..\"]\n",
              "tenants.allowlist[0]: must match ^[A-Za-z0-9_.-]{1,255}$ (not \".\" or \"..\")");
  ExpectError("[log]\noutput = \"file\"\n", "log.file: required when log.output is \"file\"");
  ExpectError("[metrics]\ntenant_labels = \"some\"\n",
              "metrics.tenant_labels: must be one of \"capped\", \"allowlist\", \"off\" (got "
              "\"some\")");
}

// §5 rule 8.
TEST_F(ConfigLoaderTest, AssignmentReplyRules) {
  ExpectError("[nats.assignments]\nreply_mode = \"later\"\n",
              "nats.assignments.reply_mode: must be one of \"after_publish\", \"immediate\" (got "
              "\"later\")");
  ExpectError("[nats.assignments]\npublish_timeout_ms = 99\n",
              "nats.assignments.publish_timeout_ms: must be between 100 and 60000");
  ExpectError("[nats.assignments]\npublish_timeout_ms = 60001\n",
              "nats.assignments.publish_timeout_ms: must be between 100 and 60000");
  ExpectError(
      "[nats.assignments]\npublish_timeout_ms = 3000\n[nats.jetstream.outbox]\nmax_age_ms = 2000\n",
      "nats.assignments.publish_timeout_ms: must not exceed "
      "nats.jetstream.outbox.max_age_ms (2000)");
}

// §5 rule 9.
TEST_F(ConfigLoaderTest, ConsumerRules) {
  const std::string p = "nats.jetstream.consumers.results.";
  ExpectError("[nats.jetstream.consumers.results]\nack_wait_s = 0\n",
              p + "ack_wait_s: must be >= 1");
  ExpectError("[nats.jetstream.consumers.results]\nmax_deliver = 1\nnak_delays_ms = [1]\n",
              p + "max_deliver: must be >= 2");
  ExpectError("[nats.jetstream.consumers.results]\nnak_delays_ms = []\n",
              p + "nak_delays_ms: must not be empty");
  ExpectError("[nats.jetstream.consumers.results]\nnak_delays_ms = [1, 0]\n",
              p + "nak_delays_ms[1]: must be > 0");
  ExpectError("[nats.jetstream.consumers.acks]\nmax_deliver = 3\n",
              "nats.jetstream.consumers.acks.nak_delays_ms: at most max_deliver - 1 (2) entries");
  ExpectError("[nats.jetstream.consumers.results]\nfetch_batch = 10\nmax_ack_pending = 5\n",
              p + "fetch_batch: must not exceed max_ack_pending (5)");
}

// §5 rule 3: host:port, IPv6 in brackets.
TEST(HostPortTest, Syntax) {
  using internal::CheckHostPort;
  std::string host;
  int port = -1;
  EXPECT_EQ(CheckHostPort("127.0.0.1:0", &host, &port), "");
  EXPECT_EQ(host, "127.0.0.1");
  EXPECT_EQ(port, 0);
  EXPECT_EQ(CheckHostPort("[::1]:9000", &host, &port), "");
  EXPECT_EQ(host, "::1");
  EXPECT_EQ(port, 9000);
  EXPECT_EQ(CheckHostPort("[::]:65535"), "");
  EXPECT_EQ(CheckHostPort("[fe80::1%eth0]:1"), "");
  EXPECT_EQ(CheckHostPort("localhost:80"), "");
  EXPECT_EQ(CheckHostPort("router-a1.svc_local:80"), "");
  EXPECT_EQ(CheckHostPort("::1:9000"),
            "IPv6 addresses must be in brackets, e.g. \"[::1]:9000\", got \"::1:9000\"");
  for (const char* bad : {"host", "host:", ":9000", "host:65536", "host:-1", "host:9x", "[::1]9000",
                          "[::1]", "[zz]:1", "[]:1", "999.1.1.1:80", "a b:1", "host:123456", ""}) {
    EXPECT_EQ(CheckHostPort(bad),
              "must be host:port (IPv6 in brackets), got \"" + std::string(bad) + "\"")
        << bad;
  }
}

// §5 rule 3: gRPC and HTTP addresses differ unless a port is 0.
TEST_F(ConfigLoaderTest, GrpcAndHttpAddressesDiffer) {
  const std::string want =
      "server.http_listen: must differ from server.grpc_listen (127.0.0.1:9000) unless a port "
      "is 0";
  ExpectError("[server]\ngrpc_listen = \"127.0.0.1:9000\"\nhttp_listen = \"127.0.0.1:9000\"\n",
              want);
  ExpectError("[server]\ngrpc_listen = \"0.0.0.0:9000\"\nhttp_listen = \"127.0.0.1:9000\"\n",
              "server.http_listen: must differ from server.grpc_listen (0.0.0.0:9000) unless a "
              "port is 0");
  ExpectOk("[server]\ngrpc_listen = \"127.0.0.1:0\"\nhttp_listen = \"127.0.0.1:0\"\n");
  ExpectOk("[server]\ngrpc_listen = \"127.0.0.1:9000\"\nhttp_listen = \"127.0.0.2:9000\"\n");
  ExpectOk("[server]\ngrpc_listen = \"[::1]:9000\"\nhttp_listen = \"[::1]:9001\"\n");
  ExpectError("[server]\ngrpc_listen = \"[::1]:9000\"\nhttp_listen = \"[::1]:9000\"\n",
              "server.http_listen: must differ from server.grpc_listen ([::1]:9000) unless a port "
              "is 0");
}

// §5 rule 3: data_dir exists or can be created and is writable; nothing is written.
TEST_F(ConfigLoaderTest, DataDirIsCheckedNotCreated) {
  options_.overrides.data_dir = "a/b/c";
  ASSERT_TRUE(LoadConfig(options_).ok());
  EXPECT_FALSE(fs::exists(dir_ / "a"));
  Write("plainfile", "x");
  options_.overrides.data_dir = "plainfile";
  EXPECT_EQ(Lines(LoadConfig(options_)),
            std::vector<std::string>{"data_dir: \"" + (dir_ / "plainfile").string() +
                                     "\" is not a directory (from --data-dir)"});
  options_.overrides.data_dir = "plainfile/sub";
  EXPECT_EQ(Lines(LoadConfig(options_)),
            std::vector<std::string>{"data_dir: \"" + (dir_ / "plainfile/sub").string() +
                                     "\" cannot be created: \"" + (dir_ / "plainfile").string() +
                                     "\" is not a directory (from --data-dir)"});
  options_.overrides.data_dir = "";
  EXPECT_EQ(Lines(LoadConfig(options_)),
            std::vector<std::string>{"data_dir: must not be empty (from --data-dir)"});
}

TEST_F(ConfigLoaderTest, PrepareDataDirCreatesWithMode0700) {
  std::string d = (dir_ / "x/y").string();
  EXPECT_TRUE(CheckDataDir(d, false).ok());
  EXPECT_FALSE(fs::exists(d));
  ASSERT_TRUE(CheckDataDir(d, true).ok());
  struct stat st {};
  ASSERT_EQ(stat(d.c_str(), &st), 0);
  EXPECT_TRUE(S_ISDIR(st.st_mode));
  EXPECT_EQ(st.st_mode & 0777, 0700u);
  EXPECT_TRUE(CheckDataDir(d, true).ok());  // idempotent
}

// §5 rule 11: [testing] only with --enable-testing-hooks; rule 10: decide_delay_ms <= 10000.
TEST_F(ConfigLoaderTest, TestingTableNeedsTheFlag) {
  EXPECT_EQ(Lines(LoadText("[testing]\ndecide_delay_ms = 50\n")),
            std::vector<std::string>{"testing.decide_delay_ms: requires --enable-testing-hooks"});
  ExpectOk("[testing]\n");  // no key, nothing to reject
  options_.enable_testing_hooks = true;
  auto r = LoadText("[testing]\ndecide_delay_ms = 50\n");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->testing.decide_delay_ms, 50);
  EXPECT_TRUE(r->testing_hooks_enabled);
  ExpectError("[testing]\ndecide_delay_ms = 10001\n",
              "testing.decide_delay_ms: must be between 0 and 10000");
}

// §5 rule 7 (nats-contracts.md §6.2): defaults 60 s + 26.8 s < 120 s.
TEST_F(ConfigLoaderTest, ExactlyOnceBound) {
  EXPECT_EQ(internal::RetryHorizonMs(JetStreamPublishConfig{}), 26800);
  ExpectOk("[nats.jetstream.outbox]\nmax_age_ms = 93199\n");  // 93199 + 26800 < 120000
  ExpectError("[nats.jetstream.outbox]\nmax_age_ms = 93200\n",
              "nats.jetstream.streams.assignments.duplicate_window_s: exactly-once bound "
              "violated: outbox.max_age_ms + retry horizon (93200 + 26800 ms) must be below "
              "duplicate_window_s x 1000 (120000 ms)");
  ExpectError("[nats.jetstream.streams.assignments]\nduplicate_window_s = 60\n",
              "nats.jetstream.streams.assignments.duplicate_window_s: exactly-once bound "
              "violated: outbox.max_age_ms + retry horizon (60000 + 26800 ms) must be below "
              "duplicate_window_s x 1000 (60000 ms)");
  JetStreamPublishConfig many;
  many.max_attempts = 1'000'000'000'000;  // closed form, no loop over attempts
  EXPECT_GT(internal::RetryHorizonMs(many), 0);
}

// §2: the usage duplicate window exceeds the results consumer's whole redelivery span.
TEST_F(ConfigLoaderTest, UsageDuplicateWindowCoversRedelivery) {
  EXPECT_EQ(internal::RedeliverySpanMs(ConsumersConfig{}.results),
            572800);  // 10 x 30 s + 248 s x 1.1
  ExpectError("[nats.jetstream.streams.usage]\nduplicate_window_s = 570\n",
              "nats.jetstream.streams.usage.duplicate_window_s: must exceed the results "
              "consumer's redelivery span (572800 ms = max_deliver x ack_wait + NAK delays at "
              "+10 %)");
  ExpectOk("[nats.jetstream.streams.usage]\nduplicate_window_s = 573\n");
}

// §5 rule 6: subjects.
TEST_F(ConfigLoaderTest, Subjects) {
  ExpectError("[nats.assignments]\nsubject = \"caf.exec.*\"\n",
              "nats.assignments.subject: must not contain wildcards (the router publishes to it)");
  ExpectError("[nats.usage]\nsubject = \"a..b\"\n",
              "nats.usage.subject: invalid NATS subject \"a..b\"");
  ExpectError("[nats.decide]\nsubject = \"a b\"\n",
              "nats.decide.subject: invalid NATS subject \"a b\"");
  ExpectOk("[nats.status]\nsubject = \"beamline.router.v1.status.>\"\n");
  // Overlap: `caf.exec.assign.v1.>` would capture the acks subject.
  ExpectError(
      "[nats.jetstream.streams.assignments]\nsubjects = [\"caf.exec.assign.v1\", "
      "\"caf.exec.assign.v1.>\"]\n",
      "nats.jetstream.streams.acks.subjects: \"caf.exec.assign.v1.ack\" overlaps "
      "\"caf.exec.assign.v1.>\" of nats.jetstream.streams.assignments");
  // Coverage of what the router publishes to or consumes from.
  ExpectError("[nats.jetstream.streams.assignments]\nsubjects = [\"other.subject\"]\n",
              "nats.jetstream.streams.assignments.subjects: must cover nats.assignments.subject "
              "\"caf.exec.assign.v1\"");
  ExpectError("[nats.jetstream.streams.dlq]\nsubjects = [\"beamline.router.v1.decide.dlq\"]\n",
              "nats.jetstream.streams.dlq.subjects: must cover the results DLQ subject "
              "\"caf.exec.result.v1.dlq\"");
  ExpectOk(
      "[nats.jetstream.streams.dlq]\nsubjects = [\"*.*.*.*.dlq\", "
      "\"caf.exec.assign.v1.ack.dlq\"]\n");
  // S1 must never be captured by a stream.
  ExpectError(
      "[nats.jetstream.streams.usage]\nsubjects = [\"beamline.usage.v1.metered\", "
      "\"beamline.router.v1.*\"]\n",
      "nats.decide.subject: captured by nats.jetstream.streams.usage "
      "(\"beamline.router.v1.*\"); the decide subject must not be stored");
  // Without JetStream the stream layout is not checked.
  ExpectOk(
      "[nats.jetstream]\nenabled = false\n[nats.jetstream.streams.assignments]\nsubjects = "
      "[\"other\"]\n");
}

TEST(SubjectTest, OverlapAndCover) {
  using internal::SubjectCovers;
  using internal::SubjectsOverlap;
  EXPECT_TRUE(SubjectsOverlap("a.b", "a.b"));
  EXPECT_TRUE(SubjectsOverlap("a.*", "a.b"));
  EXPECT_TRUE(SubjectsOverlap("a.>", "a.b.c"));
  EXPECT_FALSE(SubjectsOverlap("a.>", "a"));
  EXPECT_FALSE(SubjectsOverlap("a.b", "a.b.c"));
  EXPECT_FALSE(SubjectsOverlap("a.*", "b.*"));
  EXPECT_TRUE(SubjectsOverlap("*.b", "a.*"));
  EXPECT_TRUE(SubjectCovers("a.>", "a.b.c"));
  EXPECT_TRUE(SubjectCovers("a.*", "a.b"));
  EXPECT_TRUE(SubjectCovers("a.*", "a.*"));
  EXPECT_FALSE(SubjectCovers("a.*", "a.>"));
  EXPECT_FALSE(SubjectCovers("a.b", "a.*"));
  EXPECT_FALSE(SubjectCovers("a.>", "a"));
  EXPECT_TRUE(internal::IsValidSubject("a.>", true));
  EXPECT_FALSE(internal::IsValidSubject("a.>.b", true));
  EXPECT_FALSE(internal::IsValidSubject("a.b*", true));
  EXPECT_FALSE(internal::IsValidSubject("a.*", false));
}

// §5 rule 5.
TEST_F(ConfigLoaderTest, FilesAndCredentials) {
  ExpectError("[server.tls]\nenabled = true\n",
              "server.tls.cert_file: required when server.tls.enabled is true");
  ExpectError("[server.tls]\nenabled = true\ncert_file = \"missing.crt\"\nkey_file = \"k\"\n",
              "server.tls.cert_file: cannot read \"" + (dir_ / "missing.crt").string() +
                  "\": No such file or directory");
  ExpectError("[policy_store]\nfixtures_dir = \"nofix\"\n",
              "policy_store.fixtures_dir: cannot read \"" + (dir_ / "nofix").string() +
                  "\": No such file or directory");
  ExpectError("[nats.auth]\ntoken = \"t\"\nuser = \"u\"\n",
              "nats.auth: at most one authentication method (creds_file, nkey_seed_file, "
              "user/password or token)");
  ExpectError("[nats.auth]\npassword = \"p\"\n", "nats.auth.password: requires nats.auth.user");
  ExpectOk("[nats.auth]\nuser = \"u\"\npassword = \"p\"\n");
  ExpectError("[tracing]\notlp_endpoint = \"grpc://collector:4317\"\n",
              "tracing.otlp_endpoint: must be an http:// or https:// URL");
  ExpectError("[nats]\nurl = \"nats://a:4222,http://b:4222\"\n",
              "nats.url: server 2 must be a nats:// or tls:// URL with a host");
  ExpectError("[log]\noutput = \"file\"\nfile = \"nodir/router.log\"\n",
              "log.file: cannot create \"" + (dir_ / "nodir/router.log").string() +
                  "\": No such file or directory");
  ExpectOk("[log]\noutput = \"file\"\nfile = \"router.log\"\n");
  // check_files = false skips existence checks but not the other rules.
  options_.check_files = false;
  ExpectOk("[server.tls]\nenabled = true\ncert_file = \"missing.crt\"\nkey_file = \"k\"\n");
  ExpectError("[server.tls]\nenabled = true\n",
              "server.tls.cert_file: required when server.tls.enabled is true");
}

// §5 rule 4: admin principals.
TEST_F(ConfigLoaderTest, AdminPrincipalRules) {
  const std::string grants = "grants = [{ tenant = \"*\", role = \"admin\" }]\n";
  auto one = [&](const std::string& body) { return "[[admin.keys]]\n" + body; };
  ExpectError(one("principal = \"p\"\n" + grants),
              "admin.keys[0]: exactly one of key and key_sha256 is required");
  ExpectError(one("principal = \"p\"\nkey = \"key-0123456789\"\nkey_sha256 = \"" + Sha256Hex("x") +
                  "\"\n" + grants),
              "admin.keys[0]: exactly one of key and key_sha256 is required");
  ExpectError(one("principal = \"p\"\nkey = \"short\"\n" + grants),
              "admin.keys[0].key: must be 8-512 bytes of visible ASCII");
  ExpectError(one("principal = \"p\"\nkey = \"has a space\"\n" + grants),
              "admin.keys[0].key: must be 8-512 bytes of visible ASCII");
  ExpectError(one("principal = \"p\"\nkey_sha256 = \"ABC\"\n" + grants),
              "admin.keys[0].key_sha256: must be 64 lowercase hex digits (SHA-256 of the key)");
  ExpectError(one("principal = \"bad name\"\nkey = \"key-0123456789\"\n" + grants),
              "admin.keys[0].principal: must match ^[A-Za-z0-9_.-]{1,64}$");
  ExpectError(one("key = \"key-0123456789\"\n" + grants), "admin.keys[0].principal: required");
  ExpectError(one("principal = \"p\"\nkey = \"key-0123456789\"\n"),
              "admin.keys[0].grants: required");
  ExpectError(one("principal = \"p\"\nkey = \"key-0123456789\"\ngrants = []\n"),
              "admin.keys[0].grants: must not be empty");
  ExpectError(one("principal = \"p\"\nkey = \"key-0123456789\"\ngrants = [{ tenant = \"a b\", "
                  "role = \"admin\" }]\n"),
              "admin.keys[0].grants[0].tenant: must be \"*\" or match ^[A-Za-z0-9_.-]{1,255}$ "
              "(not \".\" or \"..\")");
  ExpectError(one("principal = \"p\"\nkey = \"key-0123456789\"\ngrants = [{ tenant = \"a\", "
                  "role = \"root\" }]\n"),
              "admin.keys[0].grants[0].role: must be one of \"admin\", \"operator\", \"viewer\" "
              "(got \"root\")");
  ExpectError(one("principal = \"p\"\nkey = \"key-0123456789\"\ngrants = [{ tenant = \"a\" }]\n"),
              "admin.keys[0].grants[0].role: required");
  // Unique principals and unique keys (a plaintext key and the digest of the same key collide).
  ExpectError(one("principal = \"p\"\nkey = \"key-0123456789\"\n" + grants) +
                  one("principal = \"p\"\nkey = \"other-0123456789\"\n" + grants),
              "admin.keys[1].principal: duplicate principal \"p\" (also admin.keys[0])");
  ExpectError(
      one("principal = \"p\"\nkey = \"key-0123456789\"\n" + grants) +
          one("principal = \"q\"\nkey_sha256 = \"" + Sha256Hex("key-0123456789") + "\"\n" + grants),
      "admin.keys[1]: same key as admin.keys[0] (principal \"p\"); keys must be unique");
  // Never echo a key.
  auto r = LoadText(one("principal = \"p\"\nkey = \"sec ret-0123\"\n" + grants));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(StdView(r.status().message()).find("sec ret"), std::string_view::npos);
}

// §3 / rule 4: BEAMLINE_ROUTER_ADMIN_API_KEY.
TEST_F(ConfigLoaderTest, EnvironmentAdminKey) {
  const std::string file_admin =
      "[[admin.keys]]\nprincipal = \"admin\"\nkey = \"file-key-0123456789\"\ngrants = [{ tenant "
      "= \"*\", role = \"viewer\" }]\n";
  options_.environment = {{"BEAMLINE_ROUTER_ADMIN_API_KEY", "env-key-0123456789"}};
  ExpectError(file_admin,
              "BEAMLINE_ROUTER_ADMIN_API_KEY: adds principal \"admin\", which admin.keys[0] "
              "already defines");
  const std::string same_key =
      "[[admin.keys]]\nprincipal = \"ops\"\nkey = \"env-key-0123456789\"\ngrants = [{ tenant = "
      "\"*\", role = \"viewer\" }]\n";
  ExpectError(same_key,
              "BEAMLINE_ROUTER_ADMIN_API_KEY: same key as admin.keys[0] (principal \"ops\"); keys "
              "must be unique");
  options_.environment = {{"BEAMLINE_ROUTER_ADMIN_API_KEY", "short"}};
  EXPECT_EQ(Lines(LoadConfig(options_)),
            std::vector<std::string>{
                "BEAMLINE_ROUTER_ADMIN_API_KEY: must be 8-512 bytes of visible ASCII"});
  options_.environment = {{"BEAMLINE_ROUTER_ADMIN_API_KEY", ""}};
  EXPECT_FALSE(LoadConfig(options_).ok());  // an empty value is a value, and not a valid key
}

// §6, §7 and config/local.toml: the shipped examples pass validation.
class ExampleFilesTest : public ConfigTestBase {
 protected:
  absl::StatusOr<Config> LoadExample(const std::string& name) {
    LoadOptions o = options_;
    o.config_path = std::string(ROUTER_SOURCE_DIR) + "/config/" + name;
    return LoadConfig(o);
  }
};

TEST_F(ExampleFilesTest, DevLoadsAndWritesNothing) {
  auto r = LoadExample("dev.toml");
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->node_id, "dev");
  EXPECT_EQ(r->data_dir, std::string(ROUTER_SOURCE_DIR) + "/config/.data");
  EXPECT_EQ(r->log.level, LogLevel::kDebug);
  EXPECT_DOUBLE_EQ(r->tracing.sample_ratio, 1.0);
  ASSERT_EQ(r->admin.keys.size(), 1u);
  EXPECT_EQ(r->admin.keys[0].key_sha256, Sha256Hex("dev-admin-key-0123456789"));
  EXPECT_EQ(r->nats.url, "nats://127.0.0.1:4222");
}

TEST_F(ExampleFilesTest, LocalForMakeRun) {
  auto r = LoadExample("local.toml");
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->data_dir, std::string(ROUTER_SOURCE_DIR) + "/.run/data");
  EXPECT_EQ(r->server.grpc_listen, "127.0.0.1:9000");
  EXPECT_EQ(r->server.http_listen, "127.0.0.1:9001");
  EXPECT_EQ(r->log.level, LogLevel::kInfo);
  ASSERT_EQ(r->admin.keys.size(), 1u);
  EXPECT_EQ(r->admin.keys[0].principal, "local");
  EXPECT_EQ(r->admin.keys[0].key_sha256, Sha256Hex("local-admin-key-0123456789"));
  EXPECT_EQ(r->admin.keys[0].grants[0].tenant, "*");
  EXPECT_EQ(r->admin.keys[0].grants[0].role, AdminRole::kAdmin);
  EXPECT_EQ(r->nats.url, "nats://127.0.0.1:4222");
}

// The production example names certificates that do not exist here: it passes every check
// but file existence (LoadOptions::check_files = false), and with the checks on it fails only
// on those files.
TEST_F(ExampleFilesTest, ProductionPassesEverythingButFileExistence) {
  options_.check_files = false;
  auto r = LoadExample("production.example.toml");
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->node_id, "router-a1");
  EXPECT_TRUE(r->server.tls.enabled);
  EXPECT_EQ(r->tracing.otlp_compression, OtlpCompression::kGzip);
  EXPECT_EQ(r->tracing.resource_attributes.at("deployment.environment"), "production");
  EXPECT_EQ(r->admin.audit_retention_days, 180);
  EXPECT_EQ(r->admin.keys.size(), 2u);
  EXPECT_EQ(r->tenants.allowlist, (std::vector<std::string>{"acme", "globex", "initech"}));
  EXPECT_FALSE(r->policy_store.load_fixtures);
  EXPECT_TRUE(r->rate_limit.tenant.enabled);
  EXPECT_EQ(r->rate_limit.tenant.overrides.at("acme").burst, 20000);
  EXPECT_EQ(r->backpressure.inflight_overload, 2000);
  EXPECT_TRUE(r->nats.tls.enabled);
  EXPECT_EQ(r->nats.readiness_grace_ms, 5000);
  EXPECT_EQ(r->nats.jetstream.replicas, 3);
  EXPECT_EQ(r->nats.jetstream.outbox.capacity, 50000);
  EXPECT_EQ(r->nats.jetstream.streams.usage.max_age_s, 2592000);
  EXPECT_EQ(r->nats.jetstream.streams.usage.duplicate_window_s, 600);

  options_.check_files = true;
  auto strict = LoadExample("production.example.toml");
  std::vector<std::string> lines = Lines(strict);
  for (const std::string& line : lines) {
    if (line.rfind("data_dir:", 0) == 0) continue;  // /var/lib may not be writable here
    EXPECT_NE(line.find("\"/etc/beamline-router/"), std::string::npos) << line;
  }
}

}  // namespace
}  // namespace router::config
