#pragma once
// Shared intake of the worker messages consumed from JetStream and the fan-out (nats-contracts.md
// §1 S4/S5/S6, §2 headers, §3.5, §3.6, §6.4 validation rows): header reading, the size / JSON
// object / duplicate-key / version rules, and the partial context a DLQ envelope A carries.
// exec_result.h and exec_ack.h build the message-specific validation on top of it.
//
// Validation failures are absl::Status values built by IntakeError() (decide_request.h) with the
// §4.2 message texts; `WorkerParse::code` / `reason` repeat the intake code and reason for the
// counters and the envelope.
//
// Thread-compatible: one WorkerJsonParser per thread (it owns the simdjson parser).

#include <nats/nats.h>
#include <simdjson.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "nats/decide_request.h"

namespace router::nats_adapter {

// The §2 headers read on S4/S5 (names matched case-insensitively), owned copies.
struct WorkerHeaders {
  std::optional<std::string> version;
  std::optional<std::string> traceparent;
  std::optional<std::string> trace_id;
  std::optional<std::string> tenant_id;
  std::optional<std::string> msg_id;  // Nats-Msg-Id
};
WorkerHeaders ReadWorkerHeaders(natsMsg* msg);

// Every header of `msg` except `Nats-*` (copied into DLQ envelopes, §2).
std::vector<std::pair<std::string, std::string>> NonNatsHeaders(natsMsg* msg);

// What a DLQ envelope A / B reports of a message, filled as far as parsing got (§3.8 `context`).
struct WorkerContext {
  std::optional<std::string> request_id;
  std::optional<std::string> tenant_id;
  std::optional<std::string> trace_id;  // header trace_id wins over the payload's (§2)
  std::optional<std::string> assignment_id;
};

// Outcome of a parse: OK, or the first failing rule.
struct WorkerParse {
  absl::Status status;
  IntakeCode code = IntakeCode::kSchemaValidationFailed;  // meaningful when !status.ok()
  std::string reason;                                     // e.g. "invalid_status"
  bool json_object = false;  // the body parsed as a JSON object without duplicate keys
  bool too_large = false;    // body > max_payload_bytes: not parsed
  bool tenant_mismatch = false;
  WorkerContext context;
  bool ok() const { return status.ok(); }
};

class WorkerJsonParser {
 public:
  // `max_payload_bytes` = nats.max_payload_bytes; `tenant_allowlist` empty = every tenant.
  WorkerJsonParser(int64_t max_payload_bytes, std::vector<std::string> tenant_allowlist);

  // Size, UTF-8 JSON object (depth <= 32), no duplicate key at the top level nor in the
  // top-level objects named in `nested`, version (header > payload; "1" or 1). On success `root`
  // is the top-level object, valid until the next call. Fills `parse` (json_object, too_large,
  // the failure) and returns parse->ok().
  bool ParseRoot(std::string_view body, const WorkerHeaders& headers,
                 std::initializer_list<std::string_view> nested, simdjson::dom::object* root,
                 WorkerParse* parse);

  // Header tenant_id equals payload tenant_id (§2); then the allowlist (§6.4).
  bool CheckTenant(std::string_view tenant_id, const WorkerHeaders& headers, WorkerParse* parse);

  // Records a failure in `parse` and returns false.
  static bool Fail(WorkerParse* parse, IntakeCode code, std::string_view reason,
                   std::string_view detail = {});

 private:
  bool HasDuplicateKeys(simdjson::dom::object object);

  const int64_t max_payload_bytes_;
  const std::vector<std::string> allowlist_;
  simdjson::dom::parser parser_;
  std::string padded_;
  std::vector<std::string_view> keys_;
};

// simdjson helpers shared by the parsers.
namespace worker_json {
inline bool IsString(simdjson::dom::element e) {
  return e.type() == simdjson::dom::element_type::STRING;
}
inline bool IsObject(simdjson::dom::element e) {
  return e.type() == simdjson::dom::element_type::OBJECT;
}
inline std::string_view StringOf(simdjson::dom::element e) {
  return std::string_view(e.get_string().value_unsafe());
}
std::optional<int64_t> IntegerOf(simdjson::dom::element e);
std::optional<double> NumberOf(simdjson::dom::element e);
// The member `key` of `object`, if present.
std::optional<simdjson::dom::element> Member(simdjson::dom::object object, std::string_view key);
}  // namespace worker_json

}  // namespace router::nats_adapter
