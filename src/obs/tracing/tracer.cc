#include "obs/tracing/tracer.h"

#include <algorithm>
#include <utility>

#include "base/errors.h"
#include "obs/tracing/otlp_http_exporter.h"
#include "obs/tracing/otlp_json.h"

namespace router::obs {
namespace {

// Upper bound on queue_max_spans: keeps record indices and ring sizes sane (the config allows
// any count >= 1; 2^22 records are already ~7 GiB).
constexpr int64_t kMaxQueueSpans = int64_t{1} << 22;

absl::Status Invalid(std::string_view message) {
  return absl::InvalidArgumentError(AbslView(message));
}

absl::Status Validate(const TracingOptions& o) {
  if (!(o.sample_ratio >= 0.0 && o.sample_ratio <= 1.0)) {
    return Invalid("tracing.sample_ratio must be between 0 and 1");
  }
  if (o.otlp_timeout_ms < 1) return Invalid("tracing.otlp_timeout_ms must be >= 1");
  if (o.batch_max_spans < 1) return Invalid("tracing.batch_max_spans must be >= 1");
  if (o.batch_interval_ms < 1) return Invalid("tracing.batch_interval_ms must be >= 1");
  if (o.queue_max_spans < 1 || o.queue_max_spans > kMaxQueueSpans) {
    return Invalid("tracing.queue_max_spans must be between 1 and 4194304");
  }
  if (!o.otlp_endpoint.empty()) {
    absl::StatusOr<OtlpTarget> target = ParseOtlpEndpoint(o.otlp_endpoint);
    if (!target.ok()) return target.status();
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::unique_ptr<Tracer>> Tracer::Create(TracingOptions options, const Clock& clock,
                                                       TracerHooks hooks) {
  absl::Status valid = Validate(options);
  if (!valid.ok()) return valid;
  auto tracer = std::make_unique<Tracer>(PrivateTag{}, std::move(options), clock, std::move(hooks));
  if (tracer->enabled_) {
    absl::StatusOr<OtlpTarget> target = ParseOtlpEndpoint(tracer->options_.otlp_endpoint);
    if (!target.ok()) return target.status();
    tracer->exporter_ = std::make_unique<OtlpHttpExporter>(*std::move(target), tracer->options_);
    tracer->thread_ = std::thread([t = tracer.get()] { t->ExporterLoop(); });
  }
  return tracer;
}

Tracer::Tracer(PrivateTag, TracingOptions options, const Clock& clock, TracerHooks hooks)
    : options_(std::move(options)),
      clock_(clock),
      hooks_(std::move(hooks)),
      enabled_(!options_.otlp_endpoint.empty()),
      mono_anchor_(clock.MonoNow()),
      wall_anchor_unix_nano_(clock.WallMs() * 1'000'000),
      batch_max_(static_cast<size_t>(std::min(options_.batch_max_spans, options_.queue_max_spans))),
      sampler_(options_.sample_ratio, options_.parent_based) {
  if (!enabled_) return;
  const auto pool_size = static_cast<size_t>(options_.queue_max_spans);
  // Default-initialized: the arenas are not touched until a span uses them.
  records_ = std::make_unique_for_overwrite<SpanRecord[]>(pool_size);
  // Twice the pool: a ring never reports "full" while it holds fewer than pool_size indices,
  // even with a slot momentarily held by a concurrent pop.
  free_ = std::make_unique<IndexRing>(2 * pool_size);
  ready_ = std::make_unique<IndexRing>(2 * pool_size);
  for (size_t i = 0; i < pool_size; ++i) free_->TryPush(static_cast<uint32_t>(i));
  batch_.reserve(batch_max_);
  body_prefix_ =
      OtlpJsonPrefix(ResourceAttributes(options_), kTracerScopeName, options_.service_version);
}

Tracer::~Tracer() {
  Shutdown();
  if (enabled_) DropLeftovers();
}

Span Tracer::StartSpan(std::string_view name, const TraceContext& parent, SpanKind kind) {
  return StartSpan(name, parent, kind, clock_.MonoNow());
}

Span Tracer::StartSpan(std::string_view name, const TraceContext& parent, SpanKind kind,
                       MonoTime start) {
  const bool has_trace = parent.trace_id.IsValid();
  TraceContext context;  // tracestate stays empty: no allocation
  context.has_flags = true;
  context.remote = false;

  if (kind == SpanKind::kInternal && !options_.internal_spans) {
    // Not recorded (OBS §6.4): stand in for the parent so children and messages refer to it.
    context.trace_id = has_trace ? parent.trace_id : NewTraceId();
    context.span_id = parent.span_id;
    context.flags = parent.has_flags ? parent.flags & kSampledFlag : 0;
    return Span(nullptr, nullptr, 0, context);
  }

  context.trace_id = has_trace ? parent.trace_id : NewTraceId();
  context.span_id = NewSpanId();
  bool sampled;
  if (!enabled_) {
    // Nothing recorded: outgoing flags copy the parent's (00 for new roots), OBS §6.3.
    sampled = has_trace && parent.has_flags && parent.sampled();
  } else if (has_trace) {
    sampled = sampler_.ShouldSample(parent);
  } else {
    sampled = sampler_.RatioSampled(context.trace_id);
  }
  context.flags = sampled ? kSampledFlag : 0;

  if (!sampled || !enabled_ || closed_.load(std::memory_order_acquire)) {
    return Span(nullptr, nullptr, 0, context);
  }
  uint32_t index;
  if (!free_->TryPop(index)) {
    dropped_queue_full_.fetch_add(1, std::memory_order_relaxed);  // empty pool, OBS §6.6
    return Span(nullptr, nullptr, 0, context);
  }
  SpanRecord& r = records_[index];
  r.Reset();
  r.trace_id = context.trace_id;
  r.span_id = context.span_id;
  r.parent_span_id = has_trace ? parent.span_id : SpanId();
  r.kind = kind;
  r.start_unix_nano = UnixNanos(start);
  r.end_unix_nano = r.start_unix_nano;
  r.Store(name.substr(0, kMaxSpanNameBytes), r.name);
  if (parent.remote && !parent.tracestate.empty()) {
    r.Store(ForwardableTracestate(parent.tracestate), r.tracestate);  // skipped if no room
  }
  spans_recorded_.fetch_add(1, std::memory_order_relaxed);
  return Span(this, &r, index, context);
}

bool Tracer::recording() const { return enabled_ && !closed_.load(std::memory_order_acquire); }

void Tracer::FinishSpan(uint32_t index) {
  if (closed_.load(std::memory_order_acquire)) {
    dropped_shutdown_.fetch_add(1, std::memory_order_relaxed);
    ReleaseRecord(index);
    return;
  }
  if (!ready_->TryPush(index)) {
    dropped_queue_full_.fetch_add(1, std::memory_order_relaxed);
    ReleaseRecord(index);
    return;
  }
  int64_t waiting = queue_spans_.fetch_add(1, std::memory_order_relaxed) + 1;
  // Wake the exporter once per full batch. Signal without mu_ (no lock on the request path);
  // a wake-up that races with the exporter going to sleep is lost, which delays that batch by
  // at most batch_interval_ms.
  if (waiting == static_cast<int64_t>(batch_max_)) wake_.Signal();
}

void Tracer::ReleaseRecord(uint32_t index) {
  // Cannot fail: the free ring holds twice the pool.
  free_->TryPush(index);
}

void Tracer::RequestFlush() {
  if (!enabled_) return;
  {
    absl::MutexLock lock(&mu_);
    flush_requested_.store(true, std::memory_order_relaxed);
  }
  wake_.Signal();
}

void Tracer::ExporterLoop() {
  const absl::Duration interval = absl::Milliseconds(options_.batch_interval_ms);
  for (;;) {
    {
      absl::MutexLock lock(&mu_);
      const absl::Time deadline = absl::Now() + interval;
      while (!stopping_.load(std::memory_order_relaxed) &&
             !flush_requested_.load(std::memory_order_relaxed) &&
             queue_spans_.load(std::memory_order_relaxed) < static_cast<int64_t>(batch_max_)) {
        if (wake_.WaitWithDeadline(&mu_, deadline)) break;  // the interval elapsed
      }
      if (stopping_.load(std::memory_order_relaxed)) break;
      flush_requested_.store(false, std::memory_order_relaxed);
    }
    ExportPending(/*final_flush=*/false, {});
  }
  // OBS §6.6: one final flush bounded by otlp_timeout_ms.
  ExportPending(/*final_flush=*/true, std::chrono::steady_clock::now() +
                                          std::chrono::milliseconds(options_.otlp_timeout_ms));
}

void Tracer::ExportPending(bool final_flush, std::chrono::steady_clock::time_point deadline) {
  for (;;) {
    // Once Shutdown has begun, the rest belongs to the final flush and its deadline.
    if (!final_flush && closed_.load(std::memory_order_acquire)) return;
    std::chrono::milliseconds timeout(options_.otlp_timeout_ms);
    if (final_flush) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (left <= std::chrono::milliseconds(0)) return;  // the rest counts as `shutdown`
      timeout = std::min(timeout, left);
    }
    batch_.clear();
    uint32_t index;
    while (batch_.size() < batch_max_ && ready_->TryPop(index)) batch_.push_back(index);
    if (batch_.empty()) return;
    const auto n = static_cast<int64_t>(batch_.size());
    queue_spans_.fetch_sub(n, std::memory_order_relaxed);

    // Serialize, then give the records back before the (slow) upload.
    body_.assign(body_prefix_);
    for (size_t i = 0; i < batch_.size(); ++i) {
      if (i > 0) body_ += ',';
      AppendOtlpSpanJson(records_[batch_[i]], body_);
    }
    body_ += kOtlpJsonSuffix;
    for (uint32_t i : batch_) ReleaseRecord(i);

    ExportOutcome outcome = exporter_->Export(
        body_, timeout, /*allow_retry=*/!final_flush,
        [this](std::chrono::milliseconds delay) { return BackoffWait(delay); },
        [this](double seconds) {
          export_requests_.fetch_add(1, std::memory_order_relaxed);
          export_nanos_.fetch_add(static_cast<int64_t>(seconds * 1e9), std::memory_order_relaxed);
          if (hooks_.export_duration) hooks_.export_duration(seconds);
        });
    if (outcome.ok) {
      int64_t rejected = std::clamp<int64_t>(outcome.rejected_spans, 0, n);
      spans_exported_.fetch_add(n - rejected, std::memory_order_relaxed);
      dropped_rejected_.fetch_add(rejected, std::memory_order_relaxed);
    } else {
      dropped_export_failed_.fetch_add(n, std::memory_order_relaxed);
      if (hooks_.export_failed) hooks_.export_failed(outcome.failure, n);
    }
  }
}

bool Tracer::BackoffWait(std::chrono::milliseconds delay) {
  absl::MutexLock lock(&mu_);
  const absl::Time deadline = absl::Now() + absl::FromChrono(delay);
  while (!stopping_.load(std::memory_order_relaxed)) {
    if (wake_.WaitWithDeadline(&mu_, deadline)) return true;
  }
  return false;
}

void Tracer::Shutdown() {
  if (shut_down_.exchange(true)) return;
  if (!enabled_) return;
  closed_.store(true, std::memory_order_release);
  {
    absl::MutexLock lock(&mu_);
    stopping_.store(true, std::memory_order_relaxed);
  }
  wake_.SignalAll();
  if (thread_.joinable()) thread_.join();
  DropLeftovers();
}

void Tracer::DropLeftovers() {
  uint32_t index;
  while (ready_->TryPop(index)) {
    queue_spans_.fetch_sub(1, std::memory_order_relaxed);
    dropped_shutdown_.fetch_add(1, std::memory_order_relaxed);
    ReleaseRecord(index);
  }
}

TracerCounters Tracer::Counters() const {
  TracerCounters c;
  c.spans_recorded = spans_recorded_.load(std::memory_order_relaxed);
  c.spans_exported = spans_exported_.load(std::memory_order_relaxed);
  c.dropped_queue_full = dropped_queue_full_.load(std::memory_order_relaxed);
  c.dropped_export_failed = dropped_export_failed_.load(std::memory_order_relaxed);
  c.dropped_rejected = dropped_rejected_.load(std::memory_order_relaxed);
  c.dropped_shutdown = dropped_shutdown_.load(std::memory_order_relaxed);
  c.queue_spans = queue_spans_.load(std::memory_order_relaxed);
  c.export_requests = export_requests_.load(std::memory_order_relaxed);
  c.export_seconds_sum = static_cast<double>(export_nanos_.load(std::memory_order_relaxed)) / 1e9;
  return c;
}

}  // namespace router::obs
