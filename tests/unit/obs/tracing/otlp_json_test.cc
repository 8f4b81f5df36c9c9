// Tests for the OTLP JSON encoding (OBS §6.6) and endpoint / response helpers.
#include "obs/tracing/otlp_json.h"

#include <gtest/gtest.h>
#include <rapidjson/document.h>

#include <cmath>
#include <string>

#include "obs/tracing/otlp_http_exporter.h"

namespace router::obs {
namespace {

rapidjson::Document Parse(const std::string& json) {
  rapidjson::Document doc;
  doc.Parse(json.c_str(), json.size());
  EXPECT_FALSE(doc.HasParseError()) << json;
  return doc;
}

std::string Quoted(std::string_view s) {
  std::string out;
  AppendJsonString(s, out);
  return out;
}

TEST(JsonStringTest, EscapesAndKeepsValidUtf8) {
  EXPECT_EQ(Quoted("plain"), "\"plain\"");
  EXPECT_EQ(Quoted("a\"b\\c"), "\"a\\\"b\\\\c\"");
  EXPECT_EQ(Quoted("\n\r\t\x01\x7f"), "\"\\n\\r\\t\\u0001\\u007f\"");
  EXPECT_EQ(Quoted("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"),
            "\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\"");
}

TEST(JsonStringTest, InvalidUtf8BecomesReplacementCharacter) {
  EXPECT_EQ(Quoted("a\xff"
                   "b"),
            "\"a\\ufffdb\"");
  EXPECT_EQ(Quoted("\xc3"), "\"\\ufffd\"");                        // truncated sequence
  EXPECT_EQ(Quoted("\xc0\xaf"), "\"\\ufffd\\ufffd\"");             // overlong
  EXPECT_EQ(Quoted("\xed\xa0\x80"), "\"\\ufffd\\ufffd\\ufffd\"");  // surrogate
  EXPECT_EQ(Quoted(std::string_view("\0", 1)), "\"\\u0000\"");
}

TEST(ResourceAttributesTest, FixedKeysFirstAndNotOverridden) {
  TracingOptions o;
  o.service_name = "svc";
  o.service_version = "1.2.3";
  o.service_instance_id = "node-a";
  o.host_name = "host-1";
  o.resource_attributes = {{"deployment.environment", "prod"}, {"service.name", "evil"}};
  AttributeList attrs = ResourceAttributes(o);
  AttributeList expected = {{"service.name", "svc"},
                            {"service.version", "1.2.3"},
                            {"service.instance.id", "node-a"},
                            {"host.name", "host-1"},
                            {"deployment.environment", "prod"}};
  EXPECT_EQ(attrs, expected);
}

TEST(ResourceAttributesTest, EmptyOptionalOnesAreLeftOutAndHostDefaults) {
  TracingOptions o;
  AttributeList attrs = ResourceAttributes(o);
  ASSERT_GE(attrs.size(), 1u);
  EXPECT_EQ(attrs[0], (std::pair<std::string, std::string>("service.name", "beamline-router")));
  for (const auto& [k, v] : attrs) {
    EXPECT_NE(k, "service.version");
    EXPECT_NE(k, "service.instance.id");
    if (k == "host.name") {
      EXPECT_FALSE(v.empty());
    }
  }
}

TEST(OtlpSpanJsonTest, EncodesTheOtlpJsonMapping) {
  SpanRecord r;
  r.Reset();
  r.trace_id = *TraceId::FromHex("0123456789abcdef0123456789abcdef");
  r.span_id = *SpanId::FromHex("0011223344556677");
  r.parent_span_id = *SpanId::FromHex("8899aabbccddeeff");
  r.kind = SpanKind::kProducer;
  r.start_unix_nano = 1700000000123456789;
  r.end_unix_nano = 1700000000223456789;
  r.Store("beamline.router.publish.assignment", r.name);
  r.Store("rojo=00f067aa0ba902b7", r.tracestate);
  auto add = [&](std::string_view key, SpanAttribute::Type type) -> SpanAttribute& {
    SpanAttribute& a = r.attributes[r.attribute_count++];
    r.Store(key, a.key);
    a.type = type;
    return a;
  };
  ArenaRef s{};
  r.Store("published", s);
  add("publish.result", SpanAttribute::Type::kString).string_value = s;
  add("attempts", SpanAttribute::Type::kInt).int_value = -9007199254740993;
  add("cost", SpanAttribute::Type::kDouble).double_value = 0.0034;
  add("ratio", SpanAttribute::Type::kDouble).double_value = std::nan("");
  add("push_assignment", SpanAttribute::Type::kBool).bool_value = true;
  r.dropped_attributes = 2;
  r.status = SpanStatusCode::kError;
  r.Store("boom", r.status_message);

  std::string json;
  AppendOtlpSpanJson(r, json);
  rapidjson::Document d = Parse(json);
  EXPECT_STREQ(d["traceId"].GetString(), "0123456789abcdef0123456789abcdef");
  EXPECT_STREQ(d["spanId"].GetString(), "0011223344556677");
  EXPECT_STREQ(d["parentSpanId"].GetString(), "8899aabbccddeeff");
  EXPECT_STREQ(d["traceState"].GetString(), "rojo=00f067aa0ba902b7");
  EXPECT_STREQ(d["name"].GetString(), "beamline.router.publish.assignment");
  EXPECT_EQ(d["kind"].GetInt(), 4);
  EXPECT_STREQ(d["startTimeUnixNano"].GetString(), "1700000000123456789");
  EXPECT_STREQ(d["endTimeUnixNano"].GetString(), "1700000000223456789");
  const auto& attrs = d["attributes"];
  ASSERT_EQ(attrs.Size(), 5u);
  EXPECT_STREQ(attrs[0]["key"].GetString(), "publish.result");
  EXPECT_STREQ(attrs[0]["value"]["stringValue"].GetString(), "published");
  EXPECT_STREQ(attrs[1]["value"]["intValue"].GetString(), "-9007199254740993");
  EXPECT_DOUBLE_EQ(attrs[2]["value"]["doubleValue"].GetDouble(), 0.0034);
  EXPECT_STREQ(attrs[3]["value"]["doubleValue"].GetString(), "NaN");
  EXPECT_TRUE(attrs[4]["value"]["boolValue"].GetBool());
  EXPECT_EQ(d["droppedAttributesCount"].GetInt(), 2);
  EXPECT_EQ(d["status"]["code"].GetInt(), 2);
  EXPECT_STREQ(d["status"]["message"].GetString(), "boom");
}

TEST(OtlpSpanJsonTest, RootSpanHasNoParentAndUnsetStatusIsOmitted) {
  SpanRecord r;
  r.Reset();
  r.trace_id = NewTraceId();
  r.span_id = NewSpanId();
  r.parent_span_id = SpanId();
  r.kind = SpanKind::kServer;
  r.Store("beamline.router.decide", r.name);
  std::string json;
  AppendOtlpSpanJson(r, json);
  rapidjson::Document d = Parse(json);
  EXPECT_FALSE(d.HasMember("parentSpanId"));
  EXPECT_FALSE(d.HasMember("traceState"));
  EXPECT_FALSE(d.HasMember("status"));
  EXPECT_FALSE(d.HasMember("droppedAttributesCount"));
  EXPECT_EQ(d["kind"].GetInt(), 2);
  EXPECT_EQ(d["attributes"].Size(), 0u);
}

TEST(OtlpRequestJsonTest, PrefixAndSuffixMakeAnExportTraceServiceRequest) {
  std::string json = OtlpJsonPrefix({{"service.name", "svc"}}, kTracerScopeName, "0.1.0");
  SpanRecord r;
  r.Reset();
  r.trace_id = NewTraceId();
  r.span_id = NewSpanId();
  r.Store("x", r.name);
  AppendOtlpSpanJson(r, json);
  json += ',';
  AppendOtlpSpanJson(r, json);
  json += kOtlpJsonSuffix;
  rapidjson::Document d = Parse(json);
  const auto& rs = d["resourceSpans"][0];
  EXPECT_STREQ(rs["resource"]["attributes"][0]["key"].GetString(), "service.name");
  EXPECT_STREQ(rs["resource"]["attributes"][0]["value"]["stringValue"].GetString(), "svc");
  const auto& ss = rs["scopeSpans"][0];
  EXPECT_STREQ(ss["scope"]["name"].GetString(), "beamline-router");
  EXPECT_STREQ(ss["scope"]["version"].GetString(), "0.1.0");
  EXPECT_EQ(ss["spans"].Size(), 2u);
}

TEST(OtlpEndpointTest, AppendsV1TracesUnlessPresent) {
  // OBS §6.6: POST <endpoint>/v1/traces, suffix not appended when already present.
  absl::StatusOr<OtlpTarget> t = ParseOtlpEndpoint("http://127.0.0.1:4318");
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->scheme_host_port, "http://127.0.0.1:4318");
  EXPECT_EQ(t->path, "/v1/traces");
  EXPECT_EQ(ParseOtlpEndpoint("http://c:4318/")->path, "/v1/traces");
  EXPECT_EQ(ParseOtlpEndpoint("http://c:4318/v1/traces")->path, "/v1/traces");
  EXPECT_EQ(ParseOtlpEndpoint("https://c.example/otlp")->path, "/otlp/v1/traces");
  EXPECT_EQ(ParseOtlpEndpoint("https://c.example/otlp")->scheme_host_port, "https://c.example");
}

TEST(OtlpEndpointTest, RejectsOtherSchemes) {
  EXPECT_FALSE(ParseOtlpEndpoint("grpc://c:4317").ok());
  EXPECT_FALSE(ParseOtlpEndpoint("c:4318").ok());
  EXPECT_FALSE(ParseOtlpEndpoint("http://").ok());
  EXPECT_FALSE(ParseOtlpEndpoint("http:///v1/traces").ok());
}

TEST(OtlpResponseTest, ReadsPartialSuccessRejectedSpans) {
  EXPECT_EQ(RejectedSpansFromResponse("{}"), 0);
  EXPECT_EQ(RejectedSpansFromResponse(""), 0);
  EXPECT_EQ(RejectedSpansFromResponse(R"({"partialSuccess":{"rejectedSpans":"3"}})"), 3);
  EXPECT_EQ(RejectedSpansFromResponse(R"({"partialSuccess": {"rejectedSpans" : 7,
      "errorMessage":"x"}})"),
            7);
  EXPECT_EQ(RejectedSpansFromResponse(R"({"partialSuccess":{"rejectedSpans":"x"}})"), 0);
}

}  // namespace
}  // namespace router::obs
