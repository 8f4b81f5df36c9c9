#pragma once
// Probes of a running router process for integration tests: the HTTP endpoints of
// observability.md §7 (`/ready`, `/metrics`), a value read from the Prometheus text exposition,
// and the resident set size of a process (/proc/<pid>/status VmRSS), for the §12 scenarios that
// watch readiness, metrics and memory (nats-contracts.md §12 scenarios 1, 23, 26, 28).
// Header-only (uses cpp-httplib, which only the integration binary includes).
// Thread-safety: every function is reentrant (each call opens its own connection).

#include <httplib.h>
#include <sys/types.h>

#include <fstream>
#include <string>
#include <vector>

namespace router::testing {

// The HTTP status of GET http://127.0.0.1:<port><path>; 0 when no response arrived.
inline int HttpStatus(int port, const std::string& path) {
  httplib::Client http("127.0.0.1", port);
  http.set_connection_timeout(1, 0);
  http.set_read_timeout(2, 0);
  auto res = http.Get(path);
  return res ? res->status : 0;
}

// The body of GET http://127.0.0.1:<port><path>; "" when no response arrived.
inline std::string HttpBody(int port, const std::string& path) {
  httplib::Client http("127.0.0.1", port);
  http.set_connection_timeout(1, 0);
  http.set_read_timeout(2, 0);
  auto res = http.Get(path);
  return res ? res->body : "";
}

// Calls `fn(line)` for every exposition line of family `name` (exactly that name, then `{` or
// a space) until it returns false.
template <class Fn>
void ForEachMetricLine(const std::string& text, const std::string& name, Fn fn) {
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string::npos) end = text.size();
    const std::string line = text.substr(pos, end - pos);
    pos = end + 1;
    if (line.rfind(name, 0) != 0) continue;
    if (line.size() <= name.size() || (line[name.size()] != '{' && line[name.size()] != ' ')) {
      continue;
    }
    if (!fn(line)) return;
  }
}

// The sample value at the end of an exposition line.
inline double LineValue(const std::string& line) {
  return std::stod(line.substr(line.rfind(' ') + 1));
}

// The value of the first line of family `name` that contains every `labels` fragment (e.g.
// `outcome="published"`); -1 when absent.
inline double MetricValue(const std::string& text, const std::string& name,
                          const std::vector<std::string>& labels = {}) {
  double value = -1;
  ForEachMetricLine(text, name, [&](const std::string& line) {
    for (const auto& l : labels) {
      if (line.find(l) == std::string::npos) return true;
    }
    value = LineValue(line);
    return false;
  });
  return value;
}

// The sum over every line of family `name` (any labels); 0 when absent.
inline double MetricSum(const std::string& text, const std::string& name) {
  double sum = 0;
  ForEachMetricLine(text, name, [&](const std::string& line) {
    sum += LineValue(line);
    return true;
  });
  return sum;
}

// VmRSS of process `pid` in kB (from /proc/<pid>/status); -1 when unreadable.
inline long VmRssKb(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6));
  }
  return -1;
}

}  // namespace router::testing
