#pragma once
// ExecAssignmentAck intake (nats-contracts.md §3.5, S4 and the S6 fan-out): the §6.4 order of
// the results table with the §3.5 fields. Reasons: `missing_assignment_id`,
// `invalid_assignment_id`, `missing_status`, `invalid_status`, `missing_tenant_id`,
// `empty_tenant_id`, `invalid_tenant_id_format`, `invalid_message`, `invalid_request_id`,
// `invalid_trace_id_format`, `invalid_acknowledged_at`, `tenant_mismatch`; TENANT_FORBIDDEN
// `tenant_not_allowed`. Dedup key (§6.4): (assignment_id, status).
//
// Thread-compatible: one ExecAckParser per thread.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "nats/worker_message.h"

namespace router::nats_adapter {

struct ExecAck {
  std::string assignment_id;
  std::string status;  // accepted | rejected | error
  std::string tenant_id;
  std::string message;
  std::string request_id;
  std::optional<std::string> trace_id;
  int64_t acknowledged_at_ms = 0;  // default: receive time

  std::string DedupKey() const { return assignment_id + '\x1f' + status; }
};

class ExecAckParser {
 public:
  ExecAckParser(int64_t max_payload_bytes, std::vector<std::string> tenant_allowlist)
      : json_(max_payload_bytes, std::move(tenant_allowlist)) {}

  bool Parse(std::string_view body, const WorkerHeaders& headers, int64_t receive_ms, ExecAck* ack,
             WorkerParse* parse);

 private:
  WorkerJsonParser json_;
};

}  // namespace router::nats_adapter
