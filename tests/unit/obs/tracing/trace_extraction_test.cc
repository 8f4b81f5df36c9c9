// Tests for trace-context extraction order and skip counting (OBS §6.2, grpc-api §2,
// nats-contracts §2).
#include "obs/tracing/trace_extraction.h"

#include <gtest/gtest.h>

#include <map>
#include <string>

namespace router::obs {
namespace {

constexpr std::string_view kTpA = "00-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa-1111111111111111-01";
constexpr std::string_view kTpB = "00-bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb-2222222222222222-00";
constexpr std::string_view kTraceC = "cccccccccccccccccccccccccccccccc";
constexpr std::string_view kTraceD = "dddddddddddddddddddddddddddddddd";
constexpr std::string_view kBadTp = "00-AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA-1111111111111111-01";

class GrpcExtractionTest : public ::testing::Test {
 protected:
  ExtractedTrace Extract(std::string_view traceparent, std::string_view tracestate,
                         std::string_view message_trace_id) {
    return ExtractGrpcTrace(
        traceparent, tracestate,
        [&](std::string_view key) -> std::optional<std::string_view> {
          auto it = context_.find(std::string(key));
          if (it == context_.end()) return std::nullopt;
          return std::string_view(it->second);
        },
        message_trace_id);
  }

  std::map<std::string, std::string> context_;
};

TEST_F(GrpcExtractionTest, MetadataTraceparentWinsOverEverything) {
  context_ = {{"traceparent", std::string(kTpB)}, {"trace_id", std::string(kTraceC)}};
  ExtractedTrace t = Extract(kTpA, "vendor=x", kTraceD);
  EXPECT_EQ(t.source, TraceSource::kMetadataTraceparent);
  EXPECT_EQ(t.context.trace_id.ToHex(), std::string(32, 'a'));
  EXPECT_EQ(t.context.span_id.ToHex(), "1111111111111111");
  EXPECT_TRUE(t.context.has_flags);
  EXPECT_TRUE(t.context.sampled());
  EXPECT_EQ(t.context.tracestate, "vendor=x");
  EXPECT_EQ(t.invalid_sources, 0);
}

TEST_F(GrpcExtractionTest, InvalidMetadataIsSkippedAndCounted) {
  context_ = {{"traceparent", std::string(kTpB)}, {"tracestate", "ctx=1"}};
  ExtractedTrace t = Extract(kBadTp, "vendor=x", "");
  EXPECT_EQ(t.source, TraceSource::kContextTraceparent);
  EXPECT_EQ(t.context.trace_id.ToHex(), std::string(32, 'b'));
  EXPECT_FALSE(t.context.sampled());
  // tracestate travels with its own carrier: the metadata one belonged to the invalid header.
  EXPECT_EQ(t.context.tracestate, "ctx=1");
  EXPECT_EQ(t.invalid_sources, 1);
}

TEST_F(GrpcExtractionTest, TraceParentAliasIsTriedAfterTraceparent) {
  context_ = {{"traceparent", "garbage"}, {"trace-parent", std::string(kTpB)}};
  ExtractedTrace t = Extract("", "", "");
  EXPECT_EQ(t.source, TraceSource::kContextTraceparent);
  EXPECT_EQ(t.context.trace_id.ToHex(), std::string(32, 'b'));
  EXPECT_EQ(t.invalid_sources, 1);

  context_ = {{"trace-parent", std::string(kTpA)}};
  t = Extract("", "", "");
  EXPECT_EQ(t.source, TraceSource::kContextTraceparent);
  EXPECT_EQ(t.context.trace_id.ToHex(), std::string(32, 'a'));
  EXPECT_EQ(t.invalid_sources, 0);
}

TEST_F(GrpcExtractionTest, ContextTraceIdWithSpanIdAsParent) {
  context_ = {{"trace_id", std::string(kTraceC)}, {"span_id", "3333333333333333"}};
  ExtractedTrace t = Extract("", "", kTraceD);
  EXPECT_EQ(t.source, TraceSource::kContextTraceId);
  EXPECT_EQ(t.context.trace_id.ToHex(), kTraceC);
  EXPECT_EQ(t.context.span_id.ToHex(), "3333333333333333");
  EXPECT_FALSE(t.context.has_flags);  // no trace-flags: sampling falls back to the ratio
  EXPECT_EQ(t.invalid_sources, 0);
}

TEST_F(GrpcExtractionTest, ContextTraceIdAliasesInOrder) {
  for (std::string_view key : kContextTraceIdKeys) {
    context_ = {{std::string(key), std::string(kTraceC)}};
    ExtractedTrace t = Extract("", "", kTraceD);
    EXPECT_EQ(t.source, TraceSource::kContextTraceId) << key;
    EXPECT_EQ(t.context.trace_id.ToHex(), kTraceC) << key;
    EXPECT_FALSE(t.context.HasParentSpan()) << key;
  }
  // An invalid alias is skipped and counted; the next valid one wins.
  context_ = {{"trace_id", "nope"}, {"X-Trace-Id", "cccccccc-cccc-cccc-cccc-cccccccccccc"}};
  ExtractedTrace t = Extract("", "", kTraceD);
  EXPECT_EQ(t.source, TraceSource::kContextTraceId);
  EXPECT_EQ(t.context.trace_id.ToHex(), kTraceC);
  EXPECT_EQ(t.invalid_sources, 1);
}

TEST_F(GrpcExtractionTest, InvalidSpanIdIsCountedAndIgnored) {
  context_ = {{"trace_id", std::string(kTraceC)}, {"span_id", "0000000000000000"}};
  ExtractedTrace t = Extract("", "", "");
  EXPECT_EQ(t.source, TraceSource::kContextTraceId);
  EXPECT_EQ(t.context.trace_id.ToHex(), kTraceC);
  EXPECT_FALSE(t.context.HasParentSpan());
  EXPECT_EQ(t.invalid_sources, 1);
}

TEST_F(GrpcExtractionTest, MessageTraceIdIsTheLastSource) {
  ExtractedTrace t = Extract("", "", "dddddddd-dddd-dddd-dddd-dddddddddddd");
  EXPECT_EQ(t.source, TraceSource::kMessageTraceId);
  EXPECT_EQ(t.context.trace_id.ToHex(), kTraceD);
  EXPECT_FALSE(t.context.HasParentSpan());
}

TEST_F(GrpcExtractionTest, EverySourceInvalidGivesNewRootAndCountsAll) {
  context_ = {{"traceparent", "x"},
              {"trace-parent", "y"},
              {"trace_id", "z"},
              {"traceId", std::string(32, '0')}};
  ExtractedTrace t = Extract(kBadTp, "", "tr-123");
  EXPECT_EQ(t.source, TraceSource::kNewRoot);
  EXPECT_TRUE(t.context.trace_id.IsValid());
  EXPECT_FALSE(t.context.HasParentSpan());
  EXPECT_FALSE(t.context.has_flags);
  EXPECT_EQ(t.invalid_sources, 6);
}

TEST_F(GrpcExtractionTest, EmptyValuesAreAbsentNotInvalid) {
  context_ = {{"traceparent", ""}, {"trace_id", ""}};
  ExtractedTrace t = Extract("", "", "");
  EXPECT_EQ(t.source, TraceSource::kNewRoot);
  EXPECT_EQ(t.invalid_sources, 0);
}

TEST_F(GrpcExtractionTest, OversizedTracestateIsDropped) {
  ExtractedTrace t = Extract(kTpA, std::string(513, 'x'), "");
  EXPECT_EQ(t.source, TraceSource::kMetadataTraceparent);
  EXPECT_TRUE(t.context.tracestate.empty());
}

TEST(NatsDecideExtractionTest, HeaderThenPayloadThenNewRoot) {
  ExtractedTrace t = ExtractNatsDecideTrace(kTpA, "s=1", kTraceC);
  EXPECT_EQ(t.source, TraceSource::kHeaderTraceparent);
  EXPECT_EQ(t.context.tracestate, "s=1");

  t = ExtractNatsDecideTrace("bad", "s=1", kTraceC);
  EXPECT_EQ(t.source, TraceSource::kPayloadTraceId);
  EXPECT_EQ(t.context.trace_id.ToHex(), kTraceC);
  EXPECT_TRUE(t.context.tracestate.empty());
  EXPECT_EQ(t.invalid_sources, 1);

  t = ExtractNatsDecideTrace("", "", "");
  EXPECT_EQ(t.source, TraceSource::kNewRoot);
  EXPECT_FALSE(t.trace_id_nonconforming);
}

TEST(NatsDecideExtractionTest, NonconformingPayloadTraceIdIsFlaggedNotInvalid) {
  // OBS §6.2 / nats-contracts scenario 9: "tr-123" is accepted, counted, and a fresh id is used.
  ExtractedTrace t = ExtractNatsDecideTrace("", "", "tr-123");
  EXPECT_EQ(t.source, TraceSource::kNewRoot);
  EXPECT_TRUE(t.trace_id_nonconforming);
  EXPECT_EQ(t.invalid_sources, 0);
  EXPECT_TRUE(t.context.trace_id.IsValid());
}

TEST(ResultExtractionTest, FollowsSpecOrder) {
  TraceContext record = *ParseTraceparent(kTpB);
  record.remote = false;
  // header traceparent
  EXPECT_EQ(ExtractResultTrace(kTpA, "", kTraceC, kTraceD, &record).source,
            TraceSource::kHeaderTraceparent);
  // -> header trace_id
  ExtractedTrace t = ExtractResultTrace("junk", "", kTraceC, kTraceD, &record);
  EXPECT_EQ(t.source, TraceSource::kHeaderTraceId);
  EXPECT_EQ(t.context.trace_id.ToHex(), kTraceC);
  EXPECT_EQ(t.invalid_sources, 1);
  // -> payload trace_id
  t = ExtractResultTrace("", "", "", kTraceD, &record);
  EXPECT_EQ(t.source, TraceSource::kPayloadTraceId);
  EXPECT_EQ(t.context.trace_id.ToHex(), kTraceD);
  // -> correlation record: parent = the publish span, its flags kept
  t = ExtractResultTrace("", "", "bad", "tr-9", &record);
  EXPECT_EQ(t.source, TraceSource::kCorrelationRecord);
  EXPECT_EQ(t.context.trace_id.ToHex(), std::string(32, 'b'));
  EXPECT_EQ(t.context.span_id.ToHex(), "2222222222222222");
  EXPECT_TRUE(t.context.has_flags);
  EXPECT_TRUE(t.context.remote);
  EXPECT_EQ(t.invalid_sources, 1);
  EXPECT_TRUE(t.trace_id_nonconforming);
  // -> new root
  t = ExtractResultTrace("", "", "", "", nullptr);
  EXPECT_EQ(t.source, TraceSource::kNewRoot);
  EXPECT_TRUE(t.context.trace_id.IsValid());
}

TEST(TraceSourceTest, NamesAreStable) {
  EXPECT_EQ(ToString(TraceSource::kNewRoot), "new_root");
  EXPECT_EQ(ToString(TraceSource::kContextTraceId), "context_trace_id");
  EXPECT_EQ(ToString(TraceSource::kCorrelationRecord), "correlation_record");
}

}  // namespace
}  // namespace router::obs
