// Identifier formats: UUID v4 decision ids (POL §3.3 "decision_id: a lowercase UUID v4"), W3C
// trace ids and traceparent parsing (OBS §6.1-6.2, W3C Trace Context level 1), and the ID pattern
// of tenant_id / policy_id (grpc-api.md §1, POL §0).
#include "service/ids.h"

#include <gtest/gtest.h>

#include <set>
#include <string>

#include "core/random.h"

namespace router::service {
namespace {

constexpr char kTrace[] = "4bf92f3577b34da6a3ce929d0e0e4736";
constexpr char kParent[] = "00f067aa0ba902b7";

std::string Tp(std::string_view version, std::string_view trace = kTrace,
               std::string_view parent = kParent, std::string_view flags = "01") {
  return std::string(version) + "-" + std::string(trace) + "-" + std::string(parent) + "-" +
         std::string(flags);
}

bool IsLowerHexChar(char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); }

class IdsTest : public ::testing::Test {
 protected:
  void SetUp() override { core::ReseedThisThreadForTest(7); }
  void TearDown() override { core::SetGlobalSeed(0); }
};

TEST_F(IdsTest, NewUuidV4IsLowercaseRfc4122Version4) {
  std::set<std::string> seen;
  for (int i = 0; i < 2000; ++i) {
    const std::string id = NewUuidV4();
    ASSERT_EQ(id.size(), 36u) << id;
    for (size_t j = 0; j < id.size(); ++j) {
      if (j == 8 || j == 13 || j == 18 || j == 23) {
        ASSERT_EQ(id[j], '-') << id;
      } else {
        ASSERT_TRUE(IsLowerHexChar(id[j])) << id;
      }
    }
    ASSERT_EQ(id[14], '4') << "version nibble: " << id;
    ASSERT_NE(std::string("89ab").find(id[19]), std::string::npos) << "variant: " << id;
    seen.insert(id);
  }
  EXPECT_EQ(seen.size(), 2000u);
}

TEST_F(IdsTest, NewUuidV4VariesTheRandomNibbles) {
  // Every non-fixed position takes more than one value across draws (no stuck bits per nibble).
  std::set<char> per_position[36];
  for (int i = 0; i < 500; ++i) {
    const std::string id = NewUuidV4();
    for (size_t j = 0; j < id.size(); ++j) per_position[j].insert(id[j]);
  }
  for (size_t j = 0; j < 36; ++j) {
    if (j == 8 || j == 13 || j == 14 || j == 18 || j == 23) continue;
    EXPECT_GT(per_position[j].size(), 1u) << "position " << j;
  }
  EXPECT_EQ(per_position[19].size(), 4u);  // 8, 9, a, b
}

// decision_id / assignment_id never follow the configured decide.rng_seed: two replicas (or a
// restart) with one seed would otherwise draw the same assignment_id, which JetStream's
// duplicate window then drops (nats-contracts.md §6.2: Nats-Msg-Id = assignment_id).
TEST_F(IdsTest, IdsDoNotFollowTheDecisionSeed) {
  core::SetGlobalSeed(42);
  const std::string first_uuid = NewUuidV4();
  const std::string first_trace = NewTraceId();
  const uint64_t first_draw = core::NextU64();
  core::SetGlobalSeed(42);  // the same seed again: the weighted draw repeats, ids do not
  EXPECT_EQ(core::NextU64(), first_draw);
  EXPECT_NE(NewUuidV4(), first_uuid);
  EXPECT_NE(NewTraceId(), first_trace);
}

TEST_F(IdsTest, NewTraceIdIsValidAndFresh) {
  std::set<std::string> seen;
  for (int i = 0; i < 2000; ++i) {
    const std::string id = NewTraceId();
    ASSERT_EQ(id.size(), 32u);
    ASSERT_TRUE(IsValidTraceId(id)) << id;
    seen.insert(id);
  }
  EXPECT_EQ(seen.size(), 2000u);
}

TEST(IsValidIdTest, AcceptsThePattern) {
  EXPECT_TRUE(IsValidId("a"));
  EXPECT_TRUE(IsValidId("default"));
  EXPECT_TRUE(IsValidId("Tenant_1.prod-eu"));
  EXPECT_TRUE(IsValidId("0"));
  EXPECT_TRUE(IsValidId("..."));
  EXPECT_TRUE(IsValidId(".a"));
  EXPECT_TRUE(IsValidId("a.."));
  EXPECT_TRUE(IsValidId("-_-"));
  EXPECT_TRUE(IsValidId(std::string(255, 'x')));
}

TEST(IsValidIdTest, RejectsEverythingElse) {
  EXPECT_FALSE(IsValidId(""));
  EXPECT_FALSE(IsValidId("."));
  EXPECT_FALSE(IsValidId(".."));
  EXPECT_FALSE(IsValidId(std::string(256, 'x')));
  EXPECT_FALSE(IsValidId("a b"));
  EXPECT_FALSE(IsValidId("a/b"));
  EXPECT_FALSE(IsValidId("a:b"));
  EXPECT_FALSE(IsValidId("a\nb"));
  EXPECT_FALSE(IsValidId(std::string("a\0b", 3)));
  EXPECT_FALSE(IsValidId("caf\xc3\xa9"));
  EXPECT_FALSE(IsValidId("a*"));
}

TEST(IsValidTraceIdTest, ThirtyTwoLowercaseHexNotAllZero) {
  EXPECT_TRUE(IsValidTraceId(kTrace));
  EXPECT_TRUE(IsValidTraceId("00000000000000000000000000000001"));
  EXPECT_FALSE(IsValidTraceId("00000000000000000000000000000000"));
  EXPECT_FALSE(IsValidTraceId("4BF92F3577B34DA6A3CE929D0E0E4736"));
  EXPECT_FALSE(IsValidTraceId("4bf92f3577b34da6a3ce929d0e0e473"));
  EXPECT_FALSE(IsValidTraceId("4bf92f3577b34da6a3ce929d0e0e47360"));
  EXPECT_FALSE(IsValidTraceId("4bf92f3577b34da6a3ce929d0e0e473g"));
  EXPECT_FALSE(IsValidTraceId("4bf92f35-77b3-4da6-a3ce-929d0e0e"));
  EXPECT_FALSE(IsValidTraceId(""));
}

TEST(TraceparentTest, Version00) {
  const std::string tp = Tp("00");
  ASSERT_EQ(tp.size(), 55u);
  EXPECT_EQ(TraceIdFromTraceparent(tp), kTrace);
  EXPECT_EQ(TraceIdFromTraceparent(Tp("00", kTrace, kParent, "00")), kTrace);
}

TEST(TraceparentTest, Version00MustBeExactly55Characters) {
  EXPECT_EQ(TraceIdFromTraceparent(Tp("00") + "-"), "");
  EXPECT_EQ(TraceIdFromTraceparent(Tp("00") + "-extra"), "");
  EXPECT_EQ(TraceIdFromTraceparent(Tp("00").substr(0, 54)), "");
  EXPECT_EQ(TraceIdFromTraceparent(""), "");
}

TEST(TraceparentTest, VersionFfIsInvalid) { EXPECT_EQ(TraceIdFromTraceparent(Tp("ff")), ""); }

TEST(TraceparentTest, FutureVersionsAreParsedByTheirFirstFourFields) {
  EXPECT_EQ(TraceIdFromTraceparent(Tp("01")), kTrace);
  EXPECT_EQ(TraceIdFromTraceparent(Tp("cc")), kTrace);
  EXPECT_EQ(TraceIdFromTraceparent(Tp("01") + "-what-the-future-brings"), kTrace);
  EXPECT_EQ(TraceIdFromTraceparent(Tp("fe") + "-x"), kTrace);
}

TEST(TraceparentTest, FutureVersionLongerHeaderNeedsADashAfterFlags) {
  // W3C Trace Context §3.2.4 (versioning): for a higher version, if the header is longer than 55
  // characters the character at index 55 MUST be "-"; otherwise the header is invalid. OBS §6.2:
  // "a higher version (not ff) is parsed by its first four fields" - "01x" is not a flags field.
  EXPECT_EQ(TraceIdFromTraceparent(Tp("01") + "x"), "");
  EXPECT_EQ(TraceIdFromTraceparent(Tp("01") + "0"), "");
}

TEST(TraceparentTest, AllZeroIdsAreInvalid) {
  EXPECT_EQ(TraceIdFromTraceparent(Tp("00", "00000000000000000000000000000000")), "");
  EXPECT_EQ(TraceIdFromTraceparent(Tp("00", kTrace, "0000000000000000")), "");
}

TEST(TraceparentTest, UppercaseHexIsInvalid) {
  EXPECT_EQ(TraceIdFromTraceparent(Tp("00", "4BF92F3577B34DA6A3CE929D0E0E4736")), "");
  EXPECT_EQ(TraceIdFromTraceparent(Tp("00", kTrace, "00F067AA0BA902B7")), "");
  EXPECT_EQ(TraceIdFromTraceparent(Tp("00", kTrace, kParent, "0A")), "");
  EXPECT_EQ(TraceIdFromTraceparent(Tp("0A")), "");
}

TEST(TraceparentTest, MalformedFieldsAreInvalid) {
  EXPECT_EQ(TraceIdFromTraceparent(Tp("0g")), "");
  EXPECT_EQ(TraceIdFromTraceparent(Tp("00", kTrace, kParent, "0x")), "");
  EXPECT_EQ(TraceIdFromTraceparent(Tp("00", "4bf92f3577b34da6a3ce929d0e0e473z")), "");
  EXPECT_EQ(TraceIdFromTraceparent(Tp("00", kTrace, "00f067aa0ba902bz")), "");
  // Wrong separators.
  std::string tp = Tp("00");
  tp[2] = '_';
  EXPECT_EQ(TraceIdFromTraceparent(tp), "");
  tp = Tp("00");
  tp[35] = '_';
  EXPECT_EQ(TraceIdFromTraceparent(tp), "");
  tp = Tp("00");
  tp[52] = '_';
  EXPECT_EQ(TraceIdFromTraceparent(tp), "");
  // Field widths shifted while the total length stays 55.
  EXPECT_EQ(TraceIdFromTraceparent("00-4bf92f3577b34da6a3ce929d0e0e47360-0f067aa0ba902b7-01"), "");
  EXPECT_EQ(TraceIdFromTraceparent("garbage"), "");
}

}  // namespace
}  // namespace router::service
