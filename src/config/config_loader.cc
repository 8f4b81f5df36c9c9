#include "config/config_loader.h"

#include <sys/stat.h>
#include <toml++/toml.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <utility>
#include <vector>

#include "absl/strings/str_join.h"
#include "base/errors.h"
#include "base/system_clock.h"
#include "config/admin_auth.h"
#include "config/config_internal.h"

namespace router::config {
namespace {

namespace fs = std::filesystem;
using internal::ClosestMatch;
using internal::EnumProblem;
using internal::JoinPath;
using internal::ParseEnum;

constexpr std::string_view kEnvPrefix = "BEAMLINE_ROUTER_";
constexpr const char* kEnvConfig = "BEAMLINE_ROUTER_CONFIG";
constexpr const char* kEnvAdminKey = "BEAMLINE_ROUTER_ADMIN_API_KEY";
constexpr const char* kEnvNatsUrl = "BEAMLINE_ROUTER_NATS_URL";
constexpr const char* kEnvGrpcListen = "BEAMLINE_ROUTER_GRPC_LISTEN";
constexpr const char* kEnvHttpListen = "BEAMLINE_ROUTER_HTTP_LISTEN";
constexpr const char* kEnvDataDir = "BEAMLINE_ROUTER_DATA_DIR";
constexpr const char* kEnvLogLevel = "BEAMLINE_ROUTER_LOG_LEVEL";

const std::vector<std::string>& KnownEnvironment() {
  static const std::vector<std::string> names{kEnvConfig,     kEnvAdminKey,   kEnvNatsUrl,
                                              kEnvGrpcListen, kEnvHttpListen, kEnvDataDir,
                                              kEnvLogLevel};
  return names;
}

const char* TypeName(const toml::node& node) {
  switch (node.type()) {
    case toml::node_type::table:
      return "table";
    case toml::node_type::array:
      return "array";
    case toml::node_type::string:
      return "string";
    case toml::node_type::integer:
      return "integer";
    case toml::node_type::floating_point:
      return "float";
    case toml::node_type::boolean:
      return "boolean";
    case toml::node_type::date:
      return "date";
    case toml::node_type::time:
      return "time";
    case toml::node_type::date_time:
      return "date-time";
    case toml::node_type::none:
      break;
  }
  return "nothing";
}

// Collects decode errors and resolves file-relative paths.
class Decoder {
 public:
  Decoder(fs::path base_dir, std::vector<std::string>* errors)
      : base_dir_(std::move(base_dir)), errors_(errors) {}

  void Error(const std::string& path, const std::string& problem) {
    errors_->push_back(path + ": " + problem);
  }
  void TypeError(const std::string& path, const char* expected, const toml::node& got) {
    Error(path, std::string("expected ") + expected + ", got " + TypeName(got));
  }
  std::string Resolve(const std::string& value) const {
    if (value.empty()) return value;
    return (base_dir_ / fs::path(value)).lexically_normal().string();
  }

  std::vector<std::string> testing_keys;  // keys present in [testing]

 private:
  fs::path base_dir_;
  std::vector<std::string>* errors_;
};

// Reads one TOML table. Every accessor declares its key as known; Finish() reports the keys of
// the table that no accessor declared (rule 2, with a hint within edit distance 2).
class TableReader {
 public:
  TableReader(const toml::table& table, std::string path, Decoder* decoder)
      : table_(&table), path_(std::move(path)), d_(decoder) {}

  const std::string& path() const { return path_; }
  std::string PathOf(std::string_view key) const { return JoinPath(path_, key); }
  const toml::table& table() const { return *table_; }

  const toml::node* Get(std::string_view key) {
    known_.emplace_back(key);
    return table_->get(key);
  }
  bool Has(std::string_view key) const { return table_->get(key) != nullptr; }

  bool Int(std::string_view key, int64_t* out) {
    const toml::node* n = Get(key);
    if (n == nullptr) return false;
    if (!n->is_integer()) {
      d_->TypeError(PathOf(key), "integer", *n);
      return false;
    }
    *out = n->as_integer()->get();
    return true;
  }

  bool Float(std::string_view key, double* out) {
    const toml::node* n = Get(key);
    if (n == nullptr) return false;
    if (n->is_floating_point()) {
      *out = n->as_floating_point()->get();
      return true;
    }
    if (n->is_integer()) {  // `sample_ratio = 1` is a float key written as an integer
      *out = static_cast<double>(n->as_integer()->get());
      return true;
    }
    d_->TypeError(PathOf(key), "float", *n);
    return false;
  }

  bool Bool(std::string_view key, bool* out) {
    const toml::node* n = Get(key);
    if (n == nullptr) return false;
    if (!n->is_boolean()) {
      d_->TypeError(PathOf(key), "boolean", *n);
      return false;
    }
    *out = n->as_boolean()->get();
    return true;
  }

  bool String(std::string_view key, std::string* out) {
    const toml::node* n = Get(key);
    if (n == nullptr) return false;
    if (!n->is_string()) {
      d_->TypeError(PathOf(key), "string", *n);
      return false;
    }
    *out = n->as_string()->get();
    return true;
  }

