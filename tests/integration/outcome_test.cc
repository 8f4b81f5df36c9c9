// Router.ReportOutcome intake over gRPC: grpc-api.md §13 scenario 17 (validation part; breaker
// effects are unit-tested) and the §4 validation order.

#include "itest_support.h"

namespace router::itest {
namespace {

class OutcomeTest : public SharedRouterTest {};

// §13.17: valid outcomes are accepted; status `weird` is INVALID_ARGUMENT.
TEST_F(OutcomeTest, Scenario17OutcomeValidation) {
  struct Case {
    std::string status, error_code;
  };
  for (const Case& k : std::vector<Case>{{"error", "HTTP_404"},
                                         {"error", "VALIDATION_ERROR"},
                                         {"error", "RATE_LIMITED"},
                                         {"cancelled", ""},
                                         {"error", "HTTP_503"},
                                         {"error", "http-503"},
                                         {"error", ""},
                                         {"timeout", ""},
                                         {"success", ""}}) {
    SCOPED_TRACE(k.status + "/" + k.error_code);
    fv1::ReportOutcomeResponse resp;
    ASSERT_TRUE(IsOk(c().Report("s17_tenant", "openai", k.status, k.error_code, 120, 0.01, &resp)));
    EXPECT_TRUE(resp.ok());
    // No policy of the tenant enables a breaker for openai: no breaker, circuit_state "".
    EXPECT_EQ(resp.circuit_state(), "");
  }
  // Model-style provider ids are valid.
  EXPECT_TRUE(IsOk(c().Report("s17_tenant", "openai:gpt-4", "success")));

  EXPECT_TRUE(IsError(c().Report("s17_tenant", "openai", "weird"),
                      grpc::StatusCode::INVALID_ARGUMENT,
                      "status must be one of \"success\", \"error\", \"timeout\", \"cancelled\"",
                      "invalid_request"));
  EXPECT_TRUE(IsError(c().Report("s17_tenant", "openai", ""), grpc::StatusCode::INVALID_ARGUMENT,
                      "status must be one of \"success\", \"error\", \"timeout\", \"cancelled\"",
                      "invalid_request"));
  EXPECT_TRUE(IsError(c().Report("", "openai", "success"), grpc::StatusCode::INVALID_ARGUMENT,
                      "tenant_id cannot be empty", "invalid_request"));
  EXPECT_TRUE(IsError(c().Report("bad tenant", "openai", "success"),
                      grpc::StatusCode::INVALID_ARGUMENT,
                      "tenant_id must match ^[A-Za-z0-9_.-]{1,255}$", "invalid_request"));
  EXPECT_TRUE(IsError(c().Report("s17_tenant", "open ai", "success"),
                      grpc::StatusCode::INVALID_ARGUMENT,
                      "provider_id must match ^[A-Za-z0-9_.:/-]{1,128}$", "invalid_request"));
  EXPECT_TRUE(IsError(c().Report("s17_tenant", "", "success"), grpc::StatusCode::INVALID_ARGUMENT,
                      "provider_id must match ^[A-Za-z0-9_.:/-]{1,128}$", "invalid_request"));
  EXPECT_TRUE(IsError(c().Report("s17_tenant", "openai", "success", "", -1),
                      grpc::StatusCode::INVALID_ARGUMENT, "latency_ms must not be negative",
                      "invalid_request"));
  EXPECT_TRUE(IsError(c().Report("s17_tenant", "openai", "success", "", 0, -0.5),
                      grpc::StatusCode::INVALID_ARGUMENT,
                      "cost must be a finite non-negative number", "invalid_request"));
  EXPECT_TRUE(IsError(
      c().Report("s17_tenant", "openai", "success", "", 0, std::numeric_limits<double>::infinity()),
      grpc::StatusCode::INVALID_ARGUMENT, "cost must be a finite non-negative number",
      "invalid_request"));
  // Order: provider before status.
  EXPECT_TRUE(IsError(c().Report("s17_tenant", "open ai", "weird"),
                      grpc::StatusCode::INVALID_ARGUMENT,
                      "provider_id must match ^[A-Za-z0-9_.:/-]{1,128}$", "invalid_request"));
  RawResult raw =
      RawUnary(channel(), "/beamline.flow.v1.Router/ReportOutcome", std::string(12, '\xff'));
  EXPECT_TRUE(IsError(raw.status, grpc::StatusCode::INVALID_ARGUMENT, "invalid request",
                      "invalid_request"));
}

}  // namespace
}  // namespace router::itest
