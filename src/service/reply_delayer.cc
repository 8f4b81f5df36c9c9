// The decide_delay_ms test hook (configuration.md [testing]).
#include "service/reply_delayer.h"

#include <utility>

namespace router::service {

ReplyDelayer::ReplyDelayer(std::chrono::milliseconds delay)
    : delay_(delay), thread_([this] { Run(); }) {}

ReplyDelayer::~ReplyDelayer() { Stop(); }

void ReplyDelayer::Defer(absl::AnyInvocable<void() &&> fn) {
  {
    absl::MutexLock lock(&mu_);
    if (!stop_) {
      queue_.push_back(Entry{std::chrono::steady_clock::now() + delay_, std::move(fn)});
      return;
    }
  }
  std::move(fn)();
}

void ReplyDelayer::Stop() {
  {
    absl::MutexLock lock(&mu_);
    stop_ = true;
  }
  if (thread_.joinable()) thread_.join();
}

void ReplyDelayer::Run() {
  while (true) {
    std::deque<Entry> due;
    bool stopping = false;
    {
      absl::MutexLock lock(&mu_);
      auto ready = [this]() ABSL_SHARED_LOCKS_REQUIRED(mu_) { return stop_ || !queue_.empty(); };
      mu_.Await(absl::Condition(&ready));
      if (!stop_) {
        // Sleep (releasing the lock) until the head is due or Stop() is called.
        const auto wait = queue_.front().due - std::chrono::steady_clock::now();
        if (wait > std::chrono::steady_clock::duration::zero()) {
          auto stopped = [this]() ABSL_SHARED_LOCKS_REQUIRED(mu_) { return stop_; };
          mu_.AwaitWithTimeout(absl::Condition(&stopped), absl::FromChrono(wait));
        }
      }
      stopping = stop_;
      const auto now = std::chrono::steady_clock::now();
      while (!queue_.empty() && (stopping || queue_.front().due <= now)) {
        due.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
    }
    for (auto& e : due) std::move(e.fn)();
    if (stopping) {
      absl::MutexLock lock(&mu_);
      if (queue_.empty()) return;
    }
  }
}

}  // namespace router::service
