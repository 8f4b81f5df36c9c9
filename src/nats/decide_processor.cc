#include "nats/decide_processor.h"

#include <algorithm>

#include "base/errors.h"
#include "nats/decide_codec.h"

namespace router::nats_adapter {
namespace {

// DecisionService reports a malformed reserved context key as "context.<key>: <problem>".
constexpr std::string_view kContextPrefix = "context.";
constexpr std::string_view kNoPublishingMessage =
    "Assignment publishing is not available in this build";

bool ShouldDlq(const absl::Status& intake) {
  for (const auto& [k, v] : ErrorDetails(intake)) {
    if (k == "intake_error_code") {
      return v == "SCHEMA_VALIDATION_FAILED" || v == "VERSION_UNSUPPORTED" ||
             v == "CORRELATION_FIELDS_INVALID" || v == "TENANT_FORBIDDEN";
    }
  }
  return false;
}

// The intake code carried by `status` (INTERNAL_VALIDATION_ERROR when none).
IntakeCode IntakeCodeOf(const absl::Status& status) {
  std::string value;
  for (const auto& [k, v] : ErrorDetails(status)) {
    if (k == "intake_error_code") value = v;
  }
  for (IntakeCode code : {IntakeCode::kPayloadTooSmall, IntakeCode::kSchemaValidationFailed,
                          IntakeCode::kVersionUnsupported, IntakeCode::kCorrelationFieldsInvalid,
                          IntakeCode::kTenantForbidden, IntakeCode::kIdempotencyViolation,
                          IntakeCode::kInternalValidationError}) {
    if (value == IntakeCodeName(code)) return code;
  }
  return IntakeCode::kInternalValidationError;
}

}  // namespace

DecideProcessorOptions DecideProcessorOptions::FromConfig(const config::Config& config) {
  const config::NatsConfig& nats = config.nats;
  DecideProcessorOptions o;
  o.decide_subject = nats.decide.subject;
  o.intake.max_payload_bytes = nats.max_payload_bytes;
  o.intake.min_task_payload_bytes = nats.decide.min_payload_bytes;
  o.intake.context_limits.max_entries = static_cast<size_t>(config.decide.max_context_entries);
  o.intake.context_limits.max_key_bytes = static_cast<size_t>(config.decide.max_context_key_bytes);
  o.intake.context_limits.max_value_bytes =
      static_cast<size_t>(config.decide.max_context_value_bytes);
  o.intake.assignment_subject = nats.assignments.subject;
  o.intake.assignment_stream_subjects = nats.jetstream.streams.assignments.subjects;
  if (o.intake.assignment_stream_subjects.empty()) {
    o.intake.assignment_stream_subjects = {nats.assignments.subject};  // derived (§2)
  }
  o.assignments_enabled = nats.assignments.enabled;
  o.jetstream_enabled = nats.jetstream.enabled;
  o.assignment_allowed_tenants = nats.assignments.allowed_tenants;
  o.publish_timeout_ms = nats.assignments.publish_timeout_ms;
  o.dlq_enabled = nats.dlq.enabled;
  o.node_id = config.node_id;
  return o;
}

DecideProcessor::DecideProcessor(DecideProcessorOptions options,
                                 const service::DecisionService& decisions, NatsStats& stats)
    : options_(std::move(options)), decisions_(decisions), stats_(stats) {}

std::unique_ptr<DecideProcessor::Worker> DecideProcessor::NewWorker() const {
  auto worker = std::make_unique<Worker>(options_.intake);
  worker->reply_.reserve(2048);
  return worker;
}

std::string DecideProcessor::InternalErrorReply() {
  std::string out;
  WriteErrorResponse(MapDecideError(absl::InternalError("exception")), ReplyContext{}, out);
  return out;
}

void DecideProcessor::ResolveTraceId(const DecideMessage& message, Worker& w) const {
  // OBS §6.2 NATS order (the extraction the tracing layer owns): header traceparent (+
  // tracestate) -> payload trace_id when 32 hex or a UUID -> new root.
  const DecideHeaders& h = message.headers;
  w.trace_ = obs::ExtractNatsDecideTrace(h.traceparent.value_or(std::string_view()),
                                         h.tracestate.value_or(std::string_view()),
                                         w.request_.trace_id.value_or(std::string_view()));
  if (w.trace_.invalid_sources > 0) {
    stats_.invalid_traceparent.fetch_add(static_cast<uint64_t>(w.trace_.invalid_sources),
                                         std::memory_order_relaxed);
  }
  // Accepted, echoed verbatim, a fresh id propagates (§4.1).
  if (w.trace_.trace_id_nonconforming) Inc(stats_.trace_id_nonconforming);
  if (!(h.trace_id || w.request_.trace_id) || !(h.span_id || w.request_.payload_has_span_id) ||
      !(h.tenant_id || !w.request_.tenant_id.empty())) {
    Inc(stats_.ctx_missing_headers);
  }
}

absl::Status DecideProcessor::AdaptServiceError(const absl::Status& status,
                                                const FlatContext& context) const {
  const std::string error_tag = ErrorTag(status);
  if (error_tag == tag::kTenantNotAllowed) {
    // Rule 17 runs inside the shared service (§5 step 4); NATS reports it as the intake
    // variant TENANT_FORBIDDEN (§3.3, §4.3) and DLQs it.
    return IntakeError(IntakeCode::kTenantForbidden, "tenant_not_allowed", "tenant_id");
  }
  const std::string_view message = StdView(status.message());
  if (error_tag == tag::kInvalidRequest &&
      message.substr(0, kContextPrefix.size()) == kContextPrefix) {
    // §5 step 3: malformed context `attempt` / `deadline` (and other reserved keys):
    // invalid_request with details.reason invalid_context and the JSON path of the entry.
    const std::string_view rest = message.substr(kContextPrefix.size());
    const std::string_view key = rest.substr(0, rest.find(':'));
    absl::Status adapted =
        MakeError(absl::StatusCode::kInvalidArgument, message, tag::kInvalidRequest);
    AddErrorDetail(adapted, "reason", "invalid_context");
    auto source = context.SourceOf(key);
    std::string field = source == FlatContext::Source::kConstraints ? "constraints." : "metadata.";
    field.append(key);
    AddErrorDetail(adapted, "field", field);
    return adapted;
  }
  return status;
}

DecideOutcome DecideProcessor::Process(const DecideMessage& message, Worker& w) const {
  Inc(stats_.decide_received);
  DecideOutcome outcome;
  w.reply_.clear();
  w.intake_status_ =
      w.parser_.Parse(message.subject, message.body, message.headers, &w.request_, &w.context_);
  const DecideRequest& req = w.request_;
  ReplyContext error_context;
  if (req.request_id_valid) error_context.request_id = req.request_id;
  error_context.trace_id = req.trace_id;

  auto fail = [&](const absl::Status& status) {
    WriteErrorResponse(MapDecideError(status), error_context, w.reply_);
    Inc(stats_.decide_errors);
    outcome.ok = false;
    outcome.reply = w.reply_;
    return outcome;
  };
  auto intake_fail = [&](absl::Status status) {
    Inc(stats_.intake_validation_errors);
    Inc(stats_.intake_errors_by_code[static_cast<size_t>(IntakeCodeOf(status))]);
    decisions_.CountUndecodable(service::Transport::kNats, status);  // one terminal outcome
    outcome.dlq = options_.dlq_enabled && ShouldDlq(status);
    w.intake_status_ = std::move(status);
    return fail(w.intake_status_);
  };

  if (!w.intake_status_.ok()) return intake_fail(std::move(w.intake_status_));

  ResolveTraceId(message, w);
  service::DecideCall call;
  call.transport = service::Transport::kNats;
  call.trace = &w.trace_;
  call.tenant_id = req.tenant_id;
  call.policy_id = req.policy_id;
  call.message_type = req.task_type;
  call.context = &w.context_;
  if (message.headers.correlation_id) call.correlation_id = *message.headers.correlation_id;
  service::DecideOutput decision = decisions_.Decide(call);
  if (!decision.status.ok()) {
    absl::Status adapted = AdaptServiceError(decision.status, w.context_);
    if (ErrorTag(adapted) == tag::kTenantNotAllowed) return intake_fail(std::move(adapted));
    if (ErrorTag(adapted) == tag::kInternal) Inc(stats_.internal_errors);
    return fail(adapted);
  }

  // §5 step 11: the assignment of a pushing decide.
  std::optional<AssignmentStatus> assignment;
  if (req.push_assignment) {
    const auto& allowed = options_.assignment_allowed_tenants;
    if (!options_.assignments_enabled || !options_.jetstream_enabled) {
      assignment = AssignmentStatus{"disabled", {}, {}};
    } else if (!allowed.empty() &&
               std::find(allowed.begin(), allowed.end(), req.tenant_id) == allowed.end()) {
      assignment = AssignmentStatus{"tenant_blocked", {}, {}};
    } else {
      // TODO(#4): hand the ExecAssignment to the outbox (§5.1, §6.2) instead.
      absl::Status unavailable =
          MakeError(absl::StatusCode::kUnavailable, kNoPublishingMessage, kUnavailableTag);
      AddErrorDetail(unavailable, "reason", "assignment_publishing_unavailable");
      AddErrorDetail(unavailable, "retry_after_ms",
                     std::to_string(std::max<int64_t>(options_.publish_timeout_ms, 1)));
      return fail(unavailable);
    }
  }

  ReplyContext context;
  context.request_id = req.request_id;
  context.trace_id = req.trace_id ? *req.trace_id : std::string_view(decision.trace_id);
  WriteDecideResponse(decision, assignment, context, w.reply_);
  Inc(stats_.decide_ok);
  outcome.ok = true;
  outcome.reply = w.reply_;
  return outcome;
}

std::string_view DecideProcessor::BuildDlqEnvelope(const DecideMessage& message, Worker& w) const {
  const DecideRequest& req = w.request_;
  DecideDlqEnvelope e;
  e.original_subject = message.subject;
  e.original_payload = message.body;
  e.code = IntakeCodeName(IntakeCodeOf(w.intake_status_));
  e.message = StdView(w.intake_status_.message());
  if (req.request_id_valid) e.request_id = req.request_id;
  if (!req.tenant_id.empty()) e.tenant_id = req.tenant_id;
  e.trace_id = req.trace_id;
  e.received_at_ms = message.received_at_ms;
  e.node_id = options_.node_id;
  w.envelope_.clear();
  WriteDecideDlqEnvelope(e, w.envelope_);
  return w.envelope_;
}

}  // namespace router::nats_adapter
