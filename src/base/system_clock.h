#pragma once
// SystemClock: the production Clock, backed by steady_clock and system_clock.
// Stateless and thread-safe.

#include "base/clock.h"

namespace router {

class SystemClock final : public Clock {
 public:
  MonoTime MonoNow() const override {
    return std::chrono::duration_cast<MonoTime>(
        std::chrono::steady_clock::now().time_since_epoch());
  }
  int64_t WallMs() const override {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
  }
};

}  // namespace router
