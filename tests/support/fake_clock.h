#pragma once
// FakeClock: a Clock that moves only when a test advances it. Thread-safe (atomics).

#include <atomic>

#include "base/clock.h"

namespace router::testing {

class FakeClock final : public Clock {
 public:
  explicit FakeClock(int64_t wall_ms = 1'700'000'000'000) : wall_ms_(wall_ms) {}
  MonoTime MonoNow() const override { return MonoTime(mono_ns_.load(std::memory_order_relaxed)); }
  int64_t WallMs() const override { return wall_ms_.load(std::memory_order_relaxed); }
  void Advance(std::chrono::nanoseconds d) {
    mono_ns_.fetch_add(d.count(), std::memory_order_relaxed);
    wall_ms_.fetch_add(std::chrono::duration_cast<std::chrono::milliseconds>(d).count(),
                       std::memory_order_relaxed);
  }
  void SetWallMs(int64_t ms) { wall_ms_.store(ms, std::memory_order_relaxed); }

 private:
  std::atomic<int64_t> mono_ns_{1'000'000'000};
  std::atomic<int64_t> wall_ms_;
};

}  // namespace router::testing
