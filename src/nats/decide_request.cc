#include "nats/decide_request.h"

#include <algorithm>
#include <cstring>

#include "base/errors.h"
#include "nats/json_writer.h"
#include "nats/subjects.h"
#include "service/ids.h"

namespace router::nats_adapter {
namespace {

// simdjson counts the document itself as one level: 33 admits exactly 32 nested
// objects/arrays (§0: nesting deeper than 32 is malformed).
constexpr size_t kSimdjsonMaxDepth = 33;
constexpr size_t kInitialCapacity = 64 * 1024;
constexpr size_t kMaxIdBytes = 256;          // request_id, idempotency_key (§3)
constexpr size_t kMaxTaskTypeBytes = 128;    // task.type (§3.1)
constexpr int64_t kMaxDeadlineMs = 3600000;  // options.deadline_ms (§3.1)
constexpr size_t kPairwiseDuplicateCheck = 16;

using simdjson::dom::element;
using simdjson::dom::element_type;

bool IsJsonSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

std::string_view Trim(std::string_view s) {
  while (!s.empty() && IsJsonSpace(s.front())) s.remove_prefix(1);
  while (!s.empty() && IsJsonSpace(s.back())) s.remove_suffix(1);
  return s;
}

bool IsHex(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

std::string_view StringOf(element e) { return std::string_view(e.get_string().value_unsafe()); }

bool IsString(element e) { return e.type() == element_type::STRING; }
bool IsObject(element e) { return e.type() == element_type::OBJECT; }

// Integer value of an int64/uint64 element.
std::optional<int64_t> IntegerOf(element e) {
  if (e.type() == element_type::INT64) return e.get_int64().value_unsafe();
  if (e.type() == element_type::UINT64) {
    uint64_t v = e.get_uint64().value_unsafe();
    if (v <= static_cast<uint64_t>(INT64_MAX)) return static_cast<int64_t>(v);
  }
  return std::nullopt;
}

// The top-level members the decide interprets.
struct TopLevel {
  std::optional<element> version, request_id, tenant_id, trace_id, span_id, policy_id, task,
      constraints, metadata, options, push_assignment, assignment_subject, idempotency_key, run_id,
      flow_id, step_id;
};

void Collect(simdjson::dom::object root, TopLevel* t) {
  for (auto field : root) {
    const std::string_view k = field.key;
    std::optional<element>* slot = nullptr;
    switch (k.size()) {
      case 4:
        if (k == "task") slot = &t->task;
        break;
      case 6:
        if (k == "run_id") slot = &t->run_id;
        break;
      case 7:
        if (k == "version")
          slot = &t->version;
        else if (k == "flow_id")
          slot = &t->flow_id;
        else if (k == "step_id")
          slot = &t->step_id;
        else if (k == "span_id")
          slot = &t->span_id;
        else if (k == "options")
          slot = &t->options;
        break;
      case 8:
        if (k == "trace_id")
          slot = &t->trace_id;
        else if (k == "metadata")
          slot = &t->metadata;
        break;
      case 9:
        if (k == "tenant_id")
          slot = &t->tenant_id;
        else if (k == "policy_id")
          slot = &t->policy_id;
        break;
      case 10:
        if (k == "request_id") slot = &t->request_id;
        break;
      case 11:
        if (k == "constraints") slot = &t->constraints;
        break;
      case 15:
        if (k == "push_assignment")
          slot = &t->push_assignment;
        else if (k == "idempotency_key")
          slot = &t->idempotency_key;
        break;
      case 18:
        if (k == "assignment_subject") slot = &t->assignment_subject;
        break;
      default:
        break;
    }
    if (slot != nullptr) *slot = field.value;
  }
}

absl::Status Correlation(std::string_view reason, std::string_view field) {
  return IntakeError(IntakeCode::kCorrelationFieldsInvalid, reason, field);
}

absl::Status Schema(std::string_view reason, std::string_view field = {}) {
  return IntakeError(IntakeCode::kSchemaValidationFailed, reason, field);
}

// §3.1 push_assignment: true, "true", 1 -> true; anything else -> false.
bool Truthy(element e) {
  switch (e.type()) {
    case element_type::BOOL:
      return e.get_bool().value_unsafe();
    case element_type::STRING:
      return StringOf(e) == "true";
    default:
      return IntegerOf(e) == std::optional<int64_t>(1);
  }
}

// Rule 9 on one candidate (payload value or header value).
absl::Status CheckIdempotencyKey(std::string_view key) {
  if (key.empty()) return Correlation("empty_idempotency_key", "idempotency_key");
  if (key.size() > kMaxIdBytes) return Correlation("idempotency_key_too_long", "idempotency_key");
  if (!IsBoundedPrintable(key, kMaxIdBytes)) {
    return Correlation("invalid_idempotency_key_format", "idempotency_key");
  }
  return absl::OkStatus();
}

}  // namespace

std::string_view IntakeCodeName(IntakeCode code) {
  switch (code) {
    case IntakeCode::kPayloadTooSmall:
      return "PAYLOAD_TOO_SMALL";
    case IntakeCode::kSchemaValidationFailed:
      return "SCHEMA_VALIDATION_FAILED";
    case IntakeCode::kVersionUnsupported:
      return "VERSION_UNSUPPORTED";
    case IntakeCode::kCorrelationFieldsInvalid:
      return "CORRELATION_FIELDS_INVALID";
    case IntakeCode::kTenantForbidden:
      return "TENANT_FORBIDDEN";
    case IntakeCode::kIdempotencyViolation:
      return "IDEMPOTENCY_VIOLATION";
    case IntakeCode::kInternalValidationError:
      return "INTERNAL_VALIDATION_ERROR";
  }
  return "INTERNAL_VALIDATION_ERROR";
}

absl::Status IntakeError(IntakeCode code, std::string_view reason, std::string_view field,
                         std::string_view detail) {
  std::string message;
  absl::StatusCode status_code = absl::StatusCode::kInvalidArgument;
  std::string_view error_tag = tag::kInvalidRequest;
  switch (code) {
    case IntakeCode::kPayloadTooSmall:
      message =
          "Payload is too small or empty: " + std::string(detail) + " bytes, minimum: 2 bytes";
      break;
    case IntakeCode::kSchemaValidationFailed:
      message = "Schema validation failed: " + std::string(reason);
      break;
    case IntakeCode::kVersionUnsupported:
      message = "Unsupported schema version: " + std::string(detail) + ", supported versions: [1]";
      break;
    case IntakeCode::kCorrelationFieldsInvalid:
      message = "Correlation fields validation failed: " + std::string(reason);
      break;
    case IntakeCode::kTenantForbidden:
      message = "Tenant validation failed: " + std::string(reason);
      status_code = absl::StatusCode::kPermissionDenied;
      error_tag = tag::kTenantNotAllowed;
      break;
    case IntakeCode::kIdempotencyViolation:
      message = "Idempotency violation: " + std::string(reason);
      error_tag = tag::kIdempotencyKeyReused;
      break;
    case IntakeCode::kInternalValidationError:
      message = "Internal validation error: " + std::string(reason);
      status_code = absl::StatusCode::kInternal;
      error_tag = tag::kInternal;
      break;
  }
  absl::Status status = MakeError(status_code, message, error_tag);
  AddErrorDetail(status, "intake_error_code", IntakeCodeName(code));
  AddErrorDetail(status, "reason", reason);
  if (!field.empty()) AddErrorDetail(status, "field", field);
  return status;
}

bool IsUuidV4AnyCase(std::string_view s) {
  if (s.size() != 36) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      if (s[i] != '-') return false;
    } else if (!IsHex(s[i])) {
      return false;
    }
  }
  const char variant = s[19];
  return s[14] == '4' && (variant == '8' || variant == '9' || variant == 'a' || variant == 'b' ||
                          variant == 'A' || variant == 'B');
}

