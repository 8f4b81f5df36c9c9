#pragma once
// HttpServer: the operations port (default 9001) with GET /health (liveness, OBS §7.1) and
// GET /ready (readiness, OBS §7.2). /metrics arrives with the observability issue (#3).
// Runs cpp-httplib on its own thread; Start() binds (port 0 = ephemeral) before returning.
// Thread-safe; Stop() joins the thread.

#include <memory>
#include <string>
#include <thread>

#include "absl/status/statusor.h"
#include "service/readiness.h"

namespace httplib {
class Server;
}

namespace router::http {

class HttpServer {
 public:
  explicit HttpServer(const service::Readiness& readiness);
  ~HttpServer();

  // Binds `listen` ("host:port") and starts serving. Returns the bound port.
  absl::StatusOr<int> Start(const std::string& listen);
  void Stop();

 private:
  const service::Readiness& readiness_;
  std::unique_ptr<httplib::Server> server_;
  std::thread thread_;
};

}  // namespace router::http
