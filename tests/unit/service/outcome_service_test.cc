// ReportOutcome intake: validation order and exact messages, then the allowlist
// (grpc-api.md §4; the decode step belongs to the transport adapter). Provider name pattern
// (grpc-api.md §1, POL §0).
#include "service/outcome_service.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <string>

#include "base/errors.h"

namespace router::service {
namespace {

constexpr char kTenantPattern[] = "tenant_id must match ^[A-Za-z0-9_.-]{1,255}$";
constexpr char kProviderPattern[] = "provider_id must match ^[A-Za-z0-9_.:/-]{1,128}$";
constexpr char kStatusEnum[] =
    "status must be one of \"success\", \"error\", \"timeout\", \"cancelled\"";
constexpr char kLatency[] = "latency_ms must not be negative";
constexpr char kCost[] = "cost must be a finite non-negative number";

OutcomeReport Valid() {
  OutcomeReport r;
  r.tenant_id = "t1";
  r.provider_id = "openai:gpt-4";
  r.status = "success";
  r.latency_ms = 120;
  r.cost = 0.01;
  return r;
}

void ExpectInvalid(const absl::StatusOr<OutcomeAck>& got, std::string_view message) {
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(StdView(got.status().message()), message);
  EXPECT_EQ(ErrorTag(got.status()), "invalid_request");
}

TEST(IsValidProviderNameTest, Pattern) {
  EXPECT_TRUE(IsValidProviderName("openai"));
  EXPECT_TRUE(IsValidProviderName("openai:gpt-4"));
  EXPECT_TRUE(IsValidProviderName("org/model.v2_x-1"));
  EXPECT_TRUE(IsValidProviderName(std::string(128, 'p')));
  EXPECT_FALSE(IsValidProviderName(""));
  EXPECT_FALSE(IsValidProviderName(std::string(129, 'p')));
  EXPECT_FALSE(IsValidProviderName("a b"));
  EXPECT_FALSE(IsValidProviderName("a@b"));
  EXPECT_FALSE(IsValidProviderName("a\nb"));
  EXPECT_FALSE(IsValidProviderName("caf\xc3\xa9"));
}

TEST(OutcomeServiceTest, AcceptsEveryStatus) {
  OutcomeService service({});
  for (const char* status : {"success", "error", "timeout", "cancelled"}) {
    OutcomeReport r = Valid();
    r.status = status;
    auto got = service.Report(r);
    ASSERT_TRUE(got.ok()) << status << ": " << got.status();
    EXPECT_EQ(got->circuit_state, "");  // no breaker exists in this build (§4)
  }
  EXPECT_EQ(service.accepted(), 4u);
}

TEST(OutcomeServiceTest, ZeroLatencyAndCostMeanNotMeasured) {
  OutcomeService service({});
  OutcomeReport r = Valid();
  r.latency_ms = 0;
  r.cost = 0;
  EXPECT_TRUE(service.Report(r).ok());
}

TEST(OutcomeServiceTest, TenantMessages) {
  OutcomeService service({});
  OutcomeReport r = Valid();
  r.tenant_id = "";
  ExpectInvalid(service.Report(r), "tenant_id cannot be empty");
  for (std::string bad : {std::string("a b"), std::string("."), std::string(".."),
                          std::string(256, 't'), std::string("t/1")}) {
    r.tenant_id = bad;
    ExpectInvalid(service.Report(r), kTenantPattern);
  }
  EXPECT_EQ(service.accepted(), 0u);
}

TEST(OutcomeServiceTest, ProviderMessage) {
  OutcomeService service({});
  OutcomeReport r = Valid();
  for (std::string bad : {std::string(""), std::string("a b"), std::string(129, 'p')}) {
    r.provider_id = bad;
    ExpectInvalid(service.Report(r), kProviderPattern);
  }
}

TEST(OutcomeServiceTest, StatusMessage) {
  OutcomeService service({});
  OutcomeReport r = Valid();
  for (const char* bad : {"", "ok", "failure", "Success", "ERROR", "success "}) {
    r.status = bad;
    ExpectInvalid(service.Report(r), kStatusEnum);
  }
}

TEST(OutcomeServiceTest, LatencyAndCostMessages) {
  OutcomeService service({});
  OutcomeReport r = Valid();
  r.latency_ms = -1;
  ExpectInvalid(service.Report(r), kLatency);
  r = Valid();
  for (double bad :
       {-0.01, std::numeric_limits<double>::quiet_NaN(), std::numeric_limits<double>::infinity(),
        -std::numeric_limits<double>::infinity()}) {
    r.cost = bad;
    ExpectInvalid(service.Report(r), kCost);
  }
}

TEST(OutcomeServiceTest, ValidationOrder) {
  OutcomeService service({"other"});
  // Every check fails: the tenant wins.
  OutcomeReport r;
  r.tenant_id = "";
  r.provider_id = "";
  r.status = "bad";
  r.latency_ms = -1;
  r.cost = -1;
  ExpectInvalid(service.Report(r), "tenant_id cannot be empty");
  r.tenant_id = "t1";
  ExpectInvalid(service.Report(r), kProviderPattern);
  r.provider_id = "p";
  ExpectInvalid(service.Report(r), kStatusEnum);
  r.status = "error";
  ExpectInvalid(service.Report(r), kLatency);
  r.latency_ms = 0;
  ExpectInvalid(service.Report(r), kCost);
  r.cost = 0;
  // Validation passes; the allowlist comes last.
  auto got = service.Report(r);
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(StdView(got.status().message()), "tenant not allowed");
  EXPECT_EQ(ErrorTag(got.status()), "tenant_not_allowed");
  EXPECT_EQ(service.accepted(), 0u);
}

TEST(OutcomeServiceTest, AllowlistAdmitsListedTenants) {
  OutcomeService service({"t0", "t1"});
  EXPECT_TRUE(service.Report(Valid()).ok());
  OutcomeReport r = Valid();
  r.tenant_id = "t2";
  EXPECT_EQ(service.Report(r).status().code(), absl::StatusCode::kPermissionDenied);
  r.tenant_id = "T1";  // exact match only
  EXPECT_EQ(service.Report(r).status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(service.accepted(), 1u);
}

TEST(OutcomeServiceTest, ErrorCodeIsNotValidated) {
  // error_code only classifies (§4 table); any value, even empty or odd, is accepted.
  OutcomeService service({});
  OutcomeReport r = Valid();
  r.status = "error";
  for (const char* code : {"", "HTTP_503", "rate-limited", "??"}) {
    r.error_code = code;
    EXPECT_TRUE(service.Report(r).ok()) << code;
  }
}

}  // namespace
}  // namespace router::service
