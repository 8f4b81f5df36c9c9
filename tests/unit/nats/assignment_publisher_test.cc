// AssignmentPublisher's pure parts: the PubAck body classification and the reply-subject
// suffix that names an attempt (nats-contracts.md §6.2). The publish path itself runs against
// a real nats-server in tests/integration (nats_assignment_test.cc, nats_reconnect_test.cc).

#include "nats/assignment_publisher.h"

#include <gtest/gtest.h>

#include <string>

namespace router::nats_adapter {
namespace {

TEST(PubAckTest, StoredAndDuplicate) {
  PubAckResult r = ParsePubAck(R"({"stream":"CAF_ASSIGNMENTS","seq":48213})");
  EXPECT_TRUE(r.ok);
  EXPECT_FALSE(r.duplicate);
  EXPECT_EQ(r.stream_seq, 48213u);
  r = ParsePubAck(R"({"stream":"CAF_ASSIGNMENTS","domain":"d","seq":7,"duplicate":true})");
  EXPECT_TRUE(r.ok);
  EXPECT_TRUE(r.duplicate);
  EXPECT_EQ(r.stream_seq, 7u);
}

TEST(PubAckTest, JetStreamErrorsAreClassified) {
  PubAckResult r =
      ParsePubAck(R"({"error":{"code":404,"err_code":10059,"description":"stream not found"}})");
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.error, PublishError::kStreamNotFound);
  r = ParsePubAck(
      R"({"error":{"code":503,"err_code":10077,"description":"maximum messages exceeded"}})");
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.error, PublishError::kLimitReached);
  r = ParsePubAck(R"({"error":{"code":500,"description":"no err_code"}})");
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.error, PublishError::kApiError);
}

TEST(PubAckTest, MalformedRepliesAreApiErrors) {
  for (const char* body : {"", "{", "[]", "{\"seq\":1}", "{\"stream\":\"S\"}",
                           "{\"stream\":\"\",\"seq\":1}", "{\"stream\":\"S\",\"seq\":-1}"}) {
    PubAckResult r = ParsePubAck(body);
    EXPECT_FALSE(r.ok) << body;
    EXPECT_EQ(r.error, PublishError::kApiError) << body;
  }
}

TEST(PubAckReplySuffixTest, SubjectSafeIdsAreCarriedAsIs) {
  const std::string id = "0b6c7a52-3f5e-4c1e-9a43-5d1f2e8b9c70";
  const std::string suffix = PubAckReplySuffix(42, id);
  EXPECT_EQ(suffix, "42.i" + id);
  uint64_t token = 0;
  std::string back;
  ASSERT_TRUE(ParsePubAckReplySuffix(suffix, &token, &back));
  EXPECT_EQ(token, 42u);
  EXPECT_EQ(back, id);
}

TEST(PubAckReplySuffixTest, OtherIdsAreHexEncoded) {
  for (const std::string& id :
       {std::string("a.b c*>"), std::string("\x01\xff", 2), std::string("")}) {
    const std::string suffix = PubAckReplySuffix(18446744073709551615u, id);
    EXPECT_EQ(suffix.find_first_of(" *>\r\n\t", 0), std::string::npos) << suffix;
    EXPECT_EQ(suffix.find('.', suffix.find('.') + 1), std::string::npos) << suffix;
    uint64_t token = 0;
    std::string back = "junk";
    ASSERT_TRUE(ParsePubAckReplySuffix(suffix, &token, &back)) << suffix;
    EXPECT_EQ(token, 18446744073709551615u);
    EXPECT_EQ(back, id);
  }
}

TEST(PubAckReplySuffixTest, ForeignSubjectsAreRejected) {
  uint64_t token = 0;
  std::string id;
  for (const char* s : {"", "42", "42.", "x.iabc", "42.q0b6c", "42.xabc", "42.xzz", "42.ia.b",
                        "-1.iabc", "99999999999999999999.iabc", "0.iabc", "042.iabc"}) {
    EXPECT_FALSE(ParsePubAckReplySuffix(s, &token, &id)) << s;
  }
}

}  // namespace
}  // namespace router::nats_adapter
