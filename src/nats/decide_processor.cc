#include "nats/decide_processor.h"

#include <algorithm>

#include "base/errors.h"
#include "nats/decide_codec.h"
#include "nats/json_writer.h"
#include "service/ids.h"

namespace router::nats_adapter {
namespace {

// DecisionService reports a malformed reserved context key as "context.<key>: <problem>".
constexpr std::string_view kContextPrefix = "context.";
constexpr std::string_view kNoPublishingMessage =
    "Assignment publishing is not available in this build";
constexpr std::string_view kDecisionPrefix = R"({"ok":true,"decision":)";

// The `decision` object of a DecideResponse written by WriteDecideResponse (stored for
// idempotent replays, §7.1): everything between the prefix and the top-level member that
// follows it (`assignment` or `context`; metadata values are strings, never objects).
std::string_view DecisionObject(std::string_view reply, bool has_assignment) {
  if (reply.substr(0, kDecisionPrefix.size()) != kDecisionPrefix) return {};
  const size_t ctx = reply.rfind(R"(,"context":{)");
  size_t end = ctx;
  if (has_assignment && ctx != std::string_view::npos) {
    end = reply.rfind(R"(,"assignment":{)", ctx);
  }
  if (end == std::string_view::npos || end < kDecisionPrefix.size()) return {};
  return reply.substr(kDecisionPrefix.size(), end - kDecisionPrefix.size());
}

std::string Minify(const std::optional<simdjson::dom::object>& o) {
  return o ? simdjson::minify(*o) : std::string();
}

// `,"assignment":{...},"context":{...}}` closing a replayed DecideResponse (§3.2, §7.1).
void AppendReplayTail(std::string& out, const std::optional<AssignmentStatus>& a,
                      const ReplyContext& c) {
  if (a) {
    out.append(R"(,"assignment":{"status":)");
    AppendJsonString(out, a->status);
    if (!a->assignment_id.empty()) {
      out.append(R"(,"assignment_id":)");
      AppendJsonString(out, a->assignment_id);
    }
    if (!a->subject.empty()) {
      out.append(R"(,"subject":)");
      AppendJsonString(out, a->subject);
    }
    out.push_back('}');
  }
  out.append(R"(,"context":{)");
  bool first = true;
  auto field = [&](std::string_view key) {
    if (!first) out.push_back(',');
    first = false;
    AppendJsonString(out, key);
    out.push_back(':');
  };
  if (c.request_id) {
    field("request_id");
    AppendJsonString(out, *c.request_id);
  }
  if (c.trace_id) {
    field("trace_id");
    AppendJsonString(out, *c.trace_id);
  }
  if (c.replayed) {
    field("replayed");
    out.append("true");
  }
  out.append("}}");
}

absl::Status NotPersisted(int64_t publish_timeout_ms, int64_t retry_after_ms,
                          std::string_view assignment_id) {
  absl::Status s = MakeError(
      absl::StatusCode::kUnavailable,
      "Assignment not persisted: no PubAck within " + std::to_string(publish_timeout_ms) + " ms",
      kUnavailableTag);
  AddErrorDetail(s, "reason", "assignment_not_persisted");
  AddErrorDetail(s, "assignment_id", assignment_id);
  AddErrorDetail(s, "retry_after_ms", std::to_string(std::max<int64_t>(retry_after_ms, 1)));
  return s;
}

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
  o.reply_immediate = nats.assignments.reply_mode == config::ReplyMode::kImmediate;
  o.deadline.multiplier = nats.assignments.deadline_multiplier;
  o.deadline.min_ms = nats.assignments.deadline_min_ms;
  o.deadline.max_ms = nats.assignments.deadline_max_ms;
  o.outbox_full_retry_after_ms = config.backpressure.retry_after_ms;
  o.max_payload_bytes = nats.max_payload_bytes;
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
  if (payload_bytes_ != nullptr) {
    payload_bytes_->Get({"decide"}).Observe(static_cast<double>(message.body.size()));
  }
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