  // A path: resolved against the config file's directory.
  bool Path(std::string_view key, std::string* out) {
    std::string raw;
    if (!String(key, &raw)) return false;
    *out = d_->Resolve(raw);
    return true;
  }

  template <typename E>
  bool Enum(std::string_view key, E* out) {
    std::string raw;
    if (!String(key, &raw)) return false;
    if (!ParseEnum(raw, out)) {
      d_->Error(PathOf(key), EnumProblem<E>(raw));
      return false;
    }
    return true;
  }

  bool StringArray(std::string_view key, std::vector<std::string>* out) {
    const toml::array* a = Array(key);
    if (a == nullptr) return false;
    std::vector<std::string> values;
    bool ok = true;
    for (size_t i = 0; i < a->size(); ++i) {
      const toml::node& el = (*a)[i];
      if (!el.is_string()) {
        d_->TypeError(PathOf(key) + "[" + std::to_string(i) + "]", "string", el);
        ok = false;
        continue;
      }
      values.push_back(el.as_string()->get());
    }
    if (ok) *out = std::move(values);
    return ok;
  }

  bool IntArray(std::string_view key, std::vector<int64_t>* out) {
    const toml::array* a = Array(key);
    if (a == nullptr) return false;
    std::vector<int64_t> values;
    bool ok = true;
    for (size_t i = 0; i < a->size(); ++i) {
      const toml::node& el = (*a)[i];
      if (!el.is_integer()) {
        d_->TypeError(PathOf(key) + "[" + std::to_string(i) + "]", "integer", el);
        ok = false;
        continue;
      }
      values.push_back(el.as_integer()->get());
    }
    if (ok) *out = std::move(values);
    return ok;
  }

  // A table of string -> string (tracing.otlp_headers, tracing.resource_attributes).
  bool StringMap(std::string_view key, std::map<std::string, std::string>* out) {
    const toml::node* n = Get(key);
    if (n == nullptr) return false;
    if (!n->is_table()) {
      d_->TypeError(PathOf(key), "table", *n);
      return false;
    }
    std::map<std::string, std::string> values;
    bool ok = true;
    for (auto&& [k, v] : *n->as_table()) {
      if (!v.is_string()) {
        d_->TypeError(JoinPath(PathOf(key), k.str()), "string", v);
        ok = false;
        continue;
      }
      values[std::string(k.str())] = v.as_string()->get();
    }
    if (ok) *out = std::move(values);
    return ok;
  }

  const toml::array* Array(std::string_view key) {
    const toml::node* n = Get(key);
    if (n == nullptr) return nullptr;
    if (!n->is_array()) {
      d_->TypeError(PathOf(key), "array", *n);
      return nullptr;
    }
    return n->as_array();
  }

  // A known sub-table; nullopt when absent or not a table (the latter is reported).
  std::optional<TableReader> Table(std::string_view key) {
    const toml::node* n = Get(key);
    if (n == nullptr) return std::nullopt;
    if (!n->is_table()) {
      d_->TypeError(PathOf(key), "table", *n);
      return std::nullopt;
    }
    return TableReader(*n->as_table(), PathOf(key), d_);
  }

  void Finish() {
    for (auto&& [k, v] : *table_) {
      std::string_view key = k.str();
      bool known = false;
      for (const std::string& name : known_) {
        if (name == key) known = true;
      }
      if (known) continue;
      std::string problem = v.is_table() ? "unknown table" : "unknown key";
      std::string hint = ClosestMatch(key, known_);
      if (!hint.empty()) problem += " (did you mean \"" + hint + "\"?)";
      d_->Error(PathOf(key), problem);
    }
  }

  Decoder* decoder() { return d_; }

