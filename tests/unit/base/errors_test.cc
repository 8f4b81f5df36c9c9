// Error tags, ordered details, field violations and the retry hint carried on absl::Status
// (base/errors.h; grpc-api.md §1 "Error details", POL §3.4, POL §1.5 "up to 20 violations").
#include "base/errors.h"

#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

namespace router {
namespace {

using Details = ErrorDetailList;

std::vector<std::pair<std::string, std::string>> AsPairs(const std::vector<FieldViolation>& v) {
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& fv : v) out.emplace_back(fv.field, fv.description);
  return out;
}

TEST(MakeErrorTest, KeepsCodeMessageAndTag) {
  absl::Status s = MakeError(absl::StatusCode::kNotFound,
                             "policy \"p1\" not found for tenant \"t1\"", tag::kPolicyNotFound);
  EXPECT_EQ(s.code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(StdView(s.message()), "policy \"p1\" not found for tenant \"t1\"");
  EXPECT_EQ(ErrorTag(s), "policy_not_found");
  EXPECT_TRUE(ErrorDetails(s).empty());
  EXPECT_TRUE(ErrorViolations(s).empty());
  EXPECT_EQ(RetryAfterMs(s), 0);
}

TEST(MakeErrorTest, MessageIsNotAlteredByTagOrDetails) {
  absl::Status s = MakeError(absl::StatusCode::kInvalidArgument, "a: b\nc", tag::kInvalidRequest);
  AddErrorDetail(s, "k", "v");
  SetViolations(s, {{"$", "required"}});
  EXPECT_EQ(StdView(s.message()), "a: b\nc");
  EXPECT_EQ(ErrorTag(s), "invalid_request");
}

TEST(ErrorTagTest, OkStatusHasEmptyTag) { EXPECT_EQ(ErrorTag(absl::OkStatus()), ""); }

TEST(ErrorTagTest, UntaggedErrorIsInternal) {
  EXPECT_EQ(ErrorTag(absl::InvalidArgumentError("x")), "internal");
  EXPECT_EQ(ErrorTag(absl::UnavailableError("x")), "internal");
  EXPECT_EQ(ErrorTag(absl::InternalError("x")), "internal");
}

TEST(ErrorTagTest, TagSurvivesCopyAndMove) {
  absl::Status s = MakeError(absl::StatusCode::kAborted, "version conflict: current version is 3",
                             tag::kVersionConflict);
  AddErrorDetail(s, "policy_id", "p");
  absl::Status copy = s;
  absl::Status moved = std::move(copy);
  EXPECT_EQ(ErrorTag(moved), "version_conflict");
  EXPECT_EQ(ErrorDetails(moved), (Details{{"policy_id", "p"}}));
  EXPECT_EQ(moved, s);
}

TEST(AddErrorDetailTest, KeepsInsertionOrder) {
  absl::Status s = MakeError(absl::StatusCode::kUnavailable, "m", tag::kNoProviderAvailable);
  AddErrorDetail(s, "tenant_id", "t1");
  AddErrorDetail(s, "policy_id", "p1");
  AddErrorDetail(s, "excluded", "a=circuit_open,b=zero_weight");
  AddErrorDetail(s, "retry_after_ms", "250");
  EXPECT_EQ(ErrorDetails(s), (Details{{"tenant_id", "t1"},
                                      {"policy_id", "p1"},
                                      {"excluded", "a=circuit_open,b=zero_weight"},
                                      {"retry_after_ms", "250"}}));
}

TEST(AddErrorDetailTest, RepeatedKeyIsReplacedInPlace) {
  absl::Status s = MakeError(absl::StatusCode::kUnavailable, "m", tag::kNoProviderAvailable);
  AddErrorDetail(s, "a", "1");
  AddErrorDetail(s, "b", "2");
  AddErrorDetail(s, "c", "3");
  AddErrorDetail(s, "b", "two");
  EXPECT_EQ(ErrorDetails(s), (Details{{"a", "1"}, {"b", "two"}, {"c", "3"}}));
}

TEST(AddErrorDetailTest, ValuesMayHoldAnyBytes) {
  // The encoding is length-prefixed ("<len>:<bytes>"), so separators, digits, newlines, NUL and
  // non-UTF-8 bytes inside keys and values must round-trip unchanged.
  const std::string nul_value("a\0b", 3);
  const std::vector<std::pair<std::string, std::string>> pairs = {
      {"colon", "x:y:z"},
      {"digits", "12:34"},
      {"3:abc", "5:"},
      {"newline", "line1\nline2\r\n"},
      {"nul", nul_value},
      {"binary", "\xff\xfe\x80"},
      {"empty", ""},
      {"", "empty key"},
      {"big", std::string(100'000, 'q')},
  };
  absl::Status s = MakeError(absl::StatusCode::kInvalidArgument, "m", tag::kInvalidRequest);
  for (const auto& [k, v] : pairs) AddErrorDetail(s, k, v);
  EXPECT_EQ(ErrorDetails(s), pairs);
}

TEST(AddErrorDetailTest, ReplacingWithLongerOrShorterValueKeepsOthersIntact) {
  absl::Status s = MakeError(absl::StatusCode::kInvalidArgument, "m", tag::kInvalidRequest);
  AddErrorDetail(s, "k1", "10:");
  AddErrorDetail(s, "k2", "v2");
  AddErrorDetail(s, "k1", std::string(300, ':'));
  AddErrorDetail(s, "k2", "");
  EXPECT_EQ(ErrorDetails(s), (Details{{"k1", std::string(300, ':')}, {"k2", ""}}));
}

TEST(AddErrorDetailTest, OkStatusIsLeftUntouched) {
  absl::Status s = absl::OkStatus();
  AddErrorDetail(s, "k", "v");
  EXPECT_TRUE(s.ok());
  EXPECT_TRUE(ErrorDetails(s).empty());
}

TEST(AddErrorDetailTest, WorksOnUntaggedStatus) {
  absl::Status s = absl::InternalError("boom");
  AddErrorDetail(s, "cause", "disk full");
  EXPECT_EQ(ErrorDetails(s), (Details{{"cause", "disk full"}}));
  EXPECT_EQ(ErrorTag(s), "internal");
}

TEST(SetViolationsTest, KeepsOrderAndContent) {
  absl::Status s = MakeError(absl::StatusCode::kInvalidArgument,
                             "providers[1].weight: must be between 0 and 100", tag::kInvalidPolicy);
  SetViolations(s, {{"providers[1].weight", "must be between 0 and 100"},
                    {"fallbacks[0].when[\"==\"][1]", "must be a string"},
                    {"$", "at most 10 extensions in total (got 11)"}});
  EXPECT_EQ(AsPairs(ErrorViolations(s)), (std::vector<std::pair<std::string, std::string>>{
                                             {"providers[1].weight", "must be between 0 and 100"},
                                             {"fallbacks[0].when[\"==\"][1]", "must be a string"},
                                             {"$", "at most 10 extensions in total (got 11)"}}));
}

TEST(SetViolationsTest, KeepsOnlyTheFirstTwenty) {
  std::vector<FieldViolation> many;
  for (int i = 0; i < 25; ++i) many.push_back({"f" + std::to_string(i), "d" + std::to_string(i)});
  absl::Status s = MakeError(absl::StatusCode::kInvalidArgument, "m", tag::kInvalidPolicy);
  SetViolations(s, many);
  auto got = ErrorViolations(s);
  ASSERT_EQ(got.size(), 20u);
  for (int i = 0; i < 20; ++i) {
    EXPECT_EQ(got[i].field, "f" + std::to_string(i));
    EXPECT_EQ(got[i].description, "d" + std::to_string(i));
  }
}

TEST(SetViolationsTest, ExactlyTwentyAreAllKept) {
  std::vector<FieldViolation> twenty(20, FieldViolation{"x", "y"});
  absl::Status s = MakeError(absl::StatusCode::kInvalidArgument, "m", tag::kInvalidPolicy);
  SetViolations(s, twenty);
  EXPECT_EQ(ErrorViolations(s).size(), 20u);
}

TEST(SetViolationsTest, ReplacesPreviousViolations) {
  absl::Status s = MakeError(absl::StatusCode::kInvalidArgument, "m", tag::kInvalidPolicy);
  SetViolations(s, {{"a", "1"}, {"b", "2"}});
  SetViolations(s, {{"c", "3"}});
  EXPECT_EQ(AsPairs(ErrorViolations(s)),
            (std::vector<std::pair<std::string, std::string>>{{"c", "3"}}));
  SetViolations(s, {});
  EXPECT_TRUE(ErrorViolations(s).empty());
}

TEST(SetViolationsTest, FieldsAndDescriptionsMayHoldAnyBytes) {
  absl::Status s = MakeError(absl::StatusCode::kInvalidArgument, "m", tag::kInvalidPolicy);
  SetViolations(s, {{"weights[\"a:b\"]", "12:\nx"}, {"", ""}, {"4:", "\xff"}});
  EXPECT_EQ(AsPairs(ErrorViolations(s)),
            (std::vector<std::pair<std::string, std::string>>{
                {"weights[\"a:b\"]", "12:\nx"}, {"", ""}, {"4:", "\xff"}}));
}

TEST(SetViolationsTest, DoesNotTouchDetails) {
  absl::Status s = MakeError(absl::StatusCode::kInvalidArgument, "m", tag::kInvalidPolicy);
  AddErrorDetail(s, "k", "v");
  SetViolations(s, {{"f", "d"}});
  EXPECT_EQ(ErrorDetails(s), (Details{{"k", "v"}}));
  EXPECT_EQ(ErrorViolations(s).size(), 1u);
}

TEST(SetViolationsTest, OkStatusIsLeftUntouched) {
  absl::Status s = absl::OkStatus();
  SetViolations(s, {{"f", "d"}});
  EXPECT_TRUE(s.ok());
  EXPECT_TRUE(ErrorViolations(s).empty());
}

TEST(RetryAfterMsTest, AbsentIsZero) {
  absl::Status s = MakeError(absl::StatusCode::kResourceExhausted, "m", tag::kOverloaded);
  AddErrorDetail(s, "tenant_id", "t");
  EXPECT_EQ(RetryAfterMs(s), 0);
  EXPECT_EQ(RetryAfterMs(absl::OkStatus()), 0);
}

TEST(RetryAfterMsTest, ReadsTheDetail) {
  absl::Status s = MakeError(absl::StatusCode::kResourceExhausted,
                             "router overloaded; retry after 1000 ms", tag::kOverloaded);
  AddErrorDetail(s, "tenant_id", "t");
  AddErrorDetail(s, "retry_after_ms", "1000");
  EXPECT_EQ(RetryAfterMs(s), 1000);
  AddErrorDetail(s, "retry_after_ms", "86400000000");
  EXPECT_EQ(RetryAfterMs(s), 86'400'000'000);
}

TEST(RetryAfterMsTest, NonNumericIsZero) {
  absl::Status s = MakeError(absl::StatusCode::kUnavailable, "m", tag::kNoProviderAvailable);
  AddErrorDetail(s, "retry_after_ms", "soon");
  EXPECT_EQ(RetryAfterMs(s), 0);
}

TEST(ViewConversionTest, RoundTripsBytes) {
  const std::string bytes("a\0b:c", 5);
  absl::string_view av = AbslView(bytes);
  EXPECT_EQ(av.size(), 5u);
  EXPECT_EQ(av.data(), bytes.data());
  std::string_view sv = StdView(av);
  EXPECT_EQ(sv, std::string_view(bytes));
}

}  // namespace
}  // namespace router