bool IsUlid(std::string_view s) {
  if (s.size() != 26) return false;
  for (char c : s) {
    const bool ok = (c >= '0' && c <= '9') || (c >= 'A' && c <= 'H') || c == 'J' || c == 'K' ||
                    c == 'M' || c == 'N' || (c >= 'P' && c <= 'T') || (c >= 'V' && c <= 'Z');
    if (!ok) return false;
  }
  return true;
}

bool IsBoundedPrintable(std::string_view s, size_t max_bytes) {
  if (s.empty() || s.size() > max_bytes) return false;
  return std::none_of(s.begin(), s.end(),
                      [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; });
}

DecideRequestParser::DecideRequestParser(IntakeOptions options)
    : options_(std::move(options)),
      parser_(static_cast<size_t>(std::max<int64_t>(options_.max_payload_bytes, 2))) {
  // Capacity grows on demand up to max_payload_bytes; the depth limit is kept on growth.
  // Out of memory leaves max_depth unset; Parse() retries before relying on it.
  if (parser_.allocate(kInitialCapacity, kSimdjsonMaxDepth) != simdjson::SUCCESS) return;
}

bool DecideRequestParser::HasDuplicateKeys(simdjson::dom::object object) {
  const size_t n = object.size();
  if (n < 2) return false;
  keys_.clear();
  for (auto field : object) keys_.push_back(field.key);
  if (n <= kPairwiseDuplicateCheck) {
    for (size_t i = 0; i < keys_.size(); ++i) {
      for (size_t j = i + 1; j < keys_.size(); ++j) {
        if (keys_[i] == keys_[j]) return true;
      }
    }
    return false;
  }
  std::sort(keys_.begin(), keys_.end());
  return std::adjacent_find(keys_.begin(), keys_.end()) != keys_.end();
}

