#pragma once
// WaitFor: polls a predicate until it holds or a deadline passes. For integration tests that
// watch another process (its output file, its health endpoint): the poll interval starts at
// 1 ms and doubles up to 20 ms, so there is no fixed sleep and a condition that already holds
// costs nothing. Thread-safety: reentrant; the predicate runs on the calling thread only.

#include <algorithm>
#include <chrono>
#include <functional>
#include <string>
#include <string_view>
#include <thread>

#include "absl/status/status.h"

namespace router::testing {

// Returns OK as soon as `predicate()` is true, or DEADLINE_EXCEEDED "timed out after <n> ms
// waiting for <what>" once `timeout` has elapsed (the predicate is evaluated one last time at
// the deadline).
inline absl::Status WaitFor(const std::function<bool()>& predicate,
                            std::chrono::milliseconds timeout, std::string_view what) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  auto interval = std::chrono::milliseconds(1);
  while (true) {
    if (predicate()) return absl::OkStatus();
    const auto now = std::chrono::steady_clock::now();
    if (now >= deadline) break;
    std::this_thread::sleep_for(
        std::min<std::chrono::steady_clock::duration>(interval, deadline - now));
    interval = std::min(interval * 2, std::chrono::milliseconds(20));
  }
  if (predicate()) return absl::OkStatus();
  std::string message =
      "timed out after " + std::to_string(timeout.count()) + " ms waiting for " + std::string(what);
  return absl::DeadlineExceededError(message);
}

}  // namespace router::testing
