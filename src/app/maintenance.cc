#include "app/maintenance.h"

#include <algorithm>

#include "absl/time/time.h"
#include "app/log.h"
#include "base/errors.h"

namespace router::app {
namespace {
constexpr int64_t kTickMs = 250;
constexpr int64_t kDayMs = 86'400'000;
}  // namespace

MaintenanceLoop::MaintenanceLoop(MaintenanceOptions options, const Clock& clock,
                                 store::PolicyStore& store, service::PolicyRegistry& registry,
                                 core::StickyTable& sticky)
    : options_(options), clock_(clock), store_(store), registry_(registry), sticky_(sticky) {}

MaintenanceLoop::~MaintenanceLoop() { Stop(); }

void MaintenanceLoop::Start() {
  if (auto v = store_.DataVersion(); v.ok()) last_data_version_ = *v;
  const int64_t now = clock_.WallMs();
  next_poll_ms_ = now + options_.poll_interval_ms;
  next_sweep_ms_ = now + options_.sticky_sweep_interval_ms;
  next_purge_ms_ = now;  // purge once at startup, then daily
  thread_ = std::thread([this] { Run(); });
}

void MaintenanceLoop::Stop() {
  {
    absl::MutexLock lock(&mu_);
    stop_ = true;
  }
  if (thread_.joinable()) thread_.join();
}

void MaintenanceLoop::Run() {
  while (true) {
    {
      absl::MutexLock lock(&mu_);
      // Sleeps one tick, or returns at once when Stop() sets stop_.
      mu_.AwaitWithTimeout(absl::Condition(&stop_), absl::Milliseconds(kTickMs));
      if (stop_) return;
    }
    Tick(clock_.WallMs());
  }
}

void MaintenanceLoop::Tick(int64_t now_ms) {
  if (options_.poll_interval_ms > 0 && now_ms >= next_poll_ms_) {
    next_poll_ms_ = now_ms + options_.poll_interval_ms;
    auto version = store_.DataVersion();
    if (version.ok() && *version != last_data_version_) {
      last_data_version_ = *version;
      auto skipped = registry_.ReloadAll(service::PolicyRegistry::Trigger::kExternal);
      if (!skipped.ok()) {
        LogEvent("ERROR", "store", "store.write_failed", "reload after an external change failed",
                 {{"error", std::string(StdView(skipped.status().message()))}});
      } else {
        LogEvent("INFO", "store", "store.changed", "external change picked up");
        for (const auto& m : *skipped) {
          LogEvent("ERROR", "store", "store.row_invalid", "stored policy skipped", {{"error", m}});
        }
      }
    }
  }
  if (now_ms >= next_sweep_ms_) {
    next_sweep_ms_ = now_ms + options_.sticky_sweep_interval_ms;
    sticky_.Sweep(clock_.MonoNow());
    for (const auto& sweep : extra_sweeps_) sweep();
  }
  if (options_.audit_retention_days > 0 && now_ms >= next_purge_ms_) {
    next_purge_ms_ = now_ms + kDayMs;
    auto purged = store_.PurgeAuditOlderThan(now_ms - options_.audit_retention_days * kDayMs);
    if (purged.ok() && *purged > 0) {
      LogEvent("INFO", "store", "store.audit_purged", "old audit rows purged",
               {{"rows", std::to_string(*purged)}});
    }
  }
}

}  // namespace router::app
