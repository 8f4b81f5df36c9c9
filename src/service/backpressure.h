#pragma once
// BackpressureMonitor: the replica's backpressure status of nats-contracts.md §9 (configuration
// [backpressure], OBS §2.5 BP metrics), consulted at step 4 of every Decide (POL §3.1) and
// reported by the S9 status responder (nats/backpressure_responder.h).
//
// Signals (threshold strict `>`):
//   inflight     decides received and not answered: DecideTickets open (gRPC calls in progress,
//                NATS decides in processing, replies deferred) + the sampled inflight sources
//                (NATS messages waiting in the client's subscription queues);
//   latency_p95  p95 of decide handling time (ticket begin -> end) over a sliding 10 s window of
//                1 s `fast` histograms (the current second and the ten before it), linear
//                interpolation inside the bucket (OBS §2.3); 0 when the window is empty;
//   pending      num_pending of the results consumer, fed by SetPending() (1 s poll); unknown
//                when never fed or not fed for 5 s. Unknown counts as not over.
// Status: none over -> inactive, one -> warning, two or three -> active; `backpressure.enabled`
// false -> always inactive. Recompute() runs every 250 ms on the monitor's own thread (Start());
// tests call it directly with a FakeClock.
//
// Thread-safety: thread-safe. status()/Active() are one relaxed atomic load (lock-free, the
// decide path). Begin()/DecideTicket::End()/RecordLatency are lock-free except at the first
// observation of a new second (one short mutex). Report() copies the last recompute under a
// mutex (S9 and /ready only).

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "base/clock.h"
#include "obs/metrics/router_metrics.h"
#include "service/decide_telemetry.h"

namespace router::service {

enum class BackpressureStatus : uint8_t { kInactive = 0, kWarning = 1, kActive = 2 };
std::string_view BackpressureStatusName(BackpressureStatus status);  // inactive|warning|active

struct BackpressureOptions {
  bool enabled = true;
  int64_t inflight_overload = 500;
  int64_t latency_overload_ms = 5000;
  int64_t queue_overload = 1000;
  int64_t retry_after_ms = 1000;
  std::chrono::milliseconds recompute_interval{250};
  std::chrono::seconds pending_stale_after{5};
};

// The last recompute, as S9 reports it.
struct BackpressureReport {
  BackpressureStatus status = BackpressureStatus::kInactive;
  int64_t inflight = 0;
  int64_t latency_p95_ms = 0;  // rounded up
  double latency_p95_seconds = 0;
  std::optional<int64_t> pending;            // nullopt = unknown
  std::vector<std::string> signals_over;     // in order inflight, latency_p95, pending
  std::vector<std::string> signals_unknown;  // e.g. {"pending"}
  int64_t computed_at_ms = 0;                // wall clock of the recompute
};

class BackpressureMonitor;

// One decide from handler start to reply hand-off: inflight while alive, its duration feeds
// the latency window at End() (or destruction). Movable, not copyable; empty when
// default-constructed.
class DecideTicket {
 public:
  DecideTicket() = default;
  DecideTicket(DecideTicket&& other) noexcept;
  DecideTicket& operator=(DecideTicket&& other) noexcept;
  DecideTicket(const DecideTicket&) = delete;
  DecideTicket& operator=(const DecideTicket&) = delete;
  ~DecideTicket() { End(); }

  // The reply was handed to the transport: inflight -1, duration recorded. Idempotent.
  void End();

 private:
  friend class BackpressureMonitor;
  DecideTicket(BackpressureMonitor* monitor, MonoTime start) : monitor_(monitor), start_(start) {}
  BackpressureMonitor* monitor_ = nullptr;
  MonoTime start_{};
};

class BackpressureMonitor {
 public:
  static constexpr int kWindowSeconds = 10;

  // `metrics` may be null. References must outlive the monitor.
  BackpressureMonitor(BackpressureOptions options, const Clock& clock,
                      obs::RouterMetrics* metrics = nullptr);
  ~BackpressureMonitor();
  BackpressureMonitor(const BackpressureMonitor&) = delete;
  BackpressureMonitor& operator=(const BackpressureMonitor&) = delete;

  // Starts / stops the 250 ms recompute thread (idempotent).
  void Start();
  void Stop();

  // Handler start of one decide (nats-contracts.md §5 step 1; gRPC Decide entry).
  DecideTicket Begin();
  // Adds a sampled part of `inflight` (e.g. NATS subscription queue depth); called at every
  // recompute on the monitor thread, must not block. Register before Start().
  void AddInflightSource(std::function<int64_t()> source);
  // One decide handling time (for callers that do not use tickets).
  void RecordLatency(std::chrono::nanoseconds duration);
  // num_pending of the results consumer (1 s consumer-info poll).
  void SetPending(int64_t pending);

  // Lock-free reads for the decide path.
  BackpressureStatus status() const {
    return static_cast<BackpressureStatus>(status_.load(std::memory_order_relaxed));
  }
  bool Active() const { return status() == BackpressureStatus::kActive; }
  // Counts one decide refused as overloaded (router_backpressure_rejections_total).
  void CountRejection(Transport transport) const;

  BackpressureReport Report() const;
  const BackpressureOptions& options() const { return options_; }

  // One recompute (the thread's tick; tests call it with a FakeClock).
  void Recompute();
  // Current inflight counter (tickets only, no sampled sources).
  int64_t TicketsInflight() const { return inflight_.load(std::memory_order_relaxed); }

 private:
  friend class DecideTicket;
  static constexpr int kSlots = kWindowSeconds + 2;  // window + the next second, pre-cleared
  static constexpr int kBuckets = 20;                // 19 `fast` bounds + Inf

  struct Slot {
    std::atomic<int64_t> second{-1};
    std::array<std::atomic<uint64_t>, kBuckets> counts{};
  };

  void Finish(MonoTime start);
  int64_t SecondOf(MonoTime t) const;
  // p95 over the window ending at second `now_s`, in seconds.
  double WindowP95(int64_t now_s) const;
  void Run();

  const BackpressureOptions options_;
  const Clock& clock_;
  obs::RouterMetrics* const metrics_;
  // Looked up once (null when not exported / no metrics).
  obs::GaugeFamily* status_gauge_ = nullptr;
  obs::GaugeFamily* signal_gauge_ = nullptr;
  obs::GaugeFamily* p95_gauge_ = nullptr;
  obs::CounterFamily* rejections_ = nullptr;
  obs::CounterFamily* events_ = nullptr;
  obs::CounterFamily* recoveries_ = nullptr;
  std::vector<double> bounds_;  // `fast` layout

  std::atomic<int64_t> inflight_{0};
  std::atomic<uint8_t> status_{0};
  std::atomic<int64_t> pending_{0};
  std::atomic<int64_t> pending_at_ns_{-1};  // MonoNow of the last SetPending; -1 = never
  std::array<Slot, kSlots> slots_;
  absl::Mutex slot_mu_;  // resets a slot for a new second

  mutable absl::Mutex mu_;
  std::vector<std::function<int64_t()>> sources_ ABSL_GUARDED_BY(mu_);
  BackpressureReport report_ ABSL_GUARDED_BY(mu_);
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

}  // namespace router::service
