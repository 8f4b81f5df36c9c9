#include "obs/logging/rate_limiter.h"

#include <algorithm>
#include <utility>

namespace router::obs {

LogRateLimiter::LogRateLimiter(size_t max_keys) : max_keys_(std::max<size_t>(max_keys, 1)) {}

void LogRateLimiter::Close(Entry& e, std::vector<Summary>* summaries) {
  if (e.open && e.suppressed > 0) {
    summaries->push_back(
        Summary{e.event, e.subsystem, e.error_code, e.level, e.suppressed, e.window_ms});
  }
  e.open = false;
  e.passed = 0;
  e.suppressed = 0;
}

bool LogRateLimiter::Admit(std::string_view event, std::string_view subsystem,
                           std::string_view error_code, LogLevel level, int64_t now_ns,
                           uint32_t burst, int64_t interval_ms, std::vector<Summary>* summaries) {
  std::string key;
  key.reserve(event.size() + subsystem.size() + error_code.size() + 2);
  key.append(event).push_back('\x1f');
  key.append(subsystem).push_back('\x1f');
  key.append(error_code);

  auto found = index_.find(key);
  if (found == index_.end()) {
    Entry entry;
    entry.key = key;
    entry.event.assign(event);
    entry.subsystem.assign(subsystem);
    entry.error_code.assign(error_code);
    lru_.push_front(std::move(entry));
    index_.emplace(std::move(key), lru_.begin());
    if (lru_.size() > max_keys_) {
      Entry& oldest = lru_.back();
      Close(oldest, summaries);
      index_.erase(oldest.key);
      lru_.pop_back();
    }
  } else if (found->second != lru_.begin()) {
    lru_.splice(lru_.begin(), lru_, found->second);
  }

  Entry& e = lru_.front();
  if (e.open && now_ns >= WindowEnd(e)) Close(e, summaries);
  if (!e.open) {
    e.open = true;
    e.window_start_ns = now_ns;
    e.window_ms = std::max<int64_t>(interval_ms, 1);
  }
  if (e.passed < std::max<uint32_t>(burst, 1)) {
    ++e.passed;
    return true;
  }
  ++e.suppressed;
  e.level = level;
  if (e.suppressed == 1) {
    const int64_t end = WindowEnd(e);
    if (!next_deadline_ns_.has_value() || end < *next_deadline_ns_) next_deadline_ns_ = end;
  }
  return false;
}

void LogRateLimiter::Sweep(int64_t now_ns, std::vector<Summary>* summaries) {
  if (!next_deadline_ns_.has_value() || now_ns < *next_deadline_ns_) return;
  next_deadline_ns_.reset();
  // Oldest first, so summaries come out roughly in window order.
  for (auto it = lru_.rbegin(); it != lru_.rend(); ++it) {
    Entry& e = *it;
    if (!e.open || e.suppressed == 0) continue;
    const int64_t end = WindowEnd(e);
    if (now_ns >= end) {
      Close(e, summaries);
    } else if (!next_deadline_ns_.has_value() || end < *next_deadline_ns_) {
      next_deadline_ns_ = end;
    }
  }
}

void LogRateLimiter::SweepAll(std::vector<Summary>* summaries) {
  for (auto it = lru_.rbegin(); it != lru_.rend(); ++it) Close(*it, summaries);
  next_deadline_ns_.reset();
}

}  // namespace router::obs
