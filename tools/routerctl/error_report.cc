#include "error_report.h"

#include <algorithm>
#include <array>

#include "absl/strings/numbers.h"
#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"
#include "obs/metrics/label_values.h"

namespace router::routerctl {

std::string StatusCodeName(int code) {
  // The canonical names, indexed by code, from the metrics label table (one spelling).
  const auto& names = obs::values::kGrpcCode;
  if (code >= 0 && code < static_cast<int>(std::size(names))) return std::string(names[code]);
  return "CODE_" + std::to_string(code);
}

ErrorReport BuildErrorReport(const grpc::Status& status, const std::string& retry_after_trailer) {
  ErrorReport report;
  report.code = static_cast<int>(status.error_code());
  report.code_name = StatusCodeName(report.code);
  report.message = status.error_message();

  int64_t trailer_ms = 0;
  if (!retry_after_trailer.empty() && absl::SimpleAtoi(retry_after_trailer, &trailer_ms)) {
    report.retry_after_ms = trailer_ms;
  }

  google::rpc::Status details;
  if (status.error_details().empty() || !details.ParseFromString(status.error_details())) {
    return report;
  }
  for (const google::protobuf::Any& any : details.details()) {
    if (google::rpc::ErrorInfo info; any.Is<google::rpc::ErrorInfo>() && any.UnpackTo(&info)) {
      report.reason = info.reason();
      report.domain = info.domain();
      report.metadata.assign(info.metadata().begin(), info.metadata().end());
      std::sort(report.metadata.begin(), report.metadata.end());
    } else if (google::rpc::BadRequest bad;
               any.Is<google::rpc::BadRequest>() && any.UnpackTo(&bad)) {
      for (const auto& violation : bad.field_violations()) {
        report.violations.emplace_back(violation.field(), violation.description());
      }
    } else if (google::rpc::RetryInfo retry;
               any.Is<google::rpc::RetryInfo>() && any.UnpackTo(&retry)) {
      if (!report.retry_after_ms.has_value() && retry.has_retry_delay()) {
        report.retry_after_ms =
            retry.retry_delay().seconds() * 1000 + retry.retry_delay().nanos() / 1000000;
      }
    }
  }
  return report;
}

void PrintErrorText(const ErrorReport& report, std::ostream& out) {
  out << "error: " << report.code_name << ": " << report.message << "\n";
  if (!report.reason.empty()) out << "reason: " << report.reason << "\n";
  if (!report.domain.empty()) out << "domain: " << report.domain << "\n";
  for (const auto& [key, value] : report.metadata) {
    out << "metadata." << key << ": " << value << "\n";
  }
  for (const auto& [field, description] : report.violations) {
    out << "violation: " << field << ": " << description << "\n";
  }
  if (report.retry_after_ms.has_value()) {
    out << "retry-after-ms: " << *report.retry_after_ms << "\n";
  }
}

void WriteErrorJson(const ErrorReport& report, JsonWriter& writer) {
  writer.StartObject();
  writer.Key("error");
  writer.StartObject();
  writer.Key("code");
  WriteJsonString(report.code_name, writer);
  writer.Key("code_number");
  writer.Int(report.code);
  writer.Key("message");
  WriteJsonString(report.message, writer);
  writer.Key("reason");
  WriteJsonString(report.reason, writer);
  writer.Key("domain");
  WriteJsonString(report.domain, writer);
  writer.Key("metadata");
  writer.StartObject();
  for (const auto& [key, value] : report.metadata) {
    WriteJsonString(key, writer);
    WriteJsonString(value, writer);
  }
  writer.EndObject();
  writer.Key("violations");
  writer.StartArray();
  for (const auto& [field, description] : report.violations) {
    writer.StartObject();
    writer.Key("field");
    WriteJsonString(field, writer);
    writer.Key("description");
    WriteJsonString(description, writer);
    writer.EndObject();
  }
  writer.EndArray();
  writer.Key("retry_after_ms");
  if (report.retry_after_ms.has_value()) {
    writer.Int64(*report.retry_after_ms);
  } else {
    writer.Null();
  }
  writer.EndObject();
  writer.EndObject();
}

}  // namespace router::routerctl
