// Subject helpers: syntax, wildcard matching (§6.1 coverage), rule 16 assignment subjects and
// the `v<N>` version token (§2).

#include "nats/subjects.h"

#include <gtest/gtest.h>

namespace router::nats_adapter {
namespace {

TEST(SubjectsTest, Syntax) {
  EXPECT_TRUE(IsValidSubject("a.b.c", false));
  EXPECT_FALSE(IsValidSubject("", false));
  EXPECT_FALSE(IsValidSubject("a..b", false));
  EXPECT_FALSE(IsValidSubject(".a", false));
  EXPECT_FALSE(IsValidSubject("a.", false));
  EXPECT_FALSE(IsValidSubject("a b", false));
  EXPECT_FALSE(IsValidSubject("a.*", false));
  EXPECT_TRUE(IsValidSubject("a.*", true));
  EXPECT_TRUE(IsValidSubject("a.>", true));
  EXPECT_FALSE(IsValidSubject("a.>.b", true));
  EXPECT_FALSE(IsValidSubject("a.b*", true));
}

TEST(SubjectsTest, AssignmentSubjectRule16) {
  EXPECT_TRUE(IsAllowedAssignmentSubject("caf.exec.assign.v1"));
  EXPECT_FALSE(IsAllowedAssignmentSubject("caf.exec.*"));
  EXPECT_FALSE(IsAllowedAssignmentSubject("caf.>"));
  EXPECT_FALSE(IsAllowedAssignmentSubject("$JS.API.STREAM.LIST"));
  EXPECT_FALSE(IsAllowedAssignmentSubject("_INBOX.abc"));
  EXPECT_FALSE(IsAllowedAssignmentSubject("a\tb"));
  EXPECT_TRUE(IsAllowedAssignmentSubject(std::string(256, 'a')));
  EXPECT_FALSE(IsAllowedAssignmentSubject(std::string(257, 'a')));
}

TEST(SubjectsTest, WildcardMatching) {
  EXPECT_TRUE(SubjectMatches("a.b", "a.b"));
  EXPECT_FALSE(SubjectMatches("a.b", "a.b.c"));
  EXPECT_FALSE(SubjectMatches("a.b.c", "a.b"));
  EXPECT_TRUE(SubjectMatches("a.*", "a.b"));
  EXPECT_FALSE(SubjectMatches("a.*", "a.b.c"));
  EXPECT_TRUE(SubjectMatches("a.*.c", "a.x.c"));
  EXPECT_TRUE(SubjectMatches("a.>", "a.b"));
  EXPECT_TRUE(SubjectMatches("a.>", "a.b.c.d"));
  EXPECT_FALSE(SubjectMatches("a.>", "a"));
  EXPECT_TRUE(SubjectMatches(">", "x"));
  EXPECT_TRUE(SubjectMatches("beamline.router.>", "beamline.router.v1.decide"));
  EXPECT_FALSE(SubjectMatches("beamline.router.v1.decide.dlq", "beamline.router.v1.decide"));
  EXPECT_TRUE(SubjectCovered({"x.y", "caf.exec.assign.*"}, "caf.exec.assign.v2"));
  EXPECT_FALSE(SubjectCovered({}, "a"));
}

TEST(SubjectsTest, VersionToken) {
  EXPECT_EQ(SubjectVersionToken("beamline.router.v1.decide"), std::optional<std::string_view>("1"));
  EXPECT_EQ(SubjectVersionToken("x.v12.y.v3"), std::optional<std::string_view>("12"));
  EXPECT_EQ(SubjectVersionToken("router.decide"), std::nullopt);
  EXPECT_EQ(SubjectVersionToken("router.v.vx.v1a"), std::nullopt);
}

}  // namespace
}  // namespace router::nats_adapter
