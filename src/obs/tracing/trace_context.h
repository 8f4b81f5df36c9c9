#pragma once
// Trace identifiers and the W3C trace context (OBS §6.1, §6.2 last bullet, §6.5).
//
// TraceId (128 bit) and SpanId (64 bit) are plain values written as 32 / 16 lowercase hex; an
// all-zero id is invalid. New ids come from a per-thread xoshiro256++ generator seeded from the
// OS CSPRNG (getrandom), so generating one takes no lock and does not allocate.
// ParseTraceparent follows W3C Trace Context level 1: version 00 is exactly 55 characters; a
// higher version (not ff) is parsed by its first four fields; uppercase hex, all-zero ids or a
// bad length invalidate it. ParseTraceIdLenient accepts the `trace_id` forms of §6.1/§6.2 (32 hex
// digits or a UUID). Pure functions and values; thread-safe.

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace router::obs {

// tracestate longer than this is dropped, not forwarded (OBS §6.2).
inline constexpr size_t kMaxTracestateBytes = 512;
// Length of a version-00 traceparent: "00-<32>-<16>-<2>".
inline constexpr size_t kTraceparentLength = 55;

// W3C trace-flags bit 0.
inline constexpr uint8_t kSampledFlag = 0x01;

struct TraceId {
  uint64_t hi = 0;  // first 16 hex digits
  uint64_t lo = 0;  // last 16 hex digits (its low 56 bits drive sampling, OBS §6.3)

  bool IsValid() const { return hi != 0 || lo != 0; }
  // Writes 32 lowercase hex chars to out[0..31] (no terminator).
  void WriteHex(char* out) const;
  std::string ToHex() const;
  // Parses exactly 32 lowercase hex digits; nullopt when malformed or all zero.
  static std::optional<TraceId> FromHex(std::string_view hex);
  friend bool operator==(const TraceId&, const TraceId&) = default;
};

struct SpanId {
  uint64_t value = 0;

  bool IsValid() const { return value != 0; }
  // Writes 16 lowercase hex chars to out[0..15] (no terminator).
  void WriteHex(char* out) const;
  std::string ToHex() const;
  // Parses exactly 16 lowercase hex digits; nullopt when malformed or all zero.
  static std::optional<SpanId> FromHex(std::string_view hex);
  friend bool operator==(const SpanId&, const SpanId&) = default;
};

// A fresh random id, never all zero. No lock, no allocation.
TraceId NewTraceId();
SpanId NewSpanId();

// The context a span is started under, or a span's own context (Span::context()).
// - trace_id: valid whenever the context is in use (extraction always fills it).
// - span_id: the parent span; invalid = none (the new span is a root of `trace_id`).
// - flags / has_flags: W3C trace-flags, meaningful only when has_flags (they came from a
//   traceparent, a correlation record or a local span); parent-based sampling follows them only
//   then (OBS §6.3).
// - remote: the parent lives in another process (extraction); false for local spans.
// - tracestate: forwarded unchanged when at most 512 bytes; empty otherwise.
struct TraceContext {
  TraceId trace_id;
  SpanId span_id;
  uint8_t flags = 0;
  bool has_flags = false;
  bool remote = true;
  std::string tracestate;

  bool sampled() const { return (flags & kSampledFlag) != 0; }
  bool HasParentSpan() const { return span_id.IsValid(); }
};

// Parses a traceparent header (rules above). On success returns trace id, parent span id and
// flags with has_flags = true, remote = true and empty tracestate; nullopt when invalid.
std::optional<TraceContext> ParseTraceparent(std::string_view traceparent);

// Formats "00-<trace32>-<span16>-<flags2>" into out (exactly kTraceparentLength chars).
void WriteTraceparent(TraceId trace_id, SpanId span_id, uint8_t flags, char* out);
// Same, as a string (allocates: 55 chars exceed the small-string buffer).
std::string FormatTraceparent(TraceId trace_id, SpanId span_id, uint8_t flags);
// The traceparent of a span context: its trace id, span id and flags (the W3C sampled bit).
std::string FormatTraceparent(const TraceContext& context);

// The `trace_id` forms of OBS §6.1/§6.2: 32 hex digits or a UUID (8-4-4-4-12 with dashes, which
// are removed), not all zero. Hex digits may be either case here (unlike in traceparent); the
// result is normalized, so ToHex() gives the 32 lowercase hex used downstream.
std::optional<TraceId> ParseTraceIdLenient(std::string_view trace_id);

// tracestate as forwarded: the value itself when at most kMaxTracestateBytes, else "".
std::string_view ForwardableTracestate(std::string_view tracestate);

}  // namespace router::obs
