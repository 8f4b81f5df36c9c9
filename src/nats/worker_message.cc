#include "nats/worker_message.h"

#include <strings.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>

#include "nats/json_writer.h"

namespace router::nats_adapter {
namespace {

constexpr size_t kSimdjsonMaxDepth = 33;  // 32 nested levels (§0), as decide_request.cc
constexpr size_t kInitialCapacity = 64 * 1024;
constexpr size_t kPairwiseDuplicateCheck = 16;

bool HeaderIs(const char* key, const char* name) { return strcasecmp(key, name) == 0; }

}  // namespace

namespace worker_json {

std::optional<int64_t> IntegerOf(simdjson::dom::element e) {
  if (e.type() == simdjson::dom::element_type::INT64) return e.get_int64().value_unsafe();
  if (e.type() == simdjson::dom::element_type::UINT64) {
    const uint64_t v = e.get_uint64().value_unsafe();
    if (v <= static_cast<uint64_t>(INT64_MAX)) return static_cast<int64_t>(v);
  }
  return std::nullopt;
}

std::optional<double> NumberOf(simdjson::dom::element e) {
  switch (e.type()) {
    case simdjson::dom::element_type::INT64:
      return static_cast<double>(e.get_int64().value_unsafe());
    case simdjson::dom::element_type::UINT64:
      return static_cast<double>(e.get_uint64().value_unsafe());
    case simdjson::dom::element_type::DOUBLE:
      return e.get_double().value_unsafe();
    default:
      return std::nullopt;
  }
}

std::optional<simdjson::dom::element> Member(simdjson::dom::object object, std::string_view key) {
  simdjson::dom::element e;
  if (object[key].get(e) != simdjson::SUCCESS) return std::nullopt;
  return e;
}

}  // namespace worker_json

WorkerHeaders ReadWorkerHeaders(natsMsg* msg) {
  WorkerHeaders h;
  const char** keys = nullptr;
  int count = 0;
  if (msg == nullptr || natsMsgHeader_Keys(msg, &keys, &count) != NATS_OK || keys == nullptr) {
    return h;
  }
  for (int i = 0; i < count; ++i) {
    const char* key = keys[i];
    std::optional<std::string>* slot = nullptr;
    if (HeaderIs(key, "version")) {
      slot = &h.version;
    } else if (HeaderIs(key, "traceparent")) {
      slot = &h.traceparent;
    } else if (HeaderIs(key, "trace_id")) {
      slot = &h.trace_id;
    } else if (HeaderIs(key, "tenant_id")) {
      slot = &h.tenant_id;
    } else if (HeaderIs(key, "Nats-Msg-Id")) {
      slot = &h.msg_id;
    }
    const char* value = nullptr;
    if (slot != nullptr && !slot->has_value() && natsMsgHeader_Get(msg, key, &value) == NATS_OK &&
        value != nullptr) {
      *slot = std::string(value);
    }
  }
  std::free(static_cast<void*>(keys));
  return h;
}

std::vector<std::pair<std::string, std::string>> NonNatsHeaders(natsMsg* msg) {
  std::vector<std::pair<std::string, std::string>> out;
  const char** keys = nullptr;
  int count = 0;
  if (msg == nullptr || natsMsgHeader_Keys(msg, &keys, &count) != NATS_OK || keys == nullptr) {
    return out;
  }
  for (int i = 0; i < count; ++i) {
    if (strncasecmp(keys[i], "Nats-", 5) == 0) continue;
    const char** values = nullptr;
    int n = 0;
    if (natsMsgHeader_Values(msg, keys[i], &values, &n) != NATS_OK || values == nullptr) continue;
    for (int j = 0; j < n; ++j) out.emplace_back(keys[i], values[j]);
    std::free(static_cast<void*>(values));
  }
  std::free(static_cast<void*>(keys));
  return out;
}

WorkerJsonParser::WorkerJsonParser(int64_t max_payload_bytes,
                                   std::vector<std::string> tenant_allowlist)
    : max_payload_bytes_(max_payload_bytes),
      allowlist_(std::move(tenant_allowlist)),
      parser_(static_cast<size_t>(std::max<int64_t>(max_payload_bytes, 2))) {
  // Out of memory leaves max_depth unset; ParseRoot() retries before relying on it.
  if (parser_.allocate(kInitialCapacity, kSimdjsonMaxDepth) != simdjson::SUCCESS) return;
}

bool WorkerJsonParser::Fail(WorkerParse* parse, IntakeCode code, std::string_view reason,
                            std::string_view detail) {
  parse->code = code;
  parse->reason = std::string(reason);
  parse->status = IntakeError(code, reason, {}, detail);
  return false;
}

bool WorkerJsonParser::HasDuplicateKeys(simdjson::dom::object object) {
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

bool WorkerJsonParser::ParseRoot(std::string_view body, const WorkerHeaders& headers,
                                 std::initializer_list<std::string_view> nested,
                                 simdjson::dom::object* root, WorkerParse* parse) {
  using namespace worker_json;
  *parse = WorkerParse{};
  if (headers.trace_id) parse->context.trace_id = *headers.trace_id;
  if (static_cast<int64_t>(body.size()) > max_payload_bytes_) {
    parse->too_large = true;
    return Fail(parse, IntakeCode::kSchemaValidationFailed, "payload_too_large");
  }
  if (parser_.max_depth() != kSimdjsonMaxDepth &&
      parser_.allocate(kInitialCapacity, kSimdjsonMaxDepth) != simdjson::SUCCESS) {
    return Fail(parse, IntakeCode::kInternalValidationError, "internal_error");
  }
  padded_.resize(body.size() + simdjson::SIMDJSON_PADDING);
  if (!body.empty()) std::memcpy(padded_.data(), body.data(), body.size());
  simdjson::dom::element doc;
  if (parser_.parse(padded_.data(), body.size(), /*realloc_if_needed=*/false).get(doc) !=
          simdjson::SUCCESS ||
      !IsObject(doc)) {
    return Fail(parse, IntakeCode::kSchemaValidationFailed, "invalid_format");
  }
  *root = doc.get_object().value_unsafe();
  if (HasDuplicateKeys(*root)) {
    return Fail(parse, IntakeCode::kSchemaValidationFailed, "invalid_format");
  }
  for (std::string_view name : nested) {
    auto member = Member(*root, name);
    if (member && IsObject(*member) && HasDuplicateKeys(member->get_object().value_unsafe())) {
      return Fail(parse, IntakeCode::kSchemaValidationFailed, "invalid_format");
    }
  }
  parse->json_object = true;
  // Partial context (§3.8): string ids as sent, whatever fails next.
  auto take = [&](std::string_view key, std::optional<std::string>* out) {
    auto v = Member(*root, key);
    if (v && IsString(*v) && IsBoundedPrintable(StringOf(*v), 256)) {
      *out = std::string(StringOf(*v));
    }
  };
  take("request_id", &parse->context.request_id);
  take("tenant_id", &parse->context.tenant_id);
  take("assignment_id", &parse->context.assignment_id);
  if (!parse->context.trace_id) take("trace_id", &parse->context.trace_id);

  // Version: header > payload; one is required (§2).
  if (headers.version) {
    if (*headers.version != "1") {
      return Fail(parse, IntakeCode::kVersionUnsupported, "unsupported_version", *headers.version);
    }
    return true;
  }
  auto version = Member(*root, "version");
  if (!version) return Fail(parse, IntakeCode::kVersionUnsupported, "missing_version", "unknown");
  if (IsString(*version)) {
    if (StringOf(*version) != "1") {
      return Fail(parse, IntakeCode::kVersionUnsupported, "unsupported_version",
                  StringOf(*version));
    }
    return true;
  }
  if (IntegerOf(*version) != std::optional<int64_t>(1)) {
    std::string text;
    AppendJsonElement(text, *version);
    return Fail(parse, IntakeCode::kVersionUnsupported, "unsupported_version", text);
  }
  return true;
}

bool WorkerJsonParser::CheckTenant(std::string_view tenant_id, const WorkerHeaders& headers,
                                   WorkerParse* parse) {
  if (headers.tenant_id && *headers.tenant_id != tenant_id) {
    parse->tenant_mismatch = true;
    return Fail(parse, IntakeCode::kCorrelationFieldsInvalid, "tenant_mismatch");
  }
  if (!allowlist_.empty() &&
      std::find(allowlist_.begin(), allowlist_.end(), tenant_id) == allowlist_.end()) {
    return Fail(parse, IntakeCode::kTenantForbidden, "tenant_not_allowed");
  }
  return true;
}

}  // namespace router::nats_adapter
