#include "config/cli.h"

#include <toml++/toml.h>

#include <CLI/CLI.hpp>
#include <set>
#include <sstream>

#include "config/config_internal.h"

namespace router::config {
namespace {

constexpr std::string_view kRedacted = "[REDACTED]";

// Set secrets print as "[REDACTED]" unless `reveal` (used only to compare configurations).
std::string Secret(const std::string& value, bool reveal) {
  if (reveal) return value;
  return value.empty() ? std::string() : std::string(kRedacted);
}

// nats://user:pass@host -> nats://[REDACTED]@host, per comma-separated server.
std::string RedactUrlCredentials(const std::string& url) {
  std::string out;
  size_t pos = 0;
  while (true) {
    size_t comma = url.find(',', pos);
    std::string server =
        url.substr(pos, comma == std::string::npos ? std::string::npos : comma - pos);
    size_t scheme = server.find("://");
    size_t at = server.rfind('@');
    if (scheme != std::string::npos && at != std::string::npos && at > scheme) {
      server = server.substr(0, scheme + 3) + std::string(kRedacted) + server.substr(at);
    }
    out += server;
    if (comma == std::string::npos) break;
    out += ',';
    pos = comma + 1;
  }
  return out;
}

toml::array Strings(const std::vector<std::string>& values) {
  toml::array a;
  for (const std::string& v : values) a.push_back(v);
  return a;
}

toml::array Ints(const std::vector<int64_t>& values) {
  toml::array a;
  for (int64_t v : values) a.push_back(v);
  return a;
}

toml::table StringMap(const std::map<std::string, std::string>& values, bool secret) {
  toml::table t;
  for (const auto& [k, v] : values) t.insert(k, secret ? std::string(kRedacted) : v);
  return t;
}

toml::table Stream(const StreamConfig& s) {
  return toml::table{{"name", s.name},
                     {"subjects", Strings(s.subjects)},
                     {"max_age_s", s.max_age_s},
                     {"max_bytes", s.max_bytes},
                     {"duplicate_window_s", s.duplicate_window_s}};
}

toml::table Consumer(const ConsumerConfig& c) {
  return toml::table{{"durable", c.durable},
                     {"filter_subject", c.filter_subject},
                     {"ack_wait_s", c.ack_wait_s},
                     {"max_deliver", c.max_deliver},
                     {"nak_delays_ms", Ints(c.nak_delays_ms)},
                     {"max_ack_pending", c.max_ack_pending},
                     {"fetch_batch", c.fetch_batch},
                     {"fetch_expires_ms", c.fetch_expires_ms},
                     {"max_inflight", c.max_inflight}};
}

toml::table BuildToml(const Config& c, bool reveal) {
  toml::table root;
  root.insert("data_dir", c.data_dir);
  root.insert("node_id", c.node_id);

  const ServerConfig& s = c.server;
  root.insert("server",
              toml::table{{"grpc_listen", s.grpc_listen},
                          {"http_listen", s.http_listen},
                          {"worker_threads", s.worker_threads},
                          {"grpc_max_message_bytes", s.grpc_max_message_bytes},
                          {"grpc_max_concurrent_streams", s.grpc_max_concurrent_streams},
                          {"grpc_reflection", s.grpc_reflection},
                          {"shutdown_delay_ms", s.shutdown_delay_ms},
                          {"shutdown_grace_ms", s.shutdown_grace_ms},
                          {"tls", toml::table{{"enabled", s.tls.enabled},
                                              {"cert_file", s.tls.cert_file},
                                              {"key_file", s.tls.key_file},
                                              {"client_ca_file", s.tls.client_ca_file}}}});

  const LogConfig& l = c.log;
  toml::table log{{"level", ToString(l.level)},
                  {"output", ToString(l.output)},
                  {"queue_capacity", l.queue_capacity},
                  {"max_record_bytes", l.max_record_bytes},
                  {"rate_limit_burst", l.rate_limit_burst},
                  {"rate_limit_interval_ms", l.rate_limit_interval_ms},
                  {"redact_keys", Strings(l.redact_keys)}};
  if (!l.file.empty()) log.insert("file", l.file);
  root.insert("log", std::move(log));

  const MetricsConfig& m = c.metrics;
  root.insert("metrics", toml::table{{"enabled", m.enabled},
                                     {"max_series_per_metric", m.max_series_per_metric},
                                     {"tenant_labels", ToString(m.tenant_labels)},
                                     {"max_tenant_label_values", m.max_tenant_label_values},
                                     {"tenant_label_allowlist", Strings(m.tenant_label_allowlist)},
                                     {"process_metrics", m.process_metrics}});

  const TracingConfig& t = c.tracing;
  root.insert("tracing",
              toml::table{{"otlp_endpoint", t.otlp_endpoint},
                          {"otlp_headers", StringMap(t.otlp_headers, /*secret=*/!reveal)},
                          {"otlp_timeout_ms", t.otlp_timeout_ms},
                          {"otlp_compression", ToString(t.otlp_compression)},
                          {"sample_ratio", t.sample_ratio},
                          {"parent_based", t.parent_based},
                          {"export_unsampled_errors", t.export_unsampled_errors},
                          {"internal_spans", t.internal_spans},
                          {"batch_max_spans", t.batch_max_spans},
                          {"batch_interval_ms", t.batch_interval_ms},
                          {"queue_max_spans", t.queue_max_spans},
                          {"service_name", t.service_name},
                          {"resource_attributes", StringMap(t.resource_attributes, false)}});

  root.insert("health", toml::table{{"stall_threshold_ms", c.health.stall_threshold_ms}});

  toml::array keys;
  for (const AdminKeyConfig& k : c.admin.keys) {
    toml::array grants;
    for (const AdminGrant& g : k.grants) {
      grants.push_back(toml::table{{"tenant", g.tenant}, {"role", ToString(g.role)}});
    }
    keys.push_back(toml::table{{"principal", k.principal},
                               {"key_sha256", Secret(k.key_sha256, reveal)},
                               {"grants", std::move(grants)}});
  }
  root.insert("admin", toml::table{{"enabled", c.admin.enabled},
                                   {"audit_retention_days", c.admin.audit_retention_days},
                                   {"keys", std::move(keys)}});

  root.insert("checkpoint", toml::table{{"current_cp", c.checkpoint.current_cp},
                                        {"cp2_plus_allowed", c.checkpoint.cp2_plus_allowed}});
  root.insert("tenants", toml::table{{"allowlist", Strings(c.tenants.allowlist)}});
  root.insert("decide", toml::table{{"rng_seed", c.decide.rng_seed},
                                    {"max_context_entries", c.decide.max_context_entries},
                                    {"max_context_key_bytes", c.decide.max_context_key_bytes},
                                    {"max_context_value_bytes", c.decide.max_context_value_bytes}});

  const PolicyStoreConfig& p = c.policy_store;
  root.insert("policy_store", toml::table{{"backend", ToString(p.backend)},
                                          {"sqlite_path", p.sqlite_path},
                                          {"postgres_dsn", Secret(p.postgres_dsn, reveal)},
                                          {"fixtures_dir", p.fixtures_dir},
                                          {"load_fixtures", p.load_fixtures},
                                          {"max_policies_per_tenant", p.max_policies_per_tenant},
                                          {"busy_timeout_ms", p.busy_timeout_ms},
                                          {"poll_interval_ms", p.poll_interval_ms},
                                          {"integrity_check", ToString(p.integrity_check)}});

  toml::table overrides;
  for (const auto& [tenant, o] : c.rate_limit.tenant.overrides) {
    overrides.insert(
        tenant, toml::table{{"requests_per_second", o.requests_per_second}, {"burst", o.burst}});
  }
  root.insert(
      "rate_limit",
      toml::table{
          {"max_buckets", c.rate_limit.max_buckets},
          {"tenant", toml::table{{"enabled", c.rate_limit.tenant.enabled},
                                 {"requests_per_second", c.rate_limit.tenant.requests_per_second},
                                 {"burst", c.rate_limit.tenant.burst},
                                 {"overrides", std::move(overrides)}}}});

  root.insert("circuit_breaker", toml::table{{"max_entries", c.circuit_breaker.max_entries}});
  root.insert("stats", toml::table{{"ewma_alpha", c.stats.ewma_alpha},
                                   {"min_samples", c.stats.min_samples},
                                   {"max_age_s", c.stats.max_age_s}});
  root.insert("sticky",
              toml::table{{"max_entries", c.sticky.max_entries}, {"shards", c.sticky.shards}});
  root.insert("idempotency", toml::table{{"ttl_s", c.idempotency.ttl_s},
                                         {"max_entries", c.idempotency.max_entries},
                                         {"scope", ToString(c.idempotency.scope)}});
  root.insert("correlation", toml::table{{"ttl_s", c.correlation.ttl_s},
                                         {"max_entries", c.correlation.max_entries}});
  const BackpressureConfig& b = c.backpressure;
  root.insert("backpressure", toml::table{{"enabled", b.enabled},
                                          {"inflight_overload", b.inflight_overload},
                                          {"latency_overload_ms", b.latency_overload_ms},
                                          {"queue_overload", b.queue_overload},
                                          {"retry_after_ms", b.retry_after_ms}});

  toml::array registry;
  for (const ExtensionConfig& e : c.extensions.registry) {
    registry.push_back(toml::table{{"id", e.id},
                                   {"type", ToString(e.type)},
                                   {"subject", e.subject},
                                   {"timeout_ms", e.timeout_ms},
                                   {"retry", e.retry},
                                   {"enabled", e.enabled},
                                   {"max_payload_bytes", e.max_payload_bytes},
                                   {"max_metadata_bytes", e.max_metadata_bytes}});
  }
  root.insert("extensions", toml::table{{"registry", std::move(registry)}});
  // [testing] is printed only when the hooks are on (otherwise it would not load back).
  if (c.testing_hooks_enabled) {
    root.insert("testing", toml::table{{"decide_delay_ms", c.testing.decide_delay_ms}});
  }

  const NatsConfig& n = c.nats;
  const JetStreamConfig& js = n.jetstream;
  toml::table jetstream{
      {"enabled", js.enabled},
      {"manage_streams", js.manage_streams},
      {"domain", js.domain},
      {"api_timeout_ms", js.api_timeout_ms},
      {"replicas", js.replicas},
      {"publish", toml::table{{"max_outstanding", js.publish.max_outstanding},
                              {"pub_ack_timeout_ms", js.publish.pub_ack_timeout_ms},
                              {"max_attempts", js.publish.max_attempts},
                              {"retry_base_ms", js.publish.retry_base_ms},
                              {"retry_max_ms", js.publish.retry_max_ms}}},
      {"outbox", toml::table{{"capacity", js.outbox.capacity},
                             {"max_age_ms", js.outbox.max_age_ms},
                             {"retain_after_ack_ms", js.outbox.retain_after_ack_ms}}},
      {"streams", toml::table{{"assignments", Stream(js.streams.assignments)},
                              {"results", Stream(js.streams.results)},
                              {"acks", Stream(js.streams.acks)},
                              {"usage", Stream(js.streams.usage)},
                              {"dlq", Stream(js.streams.dlq)}}},
      {"consumers", toml::table{{"results", Consumer(js.consumers.results)},
                                {"acks", Consumer(js.consumers.acks)}}}};
  root.insert(
      "nats",
      toml::table{
          {"url", reveal ? n.url : RedactUrlCredentials(n.url)},
          {"name", n.name},
          {"connect_timeout_ms", n.connect_timeout_ms},
          {"reconnect_base_ms", n.reconnect_base_ms},
          {"reconnect_max_ms", n.reconnect_max_ms},
          {"ping_interval_ms", n.ping_interval_ms},
          {"max_pings_out", n.max_pings_out},
          {"readiness_grace_ms", n.readiness_grace_ms},
          {"drain_timeout_ms", n.drain_timeout_ms},
          {"max_payload_bytes", n.max_payload_bytes},
          {"auth", toml::table{{"creds_file", n.auth.creds_file},
                               {"nkey_seed_file", n.auth.nkey_seed_file},
                               {"user", n.auth.user},
                               {"password", Secret(n.auth.password, reveal)},
                               {"token", Secret(n.auth.token, reveal)}}},
          {"tls", toml::table{{"enabled", n.tls.enabled},
                              {"verify", n.tls.verify},
                              {"server_name", n.tls.server_name},
                              {"ca_file", n.tls.ca_file},
                              {"cert_file", n.tls.cert_file},
                              {"key_file", n.tls.key_file}}},
          {"decide", toml::table{{"enabled", n.decide.enabled},
                                 {"subject", n.decide.subject},
                                 {"queue_group", n.decide.queue_group},
                                 {"reply_fallback", n.decide.reply_fallback},
                                 {"min_payload_bytes", n.decide.min_payload_bytes},
                                 {"workers", n.decide.workers}}},
          {"assignments", toml::table{{"enabled", n.assignments.enabled},
                                      {"subject", n.assignments.subject},
                                      {"allowed_tenants", Strings(n.assignments.allowed_tenants)},
                                      {"reply_mode", ToString(n.assignments.reply_mode)},
                                      {"publish_timeout_ms", n.assignments.publish_timeout_ms},
                                      {"deadline_multiplier", n.assignments.deadline_multiplier},
                                      {"deadline_min_ms", n.assignments.deadline_min_ms},
                                      {"deadline_max_ms", n.assignments.deadline_max_ms}}},
          {"fanout", toml::table{{"enabled", n.fanout.enabled}}},
          {"usage", toml::table{{"subject", n.usage.subject}}},
          {"status", toml::table{{"subject", n.status.subject}}},
          {"dlq", toml::table{{"enabled", n.dlq.enabled},
                              {"include_payload", n.dlq.include_payload},
                              {"decide_rate_per_s", n.dlq.decide_rate_per_s}}},
          {"assignment_lookup", toml::table{{"enabled", n.assignment_lookup.enabled}}},
          {"jetstream", std::move(jetstream)}});
  return root;
}

std::string NodeText(const toml::node& node) {
  std::ostringstream out;
  out << toml::toml_formatter(node, toml::format_flags::none);
  return out.str();
}

void DiffNodes(const std::string& path, const toml::node* a, const toml::node* b,
               std::vector<std::string>* out) {
  if (a != nullptr && b != nullptr && a->is_table() && b->is_table()) {
    std::set<std::string> keys;
    for (auto&& [k, v] : *a->as_table()) keys.insert(std::string(k.str()));
    for (auto&& [k, v] : *b->as_table()) keys.insert(std::string(k.str()));
    for (const std::string& k : keys) {
      DiffNodes(internal::JoinPath(path, k), a->as_table()->get(k), b->as_table()->get(k), out);
    }
    return;
  }
  if (a == nullptr || b == nullptr || NodeText(*a) != NodeText(*b)) out->push_back(path);
}

}  // namespace

std::string UsageText() {
  return "Usage: beamline-router [options]\n"
         "\n"
         "Options (precedence: defaults < config file < BEAMLINE_ROUTER_* environment < flags):\n"
         "  --config PATH              TOML configuration file (else BEAMLINE_ROUTER_CONFIG)\n"
         "  --grpc-listen ADDR         gRPC host:port (server.grpc_listen)\n"
         "  --http-listen ADDR         HTTP host:port for /metrics, /health, /ready\n"
         "  --data-dir DIR             data directory (data_dir)\n"
         "  --log-level LEVEL          error | warn | info | debug (log.level)\n"
         "  --nats-url URL             NATS servers, comma-separated; empty = NATS off\n"
         "  --check-config             validate, print `config OK <summary>` and exit 0,\n"
         "                             or print every error and exit 2; writes nothing\n"
         "  --enable-testing-hooks     permit the [testing] table (test harnesses only)\n"
         "  --print-config             print the effective configuration (secrets redacted)\n"
         "  --print-metrics-catalogue  print every metric the router exports\n"
         "  --version                  print the version\n"
         "  -h, --help                 print this help\n"
         "\n"
         "Environment: BEAMLINE_ROUTER_CONFIG, BEAMLINE_ROUTER_ADMIN_API_KEY,\n"
         "  BEAMLINE_ROUTER_NATS_URL, BEAMLINE_ROUTER_GRPC_LISTEN, BEAMLINE_ROUTER_HTTP_LISTEN,\n"
         "  BEAMLINE_ROUTER_DATA_DIR, BEAMLINE_ROUTER_LOG_LEVEL.\n"
         "Exit codes: 0 clean exit, 1 startup or runtime failure, 2 invalid configuration or "
         "usage.\n";
}

CliParseResult ParseCommandLine(int argc, const char* const* argv) {
  CliParseResult result;
  CommandLine& f = result.flags;
  // CLI11 2.1 reads `--opt=` (empty value) as "no value" and takes the next argument instead;
  // split `--opt=value` into two arguments so an empty value stays a value (§3: an empty NATS
  // URL turns NATS off).
  const std::set<std::string> value_options = {"--config",   "--grpc-listen", "--http-listen",
                                               "--data-dir", "--log-level",   "--nats-url"};
  std::vector<std::string> args;
  for (int i = 0; i < argc; ++i) {
    std::string arg = argv[i] == nullptr ? "" : argv[i];
    size_t eq = arg.find('=');
    if (i > 0 && arg.rfind("--", 0) == 0 && eq != std::string::npos &&
        value_options.count(arg.substr(0, eq)) > 0) {
      args.push_back(arg.substr(0, eq));
      args.push_back(arg.substr(eq + 1));
    } else {
      args.push_back(std::move(arg));
    }
  }
  std::vector<const char*> split_argv;
  for (const std::string& a : args) split_argv.push_back(a.c_str());

  // CLI11 signals --help and every usage error by throwing; this block is its only call site.
  try {
    CLI::App app{"beamline-router", "beamline-router"};
    std::string config_path, grpc_listen, http_listen, data_dir, log_level, nats_url;
    CLI::Option* o_config = app.add_option("--config", config_path);
    CLI::Option* o_grpc = app.add_option("--grpc-listen", grpc_listen);
    CLI::Option* o_http = app.add_option("--http-listen", http_listen);
    CLI::Option* o_data = app.add_option("--data-dir", data_dir);
    CLI::Option* o_level = app.add_option("--log-level", log_level);
    CLI::Option* o_nats = app.add_option("--nats-url", nats_url);
    app.add_flag("--check-config", f.check_config);
    app.add_flag("--enable-testing-hooks", f.enable_testing_hooks);
    app.add_flag("--print-config", f.print_config);
    app.add_flag("--print-metrics-catalogue", f.print_metrics_catalogue);
    app.add_flag("--version", f.version);
    app.parse(static_cast<int>(split_argv.size()), split_argv.data());
    if (o_config->count() > 0) f.config_path = config_path;
    if (o_grpc->count() > 0) f.overrides.grpc_listen = grpc_listen;
    if (o_http->count() > 0) f.overrides.http_listen = http_listen;
    if (o_data->count() > 0) f.overrides.data_dir = data_dir;
    if (o_level->count() > 0) f.overrides.log_level = log_level;
    if (o_nats->count() > 0) f.overrides.nats_url = nats_url;
  } catch (const CLI::CallForHelp&) {
    f.help = true;
    result.exit_code = 0;
    result.output = UsageText();
  } catch (const std::exception& e) {  // CLI::ParseError and anything else
    result.exit_code = 2;
    result.output = std::string("beamline-router: ") + e.what() + "\n\n" + UsageText();
  }
  return result;
}

CliParseResult ParseCommandLine(const std::vector<std::string>& args) {
  std::vector<const char*> argv;
  argv.reserve(args.size() + 1);
  for (const std::string& a : args) argv.push_back(a.c_str());
  argv.push_back(nullptr);
  return ParseCommandLine(static_cast<int>(args.size()), argv.data());
}

LoadOptions MakeLoadOptions(const CommandLine& flags, const char* const* envp) {
  LoadOptions options;
  options.config_path = flags.config_path;
  options.overrides = flags.overrides;
  options.enable_testing_hooks = flags.enable_testing_hooks;
  options.environment = EnvironmentFromEnviron(envp);
  return options;
}

std::string PrintConfigToml(const Config& config) {
  std::ostringstream out;
  out << "# beamline-router effective configuration (secrets redacted)\n";
  out << toml::toml_formatter(BuildToml(config, /*reveal=*/false), toml::format_flags::none)
      << "\n";
  return out.str();
}

std::vector<std::string> ChangedKeys(const Config& before, const Config& after) {
  toml::table a = BuildToml(before, /*reveal=*/true);
  toml::table b = BuildToml(after, /*reveal=*/true);
  std::vector<std::string> out;
  DiffNodes("", &a, &b, &out);
  return out;
}

bool ReloadNeedsRestart(const std::vector<std::string>& changed_keys) {
  for (const std::string& key : changed_keys) {
    bool live =
        key == "log.level" || key.rfind("log.rate_limit_", 0) == 0 || key == "tracing.sample_ratio";
    if (!live) return true;
  }
  return false;
}

std::string ConfigSummary(const Config& c) {
  std::string s;
  s += "file=" + (c.config_file.empty() ? std::string("(defaults)") : c.config_file);
  s += " node_id=" + c.node_id;
  s += " grpc=" + c.server.grpc_listen;
  s += " http=" + c.server.http_listen;
  s += " data_dir=" + c.data_dir;
  s += std::string(" store=") + ToString(c.policy_store.backend) + ":" + c.policy_store.sqlite_path;
  s += " nats=" + (c.nats.url.empty() ? std::string("off") : RedactUrlCredentials(c.nats.url));
  if (c.nats.Enabled()) s += std::string(" jetstream=") + (c.nats.jetstream.enabled ? "on" : "off");
  s += " admin_principals=" + std::to_string(c.admin.keys.size());
  s += std::string(" log_level=") + ToString(c.log.level);
  return s;
}

}  // namespace router::config
