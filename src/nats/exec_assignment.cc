#include "nats/exec_assignment.h"

#include <algorithm>
#include <array>

#include "base/errors.h"
#include "nats/decide_codec.h"
#include "nats/json_writer.h"
#include "obs/tracing/trace_context.h"
#include "service/ids.h"

namespace router::nats_adapter {
namespace {

constexpr std::string_view kDefaultOptionKeys[] = {"priority", "deadline_ms", "retry"};

bool IsDefaultOptionKey(std::string_view key) {
  return std::find(std::begin(kDefaultOptionKeys), std::end(kDefaultOptionKeys), key) !=
         std::end(kDefaultOptionKeys);
}

bool IsPrintableAscii(std::string_view s, size_t max_bytes) {
  if (s.empty() || s.size() > max_bytes) return false;
  for (char c : s) {
    if (c < 0x20 || c > 0x7e) return false;
  }
  return true;
}

}  // namespace

int64_t AssignmentDeadlineMs(int64_t expected_latency_ms, const AssignmentDeadlineOptions& o) {
  if (expected_latency_ms <= 0) return kNoEstimateDeadlineMs;
  const int64_t scaled = expected_latency_ms > INT64_MAX / std::max<int64_t>(o.multiplier, 1)
                             ? INT64_MAX
                             : expected_latency_ms * o.multiplier;
  return std::clamp(scaled, o.min_ms, std::max(o.min_ms, o.max_ms));
}

bool IsValidProviderId(std::string_view s) {
  if (s.empty() || s.size() > 128) return false;
  for (char c : s) {
    const bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                    c == '_' || c == '.' || c == ':' || c == '/' || c == '-';
    if (!ok) return false;
  }
  return true;
}

void WriteExecAssignment(const ExecAssignmentInput& in, const AssignmentDeadlineOptions& o,
                         std::string& out) {
  const service::DecideOutput& d = *in.decision;
  JsonWriter w(out);
  w.BeginObject()
      .Field("version", "1")
      .Field("assignment_id", in.assignment_id)
      .Field("request_id", in.request_id)
      .Field("tenant_id", in.tenant_id)
      .Field("decision_id", d.decision_id)
      .Field("issued_at_ms", in.issued_at_ms);
  w.Key("executor")
      .BeginObject()
      .Field("provider_id", d.provider_id)
      .Field("channel", "nats")
      .EndObject();
  w.Key("job").Element(in.task);

  // options: defaults with the request's members shallow-merged over them.
  w.Key("options").BeginObject();
  auto request_option = [&](std::string_view key) -> std::optional<simdjson::dom::element> {
    if (!in.options) return std::nullopt;
    std::optional<simdjson::dom::element> found;
    for (auto field : *in.options) {
      if (field.key == key) found = field.value;  // last occurrence (duplicates are rejected)
    }
    return found;
  };
  if (auto v = request_option("priority")) {
    w.Key("priority").Element(*v);
  } else {
    w.Field("priority", d.priority);
  }
  if (auto v = request_option("deadline_ms")) {
    w.Key("deadline_ms").Element(*v);
  } else {
    w.Field("deadline_ms", AssignmentDeadlineMs(d.expected_latency_ms, o));
  }
  if (auto v = request_option("retry")) {
    w.Key("retry").Element(*v);
  } else {
    w.Key("retry").BeginObject().Field("max_attempts", 2).Field("backoff_ms", 200).EndObject();
  }
  if (in.options) {
    for (auto field : *in.options) {
      if (!IsDefaultOptionKey(field.key)) w.Key(field.key).Element(field.value);
    }
  }
  w.EndObject();

  w.Key("correlation").BeginObject().Field("trace_id", in.correlation_trace_id);
  if (!in.run_id.empty()) w.Field("run_id", in.run_id);
  if (!in.flow_id.empty()) w.Field("flow_id", in.flow_id);
  if (!in.step_id.empty()) w.Field("step_id", in.step_id);
  w.EndObject();

  w.Key("decision")
      .BeginObject()
      .Field("provider_id", d.provider_id)
      .Field("priority", d.priority)
      .Field("expected_latency_ms", d.expected_latency_ms);
  w.Key("expected_cost").Double(d.expected_cost);
  w.Field("reason", d.reason)
      .Field("policy_id", ResolvedPolicyId(d))
      .Field("policy_version", d.policy_version);
  w.Key("metadata").BeginObject();
  const auto& md = d.metadata;
  for (size_t i = 0; i < md.size(); ++i) {
    bool overridden = false;
    for (size_t j = i + 1; j < md.size() && !overridden; ++j)
      overridden = md[j].first == md[i].first;
    if (!overridden) w.Field(md[i].first, md[i].second);
  }
  w.EndObject().EndObject();

  w.Key("metadata");
  w.BeginObject();
  if (in.metadata) {
    for (auto field : *in.metadata) w.Key(field.key).Element(field.value);
  }
  w.EndObject();
  w.EndObject();
}

absl::Status BuildExecAssignment(const ExecAssignmentInput& in, const AssignmentDeadlineOptions& o,
                                 int64_t max_payload_bytes, std::string& out) {
  out.clear();
  const service::DecideOutput& d = *in.decision;
  if (!service::IsValidId(in.tenant_id)) {
    return absl::InternalError("ExecAssignment: tenant_id does not match the pattern");
  }
  if (!IsValidProviderId(d.provider_id)) {
    return absl::InternalError("ExecAssignment: provider_id does not match the pattern");
  }
  if (d.expected_latency_ms < 0 || d.expected_latency_ms > kMaxExpectedLatencyMs) {
    return absl::InternalError("ExecAssignment: expected_latency_ms out of range");
  }
  WriteExecAssignment(in, o, out);
  if (max_payload_bytes > 0 && static_cast<int64_t>(out.size()) > max_payload_bytes) {
    absl::Status s =
        MakeError(absl::StatusCode::kInvalidArgument,
                  "ExecAssignment too large: " + std::to_string(out.size()) +
                      " bytes, maximum: " + std::to_string(max_payload_bytes) + " bytes",
                  tag::kInvalidRequest);
    AddErrorDetail(s, "reason", "assignment_too_large");
    return s;
  }
  return absl::OkStatus();
}

HeaderList ExecAssignmentHeaders(std::string_view assignment_id, std::string_view tenant_id,
                                 std::string_view request_id, const AssignmentTrace& trace) {
  HeaderList h;
  h.reserve(10);
  const obs::SpanId span = obs::NewSpanId();
  const std::string span16 = span.ToHex();
  auto trace_id = obs::TraceId::FromHex(trace.trace32);
  std::string traceparent =
      trace_id ? obs::FormatTraceparent(*trace_id, span, trace.flags) : std::string();
  std::string trace_header = trace.trace32;
  if (trace.request_trace_id && IsPrintableAscii(*trace.request_trace_id, 128)) {
    trace_header = std::string(*trace.request_trace_id);
  }
  h.emplace_back("Nats-Msg-Id", std::string(assignment_id));
  h.emplace_back("tenant_id", std::string(tenant_id));
  h.emplace_back("version", "1");
  h.emplace_back("request_id", std::string(request_id));
  if (!traceparent.empty()) h.emplace_back("traceparent", std::move(traceparent));
  if (!trace.tracestate.empty()) h.emplace_back("tracestate", std::string(trace.tracestate));
  h.emplace_back("trace_id", trace_header);
  h.emplace_back("span_id", span16);
  h.emplace_back("X-Trace-Id", trace_header);
  h.emplace_back("X-Span-Id", span16);
  return h;
}

}  // namespace router::nats_adapter
