#pragma once
// Seams through which a decision sees provider health and statistics (POL §3.2 S1, §6, §8).
// The live implementations are core::BreakerRegistry (core/breaker_registry.h) and
// core::ProviderStats (core/provider_stats.h), wired by the Application. NoBreakers /
// NoStatistics (every provider closed, no statistics) remain for tests and tools.

#include <cstdint>
#include <optional>
#include <string_view>

#include "policy/compiled_policy.h"

namespace router::core {

enum class BreakerState : uint8_t { kClosed, kOpen, kHalfOpen };

struct BreakerView {
  BreakerState state = BreakerState::kClosed;
  bool probe_slot_free = false;  // half-open only: a probe slot is currently free
  // open only: ms until the breaker may move to half-open; nullopt when forced open.
  std::optional<int64_t> open_remaining_ms;
};

// Thread-safe. Called on the decide path for policies whose breaker is enabled.
class ProviderHealth {
 public:
  virtual ~ProviderHealth() = default;
  // Effective breaker state of (tenant, provider) now; creates nothing for DryRun callers.
  virtual BreakerView View(std::string_view tenant, std::string_view provider,
                           const policy::BreakerConfig& config) = 0;
  // Atomically takes a half-open probe slot; false if the race was lost (POL §3.2 S1).
  virtual bool TryAcquireProbe(std::string_view tenant, std::string_view provider) = 0;
  // Gives back a slot taken by TryAcquireProbe when a later decide step fails.
  virtual void ReleaseProbe(std::string_view tenant, std::string_view provider) = 0;
};

struct ProviderStatistics {
  std::optional<double> latency_ms;  // usable EWMA (POL §8), else nullopt
  std::optional<double> cost;        // usable EWMA, else nullopt
};

// Thread-safe, read-only on the decide path.
class StatisticsView {
 public:
  virtual ~StatisticsView() = default;
  virtual ProviderStatistics Get(std::string_view tenant, std::string_view provider) const = 0;
};

// No breaker state is kept in this build: every provider is closed.
class NoBreakers final : public ProviderHealth {
 public:
  BreakerView View(std::string_view, std::string_view, const policy::BreakerConfig&) override {
    return {};
  }
  bool TryAcquireProbe(std::string_view, std::string_view) override { return true; }
  void ReleaseProbe(std::string_view, std::string_view) override {}
};

// No statistics are kept in this build: every lookup is "not usable".
class NoStatistics final : public StatisticsView {
 public:
  ProviderStatistics Get(std::string_view, std::string_view) const override { return {}; }
};

}  // namespace router::core
