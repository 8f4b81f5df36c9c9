#pragma once
// ReplyDelayer: the `[testing] decide_delay_ms` hook (configuration.md; accepted only with
// --enable-testing-hooks). It defers successful decide replies by a timer so that backpressure
// tests can hold decides in flight without blocking intake (nats-contracts.md §12 scenario 12,
// grpc-api.md §13 scenario 8): transports hand it the reply (and the decide's DecideTicket) and
// go on; overload and other error replies bypass it.
//
// One thread runs the deferred callbacks in FIFO order once `delay` has passed (the delay is
// constant, so FIFO is deadline order). Stop() runs whatever is left at once and joins; Defer()
// after Stop() runs the callback inline. Time is the real steady clock: this is a test hook for
// real processes, never used with a FakeClock.
//
// Thread-safety: thread-safe.

#include <chrono>
#include <deque>
#include <thread>

#include "absl/functional/any_invocable.h"
#include "absl/synchronization/mutex.h"

namespace router::service {

class ReplyDelayer {
 public:
  explicit ReplyDelayer(std::chrono::milliseconds delay);
  ~ReplyDelayer();
  ReplyDelayer(const ReplyDelayer&) = delete;
  ReplyDelayer& operator=(const ReplyDelayer&) = delete;

  std::chrono::milliseconds delay() const { return delay_; }

  // Runs `fn` on the delayer thread `delay` from now (inline when stopped).
  void Defer(absl::AnyInvocable<void() &&> fn);
  // Runs every pending callback now and joins the thread (idempotent).
  void Stop();

 private:
  struct Entry {
    std::chrono::steady_clock::time_point due;
    absl::AnyInvocable<void() &&> fn;
  };
  void Run();

  const std::chrono::milliseconds delay_;
  absl::Mutex mu_;
  std::deque<Entry> queue_ ABSL_GUARDED_BY(mu_);
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

}  // namespace router::service
