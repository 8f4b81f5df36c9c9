#pragma once
// BreakerSweeper: the background thread that drives the circuit breakers and statistics without
// traffic (POL §6 "Open": a sweep at least once a second moves due open breakers to half-open,
// so metrics move without traffic; probe slots expire; gauges refresh) and evicts idle
// statistics records (POL §8, every 60 s). It ticks every 250 ms on the real clock; the
// breaker and statistics logic itself reads the injected Clock and is unit-tested with a
// FakeClock. Start() spawns the thread; Stop() wakes and joins it. Thread-safe.

#include <functional>
#include <thread>

#include "absl/synchronization/mutex.h"
#include "core/breaker_registry.h"
#include "core/provider_stats.h"

namespace router::app {

class BreakerSweeper {
 public:
  // References must outlive the sweeper. `on_stats_evicted` runs for each evicted record.
  BreakerSweeper(core::BreakerRegistry& breakers, core::ProviderStats& stats,
                 std::function<void(const core::PairKey&)> on_stats_evicted);
  ~BreakerSweeper();

  void Start();
  void Stop();

 private:
  void Run();

  core::BreakerRegistry& breakers_;
  core::ProviderStats& stats_;
  const std::function<void(const core::PairKey&)> on_stats_evicted_;

  absl::Mutex mu_;
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

}  // namespace router::app
