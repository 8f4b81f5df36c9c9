#include "http/http_server.h"

#include <httplib.h>

#include <charconv>

#include "base/errors.h"

namespace router::http {
namespace {

constexpr char kExpositionType[] = "text/plain; version=0.0.4; charset=utf-8";

std::string_view CodeLabel(int status, char (&buf)[8]) {
  switch (status) {
    case 200:
    case 400:
    case 404:
    case 405:
    case 413:
    case 500:
    case 503: {
      auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), status);
      (void)ec;
      return std::string_view(buf, static_cast<size_t>(end - buf));
    }
    default:
      return "other";
  }
}

std::string_view PathLabel(const std::string& path) {
  if (path == "/metrics" || path == "/health" || path == "/ready") return path;
  return "other";
}

}  // namespace

HttpServer::HttpServer(const service::Readiness& readiness, obs::RouterMetrics* metrics,
                       bool metrics_enabled)
    : readiness_(readiness), metrics_(metrics), server_(std::make_unique<httplib::Server>()) {
  server_->Get("/health", [](const httplib::Request&, httplib::Response& res) {
    res.set_header("Cache-Control", "no-store");
    res.set_content("{\"status\":\"ok\"}", "application/json");
  });
  server_->Get("/ready", [this](const httplib::Request&, httplib::Response& res) {
    res.status = readiness_.Ready() ? 200 : 503;
    res.set_header("Cache-Control", "no-store");
    res.set_content(readiness_.ToJson(), "application/json");
  });
  if (metrics_ != nullptr && metrics_enabled) {
    // httplib answers HEAD through the GET handler without a body.
    server_->Get("/metrics", [this](const httplib::Request&, httplib::Response& res) {
      std::string body;
      metrics_->Render(body);
      res.set_content(std::move(body), kExpositionType);
    });
    auto not_allowed = [](const httplib::Request&, httplib::Response& res) {
      res.status = 405;
      res.set_header("Allow", "GET, HEAD");
    };
    server_->Post("/metrics", not_allowed);
    server_->Put("/metrics", not_allowed);
    server_->Delete("/metrics", not_allowed);
    server_->Patch("/metrics", not_allowed);
    server_->Options("/metrics", not_allowed);
  }
  if (metrics_ != nullptr) {
    server_->set_logger([this](const httplib::Request& req, const httplib::Response& res) {
      char buf[8];
      metrics_->http_requests->Get({PathLabel(req.path), CodeLabel(res.status, buf)}).Inc();
    });
  }
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
  int port = 0;
  std::string_view port_text = std::string_view(listen).substr(colon + 1);
  std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
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
