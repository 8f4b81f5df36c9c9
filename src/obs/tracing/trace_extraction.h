#pragma once
// Trace-context extraction (OBS §6.2): the candidate sources of one request or message are tried
// in spec order; the first valid one wins, every present-but-invalid source before it is skipped
// and counted (ExtractedTrace::invalid_sources, for the caller's counter), and when none is valid
// a new root trace id is generated. An empty value means "absent" (proto3 strings and NATS
// headers cannot tell the two apart), so it is neither used nor counted.
//
// Pure functions (apart from drawing a fresh id); thread-safe. They do not allocate unless a
// tracestate longer than the small-string buffer is copied into the result.

#include <cstdint>
#include <optional>
#include <string_view>

#include "absl/functional/function_ref.h"
#include "obs/tracing/trace_context.h"

namespace router::obs {

// Where the trace context in use came from.
enum class TraceSource : uint8_t {
  kNewRoot,
  kMetadataTraceparent,  // gRPC metadata `traceparent` (+ `tracestate`)
  kContextTraceparent,   // RouteRequest.context `traceparent` / `trace-parent`
  kContextTraceId,       // RouteRequest.context `trace_id` & aliases (+ `span_id` as parent)
  kMessageTraceId,       // Message.trace_id
  kHeaderTraceparent,    // NATS header `traceparent` (+ `tracestate`)
  kHeaderTraceId,        // NATS header `trace_id` (results and acks)
  kPayloadTraceId,       // NATS payload `trace_id`
  kCorrelationRecord,    // the assignment's correlation record (parent = publish span)
};
std::string_view ToString(TraceSource source);

struct ExtractedTrace {
  // trace_id is always valid. span_id (the remote parent) and has_flags/flags are set only when
  // the winning source carries them; remote = true.
  TraceContext context;
  TraceSource source = TraceSource::kNewRoot;
  // Present sources that were skipped as invalid (grpc-api §2 "invalid -> skipped, counted";
  // nats-contracts §2 "Invalid: ignored, counted").
  int invalid_sources = 0;
  // NATS only: a payload `trace_id` that is neither 32 hex nor a UUID. It is not an error and not
  // in invalid_sources; the caller counts router_intake_trace_id_nonconforming_total, echoes the
  // value verbatim and uses context.trace_id downstream (OBS §6.2).
  bool trace_id_nonconforming = false;
};

// Looks a key up in RouteRequest.context; nullopt when absent. Keys are matched exactly.
using ContextLookup = absl::FunctionRef<std::optional<std::string_view>(std::string_view key)>;

// Context keys tried, in this order (OBS §6.2; span-id aliases mirror the trace-id ones and the
// compatibility headers of §6.5).
inline constexpr std::string_view kContextTraceparentKeys[] = {"traceparent", "trace-parent"};
inline constexpr std::string_view kContextTracestateKey = "tracestate";
inline constexpr std::string_view kContextTraceIdKeys[] = {"trace_id", "trace-id", "traceId",
                                                           "X-Trace-Id"};
inline constexpr std::string_view kContextSpanIdKeys[] = {"span_id", "span-id", "spanId",
                                                          "X-Span-Id"};

// gRPC Decide / DryRun / ReportOutcome: metadata traceparent (+ tracestate) -> context
// traceparent / trace-parent (+ context tracestate) -> context trace_id aliases with an optional
// context span_id as parent -> Message.trace_id -> new root. An invalid span_id next to a valid
// trace_id is counted and ignored (the trace id still wins, without a parent span).
ExtractedTrace ExtractGrpcTrace(std::string_view metadata_traceparent,
                                std::string_view metadata_tracestate, ContextLookup context,
                                std::string_view message_trace_id);

// NATS decide: header traceparent (+ tracestate) -> payload trace_id when 32 hex or a UUID
// (otherwise trace_id_nonconforming) -> new root.
ExtractedTrace ExtractNatsDecideTrace(std::string_view header_traceparent,
                                      std::string_view header_tracestate,
                                      std::string_view payload_trace_id);

// NATS results and acks: header traceparent (+ tracestate) -> header trace_id -> payload
// trace_id (nonconforming as above) -> the correlation record of the assignment, whose
// trace id, span id (the publish span) and flags are taken as they are -> new root.
// `correlation` may be null (no record).
ExtractedTrace ExtractResultTrace(std::string_view header_traceparent,
                                  std::string_view header_tracestate,
                                  std::string_view header_trace_id,
                                  std::string_view payload_trace_id,
                                  const TraceContext* correlation);

}  // namespace router::obs
