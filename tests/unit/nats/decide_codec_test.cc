// Reply encoding: the §4.3 reply-code table (POL §3.4 / §9 mapping), ErrorResponse and
// DecideResponse shapes of §3.2/§3.3, and envelope A of §3.8.

#include "nats/decide_codec.h"

#include <gtest/gtest.h>

#include "base/errors.h"
#include "nats/decide_request.h"
#include "nats_test_util.h"

namespace router::nats_adapter {
namespace {

using testutil::Json;

absl::Status Tagged(absl::StatusCode code, std::string_view message, std::string_view error_tag) {
  return MakeError(code, message, error_tag);
}

TEST(DecideCodecTest, IntakeErrorsKeepTheirCodeAndMessage) {
  MappedError m = MapDecideError(
      IntakeError(IntakeCode::kCorrelationFieldsInvalid, "missing_tenant_id", "tenant_id"));
  EXPECT_EQ(m.code, "invalid_request");
  EXPECT_EQ(m.intake_error_code, "CORRELATION_FIELDS_INVALID");
  EXPECT_EQ(m.message, "Correlation fields validation failed: missing_tenant_id");
  ASSERT_EQ(m.details.size(), 2u);
  EXPECT_EQ(m.details[0], (std::pair<std::string, std::string>("reason", "missing_tenant_id")));
  EXPECT_EQ(m.details[1], (std::pair<std::string, std::string>("field", "tenant_id")));

  EXPECT_EQ(MapDecideError(IntakeError(IntakeCode::kTenantForbidden, "tenant_not_allowed")).code,
            "unauthorized");
  EXPECT_EQ(
      MapDecideError(IntakeError(IntakeCode::kPayloadTooSmall, "empty_payload", {}, "0")).code,
      "invalid_request");
  EXPECT_EQ(
      MapDecideError(IntakeError(IntakeCode::kIdempotencyViolation, "idempotency_key_reused")).code,
      "invalid_request");
  MappedError internal =
      MapDecideError(IntakeError(IntakeCode::kInternalValidationError, "internal_error"));
  EXPECT_EQ(internal.code, "internal");
  EXPECT_EQ(internal.message, "Internal validation error: internal_error");
  EXPECT_EQ(internal.intake_error_code, "INTERNAL_VALIDATION_ERROR");
}

TEST(DecideCodecTest, RoutingErrorsMapPerReplyCodeTable) {
  struct Case {
    absl::StatusCode status;
    std::string_view tag;
    std::string_view code;
  };
  const Case cases[] = {
      {absl::StatusCode::kInvalidArgument, tag::kInvalidRequest, "invalid_request"},
      {absl::StatusCode::kPermissionDenied, tag::kTenantNotAllowed, "unauthorized"},
      {absl::StatusCode::kResourceExhausted, tag::kOverloaded, "overloaded"},
      {absl::StatusCode::kResourceExhausted, tag::kRateLimitExceeded, "rate_limited"},
      {absl::StatusCode::kNotFound, tag::kPolicyNotFound, "policy_not_found"},
      {absl::StatusCode::kDeadlineExceeded, tag::kDeadlineExceeded, "deadline_exceeded"},
      {absl::StatusCode::kFailedPrecondition, tag::kNoProviderConfigured, "decision_failed"},
      {absl::StatusCode::kUnavailable, tag::kNoProviderAvailable, "decision_failed"},
      {absl::StatusCode::kAlreadyExists, tag::kIdempotencyKeyReused, "invalid_request"},
      {absl::StatusCode::kUnavailable, kUnavailableTag, "unavailable"},
      {absl::StatusCode::kInternal, tag::kInternal, "internal"},
      {absl::StatusCode::kAborted, "something_new", "internal"},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(MapDecideError(Tagged(c.status, "m", c.tag)).code, c.code) << c.tag;
  }
}

TEST(DecideCodecTest, DecisionFailedCarriesReasonAndRetryAfter) {
  absl::Status s =
      Tagged(absl::StatusCode::kUnavailable, "no provider available: all 2 providers excluded",
             tag::kNoProviderAvailable);
  AddErrorDetail(s, "excluded", "p1:circuit_open,p2:circuit_open");
  AddErrorDetail(s, "retry_after_ms", "1234");
  AddErrorDetail(s, "tenant_id", "acme");
  MappedError m = MapDecideError(s);
  EXPECT_EQ(m.code, "decision_failed");
  EXPECT_EQ(m.message, "no provider available: all 2 providers excluded");
  EXPECT_EQ(m.retry_after_ms, 1234);
  ASSERT_GE(m.details.size(), 3u);
  EXPECT_EQ(m.details[0].first, "reason");
  EXPECT_EQ(m.details[0].second, "all_candidates_excluded");
  for (const auto& [k, v] : m.details) EXPECT_NE(k, "retry_after_ms");

  MappedError never = MapDecideError(
      Tagged(absl::StatusCode::kFailedPrecondition, "m", tag::kNoProviderConfigured));
  EXPECT_EQ(never.details[0].second, "no_candidates_configured");
  EXPECT_EQ(never.retry_after_ms, 0);
}

TEST(DecideCodecTest, ExtensionTagsMapByCause) {
  auto with_cause = [](std::string_view error_tag, std::string_view cause) {
    absl::Status s = Tagged(absl::StatusCode::kUnavailable, "m", error_tag);
    AddErrorDetail(s, "cause", cause);
    return MapDecideError(s).code;
  };
  EXPECT_EQ(with_cause("pre_processor_failed", "extension_unavailable"), "extension_unavailable");
  EXPECT_EQ(with_cause("validator_blocked", "extension_timeout"), "extension_timeout");
  EXPECT_EQ(with_cause("post_processor_failed", "extension_not_found"), "extension_not_found");
  EXPECT_EQ(with_cause("validator_blocked", "validator_blocked"), "validator_blocked");
  EXPECT_EQ(with_cause("pre_processor_failed", "invalid_response_format"), "extension_error");
}

TEST(DecideCodecTest, InternalLeaksNothing) {
  absl::Status s = absl::InternalError("sqlite: disk I/O error at /var/lib/x");
  AddErrorDetail(s, "path", "/var/lib/x");
  MappedError m = MapDecideError(s);
  EXPECT_EQ(m.code, "internal");
  EXPECT_EQ(m.message, "internal error");
  EXPECT_TRUE(m.details.empty());
}

TEST(DecideCodecTest, ErrorResponseShape) {
  std::string out;
  WriteErrorResponse(
      MapDecideError(IntakeError(IntakeCode::kTenantForbidden, "tenant_not_allowed", "tenant_id")),
      ReplyContext{"req-7f3a-0044", std::nullopt, false}, out);
  EXPECT_EQ(
      out,
      R"({"ok":false,"error":{"code":"unauthorized","message":"Tenant validation failed: tenant_not_allowed","intake_error_code":"TENANT_FORBIDDEN","details":{"reason":"tenant_not_allowed","field":"tenant_id"}},"context":{"request_id":"req-7f3a-0044"}})");
  out.clear();
  absl::Status overloaded = Tagged(absl::StatusCode::kResourceExhausted,
                                   "router overloaded; retry after 1000 ms", tag::kOverloaded);
  AddErrorDetail(overloaded, "retry_after_ms", "1000");
  AddErrorDetail(overloaded, "status", "active");
  WriteErrorResponse(MapDecideError(overloaded), ReplyContext{std::nullopt, "tr-1", false}, out);
  EXPECT_EQ(
      out,
      R"({"ok":false,"error":{"code":"overloaded","message":"router overloaded; retry after 1000 ms","retry_after_ms":1000,"details":{"status":"active"}},"context":{"request_id":null,"trace_id":"tr-1"}})");
}

TEST(DecideCodecTest, DecideResponseShape) {
  service::DecideOutput d;
  d.provider_id = "anthropic-sonnet";
  d.reason = "weighted";
  d.priority = 50;
  d.expected_latency_ms = 840;
  d.expected_cost = 0.0031;
  d.policy_version = 7;
  d.decision_id = "b2c4d6e8-1a3b-4c5d-8e6f-7a8b9c0d1e2f";
  d.metadata = {{"region", "eu"},
                {"tenant_id", "spoofed"},  // a context key the router overrides
                {"tenant_id", "acme"},
                {"policy_id", "support-chat"},
                {"policy_version", "7"}};
  std::string out;
  WriteDecideResponse(d, AssignmentStatus{"disabled", {}, {}},
                      ReplyContext{"req-1", "7d3e0c9a51b24f6e8a1c2b3d4e5f6071", false}, out);
  EXPECT_EQ(
      out,
      R"({"ok":true,"decision":{"provider_id":"anthropic-sonnet","reason":"weighted","priority":50,"expected_latency_ms":840,"expected_cost":0.0031,"policy_id":"support-chat","policy_version":7,"decision_id":"b2c4d6e8-1a3b-4c5d-8e6f-7a8b9c0d1e2f","metadata":{"region":"eu","tenant_id":"acme","policy_id":"support-chat","policy_version":"7"}},"assignment":{"status":"disabled"},"context":{"request_id":"req-1","trace_id":"7d3e0c9a51b24f6e8a1c2b3d4e5f6071"}})");

  d.has_explanation = true;
  d.steps = {"policy: acme/support-chat v7, strategy weighted"};
  d.excluded = {{"p3", "zero_weight"}};
  out.clear();
  WriteDecideResponse(d, std::nullopt, ReplyContext{"req-1", "t", true}, out);
  Json j(out);
  ASSERT_TRUE(j.ok()) << out;
  EXPECT_EQ(j.Str("/decision/explanation/steps/0"),
            "policy: acme/support-chat v7, strategy weighted");
  EXPECT_EQ(j.Str("/decision/explanation/excluded_providers/0/provider_id"), "p3");
  EXPECT_EQ(j.Str("/decision/explanation/excluded_providers/0/reason"), "zero_weight");
  EXPECT_TRUE(j.Bool("/context/replayed"));
  EXPECT_FALSE(j.Has("/assignment"));
}

TEST(DecideCodecTest, DlqEnvelopeA) {
  DecideDlqEnvelope e;
  e.original_subject = "beamline.router.v1.decide";
  e.original_payload = "{bad json";
  e.code = "SCHEMA_VALIDATION_FAILED";
  e.message = "Schema validation failed: invalid_format";
  e.received_at_ms = 1795688131100;
  e.node_id = "router-a";
  std::string out;
  WriteDecideDlqEnvelope(e, out);
  EXPECT_EQ(
      out,
      R"({"version":"1","reason":"intake_validation","original_subject":"beamline.router.v1.decide","original_payload_hash":"adc6108125c1695bcc60737d467fdb09cc68b8f11e008ee56803a6162d0b7240","validation_error":{"code":"SCHEMA_VALIDATION_FAILED","message":"Schema validation failed: invalid_format","severity":"error"},"context":{},"source":null,"received_at":1795688131100,"router_node_id":"router-a"})");
}

}  // namespace
}  // namespace router::nats_adapter
