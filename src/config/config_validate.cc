// Validation of a merged Config: configuration.md §5 rules 2-11 (rule 1 and the type part of
// rule 2 belong to the decoder in config_loader.cc).

#include <arpa/inet.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <limits>
#include <set>
#include <string>
#include <vector>

#include "config/admin_auth.h"
#include "config/config_internal.h"
#include "config/config_loader.h"

namespace router::config::internal {
namespace {

namespace fs = std::filesystem;

std::vector<std::string_view> SplitTokens(std::string_view s) {
  std::vector<std::string_view> out;
  size_t pos = 0;
  while (true) {
    size_t dot = s.find('.', pos);
    if (dot == std::string_view::npos) {
      out.push_back(s.substr(pos));
      break;
    }
    out.push_back(s.substr(pos, dot - pos));
    pos = dot + 1;
  }
  return out;
}

std::string Quoted(std::string_view s) {
  std::string out = "\"";
  out.append(s.substr(0, 255));
  out += '"';
  return out;
}

bool IsHostChar(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '.' || c == '_';
}

bool IsWildcardHost(std::string_view host) { return host == "0.0.0.0" || host == "::"; }

std::string LowerAscii(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

// Collects `<path>: <problem>` lines; names the environment variable or flag a value came from.
class Checker {
 public:
  Checker(const ValidationContext& context, std::vector<std::string>* errors)
      : context_(context), errors_(errors) {}

  void Add(const std::string& path, const std::string& problem) {
    std::string line = path + ": " + problem;
    auto it = context_.sources.find(path);
    if (it != context_.sources.end()) line += " (from " + it->second + ")";
    errors_->push_back(std::move(line));
  }
  // Returns whether the value is in range (so dependent checks can be skipped).
  bool AtLeast(const std::string& path, int64_t value, int64_t min) {
    if (value >= min) return true;
    Add(path, "must be >= " + std::to_string(min));
    return false;
  }
  bool Between(const std::string& path, int64_t value, int64_t lo, int64_t hi) {
    if (value >= lo && value <= hi) return true;
    Add(path, "must be between " + std::to_string(lo) + " and " + std::to_string(hi));
    return false;
  }
  void NotEmpty(const std::string& path, const std::string& value) {
    if (value.empty()) Add(path, "must not be empty");
  }
  void HostPort(const std::string& path, const std::string& value) {
    std::string problem = CheckHostPort(value);
    if (!problem.empty()) Add(path, problem);
  }
  void TenantIds(const std::string& path, const std::vector<std::string>& ids) {
    for (size_t i = 0; i < ids.size(); ++i) {
      if (!IsValidTenantId(ids[i])) {
        Add(path + "[" + std::to_string(i) + "]",
            "must match ^[A-Za-z0-9_.-]{1,255}$ (not \".\" or \"..\")");
      }
    }
  }
  // A published subject: valid, without wildcards.
  bool PublishSubject(const std::string& path, const std::string& subject) {
    if (!IsValidSubject(subject, true)) {
      Add(path, "invalid NATS subject " + Quoted(subject));
      return false;
    }
    if (SubjectHasWildcard(subject)) {
      Add(path, "must not contain wildcards (the router publishes to it)");
      return false;
    }
    return true;
  }
  bool StreamName(const std::string& path, const std::string& name) {
    if (IsValidStreamName(name)) return true;
    Add(path,
        "invalid name " + Quoted(name) + " (non-empty, no whitespace, '.', '*', '>', '/' or '\\')");
    return false;
  }

  // Rule 5: a file that must exist and be readable.
  void ReadableFile(const std::string& path, const std::string& file) {
    if (file.empty() || !context_.check_files) return;
    struct stat st {};
    if (stat(file.c_str(), &st) != 0) {
      Add(path, "cannot read " + Quoted(file) + ": " + std::strerror(errno));
    } else if (S_ISDIR(st.st_mode)) {
      Add(path, Quoted(file) + " is a directory");
    } else if (access(file.c_str(), R_OK) != 0) {
      Add(path, "cannot read " + Quoted(file) + ": " + std::strerror(errno));
    }
  }
  void ReadableDir(const std::string& path, const std::string& dir) {
    if (dir.empty() || !context_.check_files) return;
    struct stat st {};
    if (stat(dir.c_str(), &st) != 0) {
      Add(path, "cannot read " + Quoted(dir) + ": " + std::strerror(errno));
    } else if (!S_ISDIR(st.st_mode)) {
      Add(path, Quoted(dir) + " is not a directory");
    } else if (access(dir.c_str(), R_OK | X_OK) != 0) {
      Add(path, "cannot read " + Quoted(dir) + ": " + std::strerror(errno));
    }
  }
  // The log file is appended to (and created if missing): it must be writable, or its
  // directory must exist and be writable.
  void WritableFile(const std::string& path, const std::string& file) {
    if (file.empty() || !context_.check_files) return;
    struct stat st {};
    if (stat(file.c_str(), &st) == 0) {
      if (S_ISDIR(st.st_mode)) {
        Add(path, Quoted(file) + " is a directory");
      } else if (access(file.c_str(), W_OK) != 0) {
        Add(path, "cannot write " + Quoted(file) + ": " + std::strerror(errno));
      }
      return;
    }
    std::string parent = fs::path(file).parent_path().string();
    if (parent.empty()) parent = ".";
    if (access(parent.c_str(), W_OK | X_OK) != 0) {
      Add(path, "cannot create " + Quoted(file) + ": " + std::strerror(errno));
    }
  }

  const ValidationContext& context() const { return context_; }

 private:
  const ValidationContext& context_;
  std::vector<std::string>* errors_;
};

void ValidateTopLevel(const Config& c, Checker& k) {
  if (c.data_dir.empty()) {
    k.Add("data_dir", "must not be empty");
  } else if (k.context().check_files) {
    absl::Status s = CheckDataDir(c.data_dir, /*create=*/false);
    if (!s.ok()) {
      std::string message(s.message().data(), s.message().size());
      k.Add("data_dir", message.substr(std::string("data_dir: ").size()));
    }
  }
  k.NotEmpty("node_id", c.node_id);
}

void ValidateServer(const ServerConfig& s, Checker& k) {
  k.HostPort("server.grpc_listen", s.grpc_listen);
  k.HostPort("server.http_listen", s.http_listen);
  std::string grpc_host, http_host;
  int grpc_port = -1, http_port = -1;
  if (CheckHostPort(s.grpc_listen, &grpc_host, &grpc_port).empty() &&
      CheckHostPort(s.http_listen, &http_host, &http_port).empty() && grpc_port != 0 &&
      http_port != 0 && grpc_port == http_port) {
    std::string a = LowerAscii(grpc_host), b = LowerAscii(http_host);
    if (a == b || IsWildcardHost(a) || IsWildcardHost(b)) {
      k.Add("server.http_listen",
            "must differ from server.grpc_listen (" + s.grpc_listen + ") unless a port is 0");
    }
  }
  if (s.worker_threads != 0) {
    k.Add("server.worker_threads", "must be 0 (gRPC sizes its own thread pool in this version)");
  }
  constexpr int64_t kIntMax = std::numeric_limits<int32_t>::max();
  k.Between("server.grpc_max_message_bytes", s.grpc_max_message_bytes, 1, kIntMax);
  k.Between("server.grpc_max_concurrent_streams", s.grpc_max_concurrent_streams, 1, kIntMax);
  k.AtLeast("server.shutdown_delay_ms", s.shutdown_delay_ms, 0);
  k.AtLeast("server.shutdown_grace_ms", s.shutdown_grace_ms, 1);
  if (s.tls.enabled) {
    if (s.tls.cert_file.empty()) {
      k.Add("server.tls.cert_file", "required when server.tls.enabled is true");
    }
    if (s.tls.key_file.empty()) {
      k.Add("server.tls.key_file", "required when server.tls.enabled is true");
    }
  }
  k.ReadableFile("server.tls.cert_file", s.tls.cert_file);
  k.ReadableFile("server.tls.key_file", s.tls.key_file);
  k.ReadableFile("server.tls.client_ca_file", s.tls.client_ca_file);
}

void ValidateObservability(const Config& c, Checker& k) {
  const LogConfig& l = c.log;
  if (l.output == LogOutput::kFile && l.file.empty()) {
    k.Add("log.file", "required when log.output is \"file\"");
  }
  if (l.output == LogOutput::kFile) k.WritableFile("log.file", l.file);
  k.AtLeast("log.queue_capacity", l.queue_capacity, 1);
  k.AtLeast("log.max_record_bytes", l.max_record_bytes, 1);
  k.AtLeast("log.rate_limit_burst", l.rate_limit_burst, 1);
  k.AtLeast("log.rate_limit_interval_ms", l.rate_limit_interval_ms, 1);
  for (size_t i = 0; i < l.redact_keys.size(); ++i) {
    k.NotEmpty("log.redact_keys[" + std::to_string(i) + "]", l.redact_keys[i]);
  }

  const MetricsConfig& m = c.metrics;
  k.AtLeast("metrics.max_series_per_metric", m.max_series_per_metric, 1);
  k.AtLeast("metrics.max_tenant_label_values", m.max_tenant_label_values, 1);
  k.TenantIds("metrics.tenant_label_allowlist", m.tenant_label_allowlist);

  const TracingConfig& t = c.tracing;
  if (!t.otlp_endpoint.empty()) {
    std::string_view e = t.otlp_endpoint;
    size_t scheme = e.rfind("http://", 0) == 0 ? 7 : (e.rfind("https://", 0) == 0 ? 8 : 0);
    if (scheme == 0 || e.size() == scheme || e[scheme] == '/') {
      k.Add("tracing.otlp_endpoint", "must be an http:// or https:// URL");
    }
  }
  for (const auto& [name, value] : t.otlp_headers) {
    if (name.empty()) k.Add("tracing.otlp_headers", "header names must not be empty");
  }
  k.AtLeast("tracing.otlp_timeout_ms", t.otlp_timeout_ms, 1);
  if (!(t.sample_ratio >= 0.0 && t.sample_ratio <= 1.0)) {
    k.Add("tracing.sample_ratio", "must be between 0 and 1");
  }
  k.AtLeast("tracing.batch_max_spans", t.batch_max_spans, 1);
  k.AtLeast("tracing.batch_interval_ms", t.batch_interval_ms, 1);
  k.AtLeast("tracing.queue_max_spans", t.queue_max_spans, 1);
  k.NotEmpty("tracing.service_name", t.service_name);

  k.AtLeast("health.stall_threshold_ms", c.health.stall_threshold_ms, 1);
}

// Rule 4.
void ValidateAdmin(const AdminConfig& a, Checker& k) {
  k.AtLeast("admin.audit_retention_days", a.audit_retention_days, 0);
  const int env_index = k.context().env_admin_index;
  auto where = [&](size_t i) {
    return static_cast<int>(i) == env_index ? std::string("BEAMLINE_ROUTER_ADMIN_API_KEY")
                                            : "admin.keys[" + std::to_string(i) + "]";
  };
  for (size_t i = 0; i < a.keys.size(); ++i) {
    const AdminKeyConfig& key = a.keys[i];
    for (size_t j = 0; j < i; ++j) {
      const AdminKeyConfig& other = a.keys[j];
      if (!key.principal.empty() && key.principal == other.principal) {
        if (static_cast<int>(i) == env_index) {
          k.Add("BEAMLINE_ROUTER_ADMIN_API_KEY",
                "adds principal \"admin\", which " + where(j) + " already defines");
        } else {
          k.Add(where(i) + ".principal",
                "duplicate principal " + Quoted(key.principal) + " (also " + where(j) + ")");
        }
      } else if (!key.key_sha256.empty() && key.key_sha256 == other.key_sha256) {
        // Never print the key or its digest.
        k.Add(where(i), "same key as " + where(j) + " (principal " + Quoted(other.principal) +
                            "); keys must be unique");
      }
    }
  }
}

void ValidateCoreTables(const Config& c, Checker& k) {
  k.TenantIds("tenants.allowlist", c.tenants.allowlist);

  k.AtLeast("decide.max_context_entries", c.decide.max_context_entries, 1);
  k.AtLeast("decide.max_context_key_bytes", c.decide.max_context_key_bytes, 1);
  k.AtLeast("decide.max_context_value_bytes", c.decide.max_context_value_bytes, 1);

  const PolicyStoreConfig& p = c.policy_store;
  if (p.backend == StoreBackend::kPostgres) {
    k.Add("policy_store.backend", "postgres backend not supported in this version");
  }
  k.ReadableDir("policy_store.fixtures_dir", p.fixtures_dir);
  k.AtLeast("policy_store.max_policies_per_tenant", p.max_policies_per_tenant, 1);
  k.AtLeast("policy_store.busy_timeout_ms", p.busy_timeout_ms, 0);
  k.AtLeast("policy_store.poll_interval_ms", p.poll_interval_ms, 0);

  const RateLimitConfig& rl = c.rate_limit;
  k.AtLeast("rate_limit.max_buckets", rl.max_buckets, 1);
  auto rps = [&](const std::string& path, double v) {
    if (!(std::isfinite(v) && v > 0)) k.Add(path, "must be a finite number > 0");
  };
  rps("rate_limit.tenant.requests_per_second", rl.tenant.requests_per_second);
  k.AtLeast("rate_limit.tenant.burst", rl.tenant.burst, 1);
  for (const auto& [tenant, o] : rl.tenant.overrides) {
    std::string path = JoinPath("rate_limit.tenant.overrides", tenant);
    if (!IsValidTenantId(tenant)) {
      k.Add(path, "tenant must match ^[A-Za-z0-9_.-]{1,255}$ (not \".\" or \"..\")");
    }
    rps(path + ".requests_per_second", o.requests_per_second);
    k.AtLeast(path + ".burst", o.burst, 1);
  }

  k.AtLeast("circuit_breaker.max_entries", c.circuit_breaker.max_entries, 1);

  if (!(c.stats.ewma_alpha > 0.0 && c.stats.ewma_alpha <= 1.0)) {
    k.Add("stats.ewma_alpha", "must be in (0, 1]");
  }
  k.AtLeast("stats.min_samples", c.stats.min_samples, 1);
  k.AtLeast("stats.max_age_s", c.stats.max_age_s, 1);

  k.AtLeast("sticky.max_entries", c.sticky.max_entries, 1);
  if (c.sticky.shards < 1 || (c.sticky.shards & (c.sticky.shards - 1)) != 0) {
    k.Add("sticky.shards", "must be a power of two");
  }

  k.AtLeast("idempotency.ttl_s", c.idempotency.ttl_s, 1);
  k.AtLeast("idempotency.max_entries", c.idempotency.max_entries, 1);
  if (c.idempotency.scope == IdempotencyScope::kCluster) {
    k.Add("idempotency.scope", "cluster scope not supported in this version");
  }
  k.AtLeast("correlation.ttl_s", c.correlation.ttl_s, 1);
  k.AtLeast("correlation.max_entries", c.correlation.max_entries, 1);

  const BackpressureConfig& b = c.backpressure;
  k.AtLeast("backpressure.inflight_overload", b.inflight_overload, 1);
  k.Between("backpressure.latency_overload_ms", b.latency_overload_ms, 1, 10000);
  k.AtLeast("backpressure.queue_overload", b.queue_overload, 1);
  k.AtLeast("backpressure.retry_after_ms", b.retry_after_ms, 1);

  std::set<std::string> ids;
  for (size_t i = 0; i < c.extensions.registry.size(); ++i) {
    const ExtensionConfig& e = c.extensions.registry[i];
    std::string path = "extensions.registry[" + std::to_string(i) + "]";
    if (!e.id.empty() && !IsValidTenantId(e.id)) {
      k.Add(path + ".id", "must match ^[A-Za-z0-9_.-]{1,255}$");
    } else if (!e.id.empty() && !ids.insert(e.id).second) {
      k.Add(path + ".id", "duplicate id " + Quoted(e.id));
    }
    if (!e.subject.empty()) k.PublishSubject(path + ".subject", e.subject);
    k.AtLeast(path + ".timeout_ms", e.timeout_ms, 1);
    k.AtLeast(path + ".retry", e.retry, 0);
    k.AtLeast(path + ".max_payload_bytes", e.max_payload_bytes, 1);
    k.AtLeast(path + ".max_metadata_bytes", e.max_metadata_bytes, 1);
  }

  // Rule 11: [testing] only with --enable-testing-hooks.
  if (!k.context().testing_hooks_enabled) {
    for (const std::string& key : k.context().testing_keys_present) {
      k.Add("testing." + key, "requires --enable-testing-hooks");
    }
  }
  k.Between("testing.decide_delay_ms", c.testing.decide_delay_ms, 0, 10000);
}

void ValidateConsumer(const std::string& path, const ConsumerConfig& c, Checker& k) {
  k.StreamName(path + ".durable", c.durable);
  // DLQ copies go to `<filter_subject>.dlq`, so the filter is a concrete subject.
  k.PublishSubject(path + ".filter_subject", c.filter_subject);
  k.AtLeast(path + ".ack_wait_s", c.ack_wait_s, 1);
  bool deliver_ok = k.AtLeast(path + ".max_deliver", c.max_deliver, 2);
  if (c.nak_delays_ms.empty()) {
    k.Add(path + ".nak_delays_ms", "must not be empty");
  } else if (deliver_ok && static_cast<int64_t>(c.nak_delays_ms.size()) > c.max_deliver - 1) {
    k.Add(path + ".nak_delays_ms",
          "at most max_deliver - 1 (" + std::to_string(c.max_deliver - 1) + ") entries");
  }
  for (size_t i = 0; i < c.nak_delays_ms.size(); ++i) {
    if (c.nak_delays_ms[i] <= 0) {
      k.Add(path + ".nak_delays_ms[" + std::to_string(i) + "]", "must be > 0");
    }
  }
  bool pending_ok = k.AtLeast(path + ".max_ack_pending", c.max_ack_pending, 1);
  if (k.AtLeast(path + ".fetch_batch", c.fetch_batch, 1) && pending_ok &&
      c.fetch_batch > c.max_ack_pending) {
    k.Add(path + ".fetch_batch",
          "must not exceed max_ack_pending (" + std::to_string(c.max_ack_pending) + ")");
  }
  k.AtLeast(path + ".fetch_expires_ms", c.fetch_expires_ms, 1);
  k.AtLeast(path + ".max_inflight", c.max_inflight, 1);
}

struct StreamRef {
  const char* role;
  const StreamConfig* stream;
};

void ValidateNats(const NatsConfig& n, Checker& k) {
  // URL list (never echoed: it may carry credentials).
  if (!n.url.empty()) {
    size_t pos = 0;
    int index = 1;
    std::string_view url = n.url;
    while (true) {
      size_t comma = url.find(',', pos);
      std::string_view server =
          url.substr(pos, comma == std::string_view::npos ? std::string_view::npos : comma - pos);
      size_t b = server.find_first_not_of(" \t");
      size_t e = server.find_last_not_of(" \t");
      server = b == std::string_view::npos ? std::string_view() : server.substr(b, e - b + 1);
      size_t scheme =
          server.rfind("nats://", 0) == 0 ? 7 : (server.rfind("tls://", 0) == 0 ? 6 : 0);
      if (scheme == 0 || server.size() == scheme) {
        k.Add("nats.url",
              "server " + std::to_string(index) + " must be a nats:// or tls:// URL with a host");
      }
      if (comma == std::string_view::npos) break;
      pos = comma + 1;
      ++index;
    }
  }
  k.NotEmpty("nats.name", n.name);
  k.AtLeast("nats.connect_timeout_ms", n.connect_timeout_ms, 1);
  bool base_ok = k.AtLeast("nats.reconnect_base_ms", n.reconnect_base_ms, 1);
  if (k.AtLeast("nats.reconnect_max_ms", n.reconnect_max_ms, 1) && base_ok &&
      n.reconnect_max_ms < n.reconnect_base_ms) {
    k.Add("nats.reconnect_max_ms", "must be >= nats.reconnect_base_ms");
  }
  k.AtLeast("nats.ping_interval_ms", n.ping_interval_ms, 1);
  k.AtLeast("nats.max_pings_out", n.max_pings_out, 1);
  k.AtLeast("nats.readiness_grace_ms", n.readiness_grace_ms, 0);
  k.AtLeast("nats.drain_timeout_ms", n.drain_timeout_ms, 0);
  k.AtLeast("nats.max_payload_bytes", n.max_payload_bytes, 1);

  // Rule 5: credentials.
  int methods = (n.auth.creds_file.empty() ? 0 : 1) + (n.auth.nkey_seed_file.empty() ? 0 : 1) +
                (n.auth.user.empty() ? 0 : 1) + (n.auth.token.empty() ? 0 : 1);
  if (methods > 1) {
    k.Add("nats.auth",
          "at most one authentication method (creds_file, nkey_seed_file, "
          "user/password or token)");
  }
  if (!n.auth.password.empty() && n.auth.user.empty()) {
    k.Add("nats.auth.password", "requires nats.auth.user");
  }
  k.ReadableFile("nats.auth.creds_file", n.auth.creds_file);
  k.ReadableFile("nats.auth.nkey_seed_file", n.auth.nkey_seed_file);
  if (n.tls.cert_file.empty() != n.tls.key_file.empty()) {
    k.Add(n.tls.cert_file.empty() ? "nats.tls.cert_file" : "nats.tls.key_file",
          "nats.tls.cert_file and nats.tls.key_file go together");
  }
  k.ReadableFile("nats.tls.ca_file", n.tls.ca_file);
  k.ReadableFile("nats.tls.cert_file", n.tls.cert_file);
  k.ReadableFile("nats.tls.key_file", n.tls.key_file);

  // Rule 6: subjects.
  bool decide_ok = k.PublishSubject("nats.decide.subject", n.decide.subject);
  if (n.decide.queue_group.empty() ||
      n.decide.queue_group.find_first_of(" \t\r\n") != std::string::npos) {
    k.Add("nats.decide.queue_group", "must be non-empty without whitespace");
  }
  k.AtLeast("nats.decide.min_payload_bytes", n.decide.min_payload_bytes, 0);
  k.AtLeast("nats.decide.workers", n.decide.workers, 0);
  bool assign_ok = k.PublishSubject("nats.assignments.subject", n.assignments.subject);
  k.TenantIds("nats.assignments.allowed_tenants", n.assignments.allowed_tenants);
  const JetStreamConfig& js = n.jetstream;
  // Rule 8.
  if (k.Between("nats.assignments.publish_timeout_ms", n.assignments.publish_timeout_ms, 100,
                60000) &&
      n.assignments.publish_timeout_ms > js.outbox.max_age_ms) {
    k.Add("nats.assignments.publish_timeout_ms",
          "must not exceed nats.jetstream.outbox.max_age_ms (" +
              std::to_string(js.outbox.max_age_ms) + ")");
  }
  k.AtLeast("nats.assignments.deadline_multiplier", n.assignments.deadline_multiplier, 1);
  bool min_ok = k.AtLeast("nats.assignments.deadline_min_ms", n.assignments.deadline_min_ms, 1);
  if (k.AtLeast("nats.assignments.deadline_max_ms", n.assignments.deadline_max_ms, 1) && min_ok &&
      n.assignments.deadline_max_ms < n.assignments.deadline_min_ms) {
    k.Add("nats.assignments.deadline_max_ms", "must be >= nats.assignments.deadline_min_ms");
  }
  bool usage_ok = k.PublishSubject("nats.usage.subject", n.usage.subject);
  if (!IsValidSubject(n.status.subject, true)) {
    k.Add("nats.status.subject", "invalid NATS subject " + Quoted(n.status.subject));
  }
  k.AtLeast("nats.dlq.decide_rate_per_s", n.dlq.decide_rate_per_s, 1);

  // JetStream.
  k.AtLeast("nats.jetstream.api_timeout_ms", js.api_timeout_ms, 1);
  k.Between("nats.jetstream.replicas", js.replicas, 1, 5);
  const JetStreamPublishConfig& p = js.publish;
  k.AtLeast("nats.jetstream.publish.max_outstanding", p.max_outstanding, 1);
  bool publish_ok = k.AtLeast("nats.jetstream.publish.pub_ack_timeout_ms", p.pub_ack_timeout_ms, 1);
  publish_ok &= k.AtLeast("nats.jetstream.publish.max_attempts", p.max_attempts, 1);
  publish_ok &= k.AtLeast("nats.jetstream.publish.retry_base_ms", p.retry_base_ms, 1);
  publish_ok &= k.AtLeast("nats.jetstream.publish.retry_max_ms", p.retry_max_ms, 1);
  if (publish_ok && p.retry_max_ms < p.retry_base_ms) {
    k.Add("nats.jetstream.publish.retry_max_ms", "must be >= nats.jetstream.publish.retry_base_ms");
  }
  k.AtLeast("nats.jetstream.outbox.capacity", js.outbox.capacity, 1);
  bool outbox_ok = k.AtLeast("nats.jetstream.outbox.max_age_ms", js.outbox.max_age_ms, 1);
  k.AtLeast("nats.jetstream.outbox.retain_after_ack_ms", js.outbox.retain_after_ack_ms, 0);

  const StreamRef streams[] = {{"assignments", &js.streams.assignments},
                               {"results", &js.streams.results},
                               {"acks", &js.streams.acks},
                               {"usage", &js.streams.usage},
                               {"dlq", &js.streams.dlq}};
  bool streams_ok = true;
  for (size_t i = 0; i < std::size(streams); ++i) {
    const StreamConfig& s = *streams[i].stream;
    std::string path = std::string("nats.jetstream.streams.") + streams[i].role;
    if (k.StreamName(path + ".name", s.name)) {
      for (size_t j = 0; j < i; ++j) {
        if (streams[j].stream->name == s.name) {
          k.Add(path + ".name", "same stream name as nats.jetstream.streams." +
                                    std::string(streams[j].role) + ".name");
        }
      }
    }
    if (s.subjects.empty()) {
      k.Add(path + ".subjects", "must not be empty");
      streams_ok = false;
    }
    for (size_t j = 0; j < s.subjects.size(); ++j) {
      if (!IsValidSubject(s.subjects[j], true)) {
        k.Add(path + ".subjects[" + std::to_string(j) + "]",
              "invalid NATS subject " + Quoted(s.subjects[j]));
        streams_ok = false;
      }
    }
    bool age_ok = k.AtLeast(path + ".max_age_s", s.max_age_s, 1);
    k.AtLeast(path + ".max_bytes", s.max_bytes, 1);
    if (k.AtLeast(path + ".duplicate_window_s", s.duplicate_window_s, 1) && age_ok &&
        s.duplicate_window_s > s.max_age_s) {
      k.Add(path + ".duplicate_window_s", "must not exceed max_age_s");
    }
  }
  const ConsumerConfig& results = js.consumers.results;
  const ConsumerConfig& acks = js.consumers.acks;
  ValidateConsumer("nats.jetstream.consumers.results", results, k);
  ValidateConsumer("nats.jetstream.consumers.acks", acks, k);
  if (results.durable == acks.durable) {
    k.Add("nats.jetstream.consumers.acks.durable",
          "same durable name as nats.jetstream.consumers.results.durable");
  }
  if (!js.enabled) return;

  // Rule 6: managed streams do not overlap, cover what the router uses, and never capture S1.
  if (streams_ok) {
    for (size_t i = 0; i < std::size(streams); ++i) {
      for (size_t j = 0; j < i; ++j) {
        for (const std::string& a : streams[i].stream->subjects) {
          for (const std::string& b : streams[j].stream->subjects) {
            if (SubjectsOverlap(a, b)) {
              k.Add(std::string("nats.jetstream.streams.") + streams[i].role + ".subjects",
                    Quoted(a) + " overlaps " + Quoted(b) + " of nats.jetstream.streams." +
                        streams[j].role);
            }
          }
        }
      }
    }
    auto covered = [&](const StreamConfig& s, const std::string& subject) {
      for (const std::string& pattern : s.subjects) {
        if (SubjectCovers(pattern, subject)) return true;
      }
      return false;
    };
    auto require = [&](const char* role, const StreamConfig& s, const std::string& key,
                       const std::string& subject) {
      if (!covered(s, subject)) {
        k.Add(std::string("nats.jetstream.streams.") + role + ".subjects",
              "must cover " + key + " " + Quoted(subject));
      }
    };
    if (assign_ok) {
      require("assignments", js.streams.assignments, "nats.assignments.subject",
              n.assignments.subject);
    }
    if (IsValidSubject(results.filter_subject, false)) {
      require("results", js.streams.results, "nats.jetstream.consumers.results.filter_subject",
              results.filter_subject);
    }
    if (IsValidSubject(acks.filter_subject, false)) {
      require("acks", js.streams.acks, "nats.jetstream.consumers.acks.filter_subject",
              acks.filter_subject);
    }
    if (usage_ok) require("usage", js.streams.usage, "nats.usage.subject", n.usage.subject);
    if (n.dlq.enabled) {
      if (decide_ok) {
        require("dlq", js.streams.dlq, "the decide DLQ subject", n.decide.subject + ".dlq");
      }
      if (IsValidSubject(results.filter_subject, false)) {
        require("dlq", js.streams.dlq, "the results DLQ subject", results.filter_subject + ".dlq");
      }
      if (IsValidSubject(acks.filter_subject, false)) {
        require("dlq", js.streams.dlq, "the acks DLQ subject", acks.filter_subject + ".dlq");
      }
    }
    if (decide_ok) {
      for (const StreamRef& s : streams) {
        for (const std::string& pattern : s.stream->subjects) {
          if (SubjectsOverlap(pattern, n.decide.subject)) {
            k.Add("nats.decide.subject", "captured by nats.jetstream.streams." +
                                             std::string(s.role) + " (" + Quoted(pattern) +
                                             "); the decide subject must not be stored");
          }
        }
      }
    }
  }

  // Rule 7: exactly-once bound.
  const StreamConfig& assignments = js.streams.assignments;
  if (publish_ok && outbox_ok && assignments.duplicate_window_s >= 1) {
    int64_t horizon = RetryHorizonMs(p);
    int64_t window_ms = assignments.duplicate_window_s * 1000;
    if (js.outbox.max_age_ms + horizon >= window_ms) {
      k.Add("nats.jetstream.streams.assignments.duplicate_window_s",
            "exactly-once bound violated: outbox.max_age_ms + retry horizon (" +
                std::to_string(js.outbox.max_age_ms) + " + " + std::to_string(horizon) +
                " ms) must be below duplicate_window_s x 1000 (" + std::to_string(window_ms) +
                " ms)");
    }
  }
  // §2: the usage duplicate window exceeds the results consumer's whole redelivery span.
  const StreamConfig& usage = js.streams.usage;
  if (results.ack_wait_s >= 1 && results.max_deliver >= 2 && !results.nak_delays_ms.empty() &&
      usage.duplicate_window_s >= 1) {
    int64_t span = RedeliverySpanMs(results);
    if (span >= usage.duplicate_window_s * 1000) {
      k.Add("nats.jetstream.streams.usage.duplicate_window_s",
            "must exceed the results consumer's redelivery span (" + std::to_string(span) +
                " ms = max_deliver x ack_wait + NAK delays at +10 %)");
    }
  }
}

}  // namespace

std::string CheckHostPort(std::string_view value, std::string* host_out, int* port_out) {
  const std::string problem = "must be host:port (IPv6 in brackets), got " + Quoted(value);
  std::string_view host;
  std::string_view port;
  if (!value.empty() && value[0] == '[') {
    size_t close = value.find(']');
    if (close == std::string_view::npos || close + 1 >= value.size() || value[close + 1] != ':') {
      return problem;
    }
    host = value.substr(1, close - 1);
    port = value.substr(close + 2);
    std::string addr(host.substr(0, host.find('%')));  // a zone id is allowed
    in6_addr a6{};
    if (addr.empty() || inet_pton(AF_INET6, addr.c_str(), &a6) != 1) return problem;
  } else {
    size_t colon = value.rfind(':');
    if (colon == std::string_view::npos) return problem;
    host = value.substr(0, colon);
    port = value.substr(colon + 1);
    if (host.find(':') != std::string_view::npos) {
      return "IPv6 addresses must be in brackets, e.g. \"[::1]:9000\", got " + Quoted(value);
    }
    if (host.empty()) return problem;
    bool numeric = true;
    for (char c : host) {
      if (!IsHostChar(c)) return problem;
      if (!(c >= '0' && c <= '9') && c != '.') numeric = false;
    }
    if (numeric) {
      in_addr a4{};
      if (inet_pton(AF_INET, std::string(host).c_str(), &a4) != 1) return problem;
    }
  }
  if (port.empty() || port.size() > 5) return problem;
  int p = 0;
  for (char c : port) {
    if (c < '0' || c > '9') return problem;
    p = p * 10 + (c - '0');
  }
  if (p > 65535) return problem;
  if (host_out != nullptr) *host_out = std::string(host);
  if (port_out != nullptr) *port_out = p;
  return "";
}

bool IsValidSubject(std::string_view subject, bool allow_wildcards) {
  if (subject.empty()) return false;
  std::vector<std::string_view> tokens = SplitTokens(subject);
  for (size_t i = 0; i < tokens.size(); ++i) {
    std::string_view t = tokens[i];
    if (t.empty()) return false;
    for (char c : t) {
      if (static_cast<unsigned char>(c) <= ' ' || c == 0x7f) return false;
    }
    if (t.find_first_of("*>") != std::string_view::npos) {
      if (!allow_wildcards) return false;
      if (t != "*" && t != ">") return false;
      if (t == ">" && i + 1 != tokens.size()) return false;
    }
  }
  return true;
}

bool SubjectHasWildcard(std::string_view subject) {
  for (std::string_view t : SplitTokens(subject)) {
    if (t == "*" || t == ">") return true;
  }
  return false;
}

bool SubjectsOverlap(std::string_view a, std::string_view b) {
  std::vector<std::string_view> ta = SplitTokens(a);
  std::vector<std::string_view> tb = SplitTokens(b);
  for (size_t i = 0;; ++i) {
    if (i == ta.size() || i == tb.size()) return ta.size() == tb.size();
    if (ta[i] == ">" || tb[i] == ">") return true;
    if (ta[i] != "*" && tb[i] != "*" && ta[i] != tb[i]) return false;
  }
}

bool SubjectCovers(std::string_view pattern, std::string_view subject) {
  std::vector<std::string_view> tp = SplitTokens(pattern);
  std::vector<std::string_view> ts = SplitTokens(subject);
  for (size_t i = 0;; ++i) {
    if (i == tp.size()) return i == ts.size();
    if (tp[i] == ">") return i < ts.size();
    if (i == ts.size()) return false;
    if (ts[i] == ">") return false;
    if (tp[i] == "*") continue;  // covers any single token, `*` included
    if (tp[i] != ts[i]) return false;
  }
}

bool IsValidStreamName(std::string_view name) {
  if (name.empty() || name.size() > 255) return false;
  for (char c : name) {
    if (static_cast<unsigned char>(c) <= ' ' || c == 0x7f) return false;
    if (c == '.' || c == '*' || c == '>' || c == '/' || c == '\\') return false;
  }
  return true;
}

int64_t RetryHorizonMs(const JetStreamPublishConfig& p) {
  // Delay before attempt k+1 = min(base x 2^(k-1), max), k = 1..max_attempts-1, at +20 %.
  long double sum = 0;
  long double delay = static_cast<long double>(p.retry_base_ms);
  const long double max = static_cast<long double>(p.retry_max_ms);
  int64_t k = 1;
  for (; k < p.max_attempts && delay < max && delay > 0; ++k) {
    sum += delay;
    delay *= 2;
  }
  if (k < p.max_attempts) sum += static_cast<long double>(p.max_attempts - k) * max;
  long double horizon = std::ceil(sum * 6 / 5) + static_cast<long double>(p.max_attempts) *
                                                     static_cast<long double>(p.pub_ack_timeout_ms);
  constexpr long double kCap = static_cast<long double>(std::numeric_limits<int64_t>::max() / 4);
  return static_cast<int64_t>(std::min(horizon, kCap));
}

int64_t RedeliverySpanMs(const ConsumerConfig& c) {
  // Worst case: every delivery runs its whole ack_wait, then waits its NAK delay (+10 %).
  long double naks = 0;
  const int64_t gaps = c.max_deliver - 1;
  const int64_t listed = std::min<int64_t>(gaps, static_cast<int64_t>(c.nak_delays_ms.size()));
  for (int64_t n = 0; n < listed; ++n) naks += static_cast<long double>(c.nak_delays_ms[n]);
  if (gaps > listed && !c.nak_delays_ms.empty()) {
    naks +=
        static_cast<long double>(gaps - listed) * static_cast<long double>(c.nak_delays_ms.back());
  }
  long double span =
      static_cast<long double>(c.max_deliver) * static_cast<long double>(c.ack_wait_s) * 1000 +
      std::ceil(naks * 11 / 10);
  constexpr long double kCap = static_cast<long double>(std::numeric_limits<int64_t>::max() / 4);
  return static_cast<int64_t>(std::min(span, kCap));
}

void Validate(const Config& config, const ValidationContext& context,
              std::vector<std::string>* errors) {
  Checker k(context, errors);
  ValidateTopLevel(config, k);
  ValidateServer(config.server, k);
  ValidateObservability(config, k);
  ValidateAdmin(config.admin, k);
  ValidateCoreTables(config, k);
  ValidateNats(config.nats, k);
}

}  // namespace router::config::internal
