// EncodedMsg: the header block encoding and the one-allocation message constructor read back
// through cnats' public API (no server needed).

#include "nats/encoded_msg.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <cstring>
#include <string>

namespace router::nats_adapter {
namespace {

std::string Header(natsMsg* m, const char* key) {
  const char* v = nullptr;
  if (natsMsgHeader_Get(m, key, &v) != NATS_OK || v == nullptr) return "<absent>";
  return v;
}

int HeaderCount(natsMsg* m) {
  const char** keys = nullptr;
  int n = 0;
  if (natsMsgHeader_Keys(m, &keys, &n) != NATS_OK) return -1;
  std::free(keys);
  return n;
}

class EncodedMsgTest : public ::testing::Test {
 protected:
  // Messages built by natsMsg_create are freed through cnats' GC thread.
  static void SetUpTestSuite() { ASSERT_EQ(nats_Open(-1), NATS_OK); }
};

TEST_F(EncodedMsgTest, EncodesTheBlockThenTheBody) {
  std::string out = "stale";
  const size_t header_len = EncodeHeaderBlockAndBody(
      {{"tenant_id", "t1"}, {"v", "a\r\nb"}, {"empty", ""}}, "id-9", "{}", out);
  EXPECT_EQ(out, "NATS/1.0\r\nNats-Msg-Id: id-9\r\ntenant_id: t1\r\nv: a  b\r\n\r\n{}");
  EXPECT_EQ(header_len, out.size() - 2);
}

TEST_F(EncodedMsgTest, MsgIdFromTheListIsNotRepeated) {
  std::string out;
  EncodeHeaderBlockAndBody({{"x", "1"}, {"Nats-Msg-Id", "from-list"}}, "id-9", "", out);
  EXPECT_EQ(out, "NATS/1.0\r\nx: 1\r\nNats-Msg-Id: from-list\r\n\r\n");
  EncodeHeaderBlockAndBody({}, "", "body", out);
  EXPECT_EQ(out, "NATS/1.0\r\n\r\nbody");
}

TEST_F(EncodedMsgTest, FastPathIsOnWhenTheBuildFoundIt) {
#ifdef ROUTER_NATS_ENCODED_MSG
  EXPECT_TRUE(EncodedMsgFastPath()) << "natsMsg_create linked but failed the self-check";
#else
  EXPECT_FALSE(EncodedMsgFastPath());
#endif
}

TEST_F(EncodedMsgTest, MessageReadsBackThroughThePublicApi) {
  natsMsg* m = nullptr;
  const std::string body = "{\"assignment_id\":\"a-1\"}";
  ASSERT_EQ(CreateEncodedMsg(&m, "caf.exec.assign.v1.openai",
                             {{"tenant_id", "t-1"},
                              {"traceparent", "00-abc-def-00"},
                              {"trace_id", "x\ny"},
                              {"empty", ""}},
                             "a-1", body),
            NATS_OK);
  ASSERT_NE(m, nullptr);
  EXPECT_STREQ(natsMsg_GetSubject(m), "caf.exec.assign.v1.openai");
  EXPECT_EQ(natsMsg_GetReply(m), nullptr);
  ASSERT_EQ(natsMsg_GetDataLength(m), static_cast<int>(body.size()));
  EXPECT_EQ(std::string(natsMsg_GetData(m), body.size()), body);
  EXPECT_EQ(HeaderCount(m), 4);
  EXPECT_EQ(Header(m, "Nats-Msg-Id"), "a-1");
  EXPECT_EQ(Header(m, "tenant_id"), "t-1");
  EXPECT_EQ(Header(m, "traceparent"), "00-abc-def-00");
  EXPECT_EQ(Header(m, "trace_id"), "x y");
  EXPECT_EQ(Header(m, "empty"), "<absent>");  // left out: cnats mis-parses empty values
  natsMsg_Destroy(m);
}

TEST_F(EncodedMsgTest, RepeatedKeyKeepsEveryValue) {
  natsMsg* m = nullptr;
  ASSERT_EQ(CreateEncodedMsg(&m, "s", {{"k", "1"}, {"k", "2"}}, "", "{}"), NATS_OK);
  const char** values = nullptr;
  int n = 0;
  ASSERT_EQ(natsMsgHeader_Values(m, "k", &values, &n), NATS_OK);
  ASSERT_EQ(n, 2);
  EXPECT_STREQ(values[0], "1");
  EXPECT_STREQ(values[1], "2");
  std::free(values);
  natsMsg_Destroy(m);
}

TEST_F(EncodedMsgTest, EmptySubjectIsRefused) {
  natsMsg* m = reinterpret_cast<natsMsg*>(1);
  EXPECT_NE(CreateEncodedMsg(&m, "", {}, "a-1", "{}"), NATS_OK);
  EXPECT_EQ(m, nullptr);
}

}  // namespace
}  // namespace router::nats_adapter
