#pragma once
// Clock: the only source of time in core and service (POL §0). Durations are measured on
// MonoNow(); timestamps shown to users come from WallMs(). Production uses SystemClock
// (base/system_clock.h); tests inject FakeClock (tests/support/fake_clock.h) and never sleep.
// Thread-safe; never blocks.

#include <chrono>
#include <cstdint>

namespace router {

// Monotonic time since an arbitrary epoch.
using MonoTime = std::chrono::nanoseconds;

class Clock {
 public:
  virtual ~Clock() = default;
  virtual MonoTime MonoNow() const = 0;  // never goes backwards
  virtual int64_t WallMs() const = 0;    // UTC epoch ms; may jump
};

}  // namespace router
