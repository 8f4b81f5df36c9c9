// Tests for trace identifiers and W3C traceparent parsing/formatting (OBS §6.1, §6.2 last
// bullet, §6.5).
#include "obs/tracing/trace_context.h"

#include <gtest/gtest.h>

#include <set>
#include <string>

namespace router::obs {
namespace {

constexpr std::string_view kTrace = "4bf92f3577b34da6a3ce929d0e0e4736";
constexpr std::string_view kSpan = "00f067aa0ba902b7";

std::string Tp(std::string_view version, std::string_view trace, std::string_view span,
               std::string_view flags) {
  return std::string(version) + "-" + std::string(trace) + "-" + std::string(span) + "-" +
         std::string(flags);
}

TEST(TraceparentTest, ParsesVersion00) {
  std::optional<TraceContext> c = ParseTraceparent(Tp("00", kTrace, kSpan, "01"));
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->trace_id.ToHex(), kTrace);
  EXPECT_EQ(c->span_id.ToHex(), kSpan);
  EXPECT_EQ(c->flags, 0x01);
  EXPECT_TRUE(c->sampled());
  EXPECT_TRUE(c->has_flags);
  EXPECT_TRUE(c->remote);
  EXPECT_TRUE(c->tracestate.empty());
}

TEST(TraceparentTest, UnsampledAndUnknownFlagBits) {
  EXPECT_FALSE(ParseTraceparent(Tp("00", kTrace, kSpan, "00"))->sampled());
  std::optional<TraceContext> c = ParseTraceparent(Tp("00", kTrace, kSpan, "03"));
  ASSERT_TRUE(c.has_value());  // unknown bits are ignored, not an error
  EXPECT_TRUE(c->sampled());
  EXPECT_FALSE(ParseTraceparent(Tp("00", kTrace, kSpan, "02"))->sampled());
}

TEST(TraceparentTest, Version00MustBeExactly55Characters) {
  // OBS §6.2: version 00 is exactly 55 characters.
  EXPECT_FALSE(ParseTraceparent(Tp("00", kTrace, kSpan, "01") + "-").has_value());
  EXPECT_FALSE(ParseTraceparent(Tp("00", kTrace, kSpan, "01") + "-extra").has_value());
  EXPECT_FALSE(ParseTraceparent(Tp("00", kTrace, kSpan, "0")).has_value());
  EXPECT_FALSE(ParseTraceparent(Tp("00", kTrace.substr(1), kSpan, "01")).has_value());
  EXPECT_FALSE(ParseTraceparent("").has_value());
}

TEST(TraceparentTest, UppercaseHexIsInvalid) {
  EXPECT_FALSE(ParseTraceparent(Tp("00", "4BF92F3577B34DA6A3CE929D0E0E4736", kSpan, "01")));
  EXPECT_FALSE(ParseTraceparent(Tp("00", kTrace, "00F067AA0BA902B7", "01")));
  EXPECT_FALSE(ParseTraceparent(Tp("00", kTrace, kSpan, "0A")));
  EXPECT_FALSE(ParseTraceparent(Tp("0A", kTrace, kSpan, "01")));
}

TEST(TraceparentTest, AllZeroIdsAreInvalid) {
  EXPECT_FALSE(ParseTraceparent(Tp("00", std::string(32, '0'), kSpan, "01")));
  EXPECT_FALSE(ParseTraceparent(Tp("00", kTrace, std::string(16, '0'), "01")));
}

TEST(TraceparentTest, NonHexAndMisplacedSeparatorsAreInvalid) {
  EXPECT_FALSE(ParseTraceparent(Tp("00", "4bf92f3577b34da6a3ce929d0e0e473g", kSpan, "01")));
  EXPECT_FALSE(ParseTraceparent(Tp("00", kTrace, kSpan, "0x")));
  std::string tp = Tp("00", kTrace, kSpan, "01");
  tp[2] = '_';
  EXPECT_FALSE(ParseTraceparent(tp));
  tp = Tp("00", kTrace, kSpan, "01");
  tp[52] = '.';
  EXPECT_FALSE(ParseTraceparent(tp));
  EXPECT_FALSE(ParseTraceparent(" " + Tp("00", kTrace, kSpan, "01").substr(1)));
}

TEST(TraceparentTest, VersionFfIsInvalid) {
  EXPECT_FALSE(ParseTraceparent(Tp("ff", kTrace, kSpan, "01")));
}

TEST(TraceparentTest, HigherVersionIsParsedByItsFirstFourFields) {
  // W3C level 1 §3.2.4 / OBS §6.2: a higher version may append fields after another dash.
  std::optional<TraceContext> c = ParseTraceparent(Tp("01", kTrace, kSpan, "01") + "-what-ever");
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->trace_id.ToHex(), kTrace);
  EXPECT_EQ(c->span_id.ToHex(), kSpan);
  EXPECT_TRUE(c->sampled());
  EXPECT_TRUE(ParseTraceparent(Tp("cc", kTrace, kSpan, "00")).has_value());
  // ... but only after a dash, and the four fields keep their rules.
  EXPECT_FALSE(ParseTraceparent(Tp("01", kTrace, kSpan, "01") + "x"));
  EXPECT_FALSE(ParseTraceparent(Tp("01", std::string(32, '0'), kSpan, "01") + "-x"));
  EXPECT_FALSE(ParseTraceparent(Tp("01", kTrace, kSpan, "0")));
}

