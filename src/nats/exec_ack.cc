#include "nats/exec_ack.h"

#include "service/ids.h"

namespace router::nats_adapter {
namespace {

constexpr size_t kMaxAssignmentIdBytes = 128;
constexpr size_t kMaxRequestIdBytes = 256;
constexpr size_t kMaxMessageBytes = 4096;

bool Correlation(WorkerParse* parse, std::string_view reason) {
  return WorkerJsonParser::Fail(parse, IntakeCode::kCorrelationFieldsInvalid, reason);
}

}  // namespace

bool ExecAckParser::Parse(std::string_view body, const WorkerHeaders& headers, int64_t receive_ms,
                          ExecAck* a, WorkerParse* parse) {
  using namespace worker_json;
  *a = ExecAck{};
  simdjson::dom::object root;
  if (!json_.ParseRoot(body, headers, {}, &root, parse)) return false;

  auto id = Member(root, "assignment_id");
  if (!id) return Correlation(parse, "missing_assignment_id");
  if (!IsString(*id) || StringOf(*id).empty() || StringOf(*id).size() > kMaxAssignmentIdBytes) {
    return Correlation(parse, "invalid_assignment_id");
  }
  a->assignment_id = std::string(StringOf(*id));

  auto status = Member(root, "status");
  if (!status) return Correlation(parse, "missing_status");
  if (!IsString(*status)) return Correlation(parse, "invalid_status");
  const std::string_view s = StringOf(*status);
  if (s != "accepted" && s != "rejected" && s != "error") {
    return Correlation(parse, "invalid_status");
  }
  a->status = std::string(s);

  auto tenant = Member(root, "tenant_id");
  if (!tenant) return Correlation(parse, "missing_tenant_id");
  if (IsString(*tenant) && StringOf(*tenant).empty()) return Correlation(parse, "empty_tenant_id");
  if (!IsString(*tenant) || !service::IsValidId(StringOf(*tenant))) {
    return Correlation(parse, "invalid_tenant_id_format");
  }
  a->tenant_id = std::string(StringOf(*tenant));

  if (auto message = Member(root, "message"); message && !message->is_null()) {
    if (!IsString(*message) || StringOf(*message).size() > kMaxMessageBytes) {
      return Correlation(parse, "invalid_message");
    }
    a->message = std::string(StringOf(*message));
  }
  if (auto request_id = Member(root, "request_id"); request_id && !request_id->is_null()) {
    if (!IsString(*request_id) || !IsBoundedPrintable(StringOf(*request_id), kMaxRequestIdBytes)) {
      return Correlation(parse, "invalid_request_id");
    }
    a->request_id = std::string(StringOf(*request_id));
  }
  if (auto trace = Member(root, "trace_id")) {
    if (!IsString(*trace)) return Correlation(parse, "invalid_trace_id_format");
    a->trace_id = std::string(StringOf(*trace));
  }
  if (headers.trace_id) a->trace_id = *headers.trace_id;
  a->acknowledged_at_ms = receive_ms;
  if (auto at = Member(root, "acknowledged_at")) {
    auto v = IntegerOf(*at);
    if (!v) return Correlation(parse, "invalid_acknowledged_at");
    a->acknowledged_at_ms = *v;
  }
  return json_.CheckTenant(a->tenant_id, headers, parse);
}

}  // namespace router::nats_adapter
