// Router errors -> gRPC statuses: code and exact message preserved, grpc-status-details-bin =
// google.rpc.Status with one ErrorInfo (domain beamline.router, reason = tag, metadata =
// details), BadRequest for violations, RetryInfo and the `retry-after-ms` trailer for hinted
// errors, and INTERNAL reduced to `internal error` / reason `internal` (grpc-api.md §1).
#include "grpc/status_mapping.h"

#include <grpcpp/grpcpp.h>
#include <grpcpp/test/server_context_test_spouse.h>
#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

#include "base/errors.h"
#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"

namespace router::grpc_adapter {
namespace {

using StrMap = std::map<std::string, std::string>;

google::rpc::Status ParseDetails(const ::grpc::Status& status) {
  google::rpc::Status out;
  EXPECT_TRUE(out.ParseFromString(status.error_details()))
      << "grpc-status-details-bin does not parse as google.rpc.Status";
  return out;
}

google::rpc::ErrorInfo ErrorInfoOf(const google::rpc::Status& rpc) {
  google::rpc::ErrorInfo info;
  EXPECT_GE(rpc.details_size(), 1);
  if (rpc.details_size() >= 1) {
    EXPECT_EQ(rpc.details(0).type_url(), "type.googleapis.com/google.rpc.ErrorInfo");
    EXPECT_TRUE(rpc.details(0).UnpackTo(&info));
  }
  return info;
}

StrMap MetadataOf(const google::rpc::ErrorInfo& info) {
  return StrMap(info.metadata().begin(), info.metadata().end());
}

std::multimap<std::string, std::string> Trailers(::grpc::ServerContext& context) {
  return ::grpc::testing::ServerContextTestSpouse(&context).GetTrailingMetadata();
}

struct CodeCase {
  absl::StatusCode code;
  ::grpc::StatusCode grpc_code;
  std::string message;
  std::string_view tag;
};

TEST(ToGrpcStatusTest, PreservesCodeMessageAndTag) {
  const std::vector<CodeCase> cases = {
      {absl::StatusCode::kInvalidArgument, ::grpc::StatusCode::INVALID_ARGUMENT,
       "tenant_id must match ^[A-Za-z0-9_.-]{1,255}$", tag::kInvalidRequest},
      {absl::StatusCode::kPermissionDenied, ::grpc::StatusCode::PERMISSION_DENIED,
       "tenant not allowed", tag::kTenantNotAllowed},
      {absl::StatusCode::kNotFound, ::grpc::StatusCode::NOT_FOUND,
       "policy \"p\" not found for tenant \"t\"", tag::kPolicyNotFound},
      {absl::StatusCode::kDeadlineExceeded, ::grpc::StatusCode::DEADLINE_EXCEEDED,
       "deadline exceeded", tag::kDeadlineExceeded},
      {absl::StatusCode::kFailedPrecondition, ::grpc::StatusCode::FAILED_PRECONDITION,
       "policy \"p\" can never yield a provider (no positive weight and no fallback target)",
       tag::kNoProviderConfigured},
      {absl::StatusCode::kUnavailable, ::grpc::StatusCode::UNAVAILABLE,
       "no provider available: all 2 providers excluded", tag::kNoProviderAvailable},
      {absl::StatusCode::kResourceExhausted, ::grpc::StatusCode::RESOURCE_EXHAUSTED,
       "policy quota exceeded: tenant \"t\" has 1 policies (max 1)", tag::kQuotaExceeded},
      {absl::StatusCode::kAlreadyExists, ::grpc::StatusCode::ALREADY_EXISTS,
       "idempotency_key reused with a different request", tag::kIdempotencyKeyReused},
      {absl::StatusCode::kAborted, ::grpc::StatusCode::ABORTED,
       "version conflict: current version is 0", tag::kVersionConflict},
      {absl::StatusCode::kUnauthenticated, ::grpc::StatusCode::UNAUTHENTICATED,
       "missing or invalid API key", tag::kUnauthenticated},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.message);
    ::grpc::Status g = ToGrpcStatus(MakeError(c.code, c.message, c.tag), nullptr);
    EXPECT_EQ(g.error_code(), c.grpc_code);
    EXPECT_EQ(g.error_message(), c.message);
    google::rpc::Status rpc = ParseDetails(g);
    EXPECT_EQ(rpc.code(), static_cast<int>(c.code));
    EXPECT_EQ(rpc.message(), c.message);
    ASSERT_EQ(rpc.details_size(), 1);
    google::rpc::ErrorInfo info = ErrorInfoOf(rpc);
    EXPECT_EQ(info.domain(), "beamline.router");
    EXPECT_EQ(info.reason(), c.tag);
    EXPECT_TRUE(info.metadata().empty());
  }
}

TEST(ToGrpcStatusTest, ErrorInfoMetadataHoldsTheDetails) {
  absl::Status s = MakeError(absl::StatusCode::kNotFound,
                             "policy \"p1\" not found for tenant \"t1\"", tag::kPolicyNotFound);
  AddErrorDetail(s, "tenant_id", "t1");
  AddErrorDetail(s, "policy_id", "p1");
  AddErrorDetail(s, "odd", "a:b\n12:3");
  ::grpc::Status g = ToGrpcStatus(s, nullptr);
  google::rpc::Status rpc = ParseDetails(g);
  ASSERT_EQ(rpc.details_size(), 1);
  EXPECT_EQ(MetadataOf(ErrorInfoOf(rpc)),
            (StrMap{{"tenant_id", "t1"}, {"policy_id", "p1"}, {"odd", "a:b\n12:3"}}));
}

TEST(ToGrpcStatusTest, ExcludedDetailOfNoProviderErrors) {
  absl::Status s =
      MakeError(absl::StatusCode::kUnavailable, "no provider available: all 2 providers excluded",
                tag::kNoProviderAvailable);
  AddErrorDetail(s, "excluded", "a=circuit_open,b=zero_weight");
  google::rpc::Status rpc = ParseDetails(ToGrpcStatus(s, nullptr));
  EXPECT_EQ(MetadataOf(ErrorInfoOf(rpc))["excluded"], "a=circuit_open,b=zero_weight");
  EXPECT_EQ(rpc.details_size(), 1);  // no retry hint: nothing time-bound
}

TEST(ToGrpcStatusTest, ViolationsAddBadRequest) {
  absl::Status s = MakeError(absl::StatusCode::kInvalidArgument,
                             "providers[1].weight: must be between 0 and 100", tag::kInvalidPolicy);
  SetViolations(s, {{"providers[1].weight", "must be between 0 and 100"},
                    {"sticky.ttl", "must be a string"}});
  ::grpc::Status g = ToGrpcStatus(s, nullptr);
  EXPECT_EQ(g.error_code(), ::grpc::StatusCode::INVALID_ARGUMENT);
  google::rpc::Status rpc = ParseDetails(g);
  ASSERT_EQ(rpc.details_size(), 2);
  EXPECT_EQ(ErrorInfoOf(rpc).reason(), "invalid_policy");
  EXPECT_EQ(rpc.details(1).type_url(), "type.googleapis.com/google.rpc.BadRequest");
  google::rpc::BadRequest bad;
  ASSERT_TRUE(rpc.details(1).UnpackTo(&bad));
  ASSERT_EQ(bad.field_violations_size(), 2);
  EXPECT_EQ(bad.field_violations(0).field(), "providers[1].weight");
  EXPECT_EQ(bad.field_violations(0).description(), "must be between 0 and 100");
  EXPECT_EQ(bad.field_violations(1).field(), "sticky.ttl");
  EXPECT_EQ(bad.field_violations(1).description(), "must be a string");
}

TEST(ToGrpcStatusTest, AtMostTwentyViolations) {
  absl::Status s = MakeError(absl::StatusCode::kInvalidArgument, "m", tag::kInvalidPolicy);
  std::vector<FieldViolation> many(30, FieldViolation{"f", "d"});
  SetViolations(s, many);
  google::rpc::Status rpc = ParseDetails(ToGrpcStatus(s, nullptr));
  ASSERT_EQ(rpc.details_size(), 2);
  google::rpc::BadRequest bad;
  ASSERT_TRUE(rpc.details(1).UnpackTo(&bad));
  EXPECT_EQ(bad.field_violations_size(), 20);
}

TEST(ToGrpcStatusTest, RetryHintAddsRetryInfoAndTrailer) {
  absl::Status s = MakeError(absl::StatusCode::kResourceExhausted,
                             "router overloaded; retry after 1500 ms", tag::kOverloaded);
  AddErrorDetail(s, "retry_after_ms", "1500");
  ::grpc::ServerContext context;
  ::grpc::Status g = ToGrpcStatus(s, &context);
  EXPECT_EQ(g.error_code(), ::grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_EQ(g.error_message(), "router overloaded; retry after 1500 ms");
  google::rpc::Status rpc = ParseDetails(g);
  ASSERT_EQ(rpc.details_size(), 2);
  EXPECT_EQ(MetadataOf(ErrorInfoOf(rpc)), (StrMap{{"retry_after_ms", "1500"}}));
  EXPECT_EQ(rpc.details(1).type_url(), "type.googleapis.com/google.rpc.RetryInfo");
  google::rpc::RetryInfo retry;
  ASSERT_TRUE(rpc.details(1).UnpackTo(&retry));
  EXPECT_EQ(retry.retry_delay().seconds(), 1);
  EXPECT_EQ(retry.retry_delay().nanos(), 500'000'000);
  auto trailers = Trailers(context);
  ASSERT_EQ(trailers.count("retry-after-ms"), 1u);
  EXPECT_EQ(trailers.find("retry-after-ms")->second, "1500");
}

TEST(ToGrpcStatusTest, RetryHintWithoutContextStillFillsDetails) {
  absl::Status s =
      MakeError(absl::StatusCode::kUnavailable, "no provider available: all 1 providers excluded",
                tag::kNoProviderAvailable);
  AddErrorDetail(s, "excluded", "a=circuit_open");
  AddErrorDetail(s, "retry_after_ms", "7");
  google::rpc::Status rpc = ParseDetails(ToGrpcStatus(s, nullptr));
  ASSERT_EQ(rpc.details_size(), 2);
  google::rpc::RetryInfo retry;
  ASSERT_TRUE(rpc.details(1).UnpackTo(&retry));
  EXPECT_EQ(retry.retry_delay().seconds(), 0);
  EXPECT_EQ(retry.retry_delay().nanos(), 7'000'000);
}

TEST(ToGrpcStatusTest, DetailOrderIsErrorInfoBadRequestRetryInfo) {
  absl::Status s = MakeError(absl::StatusCode::kResourceExhausted, "m", tag::kRateLimitExceeded);
  AddErrorDetail(s, "retry_after_ms", "2000");
  SetViolations(s, {{"f", "d"}});
  google::rpc::Status rpc = ParseDetails(ToGrpcStatus(s, nullptr));
  ASSERT_EQ(rpc.details_size(), 3);
  EXPECT_TRUE(rpc.details(0).Is<google::rpc::ErrorInfo>());
  EXPECT_TRUE(rpc.details(1).Is<google::rpc::BadRequest>());
  EXPECT_TRUE(rpc.details(2).Is<google::rpc::RetryInfo>());
  google::rpc::RetryInfo retry;
  ASSERT_TRUE(rpc.details(2).UnpackTo(&retry));
  EXPECT_EQ(retry.retry_delay().seconds(), 2);
  EXPECT_EQ(retry.retry_delay().nanos(), 0);
}

TEST(ToGrpcStatusTest, NoHintNoTrailer) {
  ::grpc::ServerContext context;
  ToGrpcStatus(MakeError(absl::StatusCode::kNotFound, "m", tag::kNotFound), &context);
  absl::Status zero = MakeError(absl::StatusCode::kUnavailable, "m", tag::kNoProviderAvailable);
  AddErrorDetail(zero, "retry_after_ms", "0");  // the hint is an integer >= 1 (§1)
  google::rpc::Status rpc = ParseDetails(ToGrpcStatus(zero, &context));
  EXPECT_EQ(rpc.details_size(), 1);
  EXPECT_TRUE(Trailers(context).empty());
}

TEST(ToGrpcStatusTest, InternalSaysOnlyInternalError) {
  absl::Status s =
      MakeError(absl::StatusCode::kInternal,
                "sqlite3_step: disk I/O error on /var/lib/router/policies.db", tag::kInternal);
  AddErrorDetail(s, "cause", "SQLITE_IOERR secret-path");
  AddErrorDetail(s, "retry_after_ms", "100");
  SetViolations(s, {{"leaked_field", "leaked description"}});
  ::grpc::ServerContext context;
  ::grpc::Status g = ToGrpcStatus(s, &context);
  EXPECT_EQ(g.error_code(), ::grpc::StatusCode::INTERNAL);
  EXPECT_EQ(g.error_message(), "internal error");
  google::rpc::Status rpc = ParseDetails(g);
  EXPECT_EQ(rpc.code(), static_cast<int>(absl::StatusCode::kInternal));
  EXPECT_EQ(rpc.message(), "internal error");
  ASSERT_EQ(rpc.details_size(), 1);
  google::rpc::ErrorInfo info = ErrorInfoOf(rpc);
  EXPECT_EQ(info.reason(), "internal");
  EXPECT_EQ(info.domain(), "beamline.router");
  EXPECT_TRUE(info.metadata().empty());
  for (const char* secret : {"disk I/O", "SQLITE_IOERR", "secret-path", "cause", "leaked"}) {
    EXPECT_EQ(g.error_details().find(secret), std::string::npos) << secret;
  }
  EXPECT_TRUE(Trailers(context).empty());
}

TEST(ToGrpcStatusTest, InternalWithAnotherTagStillReportsInternal) {
  // Whatever tag an INTERNAL status carries, the wire reason is `internal` (§1).
  absl::Status s = MakeError(absl::StatusCode::kInternal, "boom", tag::kPolicyNotFound);
  google::rpc::Status rpc = ParseDetails(ToGrpcStatus(s, nullptr));
  EXPECT_EQ(ErrorInfoOf(rpc).reason(), "internal");
}

TEST(ToGrpcStatusTest, UntaggedStatusesReportReasonInternal) {
  ::grpc::Status internal = ToGrpcStatus(absl::InternalError("stack trace here"), nullptr);
  EXPECT_EQ(internal.error_message(), "internal error");
  EXPECT_EQ(internal.error_details().find("stack trace"), std::string::npos);
  EXPECT_EQ(ErrorInfoOf(ParseDetails(internal)).reason(), "internal");
  // A non-internal status without a tag keeps its code and text; ErrorTag says "internal".
  ::grpc::Status untagged = ToGrpcStatus(absl::NotFoundError("x"), nullptr);
  EXPECT_EQ(untagged.error_code(), ::grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(untagged.error_message(), "x");
  EXPECT_EQ(ErrorInfoOf(ParseDetails(untagged)).reason(), "internal");
}

TEST(ToGrpcStatusTest, ExtensionErrorsKeepTheirDetails) {
  absl::Status s = MakeError(absl::StatusCode::kUnavailable, "extension \"trim\" unavailable",
                             "pre_processor_failed");
  AddErrorDetail(s, "cause", "extension_unavailable");
  AddErrorDetail(s, "extension_id", "trim");
  AddErrorDetail(s, "executed_extensions", "[]");
  google::rpc::ErrorInfo info = ErrorInfoOf(ParseDetails(ToGrpcStatus(s, nullptr)));
  EXPECT_EQ(info.reason(), "pre_processor_failed");
  EXPECT_EQ(MetadataOf(info), (StrMap{{"cause", "extension_unavailable"},
                                      {"extension_id", "trim"},
                                      {"executed_extensions", "[]"}}));
}

}  // namespace
}  // namespace router::grpc_adapter
