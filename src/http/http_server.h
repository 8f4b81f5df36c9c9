#pragma once
// HttpServer: the operations port (default 9001): GET /health (liveness, OBS §7.1), GET /ready
// (readiness, OBS §7.2) and GET|HEAD /metrics (Prometheus text 0.0.4, OBS §3; other methods
// 405, disabled by metrics.enabled=false -> 404). Every request is counted in
// router_http_requests_total{path,code}. Runs cpp-httplib on its own threads; Start() binds
// (port 0 = ephemeral) before returning. Thread-safe; Stop() joins.

#include <memory>
#include <string>
#include <thread>

#include "absl/status/statusor.h"
#include "obs/metrics/router_metrics.h"
#include "service/readiness.h"

namespace httplib {
class Server;
}

namespace router::http {

class HttpServer {
 public:
  // `metrics` may be null (no /metrics, no request counting); it must outlive Stop().
  HttpServer(const service::Readiness& readiness, obs::RouterMetrics* metrics,
             bool metrics_enabled);
  ~HttpServer();

  // Binds `listen` ("host:port") and starts serving. Returns the bound port.
  absl::StatusOr<int> Start(const std::string& listen);
  void Stop();

 private:
  const service::Readiness& readiness_;
  obs::RouterMetrics* metrics_;
  std::unique_ptr<httplib::Server> server_;
  std::thread thread_;
};

}  // namespace router::http
