#pragma once
// Stateful fakes of the decide-path seams of core/provider_health.h (POL §3.2 S1, §6, §8):
// FakeProviderHealth (breaker state and probe slots per provider, set by the test) and
// FakeStatistics (usable statistics per provider). Keyed by provider name for every tenant.
// Thread-safe (one absl::Mutex each), so concurrency tests can race TryAcquireProbe.

#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "absl/synchronization/mutex.h"
#include "core/provider_health.h"

namespace router::testing {

class FakeProviderHealth final : public core::ProviderHealth {
 public:
  // Open; `remaining_ms` nullopt = forced open (no time bound).
  void SetOpen(std::string_view provider, std::optional<int64_t> remaining_ms = 1000) {
    absl::MutexLock lock(&mu_);
    State& s = states_[std::string(provider)];
    s = State{};
    s.state = core::BreakerState::kOpen;
    s.open_remaining_ms = remaining_ms;
  }
  // Half-open with `free_slots` probe slots currently free.
  void SetHalfOpen(std::string_view provider, int free_slots) {
    absl::MutexLock lock(&mu_);
    State& s = states_[std::string(provider)];
    s = State{};
    s.state = core::BreakerState::kHalfOpen;
    s.free_slots = free_slots;
  }
  // Half-open; View() reports a free slot but TryAcquireProbe() fails, as when another decision
  // takes the last slot between the two calls (a lost race, POL §3.2 S1).
  void SetHalfOpenRaceLost(std::string_view provider) {
    absl::MutexLock lock(&mu_);
    State& s = states_[std::string(provider)];
    s = State{};
    s.state = core::BreakerState::kHalfOpen;
    s.report_free = true;
  }
  void SetClosed(std::string_view provider) {
    absl::MutexLock lock(&mu_);
    states_.erase(std::string(provider));
  }
  int FreeSlots(std::string_view provider) const {
    absl::MutexLock lock(&mu_);
    auto it = states_.find(provider);
    return it == states_.end() ? 0 : it->second.free_slots;
  }
  int Acquired(std::string_view provider) const {
    absl::MutexLock lock(&mu_);
    auto it = states_.find(provider);
    return it == states_.end() ? 0 : it->second.acquired;
  }
  int TotalAcquireCalls() const {
    absl::MutexLock lock(&mu_);
    return acquire_calls_;
  }

  core::BreakerView View(std::string_view, std::string_view provider,
                         const policy::BreakerConfig&) override {
    absl::MutexLock lock(&mu_);
    core::BreakerView view;
    auto it = states_.find(provider);
    if (it == states_.end()) return view;
    view.state = it->second.state;
    view.probe_slot_free = it->second.free_slots > 0 || it->second.report_free;
    if (view.state == core::BreakerState::kOpen)
      view.open_remaining_ms = it->second.open_remaining_ms;
    return view;
  }
  bool TryAcquireProbe(std::string_view, std::string_view provider) override {
    absl::MutexLock lock(&mu_);
    ++acquire_calls_;
    auto it = states_.find(provider);
    if (it == states_.end() || it->second.state != core::BreakerState::kHalfOpen) return false;
    if (it->second.free_slots <= 0) return false;
    --it->second.free_slots;
    ++it->second.acquired;
    return true;
  }
  void ReleaseProbe(std::string_view, std::string_view provider) override {
    absl::MutexLock lock(&mu_);
    auto it = states_.find(provider);
    if (it == states_.end() || it->second.acquired == 0) return;
    --it->second.acquired;
    ++it->second.free_slots;
  }

 private:
  struct State {
    core::BreakerState state = core::BreakerState::kClosed;
    int free_slots = 0;
    int acquired = 0;
    std::optional<int64_t> open_remaining_ms;
    bool report_free = false;
  };
  mutable absl::Mutex mu_;
  std::map<std::string, State, std::less<>> states_ ABSL_GUARDED_BY(mu_);
  int acquire_calls_ ABSL_GUARDED_BY(mu_) = 0;
};

class FakeStatistics final : public core::StatisticsView {
 public:
  void Set(std::string_view provider, std::optional<double> latency_ms,
           std::optional<double> cost = std::nullopt) {
    absl::MutexLock lock(&mu_);
    stats_[std::string(provider)] = core::ProviderStatistics{latency_ms, cost};
  }
  void Clear() {
    absl::MutexLock lock(&mu_);
    stats_.clear();
  }
  core::ProviderStatistics Get(std::string_view, std::string_view provider) const override {
    absl::MutexLock lock(&mu_);
    auto it = stats_.find(provider);
    return it == stats_.end() ? core::ProviderStatistics{} : it->second;
  }

 private:
  mutable absl::Mutex mu_;
  std::map<std::string, core::ProviderStatistics, std::less<>> stats_ ABSL_GUARDED_BY(mu_);
};

}  // namespace router::testing
