#include "nats/exec_result.h"

#include <cmath>

#include "service/ids.h"
#include "service/outcome_service.h"

namespace router::nats_adapter {
namespace {

constexpr size_t kMaxAssignmentIdBytes = 128;
constexpr size_t kMaxRequestIdBytes = 256;
constexpr size_t kMaxCodeBytes = 128;
constexpr size_t kMaxMessageBytes = 4096;
constexpr size_t kMaxJobTypeBytes = 128;
constexpr int64_t kMaxLatencyMs = 86'400'000;

bool Correlation(WorkerParse* parse, std::string_view reason) {
  return WorkerJsonParser::Fail(parse, IntakeCode::kCorrelationFieldsInvalid, reason);
}

}  // namespace

bool ExecResultParser::Parse(std::string_view body, const WorkerHeaders& headers,
                             int64_t receive_ms, ExecResult* r, WorkerParse* parse) {
  using namespace worker_json;
  *r = ExecResult{};
  simdjson::dom::object root;
  if (!json_.ParseRoot(body, headers, {"job"}, &root, parse)) return false;

  // Correlation ids: at least one of assignment_id / request_id.
  auto assignment_id = Member(root, "assignment_id");
  auto request_id = Member(root, "request_id");
  if (!assignment_id && !request_id) return Correlation(parse, "missing_correlation_id");
  if (assignment_id) {
    if (!IsString(*assignment_id) || StringOf(*assignment_id).empty() ||
        StringOf(*assignment_id).size() > kMaxAssignmentIdBytes) {
      return Correlation(parse, "invalid_assignment_id");
    }
    r->assignment_id = std::string(StringOf(*assignment_id));
  }
  if (request_id) {
    if (!IsString(*request_id) || !IsBoundedPrintable(StringOf(*request_id), kMaxRequestIdBytes)) {
      return Correlation(parse, "invalid_request_id");
    }
    r->request_id = std::string(StringOf(*request_id));
  }

  auto status = Member(root, "status");
  if (!status) return Correlation(parse, "missing_status");
  if (!IsString(*status)) return Correlation(parse, "invalid_status");
  const std::string_view s = StringOf(*status);
  if (s != "success" && s != "error" && s != "timeout" && s != "cancelled") {
    return Correlation(parse, "invalid_status");
  }
  r->status = std::string(s);

  auto provider = Member(root, "provider_id");
  if (!provider) return Correlation(parse, "missing_provider_id");
  if (!IsString(*provider) || !service::IsValidProviderName(StringOf(*provider))) {
    return Correlation(parse, "invalid_provider_id");
  }
  r->provider_id = std::string(StringOf(*provider));

  auto tenant = Member(root, "tenant_id");
  if (!tenant) return Correlation(parse, "missing_tenant_id");
  if (IsString(*tenant) && StringOf(*tenant).empty()) return Correlation(parse, "empty_tenant_id");
  if (!IsString(*tenant) || !service::IsValidId(StringOf(*tenant))) {
    return Correlation(parse, "invalid_tenant_id_format");
  }
  r->tenant_id = std::string(StringOf(*tenant));

  if (auto job = Member(root, "job")) {
    if (!IsObject(*job)) return Correlation(parse, "invalid_job");
    auto type = Member(job->get_object().value_unsafe(), "type");
    if (type && IsString(*type) && !StringOf(*type).empty() &&
        StringOf(*type).size() <= kMaxJobTypeBytes) {
      r->event_type = std::string(StringOf(*type));
    }
  }
  if (auto latency = Member(root, "latency_ms")) {
    auto v = IntegerOf(*latency);
    if (!v || *v < 0 || *v > kMaxLatencyMs) return Correlation(parse, "invalid_latency_ms");
    r->latency_ms = v;
  }
  if (auto cost = Member(root, "cost")) {
    auto v = NumberOf(*cost);
    if (!v || !std::isfinite(*v) || *v < 0) return Correlation(parse, "invalid_cost");
    r->cost = v;
  }
  if (auto trace = Member(root, "trace_id")) {
    if (!IsString(*trace)) return Correlation(parse, "invalid_trace_id_format");
    r->trace_id = std::string(StringOf(*trace));
  }
  if (headers.trace_id) r->trace_id = *headers.trace_id;  // §2: the header wins
  r->timestamp_ms = receive_ms;
  if (auto ts = Member(root, "timestamp")) {
    auto v = IntegerOf(*ts);
    if (!v) return Correlation(parse, "invalid_timestamp");
    r->timestamp_ms = *v;
  }
  struct Text {
    const char* key;
    size_t max;
    const char* reason;
    std::string* out;
  };
  for (const Text& t :
       {Text{"error_code", kMaxCodeBytes, "invalid_error_code", &r->error_code},
        Text{"error_type", kMaxCodeBytes, "invalid_error_type", &r->error_type},
        Text{"error_message", kMaxMessageBytes, "invalid_error_message", &r->error_message}}) {
    auto v = Member(root, t.key);
    if (!v || v->is_null()) continue;
    if (!IsString(*v) || StringOf(*v).size() > t.max) return Correlation(parse, t.reason);
    *t.out = std::string(StringOf(*v));
  }
  return json_.CheckTenant(r->tenant_id, headers, parse);
}

}  // namespace router::nats_adapter