TEST(TraceparentTest, FormatRoundTrips) {
  TraceContext c = *ParseTraceparent(Tp("00", kTrace, kSpan, "01"));
  EXPECT_EQ(FormatTraceparent(c), Tp("00", kTrace, kSpan, "01"));
  c.flags = 0;
  EXPECT_EQ(FormatTraceparent(c), Tp("00", kTrace, kSpan, "00"));
  // OBS §6.5: <flags> carries only the sampling decision.
  c.flags = 0x03;
  EXPECT_EQ(FormatTraceparent(c), Tp("00", kTrace, kSpan, "01"));
  char buf[kTraceparentLength];
  WriteTraceparent(c.trace_id, c.span_id, 0xab, buf);
  EXPECT_EQ(std::string_view(buf, kTraceparentLength), Tp("00", kTrace, kSpan, "ab"));
}

TEST(TraceIdTest, HexRoundTripAndValidity) {
  std::optional<TraceId> id = TraceId::FromHex(kTrace);
  ASSERT_TRUE(id.has_value());
  EXPECT_EQ(id->hi, 0x4bf92f3577b34da6ULL);
  EXPECT_EQ(id->lo, 0xa3ce929d0e0e4736ULL);
  EXPECT_EQ(id->ToHex(), kTrace);
  EXPECT_FALSE(TraceId{}.IsValid());
  EXPECT_FALSE(TraceId::FromHex(std::string(32, '0')));
  EXPECT_FALSE(TraceId::FromHex(kTrace.substr(2)));
  EXPECT_EQ(SpanId::FromHex(kSpan)->value, 0x00f067aa0ba902b7ULL);
  EXPECT_FALSE(SpanId::FromHex("00F067AA0BA902B7"));
}

TEST(TraceIdTest, NewIdsAreValidLowercaseAndDistinct) {
  // OBS §6.1: 32 / 16 lowercase hex, never all zeros.
  std::set<std::string> traces;
  std::set<uint64_t> spans;
  for (int i = 0; i < 2000; ++i) {
    TraceId t = NewTraceId();
    SpanId s = NewSpanId();
    ASSERT_TRUE(t.IsValid());
    ASSERT_TRUE(s.IsValid());
    std::string hex = t.ToHex();
    ASSERT_EQ(hex.size(), 32u);
    ASSERT_EQ(hex.find_first_not_of("0123456789abcdef"), std::string::npos);
    traces.insert(hex);
    spans.insert(s.value);
  }
  EXPECT_EQ(traces.size(), 2000u);
  EXPECT_EQ(spans.size(), 2000u);
}

TEST(LenientTraceIdTest, Accepts32HexAndUuidForms) {
  // OBS §6.1: a trace_id in UUID form is accepted by removing the dashes.
  EXPECT_EQ(ParseTraceIdLenient(kTrace)->ToHex(), kTrace);
  EXPECT_EQ(ParseTraceIdLenient("4bf92f35-77b3-4da6-a3ce-929d0e0e4736")->ToHex(), kTrace);
  // Either case of hex digits; the id in use is lowercase.
  EXPECT_EQ(ParseTraceIdLenient("4BF92F35-77B3-4DA6-A3CE-929D0E0E4736")->ToHex(), kTrace);
  EXPECT_EQ(ParseTraceIdLenient("4BF92F3577B34DA6A3CE929D0E0E4736")->ToHex(), kTrace);
}

TEST(LenientTraceIdTest, RejectsOtherStrings) {
  EXPECT_FALSE(ParseTraceIdLenient("tr-123"));
  EXPECT_FALSE(ParseTraceIdLenient(""));
  EXPECT_FALSE(ParseTraceIdLenient(std::string(32, '0')));
  EXPECT_FALSE(ParseTraceIdLenient("00000000-0000-0000-0000-000000000000"));
  EXPECT_FALSE(ParseTraceIdLenient("4bf92f3577b3-4da6-a3ce-929d0e0e4736-"));  // dashes misplaced
  EXPECT_FALSE(ParseTraceIdLenient("4bf92f35-77b3-4da6-a3ce-929d0e0e473g"));
  EXPECT_FALSE(ParseTraceIdLenient(std::string(kTrace) + "0"));
}

TEST(TracestateTest, ForwardedOnlyUpTo512Bytes) {
  // OBS §6.2: tracestate is forwarded unchanged if at most 512 bytes, otherwise dropped.
  std::string ok(512, 'a');
  EXPECT_EQ(ForwardableTracestate(ok), ok);
  EXPECT_EQ(ForwardableTracestate(ok + "a"), "");
  EXPECT_EQ(ForwardableTracestate("congo=t61rcWkgMzE"), "congo=t61rcWkgMzE");
}

}  // namespace
}  // namespace router::obs
