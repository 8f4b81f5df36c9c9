// Failure classification (nats-contracts.md §6.6, POL §6 "Classification", acceptance NATS §12.20,
// POL §12.25, grpc-api §13.17).
#include "core/outcome_classification.h"

#include <gtest/gtest.h>

#include <string>

namespace router::core {
namespace {

BreakerInput Error(std::string_view code) { return ClassifyOutcome("error", code, ""); }

TEST(OutcomeClassificationTest, StatusesWithoutCode) {
  EXPECT_EQ(ClassifyOutcome("success", "", ""), BreakerInput::kSuccess);
  EXPECT_EQ(ClassifyOutcome("timeout", "", ""), BreakerInput::kFailure);
  EXPECT_EQ(ClassifyOutcome("cancelled", "", ""), BreakerInput::kIgnored);
  EXPECT_EQ(ClassifyOutcome("error", "", ""), BreakerInput::kUnclassified);
  // Codes never change success / timeout / cancelled.
  EXPECT_EQ(ClassifyOutcome("success", "HTTP_503", ""), BreakerInput::kSuccess);
  EXPECT_EQ(ClassifyOutcome("timeout", "HTTP_429", ""), BreakerInput::kFailure);
  EXPECT_EQ(ClassifyOutcome("cancelled", "SERVER_ERROR", ""), BreakerInput::kIgnored);
}

TEST(OutcomeClassificationTest, UnknownStatusIsUnclassified) {
  EXPECT_EQ(ClassifyOutcome("weird", "HTTP_503", ""), BreakerInput::kUnclassified);
  EXPECT_EQ(ClassifyOutcome("", "", ""), BreakerInput::kUnclassified);
}

TEST(OutcomeClassificationTest, FailureCodes) {
  for (const char* code : {"TIMEOUT", "CONNECTION_ERROR", "PROVIDER_UNAVAILABLE", "SERVER_ERROR",
                           "5XX", "HTTP_5XX", "500", "503", "599", "HTTP_500", "HTTP_503"}) {
    EXPECT_EQ(Error(code), BreakerInput::kFailure) << code;
  }
}

TEST(OutcomeClassificationTest, IgnoredCodes) {
  for (const char* code :
       {"4XX", "HTTP_4XX", "400", "404", "429", "HTTP_404", "HTTP_429", "VALIDATION_ERROR",
        "INVALID_REQUEST", "RATE_LIMIT", "RATE_LIMITED", "RATE_LIMIT_EXCEEDED", "QUOTA_EXCEEDED",
        "UNAUTHORIZED", "CONTENT_FILTERED"}) {
    EXPECT_EQ(Error(code), BreakerInput::kIgnored) << code;
  }
}

TEST(OutcomeClassificationTest, CaseInsensitiveAndDashAsUnderscore) {
  EXPECT_EQ(Error("provider-unavailable"), BreakerInput::kFailure);
  EXPECT_EQ(Error("http-503"), BreakerInput::kFailure);
  EXPECT_EQ(Error("http_5xx"), BreakerInput::kFailure);
  EXPECT_EQ(Error("Rate-Limited"), BreakerInput::kIgnored);
  EXPECT_EQ(Error("http_4xx"), BreakerInput::kIgnored);
}

TEST(OutcomeClassificationTest, OtherCodesAreUnclassified) {
  for (const char* code :
       {"5", "50", "5000", "HTTP_5", "HTTP_50", "HTTP_5000", "HTTP__503", "5X", "5XXX", "5x1",
        "600", "HTTP_600", "300", "BOOM", "HTTP 503", " 503", "TIMEOUTS"}) {
    EXPECT_EQ(Error(code), BreakerInput::kUnclassified) << code;
  }
  EXPECT_EQ(Error(std::string(200, 'A')), BreakerInput::kUnclassified);
}

// `error_type` is used only without `error_code`.
TEST(OutcomeClassificationTest, ErrorTypeOnlyWithoutErrorCode) {
  EXPECT_EQ(ClassifyOutcome("error", "", "PROVIDER_UNAVAILABLE"), BreakerInput::kFailure);
  EXPECT_EQ(ClassifyOutcome("error", "HTTP_429", "PROVIDER_UNAVAILABLE"), BreakerInput::kIgnored);
  EXPECT_EQ(ClassifyOutcome("error", "BOOM", "HTTP_503"), BreakerInput::kUnclassified);
}

TEST(OutcomeClassificationTest, StatusCaseInsensitive) {
  EXPECT_EQ(ClassifyOutcome("SUCCESS", "", ""), BreakerInput::kSuccess);
  EXPECT_EQ(ClassifyOutcome("Error", "HTTP_503", ""), BreakerInput::kFailure);
}

TEST(OutcomeClassificationTest, Names) {
  EXPECT_EQ(BreakerInputName(BreakerInput::kSuccess), "success");
  EXPECT_EQ(BreakerInputName(BreakerInput::kFailure), "failure");
  EXPECT_EQ(BreakerInputName(BreakerInput::kIgnored), "ignored");
  EXPECT_EQ(BreakerInputName(BreakerInput::kUnclassified), "unclassified");
}

}  // namespace
}  // namespace router::core
