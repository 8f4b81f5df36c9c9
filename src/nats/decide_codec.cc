#include "nats/decide_codec.h"

#include "base/errors.h"
#include "nats/json_writer.h"
#include "policy/sha256.h"

namespace router::nats_adapter {
namespace {

constexpr std::string_view kIntakeCodeKey = "intake_error_code";
constexpr std::string_view kRetryAfterKey = "retry_after_ms";

// POL §9: the extension tags map by their `cause` detail.
std::string_view ExtensionCode(const ErrorDetailList& details, std::string_view error_tag) {
  std::string_view cause;
  for (const auto& [k, v] : details) {
    if (k == "cause") cause = v;
  }
  if (cause == reply_code::kExtensionTimeout) return reply_code::kExtensionTimeout;
  if (cause == reply_code::kExtensionUnavailable) return reply_code::kExtensionUnavailable;
  if (cause == reply_code::kExtensionNotFound) return reply_code::kExtensionNotFound;
  if (cause == reply_code::kValidatorBlocked ||
      (cause.empty() && error_tag == reply_code::kValidatorBlocked)) {
    return reply_code::kValidatorBlocked;
  }
  return reply_code::kExtensionError;
}

}  // namespace

MappedError MapDecideError(const absl::Status& status) {
  MappedError out;
  const std::string error_tag = ErrorTag(status);
  ErrorDetailList details = ErrorDetails(status);
  std::string intake;
  for (const auto& [k, v] : details) {
    if (k == kIntakeCodeKey) intake = v;
  }

  std::string_view reason_detail;  // prepended `reason` detail for decision_failed
  if (!intake.empty()) {
    out.intake_error_code = intake;
    out.code = intake == "TENANT_FORBIDDEN"            ? reply_code::kUnauthorized
               : intake == "INTERNAL_VALIDATION_ERROR" ? reply_code::kInternal
                                                       : reply_code::kInvalidRequest;
  } else if (status.code() == absl::StatusCode::kInternal ||
             status.code() == absl::StatusCode::kUnknown || error_tag == tag::kInternal) {
    out.code = reply_code::kInternal;
  } else if (error_tag == tag::kInvalidRequest || error_tag == tag::kIdempotencyKeyReused) {
    out.code = reply_code::kInvalidRequest;
  } else if (error_tag == tag::kTenantNotAllowed) {
    out.code = reply_code::kUnauthorized;
  } else if (error_tag == tag::kOverloaded) {
    out.code = reply_code::kOverloaded;
  } else if (error_tag == tag::kRateLimitExceeded) {
    out.code = reply_code::kRateLimited;
  } else if (error_tag == tag::kPolicyNotFound) {
    out.code = reply_code::kPolicyNotFound;
  } else if (error_tag == tag::kDeadlineExceeded) {
    out.code = reply_code::kDeadlineExceeded;
  } else if (error_tag == tag::kNoProviderConfigured) {
    out.code = reply_code::kDecisionFailed;
    reason_detail = "no_candidates_configured";
  } else if (error_tag == tag::kNoProviderAvailable) {
    out.code = reply_code::kDecisionFailed;
    reason_detail = "all_candidates_excluded";
  } else if (error_tag == "pre_processor_failed" || error_tag == "validator_blocked" ||
             error_tag == "post_processor_failed") {
    out.code = ExtensionCode(details, error_tag);
  } else if (error_tag == kUnavailableTag) {
    out.code = reply_code::kUnavailable;
  } else {
    out.code = reply_code::kInternal;
  }

  if (out.code == reply_code::kInternal && intake.empty()) {
    out.message = "internal error";  // no internals leaked (§4.3)
    return out;
  }
  out.message = std::string(StdView(status.message()));
  out.retry_after_ms = RetryAfterMs(status);
  if (!reason_detail.empty()) out.details.emplace_back("reason", std::string(reason_detail));
  for (auto& [k, v] : details) {
    if (k == kIntakeCodeKey || k == kRetryAfterKey) continue;
    if (!reason_detail.empty() && k == "reason") continue;
    out.details.emplace_back(std::move(k), std::move(v));
  }
  return out;
}

void WriteErrorResponse(const MappedError& error, const ReplyContext& context, std::string& out) {
  JsonWriter w(out);
  w.BeginObject().Field("ok", false).Key("error").BeginObject();
  w.Field("code", error.code).Field("message", error.message);
  if (!error.intake_error_code.empty()) w.Field("intake_error_code", error.intake_error_code);
  if (error.retry_after_ms > 0) w.Field("retry_after_ms", error.retry_after_ms);
  if (!error.details.empty()) {
    w.Key("details").BeginObject();
    for (const auto& [k, v] : error.details) w.Field(k, v);
    w.EndObject();
  }
  w.EndObject();
  w.Key("context").BeginObject();
  w.Key("request_id");
  if (context.request_id) {
    w.String(*context.request_id);
  } else {
    w.Null();
  }
  if (context.trace_id) w.Field("trace_id", *context.trace_id);
  w.EndObject().EndObject();
}

std::string_view ResolvedPolicyId(const service::DecideOutput& decision) {
  for (auto it = decision.metadata.rbegin(); it != decision.metadata.rend(); ++it) {
    if (it->first == "policy_id") return it->second;
  }
  return {};
}

void WriteDecideResponse(const service::DecideOutput& d,
                         const std::optional<AssignmentStatus>& assignment,
                         const ReplyContext& context, std::string& out) {
  JsonWriter w(out);
  w.BeginObject().Field("ok", true).Key("decision").BeginObject();
  w.Field("provider_id", d.provider_id)
      .Field("reason", d.reason)
      .Field("priority", d.priority)
      .Field("expected_latency_ms", d.expected_latency_ms);
  w.Key("expected_cost").Double(d.expected_cost);
  w.Field("policy_id", ResolvedPolicyId(d))
      .Field("policy_version", d.policy_version)
      .Field("decision_id", d.decision_id);
  w.Key("metadata").BeginObject();
  const auto& md = d.metadata;
  for (size_t i = 0; i < md.size(); ++i) {
    bool overridden = false;
    for (size_t j = i + 1; j < md.size() && !overridden; ++j)
      overridden = md[j].first == md[i].first;
    if (!overridden) w.Field(md[i].first, md[i].second);
  }
  w.EndObject();
  if (d.has_explanation) {
    w.Key("explanation").BeginObject().Key("steps").BeginArray();
    for (const auto& step : d.steps) w.String(step);
    w.EndArray().Key("excluded_providers").BeginArray();
    for (const auto& [provider, reason] : d.excluded) {
      w.BeginObject().Field("provider_id", provider).Field("reason", reason).EndObject();
    }
    w.EndArray().EndObject();
  }
  w.EndObject();  // decision
  if (assignment) {
    w.Key("assignment").BeginObject().Field("status", assignment->status);
    if (!assignment->assignment_id.empty()) w.Field("assignment_id", assignment->assignment_id);
    if (!assignment->subject.empty()) w.Field("subject", assignment->subject);
    w.EndObject();
  }
  w.Key("context").BeginObject();
  if (context.request_id) w.Field("request_id", *context.request_id);
  if (context.trace_id) w.Field("trace_id", *context.trace_id);
  if (context.replayed) w.Field("replayed", true);
  w.EndObject().EndObject();
}

void WriteDecideDlqEnvelope(const DecideDlqEnvelope& e, std::string& out) {
  JsonWriter w(out);
  w.BeginObject()
      .Field("version", "1")
      .Field("reason", "intake_validation")
      .Field("original_subject", e.original_subject)
      .Field("original_payload_hash", policy::Sha256Hex(e.original_payload));
  w.Key("validation_error")
      .BeginObject()
      .Field("code", e.code)
      .Field("message", e.message)
      .Field("severity", "error")
      .EndObject();
  w.Key("context").BeginObject();
  if (e.request_id) w.Field("request_id", *e.request_id);
  if (e.tenant_id) w.Field("tenant_id", *e.tenant_id);
  if (e.trace_id) w.Field("trace_id", *e.trace_id);
  w.EndObject();
  w.Key("source").Null();
  w.Field("received_at", e.received_at_ms).Field("router_node_id", e.node_id);
  w.EndObject();
}

}  // namespace router::nats_adapter