absl::Status DecideRequestParser::Parse(std::string_view subject, std::string_view body,
                                        const DecideHeaders& headers, DecideRequest* request,
                                        FlatContext* context) {
  *request = DecideRequest{};
  context->Clear();

  // Rule 1: at least 2 bytes once whitespace is trimmed.
  const std::string_view trimmed = Trim(body);
  if (trimmed.size() < 2) {
    return IntakeError(IntakeCode::kPayloadTooSmall, "empty_payload", {},
                       std::to_string(trimmed.size()));
  }
  // Rule 2: size bound.
  if (static_cast<int64_t>(body.size()) > options_.max_payload_bytes) {
    return Schema("payload_too_large");
  }
  // Rule 3: UTF-8 JSON object, depth <= 32, no duplicate key in an interpreted object.
  if (parser_.max_depth() != kSimdjsonMaxDepth &&
      parser_.allocate(kInitialCapacity, kSimdjsonMaxDepth) != simdjson::SUCCESS) {
    return IntakeError(IntakeCode::kInternalValidationError, "internal_error");
  }
  padded_.resize(body.size() + simdjson::SIMDJSON_PADDING);
  std::memcpy(padded_.data(), body.data(), body.size());
  element root;
  if (parser_.parse(padded_.data(), body.size(), /*realloc_if_needed=*/false).get(root) !=
          simdjson::SUCCESS ||
      !IsObject(root)) {
    return Schema("invalid_format");
  }
  const simdjson::dom::object root_object = root.get_object().value_unsafe();
  if (HasDuplicateKeys(root_object)) return Schema("invalid_format");
  TopLevel t;
  Collect(root_object, &t);
  for (const auto* nested : {&t.task, &t.options, &t.constraints, &t.metadata}) {
    if (nested->has_value() && IsObject(**nested) &&
        HasDuplicateKeys((*nested)->get_object().value_unsafe())) {
      return Schema("invalid_format");
    }
  }

  // Partial fields for the reply context and the DLQ envelope, whatever fails next.
  if (t.request_id && IsString(*t.request_id) &&
      IsBoundedPrintable(StringOf(*t.request_id), kMaxIdBytes)) {
    request->request_id = StringOf(*t.request_id);
    request->request_id_valid = true;
  }
  if (t.trace_id && IsString(*t.trace_id)) request->trace_id = StringOf(*t.trace_id);
  if (t.tenant_id && IsString(*t.tenant_id)) {
    request->tenant_id = StringOf(*t.tenant_id);
    request->tenant_id_valid = service::IsValidId(request->tenant_id);
  }
  request->payload_has_span_id = t.span_id.has_value();

  // Rule 4: version (header > payload > subject token v<N>).
  if (headers.version) {
    if (*headers.version != "1") {
      return IntakeError(IntakeCode::kVersionUnsupported, "unsupported_version", "version",
                         *headers.version);
    }
  } else if (t.version) {
    const bool ok = IsString(*t.version) ? StringOf(*t.version) == "1"
                                         : IntegerOf(*t.version) == std::optional<int64_t>(1);
    if (!ok) {
      if (IsString(*t.version)) {
        return IntakeError(IntakeCode::kVersionUnsupported, "unsupported_version", "version",
                           StringOf(*t.version));
      }
      scratch_.clear();
      AppendJsonElement(scratch_, *t.version);
      return IntakeError(IntakeCode::kVersionUnsupported, "unsupported_version", "version",
                         scratch_);
    }
  } else if (auto token = SubjectVersionToken(subject)) {
    if (*token != "1") {
      return IntakeError(IntakeCode::kVersionUnsupported, "unsupported_version", "version", *token);
    }
  } else {
    return IntakeError(IntakeCode::kVersionUnsupported, "missing_version", "version", "unknown");
  }

  // Rule 5: tenant_id.
  if (!t.tenant_id) return Correlation("missing_tenant_id", "tenant_id");
  if (IsString(*t.tenant_id) && StringOf(*t.tenant_id).empty()) {
    return Correlation("empty_tenant_id", "tenant_id");
  }
  if (!request->tenant_id_valid) return Correlation("invalid_tenant_id_format", "tenant_id");

  // Rule 6: run/flow/step dependencies (presence of the key).
  if (t.run_id) {
    if (!t.flow_id) return Correlation("flow_id_required_when_run_id_present", "flow_id");
    if (!t.step_id) return Correlation("step_id_required_when_run_id_present", "step_id");
  } else {
    if (t.flow_id) return Correlation("run_id_required_when_flow_id_present", "run_id");
    if (t.step_id) return Correlation("run_id_required_when_step_id_present", "run_id");
  }
  // Rule 7: run/flow/step formats (UUID v4 in any case, or ULID).
  struct IdField {
    const std::optional<element>& value;
    std::string_view reason;
    std::string_view field;
    std::string_view* out;
  };
  for (const IdField& f :
       {IdField{t.run_id, "invalid_run_id_format", "run_id", &request->run_id},
        IdField{t.flow_id, "invalid_flow_id_format", "flow_id", &request->flow_id},
        IdField{t.step_id, "invalid_step_id_format", "step_id", &request->step_id}}) {
    if (!f.value) continue;
    if (!IsString(*f.value) ||
        !(IsUuidV4AnyCase(StringOf(*f.value)) || IsUlid(StringOf(*f.value)))) {
      return Correlation(f.reason, f.field);
    }
    *f.out = StringOf(*f.value);
  }

  // Rule 8: a present trace_id must be a string (any content).
  if (t.trace_id && !IsString(*t.trace_id)) {
    return Correlation("invalid_trace_id_format", "trace_id");
  }

  // Rule 9: idempotency_key (payload, else the Idempotency-Key header).
  if (t.idempotency_key) {
    if (!IsString(*t.idempotency_key)) {
      return Correlation("invalid_idempotency_key_format", "idempotency_key");
    }
    if (auto s = CheckIdempotencyKey(StringOf(*t.idempotency_key)); !s.ok()) return s;
    request->idempotency_key = StringOf(*t.idempotency_key);
  } else if (headers.idempotency_key) {
    if (auto s = CheckIdempotencyKey(*headers.idempotency_key); !s.ok()) return s;
    request->idempotency_key = *headers.idempotency_key;
  }

  // Rule 10: request_id.
  if (!t.request_id) return Correlation("missing_request_id", "request_id");
  if (IsString(*t.request_id) && StringOf(*t.request_id).empty()) {
    return Correlation("empty_request_id", "request_id");
  }
  if (!request->request_id_valid) return Correlation("invalid_request_id_format", "request_id");

  // Rule 11: task.
  if (!t.task) return Correlation("missing_task", "task");
  if (!IsObject(*t.task)) return Correlation("invalid_task_format", "task");
  const simdjson::dom::object task = t.task->get_object().value_unsafe();
  request->task = *t.task;

  // Rule 12: task.type.
  element type;
  if (task["type"].get(type) != simdjson::SUCCESS) {
    return Correlation("missing_task_type", "task.type");
  }
  if (IsString(type) && StringOf(type).empty()) return Correlation("empty_task_type", "task.type");
  if (!IsString(type) || StringOf(type).size() > kMaxTaskTypeBytes) {
    return Correlation("invalid_task_type", "task.type");
  }
  request->task_type = StringOf(type);

  // Rule 13: task.payload / task.payload_ref.
  element payload, payload_ref;
  const bool has_payload = task["payload"].get(payload) == simdjson::SUCCESS;
  const bool has_ref = task["payload_ref"].get(payload_ref) == simdjson::SUCCESS;
  if (!has_payload && !has_ref) return Correlation("missing_task_payload", "task.payload");
  if (has_ref && !IsString(payload_ref)) {
    return Correlation("invalid_payload_format", "task.payload_ref");
  }
  if (has_payload) {
    if (!IsObject(payload)) return Correlation("invalid_payload_format", "task.payload");
    scratch_.clear();
    AppendJsonElement(scratch_, payload);
    if (static_cast<int64_t>(scratch_.size()) < options_.min_task_payload_bytes) {
      return Correlation("payload_too_small", "task.payload");
    }
  }

  // Rule 14: policy_id.
  if (t.policy_id) {
    if (!IsString(*t.policy_id)) return Schema("invalid_policy_id", "policy_id");
    const std::string_view policy_id = StringOf(*t.policy_id);
    if (!policy_id.empty() && !service::IsValidId(policy_id)) {
      return Schema("invalid_policy_id", "policy_id");
    }
    request->policy_id = policy_id;
  }

  // Rule 15: constraints / metadata / options shapes, context bounds, options.deadline_ms.
  if (t.constraints) {
    if (!IsObject(*t.constraints)) return Schema("invalid_constraints_format", "constraints");
    request->constraints = t.constraints->get_object().value_unsafe();
  }
  if (t.metadata) {
    if (!IsObject(*t.metadata)) return Schema("invalid_metadata_format", "metadata");
    request->metadata = t.metadata->get_object().value_unsafe();
  }
  if (t.options) {
    if (!IsObject(*t.options)) return Schema("invalid_options_format", "options");
    request->options = t.options->get_object().value_unsafe();
  }
  if (request->constraints &&
      !context->Add(*request->constraints, FlatContext::Source::kConstraints,
                    options_.context_limits)) {
    return Schema("context_too_large", "constraints");
  }
  if (request->metadata &&
      !context->Add(*request->metadata, FlatContext::Source::kMetadata, options_.context_limits)) {
    return Schema("context_too_large", "metadata");
  }
  if (request->options) {
    element deadline;
    if ((*request->options)["deadline_ms"].get(deadline) == simdjson::SUCCESS) {
      std::optional<int64_t> ms = IntegerOf(deadline);
      if (!ms || *ms < 1 || *ms > kMaxDeadlineMs) {
        return Schema("invalid_deadline_ms", "options.deadline_ms");
      }
      request->deadline_ms = ms;
    }
  }

  // Rule 16: assignment_subject, checked only when pushing.
  request->push_assignment = t.push_assignment && Truthy(*t.push_assignment);
  request->assignment_subject = options_.assignment_subject;
  if (request->push_assignment && t.assignment_subject) {
    if (!IsString(*t.assignment_subject) ||
        !IsAllowedAssignmentSubject(StringOf(*t.assignment_subject))) {
      return Schema("invalid_assignment_subject", "assignment_subject");
    }
    const std::string_view subject_value = StringOf(*t.assignment_subject);
    if (!SubjectCovered(options_.assignment_stream_subjects, subject_value)) {
      return Schema("assignment_subject_not_allowed", "assignment_subject");
    }
    request->assignment_subject = subject_value;
  }
  return absl::OkStatus();
}

}  // namespace router::nats_adapter
