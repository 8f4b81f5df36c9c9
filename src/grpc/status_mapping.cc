#include "grpc/status_mapping.h"

#include <string>

#include "base/errors.h"
#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"

namespace router::grpc_adapter {
namespace {
constexpr char kDomain[] = "beamline.router";
}  // namespace

::grpc::Status ToGrpcStatus(const absl::Status& status, ::grpc::ServerContextBase* context) {
  const auto code = static_cast<::grpc::StatusCode>(static_cast<int>(status.code()));
  std::string tag = ErrorTag(status);
  google::rpc::Status rpc_status;
  rpc_status.set_code(static_cast<int>(status.code()));

  if (status.code() == absl::StatusCode::kInternal || status.code() == absl::StatusCode::kUnknown) {
    google::rpc::ErrorInfo info;
    info.set_reason(std::string(tag::kInternal));
    info.set_domain(kDomain);
    rpc_status.set_message("internal error");
    rpc_status.add_details()->PackFrom(info);
    return ::grpc::Status(::grpc::StatusCode::INTERNAL, "internal error",
                          rpc_status.SerializeAsString());
  }

  std::string message(StdView(status.message()));
  rpc_status.set_message(message);

  google::rpc::ErrorInfo info;
  info.set_reason(tag);
  info.set_domain(kDomain);
  int64_t retry_after_ms = 0;
  for (const auto& [key, value] : ErrorDetails(status)) {
    (*info.mutable_metadata())[key] = value;
  }
  retry_after_ms = RetryAfterMs(status);
  rpc_status.add_details()->PackFrom(info);

  auto violations = ErrorViolations(status);
  if (!violations.empty()) {
    google::rpc::BadRequest bad_request;
    for (const auto& v : violations) {
      auto* fv = bad_request.add_field_violations();
      fv->set_field(v.field);
      fv->set_description(v.description);
    }
    rpc_status.add_details()->PackFrom(bad_request);
  }
  if (retry_after_ms > 0) {
    google::rpc::RetryInfo retry;
    retry.mutable_retry_delay()->set_seconds(retry_after_ms / 1000);
    retry.mutable_retry_delay()->set_nanos(static_cast<int32_t>((retry_after_ms % 1000) * 1000000));
    rpc_status.add_details()->PackFrom(retry);
    if (context != nullptr) {
      context->AddTrailingMetadata("retry-after-ms", std::to_string(retry_after_ms));
    }
  }
  return ::grpc::Status(code, message, rpc_status.SerializeAsString());
}

}  // namespace router::grpc_adapter