  // §5 step 6: a push that would be published reserves its outbox slot first.
  const auto& allowed = options_.assignment_allowed_tenants;
  const bool push_enabled = options_.assignments_enabled && options_.jetstream_enabled;
  const bool tenant_may_push =
      allowed.empty() || std::find(allowed.begin(), allowed.end(), req.tenant_id) != allowed.end();
  AssignmentOutbox::Slot slot;
  if (req.push_assignment && push_enabled && outbox_ != nullptr) {
    slot = outbox_->TryReserve();
    if (!slot.valid()) {
      const int64_t retry = std::max<int64_t>(options_.outbox_full_retry_after_ms, 1);
      absl::Status full = MakeError(
          absl::StatusCode::kResourceExhausted,
          "router overloaded; retry after " + std::to_string(retry) + " ms", tag::kOverloaded);
      AddErrorDetail(full, "reason", "outbox_full");
      AddErrorDetail(full, "retry_after_ms", std::to_string(retry));
      return fail(full);
    }
  }

  // §5 step 9 / §7.1: idempotency (before the decision; the policy id is resolved as the
  // service does).
  service::IdempotencyAcquire acquired;
  if (idempotency_ != nullptr && req.idempotency_key) {
    std::string_view policy_id = req.policy_id;
    if (policy_id.empty()) {
      if (auto p = w.context_.Find("policy_id"); p && !p->empty()) policy_id = *p;
    }
    if (policy_id.empty()) policy_id = "default";
    const std::string fingerprint = service::NatsDecideFingerprint(
        req.tenant_id, policy_id, simdjson::minify(req.task), Minify(req.constraints),
        Minify(req.metadata), req.push_assignment,
        req.push_assignment ? req.assignment_subject : std::string_view(), Minify(req.options));
    service::IdempotencyKey key{service::Transport::kNats, std::string(req.tenant_id),
                                std::string(*req.idempotency_key)};
    acquired = idempotency_->Acquire(key, fingerprint);
    switch (acquired.kind) {
      case service::IdempotencyAcquire::Kind::kFresh:
        break;
      case service::IdempotencyAcquire::Kind::kReplay:
        return Replay(message, w, *acquired.record, std::move(slot));
      case service::IdempotencyAcquire::Kind::kMismatch:
        return intake_fail(IntakeError(IntakeCode::kIdempotencyViolation, "idempotency_key_reused",
                                       "idempotency_key"));
      case service::IdempotencyAcquire::Kind::kInProgress: {
        absl::Status busy =
            MakeError(absl::StatusCode::kUnavailable,
                      "a request with this idempotency_key is still in progress", kUnavailableTag);
        AddErrorDetail(busy, "reason", "idempotency_in_progress");
        AddErrorDetail(busy, "retry_after_ms", std::to_string(options_.publish_timeout_ms));
        return fail(busy);
      }
    }
  }
  service::IdempotencySlot* idem_slot = acquired.slot.active() ? &acquired.slot : nullptr;

