#pragma once
// LogRateLimiter: the per-key record limit of OBS §5.4. Key = (event, subsystem, error_code).
// Each key has a fixed window of `interval` that opens with the key's first record; within it
// the first `burst` records pass and the rest are suppressed. When the window closes (the next
// record of the key arrives after it, Sweep() finds it expired, or the key is evicted) and
// something was suppressed, one Summary is produced, which the logger writes as a
// `log.suppressed` record. At most `max_keys` keys are tracked (least recently used evicted).
//
// Used by the logger's writer thread only: not thread-safe (thread-compatible).

#include <cstddef>
#include <cstdint>
#include <list>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "obs/logging/log_value.h"

namespace router::obs {

class LogRateLimiter {
 public:
  struct Summary {
    std::string event;  // of_event
    std::string subsystem;
    std::string error_code;
    LogLevel level;       // level of the suppressed records (the last one seen)
    uint64_t suppressed;  // records suppressed in the window
    int64_t window_ms;    // the window's length
  };

  explicit LogRateLimiter(size_t max_keys = 4096);

  // True when the record may be written. Summaries of this key's closed window (and of an
  // evicted key) are appended to `*summaries`; write them before the record.
  bool Admit(std::string_view event, std::string_view subsystem, std::string_view error_code,
             LogLevel level, int64_t now_ns, uint32_t burst, int64_t interval_ms,
             std::vector<Summary>* summaries);

  // Appends the summaries of every window closed by `now_ns`.
  void Sweep(int64_t now_ns, std::vector<Summary>* summaries);
  // Appends every pending summary, closed or not (shutdown).
  void SweepAll(std::vector<Summary>* summaries);

  // Earliest end of a window holding suppressed records, if any.
  std::optional<int64_t> NextDeadlineNs() const { return next_deadline_ns_; }
  size_t KeyCount() const { return index_.size(); }

 private:
  struct Entry {
    std::string key;
    std::string event;
    std::string subsystem;
    std::string error_code;
    bool open = false;
    int64_t window_start_ns = 0;
    int64_t window_ms = 0;
    uint32_t passed = 0;
    uint64_t suppressed = 0;
    LogLevel level = LogLevel::kError;
  };

  static int64_t WindowEnd(const Entry& e) { return e.window_start_ns + e.window_ms * 1'000'000; }
  // Closes the entry's window, appending its summary when it suppressed anything.
  static void Close(Entry& e, std::vector<Summary>* summaries);
  void RecomputeDeadline();

  size_t max_keys_;
  std::list<Entry> lru_;  // most recently used first
  std::unordered_map<std::string, std::list<Entry>::iterator> index_;
  std::optional<int64_t> next_deadline_ns_;
};

}  // namespace router::obs
