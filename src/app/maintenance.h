#pragma once
// MaintenanceLoop: the router's one background housekeeping thread. Every tick it
//  - sweeps expired sticky pins (POL §5: at least every 60 s),
//  - detects policy writes by another process through the store's data version and reloads the
//    snapshot (configuration.md policy_store.poll_interval_ms; 0 = off),
//  - purges audit rows older than admin.audit_retention_days (daily; 0 = keep).
// Start() spawns the thread; Stop() wakes and joins it. Thread-safe.

#include <cstdint>
#include <functional>
#include <thread>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "base/clock.h"
#include "core/sticky_table.h"
#include "service/policy_registry.h"
#include "store/policy_store.h"

namespace router::app {

struct MaintenanceOptions {
  int64_t poll_interval_ms = 2000;  // 0 = no change detection
  int64_t sticky_sweep_interval_ms = 30000;
  int64_t audit_retention_days = 90;  // 0 = keep forever
};

class MaintenanceLoop {
 public:
  // References must outlive the loop.
  MaintenanceLoop(MaintenanceOptions options, const Clock& clock, store::PolicyStore& store,
                  service::PolicyRegistry& registry, core::StickyTable& sticky);
  ~MaintenanceLoop();

  // Extra housekeeping run at each sweep tick (every sticky_sweep_interval_ms), e.g. the
  // idempotency and correlation stores' Sweep() (nats-contracts §7.2: every 60 s). Call before
  // Start().
  void AddSweep(std::function<void()> sweep) { extra_sweeps_.push_back(std::move(sweep)); }

  void Start();
  void Stop();

 private:
  void Run();
  void Tick(int64_t now_ms);

  const MaintenanceOptions options_;
  const Clock& clock_;
  store::PolicyStore& store_;
  service::PolicyRegistry& registry_;
  core::StickyTable& sticky_;

  absl::Mutex mu_;
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;

  // Touched only by the loop thread.
  int64_t last_data_version_ = -1;
  int64_t next_poll_ms_ = 0;
  int64_t next_sweep_ms_ = 0;
  int64_t next_purge_ms_ = 0;
  std::vector<std::function<void()>> extra_sweeps_;
};

}  // namespace router::app
