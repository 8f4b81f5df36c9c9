#pragma once
// Span: the handle of one span being recorded (OBS §6.4). Returned by Tracer::StartSpan; it
// carries the span's own context (trace id, span id, sampled flag) whether or not the span is
// recorded, so propagation works with tracing off (OBS §6.1, §6.3).
//
// A non-recording span (no OTLP endpoint, not sampled, internal spans off, pool empty) costs no
// pool slot: every setter returns at once. A recording span owns one pool record until End(),
// which stamps the end time and hands the record to the export queue without blocking, locking
// or allocating (OBS O1). The destructor ends a span that is still open, so a record is never
// leaked. Move-only. Thread-compatible: one thread at a time; the handle may be moved to another
// thread (the publish span ends on the PubAck callback, after its parent). The Tracer must
// outlive every Span it started.

#include <concepts>
#include <cstdint>
#include <string>
#include <string_view>

#include "base/clock.h"
#include "obs/tracing/span_record.h"
#include "obs/tracing/trace_context.h"

namespace router::obs {

class Tracer;

class Span {
 public:
  // An inert span: not recording, invalid context.
  Span() = default;
  ~Span();
  Span(Span&& other) noexcept;
  Span& operator=(Span&& other) noexcept;
  Span(const Span&) = delete;
  Span& operator=(const Span&) = delete;

  // True while the span records attributes and will be exported at End().
  bool IsRecording() const { return record_ != nullptr; }

  // This span's context: trace id, its span id, flags (sampled bit = the sampling decision),
  // has_flags = true, remote = false, no tracestate. Pass it as `parent` to start children and
  // format it with FormatTraceparent() for outgoing messages (OBS §6.5).
  const TraceContext& context() const { return context_; }
  // 32 lowercase hex (RouteDecision.metadata["trace_id"], log records).
  std::string TraceIdHex() const { return context_.trace_id.ToHex(); }

  // Attributes: a repeated key overwrites the earlier value. An attribute that does not fit the
  // record (kMaxSpanAttributes, kSpanArenaBytes) is dropped and counted in the exported
  // droppedAttributesCount. Keys and values are copied.
  void SetAttribute(std::string_view key, std::string_view value);
  void SetAttribute(std::string_view key, const char* value) {
    SetAttribute(key, std::string_view(value));
  }
  void SetAttribute(std::string_view key, bool value);
  void SetAttribute(std::string_view key, double value);
  template <std::integral T>
  requires(!std::same_as<T, bool>) void SetAttribute(std::string_view key, T value) {
    SetIntAttribute(key, static_cast<int64_t>(value));
  }

  // Span status (OBS §6.4: ERROR for server-side failures, UNSET for client errors). The
  // message is kept for kError only.
  void SetStatus(SpanStatusCode code, std::string_view message = {});

  // Ends the span now (tracer clock) or at `end_time` (MonoNow() scale). A second End is a no-op.
  void End();
  void End(MonoTime end_time);

 private:
  friend class Tracer;
  Span(Tracer* tracer, SpanRecord* record, uint32_t index, const TraceContext& context)
      : tracer_(tracer), record_(record), index_(index), context_(context) {}

  void SetIntAttribute(std::string_view key, int64_t value);
  // The attribute slot for key (existing or new, key stored); nullptr when it does not fit.
  SpanAttribute* Slot(std::string_view key);

  Tracer* tracer_ = nullptr;      // not owned; null for inert and non-recording spans
  SpanRecord* record_ = nullptr;  // owned pool slot while recording
  uint32_t index_ = 0;            // record_'s index in the pool
  TraceContext context_;
};

}  // namespace router::obs
