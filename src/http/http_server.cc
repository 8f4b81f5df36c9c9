#include "http/http_server.h"

#include <httplib.h>

#include "base/errors.h"

namespace router::http {

HttpServer::HttpServer(const service::Readiness& readiness)
    : readiness_(readiness), server_(std::make_unique<httplib::Server>()) {
  server_->Get("/health", [](const httplib::Request&, httplib::Response& res) {
    res.set_header("Cache-Control", "no-store");
    res.set_content("{\"status\":\"ok\"}", "application/json");
  });
  server_->Get("/ready", [this](const httplib::Request&, httplib::Response& res) {
    res.status = readiness_.Ready() ? 200 : 503;
    res.set_header("Cache-Control", "no-store");
    res.set_content(readiness_.ToJson(), "application/json");
  });
}

HttpServer::~HttpServer() { Stop(); }

absl::StatusOr<int> HttpServer::Start(const std::string& listen) {
  auto colon = listen.rfind(':');
  if (colon == std::string::npos) {
    return absl::InvalidArgumentError(AbslView("invalid http_listen " + listen));
  }
  std::string host = listen.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  int port = std::stoi(listen.substr(colon + 1));
  int bound = port;
  if (port == 0) {
    bound = server_->bind_to_any_port(host);
  } else if (!server_->bind_to_port(host, port)) {
    bound = -1;
  }
  if (bound <= 0) {
    return absl::UnavailableError(AbslView("cannot bind HTTP listener on " + listen));
  }
  thread_ = std::thread([this] { server_->listen_after_bind(); });
  return bound;
}

void HttpServer::Stop() {
  if (server_) server_->stop();
  if (thread_.joinable()) thread_.join();
}

}  // namespace router::http
