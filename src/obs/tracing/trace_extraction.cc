#include "obs/tracing/trace_extraction.h"

namespace router::obs {
namespace {

// A valid traceparent (+ its tracestate, when forwardable) as the winning context.
bool TryTraceparent(std::string_view traceparent, std::string_view tracestate, TraceSource source,
                    ExtractedTrace& out) {
  if (traceparent.empty()) return false;
  std::optional<TraceContext> parsed = ParseTraceparent(traceparent);
  if (!parsed) {
    ++out.invalid_sources;
    return false;
  }
  out.context = *parsed;
  out.context.tracestate = std::string(ForwardableTracestate(tracestate));
  out.source = source;
  return true;
}

// A bare trace id (32 hex or UUID) with no parent span.
bool TryTraceId(std::string_view trace_id, TraceSource source, ExtractedTrace& out) {
  if (trace_id.empty()) return false;
  std::optional<TraceId> parsed = ParseTraceIdLenient(trace_id);
  if (!parsed) {
    ++out.invalid_sources;
    return false;
  }
  out.context.trace_id = *parsed;
  out.source = source;
  return true;
}

// 16 hex digits of either case, not all zero (context span_id, as lenient as trace_id).
std::optional<SpanId> ParseSpanIdLenient(std::string_view s) {
  if (s.size() != 16) return std::nullopt;
  char lower[16];
  for (size_t i = 0; i < 16; ++i) {
    char c = s[i];
    lower[i] = (c >= 'A' && c <= 'F') ? static_cast<char>(c - 'A' + 'a') : c;
  }
  return SpanId::FromHex(std::string_view(lower, 16));
}

void NewRoot(ExtractedTrace& out) {
  out.context.trace_id = NewTraceId();
  out.source = TraceSource::kNewRoot;
}

// NATS payload trace_id: a nonconforming string is not an invalid source (OBS §6.2).
bool TryPayloadTraceId(std::string_view trace_id, ExtractedTrace& out) {
  if (trace_id.empty()) return false;
  std::optional<TraceId> parsed = ParseTraceIdLenient(trace_id);
  if (!parsed) {
    out.trace_id_nonconforming = true;
    return false;
  }
  out.context.trace_id = *parsed;
  out.source = TraceSource::kPayloadTraceId;
  return true;
}

}  // namespace

std::string_view ToString(TraceSource source) {
  switch (source) {
    case TraceSource::kNewRoot:
      return "new_root";
    case TraceSource::kMetadataTraceparent:
      return "metadata_traceparent";
    case TraceSource::kContextTraceparent:
      return "context_traceparent";
    case TraceSource::kContextTraceId:
      return "context_trace_id";
    case TraceSource::kMessageTraceId:
      return "message_trace_id";
    case TraceSource::kHeaderTraceparent:
      return "header_traceparent";
    case TraceSource::kHeaderTraceId:
      return "header_trace_id";
    case TraceSource::kPayloadTraceId:
      return "payload_trace_id";
    case TraceSource::kCorrelationRecord:
      return "correlation_record";
  }
  return "unknown";
}

ExtractedTrace ExtractGrpcTrace(std::string_view metadata_traceparent,
                                std::string_view metadata_tracestate, ContextLookup context,
                                std::string_view message_trace_id) {
  ExtractedTrace out;
  if (TryTraceparent(metadata_traceparent, metadata_tracestate, TraceSource::kMetadataTraceparent,
                     out)) {
    return out;
  }
  for (std::string_view key : kContextTraceparentKeys) {
    std::optional<std::string_view> value = context(key);
    if (!value || value->empty()) continue;
    std::string_view tracestate = context(kContextTracestateKey).value_or(std::string_view());
    if (TryTraceparent(*value, tracestate, TraceSource::kContextTraceparent, out)) return out;
  }
  for (std::string_view key : kContextTraceIdKeys) {
    std::optional<std::string_view> value = context(key);
    if (!value || !TryTraceId(*value, TraceSource::kContextTraceId, out)) continue;
    // The first present span_id alias is the parent; an invalid one is counted and ignored.
    for (std::string_view span_key : kContextSpanIdKeys) {
      std::optional<std::string_view> span = context(span_key);
      if (!span || span->empty()) continue;
      if (std::optional<SpanId> parsed = ParseSpanIdLenient(*span)) {
        out.context.span_id = *parsed;
      } else {
        ++out.invalid_sources;
      }
      break;
    }
    return out;
  }
  if (TryTraceId(message_trace_id, TraceSource::kMessageTraceId, out)) return out;
  NewRoot(out);
  return out;
}

ExtractedTrace ExtractNatsDecideTrace(std::string_view header_traceparent,
                                      std::string_view header_tracestate,
                                      std::string_view payload_trace_id) {
  ExtractedTrace out;
  if (TryTraceparent(header_traceparent, header_tracestate, TraceSource::kHeaderTraceparent, out)) {
    return out;
  }
  if (TryPayloadTraceId(payload_trace_id, out)) return out;
  NewRoot(out);
  return out;
}

ExtractedTrace ExtractResultTrace(std::string_view header_traceparent,
                                  std::string_view header_tracestate,
                                  std::string_view header_trace_id,
                                  std::string_view payload_trace_id,
                                  const TraceContext* correlation) {
  ExtractedTrace out;
  if (TryTraceparent(header_traceparent, header_tracestate, TraceSource::kHeaderTraceparent, out)) {
    return out;
  }
  if (TryTraceId(header_trace_id, TraceSource::kHeaderTraceId, out)) return out;
  if (TryPayloadTraceId(payload_trace_id, out)) return out;
  if (correlation != nullptr && correlation->trace_id.IsValid()) {
    out.context = *correlation;
    out.context.remote = true;
    out.source = TraceSource::kCorrelationRecord;
    return out;
  }
  NewRoot(out);
  return out;
}

}  // namespace router::obs
