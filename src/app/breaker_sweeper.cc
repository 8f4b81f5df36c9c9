#include "app/breaker_sweeper.h"

#include <utility>

#include "absl/time/time.h"

namespace router::app {
namespace {
constexpr int64_t kTickMs = 250;
constexpr int kStatsSweepTicks = 240;  // 60 s
}  // namespace

BreakerSweeper::BreakerSweeper(core::BreakerRegistry& breakers, core::ProviderStats& stats,
                               std::function<void(const core::PairKey&)> on_stats_evicted)
    : breakers_(breakers), stats_(stats), on_stats_evicted_(std::move(on_stats_evicted)) {}

BreakerSweeper::~BreakerSweeper() { Stop(); }

void BreakerSweeper::Start() {
  thread_ = std::thread([this] { Run(); });
}

void BreakerSweeper::Stop() {
  {
    absl::MutexLock lock(&mu_);
    stop_ = true;
  }
  if (thread_.joinable()) thread_.join();
}

void BreakerSweeper::Run() {
  for (int tick = 1;; ++tick) {
    {
      absl::MutexLock lock(&mu_);
      mu_.AwaitWithTimeout(absl::Condition(&stop_), absl::Milliseconds(kTickMs));
      if (stop_) return;
    }
    breakers_.Sweep();
    if (tick % kStatsSweepTicks == 0) stats_.Sweep(on_stats_evicted_);
  }
}

}  // namespace router::app