  // §5.1 after_publish: a pushing decide's outcome is the reply sent after the PubAck wait
  // (`ok` or `assignment_not_persisted`, OBS §2.4), counted then.
  call.defer_ok_outcome = req.push_assignment && push_enabled && tenant_may_push &&
                          outbox_ != nullptr && !options_.reply_immediate &&
                          static_cast<bool>(message.send_later);
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
    if (!push_enabled) {
      assignment = AssignmentStatus{"disabled", {}, {}};
      Inc(stats_.assignment_skipped);  // router_assignment_skipped_total
    } else if (!tenant_may_push) {
      assignment = AssignmentStatus{"tenant_blocked", {}, {}};
      Inc(stats_.assignment_blocked);  // router_assignment_blocked_total
    } else if (outbox_ != nullptr) {
      return PushAssignment(message, w, decision, std::move(slot), idem_slot);
    } else {
      // A processor without an outbox (standalone use, e.g. unit tests; the transport always
      // sets one) cannot store the assignment: say so instead of pretending.
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
  if (idem_slot != nullptr) {
    service::IdempotencyRecord record;
    record.response = std::string(DecisionObject(w.reply_, assignment.has_value()));
    record.decision_id = decision.decision_id;
    if (assignment) record.assignment_status = std::string(assignment->status);
    idem_slot->Complete(std::move(record));
  }
  Inc(stats_.decide_ok);
  outcome.ok = true;
  outcome.reply = w.reply_;
  return outcome;
}

Waiter DecideProcessor::MakeWaiter(
    const DecideMessage& message, const Worker& w, std::string ok_reply, std::string assignment_id,
    std::shared_ptr<service::DeferredDecideOutcome> decide_outcome) const {
  std::string request_id(w.request_.request_id);
  std::optional<std::string> trace_id;
  if (w.request_.trace_id) trace_id = std::string(*w.request_.trace_id);
  stats_.decide_inflight.fetch_add(1, std::memory_order_relaxed);  // still in flight (§5.1)
  return [send = message.send_later, ok_reply = std::move(ok_reply), request_id,
          trace_id = std::move(trace_id), assignment_id = std::move(assignment_id),
          timeout_ms = options_.publish_timeout_ms, &stats = stats_,
          decide_outcome = std::move(decide_outcome)](const WaitResult& r) {
    // The terminal decide outcome (OBS §2.4: `unavailable` -> assignment_not_persisted).
    if (decide_outcome) decide_outcome->Finish(r.published ? "ok" : "assignment_not_persisted");
    if (r.published) {
      if (send) send(ok_reply);
    } else {
      ReplyContext context;
      context.request_id = request_id;
      if (trace_id) context.trace_id = *trace_id;
      std::string reply;
      WriteErrorResponse(MapDecideError(NotPersisted(timeout_ms, r.retry_after_ms, assignment_id)),
                         context, reply);
      Inc(stats.decide_errors);
      if (send) send(reply);
    }
    stats.decide_inflight.fetch_sub(1, std::memory_order_relaxed);
  };
}

DecideOutcome DecideProcessor::PushAssignment(const DecideMessage& message, Worker& w,
                                              const service::DecideOutput& decision,
                                              AssignmentOutbox::Slot slot,
                                              service::IdempotencySlot* idem_slot) const {
  const DecideRequest& req = w.request_;
  DecideOutcome outcome;
  const std::string assignment_id = service::NewUuidV4();
  const std::string_view correlation_trace =
      req.trace_id ? *req.trace_id : std::string_view(decision.trace_id);

  ExecAssignmentInput in;
  in.assignment_id = assignment_id;
  in.request_id = req.request_id;
  in.tenant_id = req.tenant_id;
  in.issued_at_ms = message.received_at_ms > 0 ? message.received_at_ms : 0;
  in.task = req.task;
  in.options = req.options;
  in.metadata = req.metadata;
  in.correlation_trace_id = correlation_trace;
  in.run_id = req.run_id;
  in.flow_id = req.flow_id;
  in.step_id = req.step_id;
  in.decision = &decision;
  int64_t max_payload = max_payload_ ? max_payload_() : 0;
  if (max_payload <= 0) max_payload = options_.max_payload_bytes;
  absl::Status built = BuildExecAssignment(in, options_.deadline, max_payload, w.assignment_);
  ReplyContext error_context;
  error_context.request_id = req.request_id;
  error_context.trace_id = req.trace_id;
  if (!built.ok()) {
    if (ErrorTag(built) == tag::kInternal) Inc(stats_.internal_errors);
    if (decision.deferred_outcome) decision.deferred_outcome->Finish(ErrorTag(built));
    WriteErrorResponse(MapDecideError(built), error_context, w.reply_);
    Inc(stats_.decide_errors);
    outcome.reply = w.reply_;
    return outcome;  // slot and idempotency slot released
  }

  AssignmentTrace trace;
  trace.trace32 = decision.trace_id;
  trace.request_trace_id = req.trace_id;
  trace.flags = w.trace_.context.has_flags ? w.trace_.context.flags : 0;
  trace.tracestate = w.trace_.context.tracestate;
  OutboxMessage m;
  m.assignment_id = assignment_id;
  m.tenant_id = std::string(req.tenant_id);
  m.subject = std::string(req.assignment_subject);
  m.body = w.assignment_;
  m.headers = ExecAssignmentHeaders(assignment_id, req.tenant_id, req.request_id, trace);

  // §7.2: the correlation record, `pending`.
  if (correlation_ != nullptr) {
    service::NewAssignment record;
    record.assignment_id = assignment_id;
    record.request_id = req.request_id;
    record.trace_id = decision.trace_id;
    record.tenant_id = req.tenant_id;
    record.policy_id = ResolvedPolicyId(decision);
    record.provider_id = decision.provider_id;
    record.decision_id = decision.decision_id;
    record.subject = m.subject;
    correlation_->Create(record);
  }

  const std::string_view status = options_.reply_immediate ? "pending" : "published";
  ReplyContext context;
  context.request_id = req.request_id;
  context.trace_id = correlation_trace;
  WriteDecideResponse(decision, AssignmentStatus{status, assignment_id, m.subject}, context,
                      w.reply_);

  // §5 step 12: store for idempotency (before the PubAck), hand over to the outbox.
  if (idem_slot != nullptr) {
    service::IdempotencyRecord record;
    record.response = std::string(DecisionObject(w.reply_, true));
    record.decision_id = decision.decision_id;
    record.assignment_id = assignment_id;
    record.assignment_payload = w.assignment_;
    record.assignment_subject = m.subject;
    record.assignment_status = "pending";
    idem_slot->Complete(std::move(record));
  }
  Inc(stats_.decide_ok);
  outcome.ok = true;
  if (options_.reply_immediate || !message.send_later) {
    if (decision.deferred_outcome) decision.deferred_outcome->Finish("ok");
    outbox_->Enqueue(std::move(slot), std::move(m));
    outcome.reply = w.reply_;
    return outcome;
  }
  outbox_->Enqueue(std::move(slot), std::move(m),
                   MakeWaiter(message, w, w.reply_, assignment_id, decision.deferred_outcome));
  outcome.deferred = true;
  return outcome;
}

DecideOutcome DecideProcessor::Replay(const DecideMessage& message, Worker& w,
                                      const service::IdempotencyRecord& record,
                                      AssignmentOutbox::Slot slot) const {
  const DecideRequest& req = w.request_;
  DecideOutcome outcome;
  outcome.ok = true;
  const std::string trace_hex = w.trace_.context.trace_id.ToHex();
  ReplyContext context;
  context.request_id = req.request_id;
  context.trace_id = req.trace_id ? *req.trace_id : std::string_view(trace_hex);
  context.replayed = true;

  // The assignment follows its record (§7.1).
  std::string status = record.assignment_status;
  bool wait = false;
  std::optional<OutboxMessage> requeue;
  if (!record.assignment_id.empty()) {
    std::optional<service::AssignmentRecord> corr;
    if (correlation_ != nullptr) corr = correlation_->Get(req.tenant_id, record.assignment_id);
    const service::AssignmentState state = corr ? corr->state : service::AssignmentState::kPending;
    const bool can_wait = !options_.reply_immediate && message.send_later && outbox_ != nullptr;
    if (state == service::AssignmentState::kPublishFailed && outbox_ != nullptr && slot.valid()) {
      // Re-enqueued in the reserved slot: same Nats-Msg-Id, record back to pending.
      correlation_->MarkPending(record.assignment_id);
      AssignmentTrace trace;
      trace.trace32 = corr->trace_id;
      OutboxMessage m;
      m.assignment_id = record.assignment_id;
      m.tenant_id = std::string(req.tenant_id);
      m.subject = record.assignment_subject;
      m.body = record.assignment_payload;
      m.headers =
          ExecAssignmentHeaders(record.assignment_id, req.tenant_id, corr->request_id, trace);
      requeue = std::move(m);
      status = can_wait ? "published" : "pending";
    } else if (state == service::AssignmentState::kPending) {
      status = can_wait ? "published" : "pending";
      wait = can_wait;
    } else if (state == service::AssignmentState::kPublishFailed) {
      status = "publish_failed";
    } else {
      status = "published";
    }
  }
  w.reply_.clear();
  w.reply_.append(kDecisionPrefix).append(record.response);
  std::optional<AssignmentStatus> assignment;
  if (!status.empty()) {
    assignment = AssignmentStatus{status, record.assignment_id, record.assignment_subject};
  }
  AppendReplayTail(w.reply_, assignment, context);
  Inc(stats_.decide_ok);
  if (requeue) {
    if (status == "published") {
      outbox_->Enqueue(std::move(slot), std::move(*requeue),
                       MakeWaiter(message, w, w.reply_, record.assignment_id));
      outcome.deferred = true;
      return outcome;
    }
    outbox_->Enqueue(std::move(slot), std::move(*requeue));
  } else if (wait) {
    Waiter waiter = MakeWaiter(message, w, w.reply_, record.assignment_id);
    if (outbox_->Wait(record.assignment_id, std::move(waiter))) {
      outcome.deferred = true;
      return outcome;
    }
    // No live entry (the record moved on meanwhile): answer as it is; undo the wait's count.
    stats_.decide_inflight.fetch_sub(1, std::memory_order_relaxed);
  }
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
