#pragma once
// Config: the one validated configuration value of beamline-router (configuration.md §2).
//
// Plain structs mirroring the TOML tables; every member carries the spec default, so a
// default-constructed Config is the "no file" configuration except for the three values the
// loader fills from the environment of the process (`node_id` = host name, `data_dir` resolved
// against the working directory, derived stream subjects). Build one with LoadConfig()
// (config/config_loader.h); never mutate a Config that other threads read.
//
// Conventions: every integer is int64_t (durations carry their unit in the name, sizes are
// bytes); paths are absolute after loading (file values resolved against the file's directory,
// environment/CLI values and defaults against the working directory); an empty path means
// "not set". Secrets (admin keys, nats.auth.password / token, tracing.otlp_headers values) are
// never logged; admin keys are kept only as their SHA-256 digest.
// Thread-safety: a value type; immutable once loaded, then safe to share between threads.

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace router::config {

// ------------------------------------------------------------------ enums (spelled in §2)
enum class LogLevel { kError, kWarn, kInfo, kDebug };
enum class LogOutput { kStdout, kStderr, kFile };
enum class TenantLabels { kCapped, kAllowlist, kOff };
enum class OtlpCompression { kNone, kGzip };
enum class StoreBackend { kSqlite, kPostgres };  // kPostgres is rejected by validation
enum class IntegrityCheck { kQuick, kFull, kOff };
enum class IdempotencyScope { kReplica, kCluster };  // kCluster is rejected by validation
enum class ReplyMode { kAfterPublish, kImmediate };
enum class ExtensionType { kPre, kValidator, kPost };
// Admin roles (grpc-api.md §5.4); admin > operator > viewer.
enum class AdminRole { kViewer, kOperator, kAdmin };

// The TOML spelling of each enum value ("info", "after_publish", ...).
const char* ToString(LogLevel v);
const char* ToString(LogOutput v);
const char* ToString(TenantLabels v);
const char* ToString(OtlpCompression v);
const char* ToString(StoreBackend v);
const char* ToString(IntegrityCheck v);
const char* ToString(IdempotencyScope v);
const char* ToString(ReplyMode v);
const char* ToString(ExtensionType v);
const char* ToString(AdminRole v);

// ------------------------------------------------------------------ [server]
struct ServerTlsConfig {
  bool enabled = false;
  std::string cert_file;       // PEM certificate (required when enabled)
  std::string key_file;        // PEM key (required when enabled)
  std::string client_ca_file;  // set = client certificates required
};

struct ServerConfig {
  std::string grpc_listen = "0.0.0.0:9000";
  std::string http_listen = "0.0.0.0:9001";
  int64_t worker_threads = 0;  // only 0 is accepted in this version
  int64_t grpc_max_message_bytes = 1048576;
  int64_t grpc_max_concurrent_streams = 1024;
  bool grpc_reflection = true;
  int64_t shutdown_delay_ms = 0;
  int64_t shutdown_grace_ms = 20000;
  ServerTlsConfig tls;
};

// ------------------------------------------------------------------ [log] [metrics] [tracing]
// [health]
struct LogConfig {
  LogLevel level = LogLevel::kInfo;
  LogOutput output = LogOutput::kStdout;
  std::string file;  // required when output is kFile
  int64_t queue_capacity = 8192;
  int64_t max_record_bytes = 16384;
  int64_t rate_limit_burst = 10;
  int64_t rate_limit_interval_ms = 10000;
  std::vector<std::string> redact_keys;
};

struct MetricsConfig {
  bool enabled = true;
  int64_t max_series_per_metric = 5000;
  TenantLabels tenant_labels = TenantLabels::kCapped;
  int64_t max_tenant_label_values = 200;
  std::vector<std::string> tenant_label_allowlist;
  bool process_metrics = true;
};

struct TracingConfig {
  std::string otlp_endpoint;                        // "" = no span recording
  std::map<std::string, std::string> otlp_headers;  // values are secrets
  int64_t otlp_timeout_ms = 5000;
  OtlpCompression otlp_compression = OtlpCompression::kNone;
  double sample_ratio = 0.1;
  bool parent_based = true;
  bool export_unsampled_errors = true;  // [later]
  bool internal_spans = true;
  int64_t batch_max_spans = 512;
  int64_t batch_interval_ms = 1000;
  int64_t queue_max_spans = 8192;
  std::string service_name = "beamline-router";
  std::map<std::string, std::string> resource_attributes;
};

struct HealthConfig {
  int64_t stall_threshold_ms = 10000;
};

// ------------------------------------------------------------------ [admin]
struct AdminGrant {
  std::string tenant;  // tenant id or "*"
  AdminRole role = AdminRole::kViewer;
};

struct AdminKeyConfig {
  std::string principal;
  std::string key_sha256;  // 64 lowercase hex; a plaintext `key` is hashed at load
  std::vector<AdminGrant> grants;
  bool from_environment = false;  // added by BEAMLINE_ROUTER_ADMIN_API_KEY
};

struct AdminConfig {
  bool enabled = true;
  int64_t audit_retention_days = 90;  // 0 = keep
  std::vector<AdminKeyConfig> keys;
};

// ------------------------------------------------------------------ small tables
struct CheckpointConfig {
  std::string current_cp = "CP2-baseline";
  bool cp2_plus_allowed = true;
};

struct TenantsConfig {
  std::vector<std::string> allowlist;  // [] = every tenant
};

struct DecideConfig {
  int64_t rng_seed = 0;  // 0 = seeded from the OS per thread
  int64_t max_context_entries = 64;
  int64_t max_context_key_bytes = 128;
  int64_t max_context_value_bytes = 1024;
};

struct PolicyStoreConfig {
  StoreBackend backend = StoreBackend::kSqlite;
  std::string sqlite_path;   // after loading: never empty (default <data_dir>/policies.db)
  std::string postgres_dsn;  // reserved
  std::string fixtures_dir;  // "" = built-in example policies
  bool load_fixtures = true;
  int64_t max_policies_per_tenant = 1000;
  int64_t busy_timeout_ms = 5000;
  int64_t poll_interval_ms = 2000;  // 0 = off
  IntegrityCheck integrity_check = IntegrityCheck::kQuick;
};

struct TenantRateOverride {
  double requests_per_second = 0;
  int64_t burst = 0;
};

struct TenantRateLimitConfig {
  bool enabled = false;
  double requests_per_second = 1000;
  int64_t burst = 2000;
  std::map<std::string, TenantRateOverride> overrides;  // tenant -> parameters
};

struct RateLimitConfig {
  int64_t max_buckets = 100000;
  TenantRateLimitConfig tenant;
};

struct CircuitBreakerConfig {
  int64_t max_entries = 100000;
};

struct StatsConfig {
  double ewma_alpha = 0.2;
  int64_t min_samples = 3;
  int64_t max_age_s = 300;
};

struct StickyConfig {
  int64_t max_entries = 1000000;
  int64_t shards = 64;  // a power of two
};

struct IdempotencyConfig {
  int64_t ttl_s = 3600;
  int64_t max_entries = 200000;
  IdempotencyScope scope = IdempotencyScope::kReplica;
};

struct CorrelationConfig {
  int64_t ttl_s = 3600;
  int64_t max_entries = 200000;
};

struct BackpressureConfig {
  bool enabled = true;
  int64_t inflight_overload = 500;
  int64_t latency_overload_ms = 5000;  // at most 10000
  int64_t queue_overload = 1000;
  int64_t retry_after_ms = 1000;
};

struct ExtensionConfig {  // [later]
  std::string id;
  ExtensionType type = ExtensionType::kPre;
  std::string subject;
  int64_t timeout_ms = 5000;
  int64_t retry = 0;
  bool enabled = true;
  int64_t max_payload_bytes = 1048576;
  int64_t max_metadata_bytes = 65536;
};

struct ExtensionsConfig {
  std::vector<ExtensionConfig> registry;
};

// Accepted only with --enable-testing-hooks.
struct TestingConfig {
  int64_t decide_delay_ms = 0;  // 0..10000
};

// ------------------------------------------------------------------ [nats]
struct NatsAuthConfig {
  std::string creds_file;
  std::string nkey_seed_file;
  std::string user;
  std::string password;  // secret
  std::string token;     // secret
};

struct NatsTlsConfig {
  bool enabled = false;  // a tls:// server URL turns it on at load
  bool verify = true;
  std::string server_name;
  std::string ca_file;
  std::string cert_file;
  std::string key_file;
};

struct NatsDecideConfig {
  bool enabled = true;
  std::string subject = "beamline.router.v1.decide";
  std::string queue_group = "router-decide-group";
  bool reply_fallback = true;
  int64_t min_payload_bytes = 10;
  int64_t workers = 0;  // 0 = CPU count
};

struct NatsAssignmentsConfig {
  bool enabled = true;
  std::string subject = "caf.exec.assign.v1";
  std::vector<std::string> allowed_tenants;
  ReplyMode reply_mode = ReplyMode::kAfterPublish;
  int64_t publish_timeout_ms = 2000;
  int64_t deadline_multiplier = 5;
  int64_t deadline_min_ms = 5000;
  int64_t deadline_max_ms = 60000;
};

struct NatsEnabledConfig {
  bool enabled = true;
};

struct NatsSubjectConfig {
  std::string subject;
};

struct NatsDlqConfig {
  bool enabled = true;
  bool include_payload = true;
  int64_t decide_rate_per_s = 100;
};

struct JetStreamPublishConfig {
  int64_t max_outstanding = 4096;
  int64_t pub_ack_timeout_ms = 5000;
  int64_t max_attempts = 5;
  int64_t retry_base_ms = 100;
  int64_t retry_max_ms = 2000;
};

struct JetStreamOutboxConfig {
  int64_t capacity = 10000;
  int64_t max_age_ms = 60000;
  int64_t retain_after_ack_ms = 1000;
};

struct StreamConfig {
  std::string name{};
  // After loading: the effective list (derived per §2 unless `subjects_configured`).
  std::vector<std::string> subjects{};
  bool subjects_configured = false;
  int64_t max_age_s = 0;
  int64_t max_bytes = 0;
  int64_t duplicate_window_s = 120;
};

struct StreamsConfig {
  StreamConfig assignments{.name = "CAF_ASSIGNMENTS", .max_age_s = 3600, .max_bytes = 1LL << 30};
  StreamConfig results{.name = "CAF_RESULTS", .max_age_s = 86400, .max_bytes = 1LL << 30};
  StreamConfig acks{.name = "CAF_ACKS", .max_age_s = 86400, .max_bytes = 256LL << 20};
  StreamConfig usage{.name = "BEAMLINE_USAGE",
                     .max_age_s = 604800,
                     .max_bytes = 4LL << 30,
                     .duplicate_window_s = 600};
  StreamConfig dlq{.name = "ROUTER_DLQ", .max_age_s = 1209600, .max_bytes = 1LL << 30};
};

struct ConsumerConfig {
  std::string durable{};
  std::string filter_subject{};
  int64_t ack_wait_s = 30;
  int64_t max_deliver = 10;
  std::vector<int64_t> nak_delays_ms{};  // delivery n uses entry n; the last repeats
  int64_t max_ack_pending = 4096;
  int64_t fetch_batch = 128;
  int64_t fetch_expires_ms = 5000;
  int64_t max_inflight = 256;
};

struct ConsumersConfig {
  ConsumerConfig results{
      .durable = "router-results",
      .filter_subject = "caf.exec.result.v1",
      .max_deliver = 10,
      .nak_delays_ms = {1000, 2000, 5000, 10000, 20000, 30000, 60000, 60000, 60000},
      .max_inflight = 256};
  ConsumerConfig acks{.durable = "router-acks",
                      .filter_subject = "caf.exec.assign.v1.ack",
                      .max_deliver = 5,
                      .nak_delays_ms = {1000, 5000, 15000, 30000},
                      .max_inflight = 64};
};

struct JetStreamConfig {
  bool enabled = true;
  bool manage_streams = true;
  std::string domain;
  int64_t api_timeout_ms = 5000;
  int64_t replicas = 1;
  JetStreamPublishConfig publish;
  JetStreamOutboxConfig outbox;
  StreamsConfig streams;
  ConsumersConfig consumers;
};

struct NatsConfig {
  std::string url;  // "" = NATS off; comma-separated nats:// / tls:// servers
  std::string name = "beamline-router";
  int64_t connect_timeout_ms = 2000;
  int64_t reconnect_base_ms = 500;
  int64_t reconnect_max_ms = 5000;
  int64_t ping_interval_ms = 5000;
  int64_t max_pings_out = 2;
  int64_t readiness_grace_ms = 0;
  int64_t drain_timeout_ms = 5000;
  int64_t max_payload_bytes = 1048576;
  NatsAuthConfig auth;
  NatsTlsConfig tls;
  NatsDecideConfig decide;
  NatsAssignmentsConfig assignments;
  NatsEnabledConfig fanout;
  NatsSubjectConfig usage{"beamline.usage.v1.metered"};
  NatsSubjectConfig status{"beamline.router.v1.status.backpressure"};
  NatsDlqConfig dlq;
  NatsEnabledConfig assignment_lookup;
  JetStreamConfig jetstream;

  bool Enabled() const { return !url.empty(); }
};

// ------------------------------------------------------------------ the whole configuration
struct Config {
  std::string data_dir = "data";  // absolute after loading
  std::string node_id;            // default: host name (filled by the loader)

  ServerConfig server;
  LogConfig log;
  MetricsConfig metrics;
  TracingConfig tracing;
  HealthConfig health;
  AdminConfig admin;
  CheckpointConfig checkpoint;
  TenantsConfig tenants;
  DecideConfig decide;
  PolicyStoreConfig policy_store;
  RateLimitConfig rate_limit;
  CircuitBreakerConfig circuit_breaker;
  StatsConfig stats;
  StickyConfig sticky;
  IdempotencyConfig idempotency;
  CorrelationConfig correlation;
  BackpressureConfig backpressure;
  ExtensionsConfig extensions;
  TestingConfig testing;
  NatsConfig nats;

  // Not configuration keys: where and when this value was loaded.
  std::string config_file;   // absolute path of the TOML file; "" when running on defaults
  std::string config_dir;    // its directory (relative file paths resolve here); else the cwd
  int64_t loaded_at_ms = 0;  // wall-clock epoch ms of the load
  bool testing_hooks_enabled = false;  // --enable-testing-hooks was given
};

}  // namespace router::config
