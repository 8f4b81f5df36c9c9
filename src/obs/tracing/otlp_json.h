#pragma once
// OTLP JSON encoding of span batches (OBS §6.6): an ExportTraceServiceRequest with one
// ResourceSpans (the router's resource attributes) and one ScopeSpans. Per the OTLP JSON
// mapping: lowerCamelCase keys, traceId/spanId/parentSpanId as lowercase hex strings, 64-bit
// integers (times, intValue) as decimal strings, enums as integers (kind, status code),
// attributes as typed AnyValue (stringValue, intValue, doubleValue, boolValue).
// Strings are escaped for JSON and invalid UTF-8 bytes become U+FFFD (a collector rejects the
// whole request otherwise). Pure functions; thread-safe.

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "obs/tracing/span_record.h"
#include "obs/tracing/tracing_options.h"

namespace router::obs {

using AttributeList = std::vector<std::pair<std::string, std::string>>;

// The instrumentation scope name of every span.
inline constexpr std::string_view kTracerScopeName = "beamline-router";

// Resource attributes in export order (OBS §6.4): service.name, service.version,
// service.instance.id, host.name (gethostname() when options.host_name is empty), then
// options.resource_attributes, whose entries never replace the four above. Empty values of
// service.version / service.instance.id are left out.
AttributeList ResourceAttributes(const TracingOptions& options);

// The request up to and including `"spans":[`; append spans separated by ',' then the suffix.
std::string OtlpJsonPrefix(const AttributeList& resource, std::string_view scope_name,
                           std::string_view scope_version);
inline constexpr std::string_view kOtlpJsonSuffix = "]}]}]}";

// Appends one span object.
void AppendOtlpSpanJson(const SpanRecord& span, std::string& out);

// Appends s as a quoted JSON string.
void AppendJsonString(std::string_view s, std::string& out);

}  // namespace router::obs
