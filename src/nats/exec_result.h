#pragma once
// ExecResult intake (nats-contracts.md §3.6, S5 and the S6 fan-out): parses and validates one
// result in the §6.4 order: size, JSON object, version, §3.6 fields (first failure wins, reasons
// `missing_correlation_id`, `invalid_assignment_id`, `invalid_request_id`, `missing_status`,
// `invalid_status`, `missing_provider_id`, `invalid_provider_id`, `missing_tenant_id`,
// `empty_tenant_id`, `invalid_tenant_id_format`, `invalid_job`, `invalid_latency_ms`,
// `invalid_cost`, `invalid_trace_id_format`, `invalid_timestamp`, `invalid_error_code`,
// `invalid_error_type`, `invalid_error_message`), header/payload tenant (`tenant_mismatch`),
// tenant allowlist (TENANT_FORBIDDEN `tenant_not_allowed`).
//
// Thread-compatible: one ExecResultParser per thread.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "nats/worker_message.h"

namespace router::nats_adapter {

struct ExecResult {
  std::string assignment_id;  // "" when absent
  std::string request_id;     // "" when absent
  std::string status;         // success | error | timeout | cancelled
  std::string provider_id;
  std::string tenant_id;
  std::string event_type = "unknown";  // job.type
  std::optional<int64_t> latency_ms;
  std::optional<double> cost;
  std::optional<std::string> trace_id;  // header trace_id, else payload trace_id
  std::string error_code;               // "" when absent
  std::string error_type;               // "" when absent
  std::string error_message;
  int64_t timestamp_ms = 0;  // payload timestamp, else receive time

  // §7.1: assignment_id, else request_id.
  const std::string& DedupKey() const { return assignment_id.empty() ? request_id : assignment_id; }
  // §3.7: error_code, else error_type ("" = null).
  const std::string& EffectiveErrorCode() const {
    return error_code.empty() ? error_type : error_code;
  }
};

class ExecResultParser {
 public:
  ExecResultParser(int64_t max_payload_bytes, std::vector<std::string> tenant_allowlist)
      : json_(max_payload_bytes, std::move(tenant_allowlist)) {}

  // Fills `result` when valid; `receive_ms` is the default timestamp. Returns parse.ok().
  bool Parse(std::string_view body, const WorkerHeaders& headers, int64_t receive_ms,
             ExecResult* result, WorkerParse* parse);

 private:
  WorkerJsonParser json_;
};

}  // namespace router::nats_adapter