 private:
  const toml::table* table_;
  std::string path_;
  Decoder* d_;
  std::vector<std::string> known_;
};

// Iterates an array of tables (`[[admin.keys]]`, `grants = [{...}]`); `fn(TableReader&, i)`
// runs for table elements, other elements are reported. Returns the element count.
template <typename Fn>
size_t ForEachTable(TableReader& parent, const toml::array& array, std::string_view key, Fn fn) {
  for (size_t i = 0; i < array.size(); ++i) {
    std::string path = parent.PathOf(key) + "[" + std::to_string(i) + "]";
    const toml::node& el = array[i];
    if (!el.is_table()) {
      parent.decoder()->TypeError(path, "table", el);
      fn(nullptr, i);
      continue;
    }
    TableReader r(*el.as_table(), path, parent.decoder());
    fn(&r, i);
  }
  return array.size();
}

// ---------------------------------------------------------------- one function per table

void DecodeServer(TableReader r, ServerConfig& s) {
  r.String("grpc_listen", &s.grpc_listen);
  r.String("http_listen", &s.http_listen);
  r.Int("worker_threads", &s.worker_threads);
  r.Int("grpc_max_message_bytes", &s.grpc_max_message_bytes);
  r.Int("grpc_max_concurrent_streams", &s.grpc_max_concurrent_streams);
  r.Bool("grpc_reflection", &s.grpc_reflection);
  r.Int("shutdown_delay_ms", &s.shutdown_delay_ms);
  r.Int("shutdown_grace_ms", &s.shutdown_grace_ms);
  if (auto t = r.Table("tls")) {
    t->Bool("enabled", &s.tls.enabled);
    t->Path("cert_file", &s.tls.cert_file);
    t->Path("key_file", &s.tls.key_file);
    t->Path("client_ca_file", &s.tls.client_ca_file);
    t->Finish();
  }
  r.Finish();
}

void DecodeLog(TableReader r, LogConfig& l) {
  r.Enum("level", &l.level);
  r.Enum("output", &l.output);
  r.Path("file", &l.file);
  r.Int("queue_capacity", &l.queue_capacity);
  r.Int("max_record_bytes", &l.max_record_bytes);
  r.Int("rate_limit_burst", &l.rate_limit_burst);
  r.Int("rate_limit_interval_ms", &l.rate_limit_interval_ms);
  r.StringArray("redact_keys", &l.redact_keys);
  r.Finish();
}

void DecodeMetrics(TableReader r, MetricsConfig& m) {
  r.Bool("enabled", &m.enabled);
  r.Int("max_series_per_metric", &m.max_series_per_metric);
  r.Enum("tenant_labels", &m.tenant_labels);
  r.Int("max_tenant_label_values", &m.max_tenant_label_values);
  r.StringArray("tenant_label_allowlist", &m.tenant_label_allowlist);
  r.Bool("process_metrics", &m.process_metrics);
  r.Finish();
}

void DecodeTracing(TableReader r, TracingConfig& t) {
  r.String("otlp_endpoint", &t.otlp_endpoint);
  r.StringMap("otlp_headers", &t.otlp_headers);
  r.Int("otlp_timeout_ms", &t.otlp_timeout_ms);
  r.Enum("otlp_compression", &t.otlp_compression);
  r.Float("sample_ratio", &t.sample_ratio);
  r.Bool("parent_based", &t.parent_based);
  r.Bool("export_unsampled_errors", &t.export_unsampled_errors);
  r.Bool("internal_spans", &t.internal_spans);
  r.Int("batch_max_spans", &t.batch_max_spans);
  r.Int("batch_interval_ms", &t.batch_interval_ms);
  r.Int("queue_max_spans", &t.queue_max_spans);
  r.String("service_name", &t.service_name);
  r.StringMap("resource_attributes", &t.resource_attributes);
  r.Finish();
}

void DecodeHealth(TableReader r, HealthConfig& h) {
  r.Int("stall_threshold_ms", &h.stall_threshold_ms);
  r.Finish();
}

void DecodeGrant(TableReader& r, AdminGrant& g) {
  if (r.String("tenant", &g.tenant)) {
    if (g.tenant != "*" && !IsValidTenantId(g.tenant)) {
      r.decoder()->Error(r.PathOf("tenant"),
                         "must be \"*\" or match ^[A-Za-z0-9_.-]{1,255}$ (not \".\" or \"..\")");
    }
  } else if (!r.Has("tenant")) {
    r.decoder()->Error(r.PathOf("tenant"), "required");
  }
  if (!r.Enum("role", &g.role) && !r.Has("role")) {
    r.decoder()->Error(r.PathOf("role"), "required");
  }
  r.Finish();
}

void DecodeAdminKey(TableReader& r, AdminKeyConfig& k) {
  Decoder* d = r.decoder();
  if (r.String("principal", &k.principal)) {
    if (!IsValidPrincipalName(k.principal)) {
      d->Error(r.PathOf("principal"), "must match ^[A-Za-z0-9_.-]{1,64}$");
    }
  } else if (!r.Has("principal")) {
    d->Error(r.PathOf("principal"), "required");
  }
  bool has_key = r.Has("key");
  bool has_digest = r.Has("key_sha256");
  std::string key;
  if (r.String("key", &key)) {
    if (IsValidApiKey(key)) {
      k.key_sha256 = Sha256Hex(key);
    } else {
      // Never echo the key.
      d->Error(r.PathOf("key"), "must be 8-512 bytes of visible ASCII");
    }
  }
  std::string digest;
  if (r.String("key_sha256", &digest)) {
    if (ParseSha256Hex(digest, nullptr)) {
      if (!has_key) k.key_sha256 = digest;
    } else {
      d->Error(r.PathOf("key_sha256"), "must be 64 lowercase hex digits (SHA-256 of the key)");
    }
  }
  if (has_key == has_digest) {
    d->Error(r.path(), "exactly one of key and key_sha256 is required");
    k.key_sha256.clear();
  }
  if (const toml::array* grants = r.Array("grants")) {
    if (grants->empty()) d->Error(r.PathOf("grants"), "must not be empty");
    ForEachTable(r, *grants, "grants", [&](TableReader* g, size_t) {
      AdminGrant grant;
      if (g != nullptr) DecodeGrant(*g, grant);
      k.grants.push_back(std::move(grant));
    });
  } else if (!r.Has("grants")) {
    d->Error(r.PathOf("grants"), "required");
  }
  r.Finish();
}

void DecodeAdmin(TableReader r, AdminConfig& a) {
  r.Bool("enabled", &a.enabled);
  r.Int("audit_retention_days", &a.audit_retention_days);
  if (const toml::array* keys = r.Array("keys")) {
    ForEachTable(r, *keys, "keys", [&](TableReader* kr, size_t) {
      AdminKeyConfig key;
      if (kr != nullptr) DecodeAdminKey(*kr, key);
      a.keys.push_back(std::move(key));  // always kept so indices match the file
    });
  }
  r.Finish();
}

void DecodeCheckpoint(TableReader r, CheckpointConfig& c) {
  r.String("current_cp", &c.current_cp);
  r.Bool("cp2_plus_allowed", &c.cp2_plus_allowed);
  r.Finish();
}

void DecodeTenants(TableReader r, TenantsConfig& t) {
  r.StringArray("allowlist", &t.allowlist);
  r.Finish();
}

void DecodeDecide(TableReader r, DecideConfig& d) {
  r.Int("rng_seed", &d.rng_seed);
  r.Int("max_context_entries", &d.max_context_entries);
  r.Int("max_context_key_bytes", &d.max_context_key_bytes);
  r.Int("max_context_value_bytes", &d.max_context_value_bytes);
  r.Finish();
}

void DecodePolicyStore(TableReader r, PolicyStoreConfig& p) {
  r.Enum("backend", &p.backend);
  r.Path("sqlite_path", &p.sqlite_path);
  r.String("postgres_dsn", &p.postgres_dsn);
  r.Path("fixtures_dir", &p.fixtures_dir);
  r.Bool("load_fixtures", &p.load_fixtures);
  r.Int("max_policies_per_tenant", &p.max_policies_per_tenant);
  r.Int("busy_timeout_ms", &p.busy_timeout_ms);
  r.Int("poll_interval_ms", &p.poll_interval_ms);
  r.Enum("integrity_check", &p.integrity_check);
  r.Finish();
}

void DecodeRateLimit(TableReader r, RateLimitConfig& rl) {
  r.Int("max_buckets", &rl.max_buckets);
  if (auto t = r.Table("tenant")) {
    t->Bool("enabled", &rl.tenant.enabled);
    t->Float("requests_per_second", &rl.tenant.requests_per_second);
    t->Int("burst", &rl.tenant.burst);
    if (auto o = t->Table("overrides")) {
      for (auto&& [k, v] : o->table()) {
        std::string tenant(k.str());
        std::string path = o->PathOf(tenant);
        if (!v.is_table()) {
          o->decoder()->TypeError(path, "table", v);
          continue;
        }
        TableReader e(*v.as_table(), path, o->decoder());
        TenantRateOverride ov;
        if (!e.Float("requests_per_second", &ov.requests_per_second) &&
            !e.Has("requests_per_second")) {
          e.decoder()->Error(e.PathOf("requests_per_second"), "required");
        }
        if (!e.Int("burst", &ov.burst) && !e.Has("burst")) {
          e.decoder()->Error(e.PathOf("burst"), "required");
        }
        e.Finish();
        rl.tenant.overrides[tenant] = ov;
      }
      // Every key of `overrides` is a tenant: nothing is unknown there.
    }
    t->Finish();
  }
  r.Finish();
}

void DecodeCircuitBreaker(TableReader r, CircuitBreakerConfig& c) {
  r.Int("max_entries", &c.max_entries);
  r.Finish();
}

void DecodeStats(TableReader r, StatsConfig& s) {
  r.Float("ewma_alpha", &s.ewma_alpha);
  r.Int("min_samples", &s.min_samples);
  r.Int("max_age_s", &s.max_age_s);
  r.Finish();
}

void DecodeSticky(TableReader r, StickyConfig& s) {
  r.Int("max_entries", &s.max_entries);
  r.Int("shards", &s.shards);
  r.Finish();
}

void DecodeIdempotency(TableReader r, IdempotencyConfig& i) {
  r.Int("ttl_s", &i.ttl_s);
  r.Int("max_entries", &i.max_entries);
  r.Enum("scope", &i.scope);
  r.Finish();
}

void DecodeCorrelation(TableReader r, CorrelationConfig& c) {
  r.Int("ttl_s", &c.ttl_s);
  r.Int("max_entries", &c.max_entries);
  r.Finish();
}

void DecodeBackpressure(TableReader r, BackpressureConfig& b) {
  r.Bool("enabled", &b.enabled);
  r.Int("inflight_overload", &b.inflight_overload);
  r.Int("latency_overload_ms", &b.latency_overload_ms);
  r.Int("queue_overload", &b.queue_overload);
  r.Int("retry_after_ms", &b.retry_after_ms);
  r.Finish();
}

void DecodeExtensions(TableReader r, ExtensionsConfig& e) {
  if (const toml::array* registry = r.Array("registry")) {
    ForEachTable(r, *registry, "registry", [&](TableReader* x, size_t) {
      ExtensionConfig ext;
      if (x != nullptr) {
        Decoder* d = x->decoder();
        if (!x->String("id", &ext.id) && !x->Has("id")) d->Error(x->PathOf("id"), "required");
        if (!x->Enum("type", &ext.type) && !x->Has("type")) {
          d->Error(x->PathOf("type"), "required");
        }
        if (!x->String("subject", &ext.subject) && !x->Has("subject")) {
          d->Error(x->PathOf("subject"), "required");
        }
        x->Int("timeout_ms", &ext.timeout_ms);
        x->Int("retry", &ext.retry);
        x->Bool("enabled", &ext.enabled);
        x->Int("max_payload_bytes", &ext.max_payload_bytes);
        x->Int("max_metadata_bytes", &ext.max_metadata_bytes);
        x->Finish();
      }
      e.registry.push_back(std::move(ext));
    });
  }
  r.Finish();
}

void DecodeTesting(TableReader r, TestingConfig& t) {
  if (r.Has("decide_delay_ms")) r.decoder()->testing_keys.push_back("decide_delay_ms");
  r.Int("decide_delay_ms", &t.decide_delay_ms);
  r.Finish();
}

void DecodeStream(TableReader r, StreamConfig& s) {
  r.String("name", &s.name);
  if (r.StringArray("subjects", &s.subjects)) s.subjects_configured = true;
  r.Int("max_age_s", &s.max_age_s);
  r.Int("max_bytes", &s.max_bytes);
  r.Int("duplicate_window_s", &s.duplicate_window_s);
  r.Finish();
}

void DecodeConsumer(TableReader r, ConsumerConfig& c) {
  r.String("durable", &c.durable);
  r.String("filter_subject", &c.filter_subject);
  r.Int("ack_wait_s", &c.ack_wait_s);
  r.Int("max_deliver", &c.max_deliver);
  r.IntArray("nak_delays_ms", &c.nak_delays_ms);
  r.Int("max_ack_pending", &c.max_ack_pending);
  r.Int("fetch_batch", &c.fetch_batch);
  r.Int("fetch_expires_ms", &c.fetch_expires_ms);
  r.Int("max_inflight", &c.max_inflight);
  r.Finish();
}

void DecodeJetStream(TableReader r, JetStreamConfig& j) {
  r.Bool("enabled", &j.enabled);
  r.Bool("manage_streams", &j.manage_streams);
  r.String("domain", &j.domain);
  r.Int("api_timeout_ms", &j.api_timeout_ms);
  r.Int("replicas", &j.replicas);
  if (auto p = r.Table("publish")) {
    p->Int("max_outstanding", &j.publish.max_outstanding);
    p->Int("pub_ack_timeout_ms", &j.publish.pub_ack_timeout_ms);
    p->Int("max_attempts", &j.publish.max_attempts);
    p->Int("retry_base_ms", &j.publish.retry_base_ms);
    p->Int("retry_max_ms", &j.publish.retry_max_ms);
    p->Finish();
  }
  if (auto o = r.Table("outbox")) {
    o->Int("capacity", &j.outbox.capacity);
    o->Int("max_age_ms", &j.outbox.max_age_ms);
    o->Int("retain_after_ack_ms", &j.outbox.retain_after_ack_ms);
    o->Finish();
  }
  if (auto s = r.Table("streams")) {
    if (auto t = s->Table("assignments")) DecodeStream(std::move(*t), j.streams.assignments);
    if (auto t = s->Table("results")) DecodeStream(std::move(*t), j.streams.results);
    if (auto t = s->Table("acks")) DecodeStream(std::move(*t), j.streams.acks);
    if (auto t = s->Table("usage")) DecodeStream(std::move(*t), j.streams.usage);
    if (auto t = s->Table("dlq")) DecodeStream(std::move(*t), j.streams.dlq);
    s->Finish();
  }
  if (auto c = r.Table("consumers")) {
    if (auto t = c->Table("results")) DecodeConsumer(std::move(*t), j.consumers.results);
    if (auto t = c->Table("acks")) DecodeConsumer(std::move(*t), j.consumers.acks);
    c->Finish();
  }
  r.Finish();
}

void DecodeNats(TableReader r, NatsConfig& n) {
  r.String("url", &n.url);
  r.String("name", &n.name);
  r.Int("connect_timeout_ms", &n.connect_timeout_ms);
  r.Int("reconnect_base_ms", &n.reconnect_base_ms);
  r.Int("reconnect_max_ms", &n.reconnect_max_ms);
  r.Int("ping_interval_ms", &n.ping_interval_ms);
  r.Int("max_pings_out", &n.max_pings_out);
  r.Int("readiness_grace_ms", &n.readiness_grace_ms);
  r.Int("drain_timeout_ms", &n.drain_timeout_ms);
  r.Int("max_payload_bytes", &n.max_payload_bytes);
  if (auto a = r.Table("auth")) {
    a->Path("creds_file", &n.auth.creds_file);
    a->Path("nkey_seed_file", &n.auth.nkey_seed_file);
    a->String("user", &n.auth.user);
    a->String("password", &n.auth.password);
    a->String("token", &n.auth.token);
    a->Finish();
  }
  if (auto t = r.Table("tls")) {
    t->Bool("enabled", &n.tls.enabled);
    t->Bool("verify", &n.tls.verify);
    t->String("server_name", &n.tls.server_name);
    t->Path("ca_file", &n.tls.ca_file);
    t->Path("cert_file", &n.tls.cert_file);
    t->Path("key_file", &n.tls.key_file);
    t->Finish();
  }
  if (auto d = r.Table("decide")) {
    d->Bool("enabled", &n.decide.enabled);
    d->String("subject", &n.decide.subject);
    d->String("queue_group", &n.decide.queue_group);
    d->Bool("reply_fallback", &n.decide.reply_fallback);
    d->Int("min_payload_bytes", &n.decide.min_payload_bytes);
    d->Int("workers", &n.decide.workers);
    d->Finish();
  }
  if (auto a = r.Table("assignments")) {
    a->Bool("enabled", &n.assignments.enabled);
    a->String("subject", &n.assignments.subject);
    a->StringArray("allowed_tenants", &n.assignments.allowed_tenants);
    a->Enum("reply_mode", &n.assignments.reply_mode);
    a->Int("publish_timeout_ms", &n.assignments.publish_timeout_ms);
    a->Int("deadline_multiplier", &n.assignments.deadline_multiplier);
    a->Int("deadline_min_ms", &n.assignments.deadline_min_ms);
    a->Int("deadline_max_ms", &n.assignments.deadline_max_ms);
    a->Finish();
  }
  if (auto f = r.Table("fanout")) {
    f->Bool("enabled", &n.fanout.enabled);
    f->Finish();
  }
  if (auto u = r.Table("usage")) {
    u->String("subject", &n.usage.subject);
    u->Finish();
  }
  if (auto s = r.Table("status")) {
    s->String("subject", &n.status.subject);
    s->Finish();
  }
  if (auto d = r.Table("dlq")) {
    d->Bool("enabled", &n.dlq.enabled);
    d->Bool("include_payload", &n.dlq.include_payload);
    d->Int("decide_rate_per_s", &n.dlq.decide_rate_per_s);
    d->Finish();
  }
  if (auto l = r.Table("assignment_lookup")) {
    l->Bool("enabled", &n.assignment_lookup.enabled);
    l->Finish();
  }
  if (auto j = r.Table("jetstream")) DecodeJetStream(std::move(*j), n.jetstream);
  r.Finish();
}

void DecodeRoot(TableReader r, Config& c) {
  r.Path("data_dir", &c.data_dir);
  r.String("node_id", &c.node_id);
  if (auto t = r.Table("server")) DecodeServer(std::move(*t), c.server);
  if (auto t = r.Table("log")) DecodeLog(std::move(*t), c.log);
  if (auto t = r.Table("metrics")) DecodeMetrics(std::move(*t), c.metrics);
  if (auto t = r.Table("tracing")) DecodeTracing(std::move(*t), c.tracing);
  if (auto t = r.Table("health")) DecodeHealth(std::move(*t), c.health);
  if (auto t = r.Table("admin")) DecodeAdmin(std::move(*t), c.admin);
  if (auto t = r.Table("checkpoint")) DecodeCheckpoint(std::move(*t), c.checkpoint);
  if (auto t = r.Table("tenants")) DecodeTenants(std::move(*t), c.tenants);
  if (auto t = r.Table("decide")) DecodeDecide(std::move(*t), c.decide);
  if (auto t = r.Table("policy_store")) DecodePolicyStore(std::move(*t), c.policy_store);
  if (auto t = r.Table("rate_limit")) DecodeRateLimit(std::move(*t), c.rate_limit);
  if (auto t = r.Table("circuit_breaker")) DecodeCircuitBreaker(std::move(*t), c.circuit_breaker);
  if (auto t = r.Table("stats")) DecodeStats(std::move(*t), c.stats);
  if (auto t = r.Table("sticky")) DecodeSticky(std::move(*t), c.sticky);
  if (auto t = r.Table("idempotency")) DecodeIdempotency(std::move(*t), c.idempotency);
  if (auto t = r.Table("correlation")) DecodeCorrelation(std::move(*t), c.correlation);
  if (auto t = r.Table("backpressure")) DecodeBackpressure(std::move(*t), c.backpressure);
  if (auto t = r.Table("extensions")) DecodeExtensions(std::move(*t), c.extensions);
  if (auto t = r.Table("testing")) DecodeTesting(std::move(*t), c.testing);
  if (auto t = r.Table("nats")) DecodeNats(std::move(*t), c.nats);
  r.Finish();
}

// ---------------------------------------------------------------- file, environment, CLI

// Reads and decodes the file into `config`. A read or syntax error ends decoding (nothing
// else can be said about the file); other problems are collected.
void DecodeFile(const fs::path& file, Config& config, Decoder& decoder,
                std::vector<std::string>* errors) {
  std::error_code ec;
  if (fs::is_directory(file, ec)) {
    errors->push_back(file.string() + ": cannot read config file: " + std::strerror(EISDIR));
    return;
  }
  std::ifstream in(file, std::ios::binary);
  if (!in) {
    int err = errno;
    errors->push_back(file.string() + ": cannot read config file: " + std::strerror(err));
    return;
  }
  std::stringstream buffer;
  buffer << in.rdbuf();
  if (in.bad()) {
    errors->push_back(file.string() + ": cannot read config file");
    return;
  }
  std::string text = buffer.str();
  toml::table root;
  // toml++ reports syntax errors by throwing; this is its only call site.
  try {
    root = toml::parse(text, file.string());
  } catch (const toml::parse_error& e) {
    const auto& begin = e.source().begin;
    errors->push_back(file.string() + ":" + std::to_string(begin.line) + ":" +
                      std::to_string(begin.column) + ": " + std::string(e.description()));
    return;
  }
  DecodeRoot(TableReader(root, "", &decoder), config);
}

std::string HostName() {
  char buf[256] = {};
  if (gethostname(buf, sizeof(buf) - 1) != 0 || buf[0] == '\0') return "localhost";
  return std::string(buf);
}

std::string ResolveAgainst(const fs::path& base, const std::string& value) {
  if (value.empty()) return value;
  return (base / fs::path(value)).lexically_normal().string();
}

}  // namespace

absl::StatusOr<Config> LoadConfig(const LoadOptions& options) {
  std::vector<std::string> errors;
  internal::ValidationContext context;
  context.testing_hooks_enabled = options.enable_testing_hooks;
  context.check_files = options.check_files;

  std::error_code ec;
  fs::path cwd = options.working_dir.empty() ? fs::current_path(ec) : fs::path(options.working_dir);
  if (cwd.is_relative()) cwd = fs::absolute(cwd, ec);

  // §3: any BEAMLINE_ROUTER_* outside the table is an error.
  for (const auto& [name, value] : options.environment) {
    if (name.compare(0, kEnvPrefix.size(), kEnvPrefix) != 0) continue;
    bool known = false;
    for (const std::string& k : KnownEnvironment()) {
      if (k == name) known = true;
    }
    if (known) continue;
    std::string problem = "unknown environment variable";
    std::string hint = ClosestMatch(name, KnownEnvironment());
    if (!hint.empty()) problem += " (did you mean \"" + hint + "\"?)";
    errors.push_back(name + ": " + problem);
  }
  auto env = [&](const char* name) -> const std::string* {
    auto it = options.environment.find(name);
    return it == options.environment.end() ? nullptr : &it->second;
  };

  Config config;
  config.testing_hooks_enabled = options.enable_testing_hooks;
  config.loaded_at_ms = options.clock != nullptr ? options.clock->WallMs() : SystemClock().WallMs();
  config.node_id = options.host_name.empty() ? HostName() : options.host_name;
  config.data_dir = ResolveAgainst(cwd, config.data_dir);
  config.config_dir = cwd.string();

  // The file: --config, else BEAMLINE_ROUTER_CONFIG.
  std::optional<std::string> file = options.config_path;
  std::string file_source = "--config";
  if (!file && env(kEnvConfig) != nullptr) {
    file = *env(kEnvConfig);
    file_source = kEnvConfig;
  }
  if (file) {
    if (file->empty()) {
      errors.push_back(file_source + ": config file path is empty");
    } else {
      fs::path path = fs::path(ResolveAgainst(cwd, *file));
      config.config_file = path.string();
      config.config_dir = path.parent_path().string();
      Decoder decoder(path.parent_path(), &errors);
      DecodeFile(path, config, decoder, &errors);
      context.testing_keys_present = decoder.testing_keys;
    }
  }

  // Environment, then CLI (the CLI wins); only the winning value is applied and validated.
  // Relative paths from either resolve against the working directory.
  struct Override {
    const char* env_name;
    const char* flag;
    const std::optional<std::string>* cli;
    const char* path;
  };
  const Override overrides[] = {
      {kEnvNatsUrl, "--nats-url", &options.overrides.nats_url, "nats.url"},
      {kEnvGrpcListen, "--grpc-listen", &options.overrides.grpc_listen, "server.grpc_listen"},
      {kEnvHttpListen, "--http-listen", &options.overrides.http_listen, "server.http_listen"},
      {kEnvDataDir, "--data-dir", &options.overrides.data_dir, "data_dir"},
      {kEnvLogLevel, "--log-level", &options.overrides.log_level, "log.level"},
  };
  for (const Override& o : overrides) {
    const std::string* value = env(o.env_name);
    std::string source = o.env_name;
    if (o.cli->has_value()) {
      value = &**o.cli;
      source = o.flag;
    }
    if (value == nullptr) continue;
    std::string_view path = o.path;
    context.sources[o.path] = source;
    if (path == "nats.url") {
      config.nats.url = *value;
    } else if (path == "server.grpc_listen") {
      config.server.grpc_listen = *value;
    } else if (path == "server.http_listen") {
      config.server.http_listen = *value;
    } else if (path == "data_dir") {
      config.data_dir = ResolveAgainst(cwd, *value);
    } else if (!ParseEnum(*value, &config.log.level)) {  // log.level
      errors.push_back("log.level: " + EnumProblem<LogLevel>(*value) + " (from " + source + ")");
    }
  }

  // BEAMLINE_ROUTER_ADMIN_API_KEY adds principal `admin` with admin on "*".
  if (const std::string* key = env(kEnvAdminKey)) {
    if (!IsValidApiKey(*key)) {
      errors.push_back(std::string(kEnvAdminKey) + ": must be 8-512 bytes of visible ASCII");
    } else {
      AdminKeyConfig admin;
      admin.principal = "admin";
      admin.key_sha256 = Sha256Hex(*key);
      admin.grants.push_back(AdminGrant{"*", AdminRole::kAdmin});
      admin.from_environment = true;
      context.env_admin_index = static_cast<int>(config.admin.keys.size());
      config.admin.keys.push_back(std::move(admin));
    }
  }

  // Derived values.
  if (config.policy_store.sqlite_path.empty() && !config.data_dir.empty()) {
    config.policy_store.sqlite_path = (fs::path(config.data_dir) / "policies.db").string();
  }
  {
    std::string_view url = config.nats.url;
    size_t pos = 0;
    while (pos <= url.size()) {
      size_t comma = url.find(',', pos);
      std::string_view server =
          url.substr(pos, comma == std::string_view::npos ? std::string_view::npos : comma - pos);
      size_t start = server.find_first_not_of(" \t");
      if (start != std::string_view::npos && server.substr(start).rfind("tls://", 0) == 0) {
        config.nats.tls.enabled = true;  // tls:// implies enabled
      }
      if (comma == std::string_view::npos) break;
      pos = comma + 1;
    }
  }
  JetStreamConfig& js = config.nats.jetstream;
  if (!js.streams.assignments.subjects_configured) {
    js.streams.assignments.subjects = {config.nats.assignments.subject};
  }
  if (!js.streams.results.subjects_configured) {
    js.streams.results.subjects = {js.consumers.results.filter_subject};
  }
  if (!js.streams.acks.subjects_configured) {
    js.streams.acks.subjects = {js.consumers.acks.filter_subject};
  }
  if (!js.streams.usage.subjects_configured) {
    js.streams.usage.subjects = {config.nats.usage.subject};
  }
  if (!js.streams.dlq.subjects_configured) {
    js.streams.dlq.subjects = {config.nats.decide.subject + ".dlq",
                               js.consumers.results.filter_subject + ".dlq",
                               js.consumers.acks.filter_subject + ".dlq"};
  }

  internal::Validate(config, context, &errors);
  if (!errors.empty()) {
    return absl::InvalidArgumentError(AbslView(absl::StrJoin(errors, "\n")));
  }
  return config;
}

absl::Status CheckDataDir(const std::string& data_dir, bool create) {
  auto invalid = [](const std::string& problem) {
    return absl::InvalidArgumentError(AbslView("data_dir: " + problem));
  };
  if (data_dir.empty()) return invalid("must not be empty");
  fs::path dir(data_dir);
  std::error_code ec;
  fs::file_status st = fs::status(dir, ec);
  if (fs::exists(st)) {
    if (!fs::is_directory(st)) return invalid("\"" + data_dir + "\" is not a directory");
    if (access(dir.c_str(), W_OK | X_OK) != 0) {
      return invalid("\"" + data_dir + "\" is not writable: " + std::strerror(errno));
    }
    return absl::OkStatus();
  }
  // Find the nearest existing ancestor: it must be a writable directory.
  fs::path ancestor = dir.parent_path();
  while (!ancestor.empty() && !fs::exists(ancestor, ec)) {
    if (ancestor == ancestor.parent_path()) break;
    ancestor = ancestor.parent_path();
  }
  if (ancestor.empty()) ancestor = ".";
  if (!fs::is_directory(ancestor, ec)) {
    return invalid("\"" + data_dir + "\" cannot be created: \"" + ancestor.string() +
                   "\" is not a directory");
  }
  if (access(ancestor.c_str(), W_OK | X_OK) != 0) {
    return invalid("\"" + data_dir + "\" cannot be created: \"" + ancestor.string() +
                   "\" is not writable");
  }
  if (!create) return absl::OkStatus();
  fs::create_directories(dir, ec);
  if (ec) {
    return absl::InternalError(
        AbslView("data_dir: cannot create \"" + data_dir + "\": " + ec.message()));
  }
  if (chmod(dir.c_str(), 0700) != 0) {
    return absl::InternalError(AbslView("data_dir: cannot set mode 0700 on \"" + data_dir +
                                        "\": " + std::strerror(errno)));
  }
  return absl::OkStatus();
}

absl::Status PrepareDataDir(const Config& config) { return CheckDataDir(config.data_dir, true); }

std::map<std::string, std::string> EnvironmentFromEnviron(const char* const* envp) {
  std::map<std::string, std::string> out;
  if (envp == nullptr) return out;
  for (const char* const* p = envp; *p != nullptr; ++p) {
    std::string_view entry(*p);
    size_t eq = entry.find('=');
    if (eq == std::string_view::npos) continue;
    out[std::string(entry.substr(0, eq))] = std::string(entry.substr(eq + 1));
  }
  return out;
}

}  // namespace router::config
