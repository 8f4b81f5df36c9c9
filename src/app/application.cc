#include "app/application.h"

#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/health_check_service_interface.h>
#include <sys/stat.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "app/log.h"
#include "app/observability_setup.h"
#include "app/store_metrics.h"
#include "base/errors.h"
#include "config/cli.h"
#include "config/config_loader.h"
#include "core/random.h"
#include "grpc/call_counter.h"
#include "store/sqlite_policy_store.h"

namespace router::app {
namespace {

constexpr const char* kRouterService = "beamline.flow.v1.Router";
constexpr const char* kAdminService = "beamline.flow.v1.RouterAdmin";

store::IntegrityCheck ToStoreIntegrity(config::IntegrityCheck c) {
  switch (c) {
    case config::IntegrityCheck::kFull:
      return store::IntegrityCheck::kFull;
    case config::IntegrityCheck::kOff:
      return store::IntegrityCheck::kOff;
    case config::IntegrityCheck::kQuick:
      break;
  }
  return store::IntegrityCheck::kQuick;
}

}  // namespace

Application::Application(config::Config config)
    : config_(std::move(config)), readiness_(ReadinessChecks(config_)) {
  readiness_.Set("config", true);
}

std::vector<std::string> Application::ReadinessChecks(const config::Config& config) {
  std::vector<std::string> checks = {"config", "store", "grpc"};
  for (auto& c : nats_adapter::NatsTransport::ReadinessChecks(config.nats)) {
    checks.push_back(std::move(c));
  }
  return checks;
}

Application::~Application() { Shutdown(); }

absl::Status Application::Start() {
  core::SetGlobalSeed(static_cast<uint64_t>(config_.decide.rng_seed));

  // 0. Metrics and tracing first: every later component records into them.
  auto metrics = CreateMetrics(config_, clock_);
  if (!metrics.ok()) return metrics.status();
  metrics_ = *std::move(metrics);
  auto tracer = CreateTracer(config_, clock_, *metrics_);
  if (!tracer.ok()) return tracer.status();
  tracer_ = *std::move(tracer);

  // 1. HTTP: /health answers, /ready is 503 until every check passes.
  http_ = std::make_unique<http::HttpServer>(readiness_, metrics_.get(), config_.metrics.enabled);
  auto http_port = http_->Start(config_.server.http_listen);
  if (!http_port.ok()) return http_port.status();
  http_port_ = *http_port;

  // 2. Store, fixtures, first snapshot.
  if (auto s = OpenStore(); !s.ok()) return s;

  // 3. Decision path and admin.
  sticky_ = std::make_unique<core::StickyTable>(static_cast<size_t>(config_.sticky.shards),
                                                static_cast<size_t>(config_.sticky.max_entries));
  decider_ = std::make_unique<core::Decider>(clock_, breakers_, statistics_, *sticky_);
  service::DecisionServiceOptions opts;
  opts.tenant_allowlist = config_.tenants.allowlist;
  opts.max_context_entries = static_cast<size_t>(config_.decide.max_context_entries);
  opts.max_context_key_bytes = static_cast<size_t>(config_.decide.max_context_key_bytes);
  opts.max_context_value_bytes = static_cast<size_t>(config_.decide.max_context_value_bytes);
  decisions_ = std::make_unique<service::DecisionService>(
      opts, clock_, snapshots_, *decider_, service::Observability{metrics_.get(), tracer_.get()});
  {
    // Steps 4, 5, 7 of POL §3.1: backpressure (NATS §9) and the token buckets (POL §7).
    rate_limiter_ = std::make_unique<core::RateLimiter>(
        clock_, static_cast<size_t>(config_.rate_limit.max_buckets));
    service::TenantRateLimits tenant_limits;
    tenant_limits.enabled = config_.rate_limit.tenant.enabled;
    tenant_limits.defaults = {config_.rate_limit.tenant.requests_per_second,
                              config_.rate_limit.tenant.burst};
    for (const auto& [tenant, o] : config_.rate_limit.tenant.overrides) {
      tenant_limits.overrides[tenant] = {o.requests_per_second, o.burst};
    }
    decisions_->SetRateLimiter(rate_limiter_.get(), std::move(tenant_limits));
    service::BackpressureOptions bp;
    bp.enabled = config_.backpressure.enabled;
    bp.inflight_overload = config_.backpressure.inflight_overload;
    bp.latency_overload_ms = config_.backpressure.latency_overload_ms;
    bp.queue_overload = config_.backpressure.queue_overload;
    bp.retry_after_ms = config_.backpressure.retry_after_ms;
    backpressure_ = std::make_unique<service::BackpressureMonitor>(bp, clock_, metrics_.get());
    backpressure_->Start();
    decisions_->SetBackpressure(backpressure_.get());
    readiness_.SetBackpressureStatus(
        [bpm = backpressure_.get()] { return service::BackpressureStatusName(bpm->status()); });
    if (config_.testing_hooks_enabled && config_.testing.decide_delay_ms > 0) {
      reply_delayer_ = std::make_unique<service::ReplyDelayer>(
          std::chrono::milliseconds(config_.testing.decide_delay_ms));
      LogEvent("WARN", "main", "testing.decide_delay",
               "testing hook on: successful decide replies are deferred",
               {{"decide_delay_ms", std::to_string(config_.testing.decide_delay_ms)}});
    }
  }
  {
    service::IdempotencyStoreOptions iopts;
    iopts.ttl_s = config_.idempotency.ttl_s;
    iopts.max_entries = static_cast<size_t>(config_.idempotency.max_entries);
    idempotency_ = std::make_unique<service::IdempotencyStore>(iopts, clock_);
    service::CorrelationStoreOptions copts;
    copts.ttl_s = config_.correlation.ttl_s;
    copts.max_entries = static_cast<size_t>(config_.correlation.max_entries);
    correlation_ = std::make_unique<service::CorrelationStore>(copts, clock_);
    decisions_->SetIdempotencyStore(idempotency_.get());
  }
  outcomes_ = std::make_unique<service::OutcomeService>(config_.tenants.allowlist);
  breaker_metrics_ = std::make_unique<service::BreakerMetrics>(metrics_.get());
  breakers_.SetListener(breaker_metrics_.get());
  outcomes_->SetResilience(&breakers_, &statistics_, breaker_metrics_.get());
  service::AdminServiceOptions admin_opts;
  admin_opts.max_policies_per_tenant = config_.policy_store.max_policies_per_tenant;
  admin_ = std::make_unique<service::AdminService>(admin_opts, *store_, *registry_);
  admin_->SetBreakers(&breakers_, &statistics_);
  if (config_.nats.Enabled()) {
    admin_->SetAssignments(
        correlation_.get(),
        [this](std::string_view tenant, std::string_view assignment_id,
               std::string_view request_id) -> std::optional<service::AssignmentRecord> {
          nats_adapter::AssignmentLookup* lookup =
              assignment_lookup_ptr_.load(std::memory_order_acquire);
          if (lookup == nullptr) return std::nullopt;
          return lookup->Ask(tenant, assignment_id, request_id);
        });
  }
  auth_ = std::make_unique<config::AdminAuthenticator>(config_.admin.keys);

  // 4. gRPC.
  if (auto s = StartGrpc(); !s.ok()) return s;

  // 5. NATS decide transport (the first connect never blocks startup for long; cnats keeps
  // reconnecting in the background).
  if (config_.nats.Enabled()) {
    auto nats = nats_adapter::NatsTransport::Create(config_, *decisions_, readiness_, clock_);
    if (!nats.ok()) return nats.status();
    nats_ = *std::move(nats);
    // Result / ack consumers and fan-out (NATS §6.3-§6.5): metrics, breakers + statistics via
    // OutcomeService, correlation records.
    nats_->SetMetrics(metrics_.get());
    nats_->SetOutcomeService(outcomes_.get());
    nats_->SetCorrelationStore(correlation_.get());
    if (config_.nats.assignment_lookup.enabled) {
      assignment_lookup_ =
          std::make_unique<nats_adapter::AssignmentLookup>(nats_->connection(), *correlation_);
      nats_->SetAssignmentLookup(assignment_lookup_.get());
      assignment_lookup_ptr_.store(assignment_lookup_.get(), std::memory_order_release);
    }
    nats_->SetIdempotencyStore(idempotency_.get());  // NATS decide idempotency (§7.1)
    nats_->SetBackpressure(backpressure_.get(), reply_delayer_.get(), config_.node_id);
    if (auto s = nats_->Start(); !s.ok()) return s;
  } else if (obs::GaugeFamily* g = metrics_->registry->FindGauge("router_nats_connection_status")) {
    g->Remove(std::span<const std::string_view>());  // OBS §2.5: absent without NATS
  }
  WireCallbacks(*metrics_, *sticky_, snapshots_, *tracer_, readiness_, sqlite_path_);
  WireStoreMetrics(*metrics_, *idempotency_, *correlation_);
  MaintenanceOptions mopts;
  mopts.poll_interval_ms = config_.policy_store.poll_interval_ms;
  mopts.audit_retention_days = config_.admin.audit_retention_days;
  maintenance_ = std::make_unique<MaintenanceLoop>(mopts, clock_, *store_, *registry_, *sticky_);
  maintenance_->AddSweep([this] {
    idempotency_->Sweep();
    correlation_->Sweep();
  });
  maintenance_->Start();
  breaker_sweeper_ = std::make_unique<BreakerSweeper>(
      breakers_, statistics_, [m = breaker_metrics_.get()](const core::PairKey& k) {
        m->OnStatisticsEvicted(k.tenant, k.provider);
      });
  breaker_sweeper_->Start();
  readiness_.OnChange([this] { UpdateHealth(); });
  UpdateHealth();
  LogEvent("INFO", "main", "router.ready", "router is ready",
           {{"grpc_port", std::to_string(grpc_port_)},
            {"http_port", std::to_string(http_port_)},
            {"node_id", config_.node_id}});
  return absl::OkStatus();
}

absl::Status Application::OpenStore() {
  if (auto s = config::PrepareDataDir(config_); !s.ok()) return s;
  store::SqliteOptions sopts;
  sopts.path = config_.policy_store.sqlite_path.empty() ? config_.data_dir + "/policies.db"
                                                        : config_.policy_store.sqlite_path;
  sopts.busy_timeout_ms = static_cast<int>(config_.policy_store.busy_timeout_ms);
  sopts.integrity_check = ToStoreIntegrity(config_.policy_store.integrity_check);
  sopts.clock = &clock_;
  sqlite_path_ = sopts.path;
  auto store = store::SqlitePolicyStore::Open(sopts);
  if (!store.ok()) {
    metrics_->policy_store_errors->Get({"integrity"}).Inc();
    std::string cause;
    for (const auto& [k, v] : ErrorDetails(store.status())) {
      if (k == "cause") cause = v;
    }
    LogEvent("ERROR", "store", "store.integrity_failed", "cannot open the policy store",
             {{"path", sopts.path},
              {"error", std::string(StdView(store.status().message()))},
              {"cause", cause}});
    return store.status();
  }
  store_ = *std::move(store);
  registry_ =
      std::make_unique<service::PolicyRegistry>(*store_, snapshots_, metrics_.get(), &clock_);

  if (config_.policy_store.load_fixtures) {
    std::vector<service::FixtureSource> fixtures;
    if (config_.policy_store.fixtures_dir.empty()) {
      fixtures = service::BuiltinFixtures();
    } else {
      auto read = service::ReadFixturesDir(config_.policy_store.fixtures_dir);
      if (!read.ok()) return read.status();
      fixtures = *std::move(read);
    }
    auto inserted = registry_->LoadFixtures(fixtures);
    if (!inserted.ok()) {
      LogEvent("ERROR", "store", "store.row_invalid", "invalid fixture; startup aborted",
               {{"error", std::string(StdView(inserted.status().message()))}});
      return inserted.status();
    }
    if (*inserted > 0) {
      LogEvent("INFO", "store", "store.fixtures_loaded", "fixtures loaded on first start",
               {{"count", std::to_string(*inserted)}});
    }
  }
  auto skipped = registry_->ReloadAll();
  if (!skipped.ok()) return skipped.status();
  for (const auto& message : *skipped) {
    LogEvent("ERROR", "store", "store.row_invalid", "stored policy skipped: it no longer validates",
             {{"error", message}});
  }
  readiness_.Set("store", true);
  return absl::OkStatus();
}

absl::Status Application::StartGrpc() {
  router_grpc_ = std::make_unique<grpc_adapter::RouterGrpcService>(*decisions_, *outcomes_);
  router_grpc_->SetBackpressure(backpressure_.get());
  router_grpc_->SetReplyDelayer(reply_delayer_.get());
  grpc_adapter::AdminGrpcOptions aopts;
  aopts.current_cp = config_.checkpoint.current_cp;
  aopts.cp2_plus_allowed = config_.checkpoint.cp2_plus_allowed;
  aopts.updated_at_ms = config_.loaded_at_ms > 0 ? config_.loaded_at_ms : clock_.WallMs();
  admin_grpc_ = std::make_unique<grpc_adapter::AdminGrpcService>(
      aopts, *auth_, *admin_, *decisions_, readiness_, clock_, metrics_.get());

  ::grpc::EnableDefaultHealthCheckService(true);
  if (config_.server.grpc_reflection) ::grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  ::grpc::ServerBuilder builder;
  int selected_port = 0;
  auto credentials = ServerCredentials();
  if (!credentials.ok()) return credentials.status();
  builder.AddListeningPort(config_.server.grpc_listen, *credentials, &selected_port);
  builder.SetMaxReceiveMessageSize(static_cast<int>(config_.server.grpc_max_message_bytes));
  builder.AddChannelArgument(GRPC_ARG_MAX_CONCURRENT_STREAMS,
                             static_cast<int>(config_.server.grpc_max_concurrent_streams));
  std::vector<std::unique_ptr<::grpc::experimental::ServerInterceptorFactoryInterface>>
      interceptors;
  obs::RouterMetrics* metrics = metrics_.get();
  grpc_adapter::CallObserver count_call =
      [metrics](std::string_view service, std::string_view method, ::grpc::StatusCode code) {
        metrics->grpc_requests->Get({service, method, grpc_adapter::StatusCodeName(code)}).Inc();
      };
  // Decide counts its own calls (the hot path runs without interceptor machinery).
  router_grpc_->SetCallObserver(count_call);
  interceptors.push_back(
      grpc_adapter::MakeCallCounterFactory(count_call, {"/beamline.flow.v1.Router/Decide"}));
  builder.experimental().SetInterceptorCreators(std::move(interceptors));
  builder.RegisterService(router_grpc_.get());
  if (config_.admin.enabled) builder.RegisterService(admin_grpc_.get());
  grpc_server_ = builder.BuildAndStart();
  if (!grpc_server_ || selected_port == 0) {
    LogEvent("ERROR", "grpc", "router.fatal", "cannot bind the gRPC listener",
             {{"listen", config_.server.grpc_listen}});
    return absl::UnavailableError(
        AbslView("cannot bind gRPC listener on " + config_.server.grpc_listen));
  }
  grpc_port_ = selected_port;
  readiness_.Set("grpc", true);
  LogEvent("INFO", "grpc", "router.listening", "listening",
           {{"grpc_port", std::to_string(grpc_port_)}, {"http_port", std::to_string(http_port_)}});
  return absl::OkStatus();
}

absl::StatusOr<std::shared_ptr<::grpc::ServerCredentials>> Application::ServerCredentials() const {
  const auto& tls = config_.server.tls;
  if (!tls.enabled) return ::grpc::InsecureServerCredentials();
  auto read = [](const std::string& path) -> absl::StatusOr<std::string> {
    std::ifstream in(path, std::ios::binary);
    if (!in) return absl::FailedPreconditionError(AbslView("cannot read " + path));
    std::stringstream buffer;
    buffer << in.rdbuf();
    return buffer.str();
  };
  auto cert = read(tls.cert_file);
  if (!cert.ok()) return cert.status();
  auto key = read(tls.key_file);
  if (!key.ok()) return key.status();
  ::grpc::SslServerCredentialsOptions options(GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE);
  options.pem_key_cert_pairs.push_back({*key, *cert});
  if (!tls.client_ca_file.empty()) {
    auto ca = read(tls.client_ca_file);
    if (!ca.ok()) return ca.status();
    options.pem_root_certs = *ca;
    options.client_certificate_request = GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY;
  }
  return ::grpc::SslServerCredentials(options);
}

void Application::UpdateHealth() {
  if (!grpc_server_) return;
  auto* health = grpc_server_->GetHealthCheckService();
  if (health == nullptr) return;
  const bool ready = readiness_.Ready();
  const bool admin_ok = readiness_.CheckOk("store") && !readiness_.ShuttingDown();
  health->SetServingStatus("", ready);
  health->SetServingStatus(kRouterService, ready);
  health->SetServingStatus(kAdminService, admin_ok);
}

void Application::Shutdown() {
  if (shut_down_.exchange(true)) return;
  readiness_.BeginShutdown();
  if (grpc_server_) {
    if (config_.server.shutdown_delay_ms > 0) {
      std::this_thread::sleep_for(std::chrono::milliseconds(config_.server.shutdown_delay_ms));
    }
    if (reply_delayer_) reply_delayer_->Stop();  // deferred replies leave now
    if (nats_) nats_->Stop();
    grpc_server_->Shutdown(std::chrono::system_clock::now() +
                           std::chrono::milliseconds(config_.server.shutdown_grace_ms));
  }
  if (maintenance_) maintenance_->Stop();
  if (backpressure_) backpressure_->Stop();
  if (breaker_sweeper_) breaker_sweeper_->Stop();
  if (http_) http_->Stop();
  if (tracer_) tracer_->Shutdown();
  LogEvent("INFO", "main", "router.shutdown.complete", "shutdown complete");
}

void Application::Reload(const absl::StatusOr<config::Config>& next) {
  if (!next.ok()) {
    metrics_->config_reloads->Get({"error"}).Inc();
    LogEvent("ERROR", "config", "config.reload_failed",
             "invalid configuration; keeping the running one",
             {{"error", std::string(StdView(next.status().message()))}});
    return;
  }
  const std::vector<std::string> changed = config::ChangedKeys(config_, *next);
  if (tracer_) tracer_->SetSampleRatio(next->tracing.sample_ratio);
  obs::GlobalLogger().SetLevel(ToLogLevel(next->log.level));
  (void)obs::GlobalLogger().Reopen();  // log.file after logrotate
  obs::GlobalLogger().SetRateLimit(static_cast<uint32_t>(next->log.rate_limit_burst),
                                   next->log.rate_limit_interval_ms);
  metrics_->config_reloads->Get({"ok"}).Inc();
  std::string keys;
  for (const auto& k : changed) keys += (keys.empty() ? "" : ",") + k;
  LogEvent("INFO", "config", "config.reloaded", "configuration re-read", {{"changed", keys}});
  if (config::ReloadNeedsRestart(changed)) {
    LogEvent("WARN", "config", "config.restart_required",
             "some changed keys take effect only after a restart", {{"changed", keys}});
  }
}

void Application::Wait() {
  if (grpc_server_) grpc_server_->Wait();
}

}  // namespace router::app
