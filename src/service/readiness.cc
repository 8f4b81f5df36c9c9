#include "service/readiness.h"

#include "policy/json_tree.h"

namespace router::service {
using policy::AppendJsonString;

Readiness::Readiness(std::vector<std::string> checks) {
  for (auto& name : checks) checks_.push_back(CheckState{std::move(name), false, "starting", 0});
}

void Readiness::Set(const std::string& name, bool ok, std::string message, int64_t version) {
  std::vector<std::function<void()>> listeners;
  {
    absl::MutexLock lock(&mu_);
    for (auto& c : checks_) {
      if (c.name == name) {
        c.ok = ok;
        c.message = std::move(message);
        c.version = version;
      }
    }
    listeners = listeners_;
  }
  for (auto& fn : listeners) fn();
}

void Readiness::BeginShutdown() {
  std::vector<std::function<void()>> listeners;
  {
    absl::MutexLock lock(&mu_);
    shutting_down_ = true;
    listeners = listeners_;
  }
  for (auto& fn : listeners) fn();
}

bool Readiness::Ready() const {
  absl::MutexLock lock(&mu_);
  if (shutting_down_) return false;
  for (const auto& c : checks_)
    if (!c.ok) return false;
  return true;
}

bool Readiness::ShuttingDown() const {
  absl::MutexLock lock(&mu_);
  return shutting_down_;
}

bool Readiness::CheckOk(const std::string& name) const {
  absl::MutexLock lock(&mu_);
  for (const auto& c : checks_)
    if (c.name == name) return c.ok;
  return false;
}

std::vector<CheckState> Readiness::Checks() const {
  absl::MutexLock lock(&mu_);
  std::vector<CheckState> out = checks_;
  out.push_back(CheckState{"shutdown", !shutting_down_, shutting_down_ ? "in progress" : "", 0});
  return out;
}

std::string Readiness::ToJson() const {
  bool ready = Ready();
  std::string out =
      ready ? "{\"status\":\"ready\",\"checks\":{" : "{\"status\":\"not_ready\",\"checks\":{";
  bool first = true;
  for (const auto& c : Checks()) {
    if (!first) out.push_back(',');
    first = false;
    AppendJsonString(out, c.name);
    out += ":{\"status\":";
    out += c.ok ? "\"ok\"" : "\"fail\"";
    if (c.version > 0) out += ",\"version\":" + std::to_string(c.version);
    if (!c.message.empty()) {
      out += ",\"message\":";
      AppendJsonString(out, c.message);
    }
    out.push_back('}');
  }
  out += "},\"backpressure\":";
  AppendJsonString(out, backpressure_ ? backpressure_() : std::string_view("inactive"));
  out += "}";
  return out;
}

void Readiness::OnChange(std::function<void()> fn) {
  absl::MutexLock lock(&mu_);
  listeners_.push_back(std::move(fn));
}

}  // namespace router::service
