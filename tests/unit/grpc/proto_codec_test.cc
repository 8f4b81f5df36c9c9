// Raw-bytes request decoding and header access of the gRPC adapter (grpc-api.md §1: handlers
// take raw bytes so a decode failure yields the spec's INVALID_ARGUMENT; request headers table:
// x-correlation-id else correlation-id, ignored if > 256 bytes).
#include "grpc/proto_codec.h"

#include <grpcpp/grpcpp.h>
#include <grpcpp/test/server_context_test_spouse.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "beamline/flow/v1/flow.pb.h"

namespace router::grpc_adapter {
namespace {

::grpc::ByteBuffer BufferOf(const std::string& bytes) {
  ::grpc::Slice slice(bytes.data(), bytes.size());
  return ::grpc::ByteBuffer(&slice, 1);
}

beamline::flow::v1::RouteRequest SampleRequest() {
  beamline::flow::v1::RouteRequest req;
  req.mutable_message()->set_tenant_id("t1");
  req.mutable_message()->set_payload(std::string("\x00\xff\x01", 3));
  req.set_policy_id("p1");
  (*req.mutable_context())["session_id"] = "s1";
  return req;
}

TEST(DecodeRequestTest, GarbageIsRejected) {
  for (const std::string& bytes :
       {std::string("\xff\xff\xff\xff\xff", 5),
        std::string("\x0a\x05"
                    "ab",
                    4),
        std::string("\x12\x80", 2), std::string("not a protobuf at all")}) {
    beamline::flow::v1::RouteRequest req;
    ::grpc::ByteBuffer buffer = BufferOf(bytes);
    EXPECT_FALSE(DecodeRequest(&buffer, &req)) << testing::PrintToString(bytes);
  }
}

TEST(DecodeRequestTest, InvalidUtf8InAStringFieldIsRejected) {
  // RouteRequest.policy_id (field 2, string) = 0xff.
  beamline::flow::v1::RouteRequest req;
  ::grpc::ByteBuffer buffer = BufferOf(std::string("\x12\x01\xff", 3));
  EXPECT_FALSE(DecodeRequest(&buffer, &req));
}

TEST(DecodeRequestTest, EmptyBodyIsAnEmptyMessage) {
  beamline::flow::v1::RouteRequest req = SampleRequest();
  ::grpc::ByteBuffer empty_slice = BufferOf("");
  EXPECT_TRUE(DecodeRequest(&empty_slice, &req));
  EXPECT_FALSE(req.has_message());
  EXPECT_EQ(req.policy_id(), "");

  req = SampleRequest();
  ::grpc::ByteBuffer invalid;  // no slices at all
  EXPECT_TRUE(DecodeRequest(&invalid, &req));
  EXPECT_FALSE(req.has_message());

  req = SampleRequest();
  EXPECT_TRUE(DecodeRequest(nullptr, &req));
  EXPECT_FALSE(req.has_message());
  EXPECT_TRUE(req.context().empty());
}

TEST(DecodeRequestTest, RoundTripsThroughEncodeResponse) {
  const beamline::flow::v1::RouteRequest sent = SampleRequest();
  ::grpc::ByteBuffer buffer;
  ASSERT_TRUE(EncodeResponse(sent, &buffer));
  beamline::flow::v1::RouteRequest got;
  ASSERT_TRUE(DecodeRequest(&buffer, &got));
  EXPECT_EQ(got.SerializeAsString(), sent.SerializeAsString());
  EXPECT_EQ(got.message().tenant_id(), "t1");
  EXPECT_EQ(got.context().at("session_id"), "s1");
}

TEST(DecodeRequestTest, SplitBuffersAreRead) {
  const std::string bytes = SampleRequest().SerializeAsString();
  ASSERT_GT(bytes.size(), 4u);
  ::grpc::Slice slices[2] = {::grpc::Slice(bytes.data(), 3),
                             ::grpc::Slice(bytes.data() + 3, bytes.size() - 3)};
  ::grpc::ByteBuffer buffer(slices, 2);
  beamline::flow::v1::RouteRequest got;
  ASSERT_TRUE(DecodeRequest(&buffer, &got));
  EXPECT_EQ(got.SerializeAsString(), bytes);
}

class HeadersTest : public ::testing::Test {
 protected:
  void Add(const std::string& key, const std::string& value) {
    spouse_.AddClientMetadata(key, value);
  }

  ::grpc::ServerContext context_;
  ::grpc::testing::ServerContextTestSpouse spouse_{&context_};
};

TEST_F(HeadersTest, HeaderValuesInArrivalOrder) {
  Add("x-api-key", "first");
  Add("x-tenant-id", "t1");
  Add("x-api-key", "second");
  EXPECT_EQ(HeaderValues(context_, "x-api-key"), (std::vector<std::string>{"first", "second"}));
  EXPECT_EQ(HeaderValues(context_, "x-tenant-id"), (std::vector<std::string>{"t1"}));
  EXPECT_TRUE(HeaderValues(context_, "authorization").empty());
  EXPECT_EQ(FirstHeader(context_, "x-api-key"), "first");
  EXPECT_EQ(FirstHeader(context_, "x-user-id"), "");
}

TEST_F(HeadersTest, CorrelationIdPrefersTheXHeader) {
  Add("correlation-id", "plain");
  EXPECT_EQ(CorrelationId(context_), "plain");
  Add("x-correlation-id", "prefixed");
  EXPECT_EQ(CorrelationId(context_), "prefixed");
}

TEST_F(HeadersTest, CorrelationIdAbsent) { EXPECT_EQ(CorrelationId(context_), ""); }

TEST_F(HeadersTest, CorrelationIdUpTo256Bytes) {
  Add("x-correlation-id", std::string(256, 'c'));
  EXPECT_EQ(CorrelationId(context_), std::string(256, 'c'));
}

TEST_F(HeadersTest, CorrelationIdOver256BytesIsIgnored) {
  Add("x-correlation-id", std::string(257, 'c'));
  EXPECT_EQ(CorrelationId(context_), "");
}

}  // namespace
}  // namespace router::grpc_adapter
