#pragma once
// Application: owns every component of one router process and fixes the start and stop order
// of OBS §7.4: HTTP (/health answers, /ready 503) -> store (open, integrity check, fixtures on
// first start, first snapshot) -> gRPC bound (every method served) -> ready. Shutdown: not
// ready and health NOT_SERVING at once -> shutdown_delay_ms -> stop accepting, finish in-flight
// calls within shutdown_grace_ms -> stop HTTP.
// Start/Shutdown are called from the main thread; accessors are thread-safe after Start.

#include <grpcpp/grpcpp.h>

#include <atomic>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "app/breaker_sweeper.h"
#include "app/maintenance.h"
#include "base/system_clock.h"
#include "config/admin_auth.h"
#include "config/config.h"
#include "core/breaker_registry.h"
#include "core/decider.h"
#include "core/provider_health.h"
#include "core/provider_stats.h"
#include "core/rate_limiter.h"
#include "core/snapshot.h"
#include "core/sticky_table.h"
#include "grpc/admin_grpc_service.h"
#include "grpc/router_service.h"
#include "http/http_server.h"
#include "nats/nats_transport.h"
#include "obs/metrics/router_metrics.h"
#include "obs/tracing/tracer.h"
#include "service/admin_service.h"
#include "service/backpressure.h"
#include "service/breaker_metrics.h"
#include "service/correlation_store.h"
#include "service/decision_service.h"
#include "service/idempotency_store.h"
#include "service/outcome_service.h"
#include "service/policy_registry.h"
#include "service/readiness.h"
#include "service/reply_delayer.h"
#include "store/policy_store.h"

namespace router::app {

class Application {
 public:
  explicit Application(config::Config config);
  ~Application();

  // Starts every component in order. Errors: the failing step's status (exit code 1).
  absl::Status Start();
  // Graceful shutdown (idempotent).
  void Shutdown();
  // SIGHUP (configuration.md §5): `next` is the re-read configuration or its errors. Applies
  // tracing.sample_ratio at once; any other changed key is logged as config.restart_required.
  void Reload(const absl::StatusOr<config::Config>& next);
  // Blocks until the gRPC server has shut down.
  void Wait();

  int grpc_port() const { return grpc_port_; }
  int http_port() const { return http_port_; }

 private:
  static std::vector<std::string> ReadinessChecks(const config::Config& config);
  absl::Status OpenStore();
  absl::Status StartGrpc();
  void UpdateHealth();
  // Insecure, or TLS (optionally mutual) from server.tls.
  absl::StatusOr<std::shared_ptr<::grpc::ServerCredentials>> ServerCredentials() const;

  const config::Config config_;
  SystemClock clock_;
  service::Readiness readiness_;
  std::unique_ptr<obs::RouterMetrics> metrics_;
  std::unique_ptr<obs::Tracer> tracer_;
  std::unique_ptr<http::HttpServer> http_;
  std::unique_ptr<store::PolicyStore> store_;
  core::SnapshotHolder snapshots_;
  std::unique_ptr<service::PolicyRegistry> registry_;
  // Circuit breakers and EWMA statistics (POL §6, §8; issue #5), swept by breaker_sweeper_.
  core::BreakerRegistry breakers_{
      clock_, snapshots_,
      core::BreakerRegistryOptions{static_cast<size_t>(config_.circuit_breaker.max_entries)}};
  core::ProviderStats statistics_{
      clock_, core::StatsOptions{config_.stats.ewma_alpha, config_.stats.min_samples,
                                 config_.stats.max_age_s}};
  std::unique_ptr<service::BreakerMetrics> breaker_metrics_;
  std::unique_ptr<BreakerSweeper> breaker_sweeper_;
  std::unique_ptr<core::StickyTable> sticky_;
  std::unique_ptr<core::Decider> decider_;
  // Decide idempotency (NATS §7.1, grpc §3.7) and assignment correlation (NATS §7.2); declared
  // before the services that use them so they are destroyed after.
  std::unique_ptr<service::IdempotencyStore> idempotency_;
  std::unique_ptr<service::CorrelationStore> correlation_;
  // S10 responder/asker (NATS §3.9), created with the NATS transport; read by GetAssignment
  // through the atomic (admin calls may run before NATS starts).
  std::unique_ptr<nats_adapter::AssignmentLookup> assignment_lookup_;
  std::atomic<nats_adapter::AssignmentLookup*> assignment_lookup_ptr_{nullptr};
  // Token buckets (POL §7), backpressure status (NATS §9) and the [testing] decide_delay_ms
  // hook; declared before the service and transports that use them so they are destroyed after.
  std::unique_ptr<core::RateLimiter> rate_limiter_;
  std::unique_ptr<service::BackpressureMonitor> backpressure_;
  std::unique_ptr<service::ReplyDelayer> reply_delayer_;
  std::unique_ptr<service::DecisionService> decisions_;
  // Declared after decisions_ so it is destroyed first (it calls into the decision service).
  std::unique_ptr<nats_adapter::NatsTransport> nats_;
  std::unique_ptr<service::OutcomeService> outcomes_;
  std::unique_ptr<service::AdminService> admin_;
  std::unique_ptr<config::AdminAuthenticator> auth_;
  std::unique_ptr<grpc_adapter::RouterGrpcService> router_grpc_;
  std::unique_ptr<grpc_adapter::AdminGrpcService> admin_grpc_;
  std::unique_ptr<::grpc::Server> grpc_server_;
  std::unique_ptr<MaintenanceLoop> maintenance_;
  std::string sqlite_path_;
  int grpc_port_ = 0;
  int http_port_ = 0;
  std::atomic<bool> shut_down_{false};
};

}  // namespace router::app
