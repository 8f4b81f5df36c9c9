#pragma once
// SpanRecord: one preallocated slot of the tracer's span pool (OBS §6.6 "span records come from a
// preallocated pool"). Every variable-length field (name, attribute keys and string values,
// status message, tracestate) lives in the record's own fixed arena, so recording a span never
// allocates. What does not fit is dropped and counted in dropped_attributes (exported as OTLP
// droppedAttributesCount); a name longer than kMaxSpanNameBytes is truncated.
//
// Confined: a record belongs to exactly one owner at a time (the free list, one Span handle, the
// export queue, then the exporter thread); the hand-offs go through IndexRing, whose
// release/acquire pairs publish the record's contents.

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "obs/tracing/trace_context.h"

namespace router::obs {

inline constexpr size_t kMaxSpanAttributes = 32;
inline constexpr size_t kSpanArenaBytes = 1024;
inline constexpr size_t kMaxSpanNameBytes = 128;

// OTLP Span.SpanKind numbers (OBS §6.6: 1 internal, 2 server, 4 producer, 5 consumer).
enum class SpanKind : uint8_t {
  kInternal = 1,
  kServer = 2,
  kClient = 3,
  kProducer = 4,
  kConsumer = 5,
};

// OTLP Status.StatusCode numbers (OBS §6.6: 0 unset, 2 error).
enum class SpanStatusCode : uint8_t {
  kUnset = 0,
  kOk = 1,
  kError = 2,
};

// A slice of SpanRecord::arena.
// Trivial (no member initializers) so that it can sit in SpanAttribute's union.
struct ArenaRef {
  uint16_t offset;
  uint16_t size;
};

struct SpanAttribute {
  enum class Type : uint8_t { kString, kInt, kDouble, kBool };
  ArenaRef key{};
  Type type = Type::kInt;
  union {
    int64_t int_value = 0;
    double double_value;
    bool bool_value;
    ArenaRef string_value;
  };
};

struct SpanRecord {
  // Clears the variable part for reuse (ids and times are overwritten by the next start).
  void Reset() {
    name = {};
    tracestate = {};
    status_message = {};
    status = SpanStatusCode::kUnset;
    attribute_count = 0;
    dropped_attributes = 0;
    arena_used = 0;
  }

  // Copies s into the arena; false (and out untouched) when it does not fit.
  bool Store(std::string_view s, ArenaRef& out) {
    if (s.size() > kSpanArenaBytes - arena_used) return false;
    for (size_t i = 0; i < s.size(); ++i) arena[arena_used + i] = s[i];
    out.offset = arena_used;
    out.size = static_cast<uint16_t>(s.size());
    arena_used = static_cast<uint16_t>(arena_used + s.size());
    return true;
  }

  std::string_view View(ArenaRef ref) const {
    return std::string_view(arena + ref.offset, ref.size);
  }

  TraceId trace_id;
  SpanId span_id;
  SpanId parent_span_id;  // invalid = root span
  SpanKind kind = SpanKind::kInternal;
  SpanStatusCode status = SpanStatusCode::kUnset;
  int64_t start_unix_nano = 0;
  int64_t end_unix_nano = 0;
  ArenaRef name{};
  ArenaRef tracestate{};
  ArenaRef status_message{};
  uint16_t attribute_count = 0;
  uint16_t arena_used = 0;
  uint32_t dropped_attributes = 0;
  SpanAttribute attributes[kMaxSpanAttributes];
  char arena[kSpanArenaBytes];
};

}  // namespace router::obs
