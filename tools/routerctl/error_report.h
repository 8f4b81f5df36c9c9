#pragma once
// Decoding of a failed gRPC call into what beamline-routerctl prints (docs/ROUTERCTL.md "Errors";
// spec grpc-api.md §1: google.rpc.Status in grpc-status-details-bin with ErrorInfo, BadRequest and
// RetryInfo details, plus the retry-after-ms trailer). Plain value types and free functions;
// thread-compatible.

#include <grpcpp/grpcpp.h>

#include <cstdint>
#include <optional>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

#include "proto_json.h"

namespace router::routerctl {

struct ErrorReport {
  int code = 0;           // numeric gRPC status code
  std::string code_name;  // e.g. "NOT_FOUND"
  std::string message;    // status message as sent by the server
  std::string reason;     // ErrorInfo.reason ("" when absent)
  std::string domain;     // ErrorInfo.domain ("" when absent)
  std::vector<std::pair<std::string, std::string>> metadata;    // ErrorInfo.metadata, sorted
  std::vector<std::pair<std::string, std::string>> violations;  // BadRequest (field, description)
  std::optional<int64_t> retry_after_ms;  // trailer retry-after-ms, else RetryInfo
};

// Upper-case name of a gRPC status code ("OK", "INVALID_ARGUMENT", ...; "CODE_<n>" if unknown).
std::string StatusCodeName(int code);

// Builds the report of `status`; `retry_after_trailer` is the retry-after-ms trailer value or "".
ErrorReport BuildErrorReport(const grpc::Status& status, const std::string& retry_after_trailer);

// "error: <CODE_NAME>: <message>" followed by "reason:", "domain:", "metadata.<key>:",
// "violation: <field>: <description>" and "retry-after-ms:" lines for what is present.
void PrintErrorText(const ErrorReport& report, std::ostream& out);

// {"error": {"code": "...", "code_number": n, "message": ..., "reason": ..., "domain": ...,
//  "metadata": {...}, "violations": [{"field": ..., "description": ...}], "retry_after_ms":
//  n|null}}
void WriteErrorJson(const ErrorReport& report, JsonWriter& writer);

}  // namespace router::routerctl
