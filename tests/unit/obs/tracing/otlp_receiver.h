#pragma once
// OtlpReceiver: a real OTLP/HTTP endpoint for the tracing tests (OBS §6.6). An httplib::Server
// on 127.0.0.1, port 0, serving in its own thread; it records every POST (path, headers, body)
// and answers with a scripted status sequence (then a default status) and body. Hold() makes
// handlers wait until Release(), to simulate a stuck collector. Thread-safe.

#include <httplib.h>

#include <condition_variable>
#include <deque>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "support/wait_for.h"

namespace router::obs::tracing_test {

struct ReceivedRequest {
  std::string path;
  std::string body;  // decompressed by httplib when Content-Encoding is gzip
  std::string content_type;
  std::string content_encoding;
  httplib::Headers headers;
};

class OtlpReceiver {
 public:
  OtlpReceiver() {
    server_.set_tcp_nodelay(true);
    server_.Post(R"(/.*)",
                 [this](const httplib::Request& req, httplib::Response& res) { Handle(req, res); });
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
  }

  ~OtlpReceiver() { Stop(); }

  // Stops serving; later connections are refused.
  void Stop() {
    if (!thread_.joinable()) return;
    Release();
    // listen_after_bind must have started, or stop() would be missed.
    (void)router::testing::WaitFor([&] { return server_.is_running(); }, std::chrono::seconds(10),
                                   "receiver running");
    server_.stop();
    thread_.join();
  }

  int port() const { return port_; }
  std::string endpoint() const { return "http://127.0.0.1:" + std::to_string(port_); }

  // Statuses for the next requests, in order; afterwards `default_status`.
  void Script(std::vector<int> statuses) {
    std::lock_guard lock(mu_);
    script_.assign(statuses.begin(), statuses.end());
  }
  void SetDefaultStatus(int status) {
    std::lock_guard lock(mu_);
    default_status_ = status;
  }
  void SetResponseBody(std::string body) {
    std::lock_guard lock(mu_);
    response_body_ = std::move(body);
  }
  void SetResponseHeader(std::string name, std::string value) {
    std::lock_guard lock(mu_);
    response_headers_.emplace(std::move(name), std::move(value));
  }

  void Hold() {
    std::lock_guard lock(mu_);
    held_ = true;
  }
  void Release() {
    {
      std::lock_guard lock(mu_);
      held_ = false;
    }
    released_.notify_all();
  }

  size_t RequestCount() const {
    std::lock_guard lock(mu_);
    return requests_.size();
  }
  std::vector<ReceivedRequest> Requests() const {
    std::lock_guard lock(mu_);
    return requests_;
  }
  // Requests that reached the handler (also the held ones).
  size_t Arrivals() const {
    std::lock_guard lock(mu_);
    return arrivals_;
  }

 private:
  void Handle(const httplib::Request& req, httplib::Response& res) {
    std::unique_lock lock(mu_);
    ++arrivals_;
    released_.wait(lock, [&] { return !held_; });
    ReceivedRequest r;
    r.path = req.path;
    r.body = req.body;
    r.content_type = req.get_header_value("Content-Type");
    r.content_encoding = req.get_header_value("Content-Encoding");
    r.headers = req.headers;
    requests_.push_back(std::move(r));
    int status = default_status_;
    if (!script_.empty()) {
      status = script_.front();
      script_.pop_front();
    }
    res.status = status;
    for (const auto& [name, value] : response_headers_) res.set_header(name, value);
    res.set_content(response_body_, "application/json");
  }

  httplib::Server server_;
  int port_ = 0;
  std::thread thread_;
  mutable std::mutex mu_;
  std::condition_variable released_;
  bool held_ = false;
  std::deque<int> script_;
  int default_status_ = 200;
  std::string response_body_ = "{}";
  httplib::Headers response_headers_;
  std::vector<ReceivedRequest> requests_;
  size_t arrivals_ = 0;
};

}  // namespace router::obs::tracing_test
