#pragma once
// Maps router errors (absl::Status with tag, details and violations; base/errors.h) to gRPC
// statuses carrying `grpc-status-details-bin` = google.rpc.Status with ErrorInfo (domain
// beamline.router), BadRequest and RetryInfo, plus the `retry-after-ms` trailer
// (grpc-api.md §1). INTERNAL goes out as `internal error`, reason `internal`, no details.
// Pure functions; thread-safe.

#include <grpcpp/grpcpp.h>

#include "absl/status/status.h"

namespace router::grpc_adapter {

// Builds the gRPC status for `status` (which must not be OK) and adds the retry-after-ms
// trailer to `context` when the error carries retry_after_ms.
::grpc::Status ToGrpcStatus(const absl::Status& status, ::grpc::ServerContextBase* context);

}  // namespace router::grpc_adapter
