#pragma once
// Tracer: span recording and OTLP/HTTP JSON export (OBS §6.3, §6.4, §6.6).
//
// Request threads call StartSpan / Span::End. Span records come from a pool of
// tracing.queue_max_spans records allocated once at Create; ended spans go into a bounded
// lock-free queue. Neither step blocks, takes a lock, performs I/O or allocates (OBS O1): an
// empty pool or a full queue drops the span (dropped{queue_full}) and the request goes on.
// One exporter thread sends a batch when batch_max_spans are waiting or every
// batch_interval_ms, serializing the records to OTLP JSON before it returns them to the pool.
// Shutdown does one final flush bounded by otlp_timeout_ms; what remains counts as `shutdown`.
//
// Without an OTLP endpoint nothing is recorded and no thread runs: StartSpan returns a
// non-recording span that still carries a fresh span id and the parent's trace id and flags
// (00 for new roots), so propagation is unchanged (OBS §6.3).
//
// Thread-safe. The Tracer must outlive every Span it started (Application destroys it last).

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "base/clock.h"
#include "obs/tracing/index_ring.h"
#include "obs/tracing/sampler.h"
#include "obs/tracing/span.h"
#include "obs/tracing/span_record.h"
#include "obs/tracing/trace_context.h"
#include "obs/tracing/tracing_options.h"

namespace router::obs {

class OtlpHttpExporter;

class Tracer {
 public:
  // Validates options (endpoint http:// or https://, counts >= 1, ratio 0..1; INVALID_ARGUMENT
  // otherwise), allocates the pool and starts the exporter thread when an endpoint is set.
  // `clock` must outlive the tracer; span times are its MonoNow() anchored to WallMs() once.
  static absl::StatusOr<std::unique_ptr<Tracer>> Create(TracingOptions options, const Clock& clock,
                                                        TracerHooks hooks = {});
  struct PrivateTag {};  // only Create constructs
  Tracer(PrivateTag, TracingOptions options, const Clock& clock, TracerHooks hooks);
  ~Tracer();  // Shutdown()
  Tracer(const Tracer&) = delete;
  Tracer& operator=(const Tracer&) = delete;

  // Starts a span under `parent` at `start` (MonoNow() scale; the overload without it reads the
  // clock). parent.trace_id invalid = a new root trace. parent.span_id invalid = no parent span.
  // The span gets a fresh span id and the sampling decision of OBS §6.3 in its flags. It records
  // only when an endpoint is set, the trace is sampled, kind is not kInternal with
  // internal_spans off, and the pool has a record (else dropped{queue_full} +1). A skipped
  // internal span returns the parent's context as its own, so nothing points at a span that was
  // never exported. Hot path: no lock, no allocation, no I/O.
  Span StartSpan(std::string_view name, const TraceContext& parent, SpanKind kind, MonoTime start);
  Span StartSpan(std::string_view name, const TraceContext& parent, SpanKind kind);

  // True when spans are recorded at all (an endpoint is configured and Shutdown not called).
  bool recording() const;
  bool internal_spans() const { return options_.internal_spans; }

  // SIGHUP reload of tracing.sample_ratio (configuration §5).
  void SetSampleRatio(double ratio) { sampler_.SetRatio(ratio); }
  const Sampler& sampler() const { return sampler_; }

  // Asks the exporter to send everything waiting now (tests, and before a planned stop).
  void RequestFlush();

  // Stops the exporter after one final flush bounded by otlp_timeout_ms; spans still waiting
  // (or ended later) count as dropped{shutdown}. Idempotent; blocks up to about the timeout.
  void Shutdown();

  TracerCounters Counters() const;

 private:
  friend class Span;

  MonoTime Now() const { return clock_.MonoNow(); }
  int64_t UnixNanos(MonoTime t) const {
    return wall_anchor_unix_nano_ + (t - mono_anchor_).count();
  }
  // Span::End hand-off: queue the record (or drop it) and wake the exporter at a full batch.
  void FinishSpan(uint32_t index);
  void ReleaseRecord(uint32_t index);

  void ExporterLoop();
  // Sends everything waiting, batch by batch. With a deadline (final flush), stops there.
  void ExportPending(bool final_flush, std::chrono::steady_clock::time_point deadline);
  // Sleeps up to `delay` unless Shutdown starts; false when interrupted.
  bool BackoffWait(std::chrono::milliseconds delay);
  void DropLeftovers();

  const TracingOptions options_;
  const Clock& clock_;
  const TracerHooks hooks_;
  const bool enabled_;  // endpoint set
  const MonoTime mono_anchor_;
  const int64_t wall_anchor_unix_nano_;
  const size_t batch_max_;
  Sampler sampler_;

  // Pool and queues (present only when enabled_).
  std::unique_ptr<SpanRecord[]> records_;
  std::unique_ptr<IndexRing> free_;
  std::unique_ptr<IndexRing> ready_;

  // Exporter-thread state; serialized JSON prefix (resource + scope) built once.
  std::unique_ptr<OtlpHttpExporter> exporter_;
  std::string body_prefix_;
  std::vector<uint32_t> batch_;  // exporter thread only
  std::string body_;             // exporter thread only; keeps its capacity between batches
  std::thread thread_;

  absl::Mutex mu_;
  absl::CondVar wake_;
  // Changed only under mu_ (so a waiter cannot miss the change) but atomic, relaxed: Debian's
  // absl is not built for ThreadSanitizer, which then cannot see mu_ and would report the flags.
  std::atomic<bool> stopping_{false};
  std::atomic<bool> flush_requested_{false};
  std::atomic<bool> shut_down_{false};  // Shutdown() ran (exchange makes it idempotent)

  // Set before the final flush: spans ended afterwards are dropped as `shutdown`. Acquire/
  // release so an End that sees false has its push ordered before the final drain.
  std::atomic<bool> closed_{false};

  // Counters: relaxed, independent values (OBS §2 counters).
  std::atomic<int64_t> spans_recorded_{0};
  std::atomic<int64_t> spans_exported_{0};
  std::atomic<int64_t> dropped_queue_full_{0};
  std::atomic<int64_t> dropped_export_failed_{0};
  std::atomic<int64_t> dropped_rejected_{0};
  std::atomic<int64_t> dropped_shutdown_{0};
  std::atomic<int64_t> queue_spans_{0};
  std::atomic<int64_t> export_requests_{0};
  std::atomic<int64_t> export_nanos_{0};
};

}  // namespace router::obs
