// ExecResult (§3.6) and ExecAssignmentAck (§3.5) intake in the §6.4 order, usage events (§3.7),
// DLQ envelopes A/B (§3.8, §2 headers), NAK delay table and last-delivery rule (§6.3), dedup
// sets (§6.5, §7.1). nats-contracts.md; acceptance §12.14-16 (unit part).

#include <gtest/gtest.h>
#include <simdjson.h>

#include <string>

#include "nats/consumer_policy.h"
#include "nats/exec_ack.h"
#include "nats/exec_result.h"
#include "nats/usage_event.h"
#include "nats/worker_dlq.h"
#include "policy/sha256.h"

namespace router::nats_adapter {
namespace {

constexpr int64_t kNow = 1795688131999;
constexpr char kValid[] =
    R"({"version":"1","assignment_id":"3f6c1e9a-8b2d-4c47-9e15-6a0d2b7f41c3","request_id":"req-7f3a-0042","status":"success","provider_id":"anthropic-sonnet","job":{"type":"chat.completion"},"latency_ms":912,"cost":0.0034,"trace_id":"7d3e0c9a51b24f6e8a1c2b3d4e5f6071","tenant_id":"acme","timestamp":1795688131035})";

struct ResultCase {
  ExecResult result;
  WorkerParse parse;
  bool ok;
};

ResultCase ParseResult(const std::string& body, WorkerHeaders headers = {},
                       std::vector<std::string> allowlist = {}) {
  ExecResultParser parser(1048576, std::move(allowlist));
  ResultCase c;
  c.ok = parser.Parse(body, headers, kNow, &c.result, &c.parse);
  return c;
}

// Replaces `"key":<old>` in kValid by `"key":<value>` (or removes it when value is empty).
std::string With(const std::string& key, const std::string& value) {
  std::string body = kValid;
  const std::string needle = "\"" + key + "\":";
  size_t at = body.find(needle);
  if (at == std::string::npos) {
    return body.substr(0, body.size() - 1) + "," + needle + value + "}";
  }
  size_t end = at + needle.size();
  int depth = 0;
  bool in_string = false;
  for (; end < body.size(); ++end) {
    char ch = body[end];
    if (in_string) {
      if (ch == '"') in_string = false;
      continue;
    }
    if (ch == '"') in_string = true;
    if (ch == '{') ++depth;
    if (ch == '}') {
      if (depth == 0) break;
      --depth;
    }
    if (ch == ',' && depth == 0) break;
  }
  if (value.empty()) {
    size_t from = at;
    size_t to = end;
    if (body[to] == ',') {
      ++to;
    } else if (body[from - 1] == ',') {
      --from;
    }
    return body.substr(0, from) + body.substr(to);
  }
  return body.substr(0, at) + needle + value + body.substr(end);
}

TEST(ExecResultTest, ValidResultParses) {
  ResultCase c = ParseResult(kValid);
  ASSERT_TRUE(c.ok) << c.parse.status;
  EXPECT_EQ(c.result.assignment_id, "3f6c1e9a-8b2d-4c47-9e15-6a0d2b7f41c3");
  EXPECT_EQ(c.result.DedupKey(), c.result.assignment_id);
  EXPECT_EQ(c.result.status, "success");
  EXPECT_EQ(c.result.event_type, "chat.completion");
  EXPECT_EQ(c.result.latency_ms, 912);
  EXPECT_DOUBLE_EQ(*c.result.cost, 0.0034);
  EXPECT_EQ(c.result.timestamp_ms, 1795688131035);
}

TEST(ExecResultTest, VersionHeaderOrPayloadAndDefaults) {
  WorkerHeaders h;
  h.version = "1";
  ResultCase c = ParseResult(With("version", ""), h);
  EXPECT_TRUE(c.ok) << c.parse.status;
  c = ParseResult(With("version", "1"));
  EXPECT_TRUE(c.ok);
  c = ParseResult(With("timestamp", ""));
  ASSERT_TRUE(c.ok);
  EXPECT_EQ(c.result.timestamp_ms, kNow);  // receive time
  c = ParseResult(With("job", ""));
  ASSERT_TRUE(c.ok);
  EXPECT_EQ(c.result.event_type, "unknown");
  // request_id only: it is the dedup key.
  c = ParseResult(With("assignment_id", ""));
  ASSERT_TRUE(c.ok);
  EXPECT_EQ(c.result.DedupKey(), "req-7f3a-0042");
}

// §6.4 rows 1-4 with the §4.2 texts.
TEST(ExecResultTest, RejectionsCarryCodeReasonAndMessage) {
  struct Case {
    std::string body;
    IntakeCode code;
    std::string reason;
    std::string message;
  };
  const std::vector<Case> cases = {
      {"not json", IntakeCode::kSchemaValidationFailed, "invalid_format",
       "Schema validation failed: invalid_format"},
      {"[1,2]", IntakeCode::kSchemaValidationFailed, "invalid_format", ""},
      {R"({"a":1,"a":2})", IntakeCode::kSchemaValidationFailed, "invalid_format", ""},
      {With("job", R"({"type":"x","type":"y"})"), IntakeCode::kSchemaValidationFailed,
       "invalid_format", ""},
      {With("version", ""), IntakeCode::kVersionUnsupported, "missing_version",
       "Unsupported schema version: unknown, supported versions: [1]"},
      {With("version", "\"2\""), IntakeCode::kVersionUnsupported, "unsupported_version",
       "Unsupported schema version: 2, supported versions: [1]"},
      {With("status", ""), IntakeCode::kCorrelationFieldsInvalid, "missing_status",
       "Correlation fields validation failed: missing_status"},
      {With("status", "\"done\""), IntakeCode::kCorrelationFieldsInvalid, "invalid_status",
       "Correlation fields validation failed: invalid_status"},
      {With("provider_id", ""), IntakeCode::kCorrelationFieldsInvalid, "missing_provider_id", ""},
      {With("provider_id", "\"a b\""), IntakeCode::kCorrelationFieldsInvalid, "invalid_provider_id",
       ""},
      {With("tenant_id", ""), IntakeCode::kCorrelationFieldsInvalid, "missing_tenant_id", ""},
      {With("latency_ms", "-1"), IntakeCode::kCorrelationFieldsInvalid, "invalid_latency_ms", ""},
      {With("latency_ms", "86400001"), IntakeCode::kCorrelationFieldsInvalid, "invalid_latency_ms",
       ""},
      {With("latency_ms", "1.5"), IntakeCode::kCorrelationFieldsInvalid, "invalid_latency_ms", ""},
      {With("cost", "-0.1"), IntakeCode::kCorrelationFieldsInvalid, "invalid_cost", ""},
      {With("cost", "\"1\""), IntakeCode::kCorrelationFieldsInvalid, "invalid_cost", ""},
      {With("error_code", "\"" + std::string(129, 'E') + "\""),
       IntakeCode::kCorrelationFieldsInvalid, "invalid_error_code", ""},
      {With("error_message", "7"), IntakeCode::kCorrelationFieldsInvalid, "invalid_error_message",
       ""},
  };
  for (const Case& c : cases) {
    ResultCase r = ParseResult(c.body);
    ASSERT_FALSE(r.ok) << c.body;
    EXPECT_EQ(r.parse.code, c.code) << c.body;
    EXPECT_EQ(r.parse.reason, c.reason) << c.body;
    if (!c.message.empty()) {
      EXPECT_EQ(std::string(r.parse.status.message()), c.message);
    }
  }
}

TEST(ExecResultTest, MissingBothIdsIsMissingCorrelationId) {
  std::string body = With("assignment_id", "");
  body = body.substr(0, body.find("\"request_id\"")) +
         body.substr(body.find("\"status\""));  // drop request_id too
  ResultCase r = ParseResult(body);
  ASSERT_FALSE(r.ok) << body;
  EXPECT_EQ(r.parse.reason, "missing_correlation_id");
}

TEST(ExecResultTest, PayloadTooLargeIsNotParsed) {
  ExecResultParser parser(64, {});
  ExecResult r;
  WorkerParse p;
  EXPECT_FALSE(parser.Parse(kValid, {}, kNow, &r, &p));
  EXPECT_TRUE(p.too_large);
  EXPECT_EQ(p.reason, "payload_too_large");
  EXPECT_FALSE(p.json_object);
}

TEST(ExecResultTest, TenantHeaderMismatchAndAllowlist) {
  WorkerHeaders h;
  h.tenant_id = "beta";
  ResultCase r = ParseResult(kValid, h);
  ASSERT_FALSE(r.ok);
  EXPECT_TRUE(r.parse.tenant_mismatch);
  EXPECT_EQ(r.parse.code, IntakeCode::kCorrelationFieldsInvalid);
  EXPECT_EQ(r.parse.reason, "tenant_mismatch");
  h.tenant_id = "acme";
  EXPECT_TRUE(ParseResult(kValid, h).ok);
  r = ParseResult(kValid, {}, {"beta"});
  ASSERT_FALSE(r.ok);
  EXPECT_EQ(r.parse.code, IntakeCode::kTenantForbidden);
  EXPECT_EQ(std::string(r.parse.status.message()), "Tenant validation failed: tenant_not_allowed");
  EXPECT_TRUE(ParseResult(kValid, {}, {"beta", "acme"}).ok);
}

TEST(ExecResultTest, HeaderTraceIdWinsAndContextIsPartial) {
  WorkerHeaders h;
  h.trace_id = "hdr-trace";
  ResultCase r = ParseResult(kValid, h);
  ASSERT_TRUE(r.ok);
  EXPECT_EQ(r.result.trace_id, "hdr-trace");
  r = ParseResult(With("status", "\"done\""));
  ASSERT_FALSE(r.ok);
  EXPECT_TRUE(r.parse.json_object);
  EXPECT_EQ(r.parse.context.tenant_id, "acme");
  EXPECT_EQ(r.parse.context.assignment_id, "3f6c1e9a-8b2d-4c47-9e15-6a0d2b7f41c3");
}

TEST(ExecResultTest, ErrorTypeIsTheFallbackCode) {
  ResultCase r = ParseResult(With("error_type", "\"HTTP_503\""));
  ASSERT_TRUE(r.ok);
  EXPECT_EQ(r.result.EffectiveErrorCode(), "HTTP_503");
  r = ParseResult(With("error_code", "\"TIMEOUT\""));
  ASSERT_TRUE(r.ok);
  EXPECT_EQ(r.result.EffectiveErrorCode(), "TIMEOUT");
}

// ---------------------------------------------------------------- acks (§3.5)
constexpr char kAck[] =
    R"({"version":"1","assignment_id":"3f6c1e9a","status":"accepted","message":"queued","request_id":"req-1","tenant_id":"acme","trace_id":"t","acknowledged_at":1795688130310})";

TEST(ExecAckTest, ValidAndInvalidAcks) {
  ExecAckParser parser(1048576, {});
  ExecAck a;
  WorkerParse p;
  ASSERT_TRUE(parser.Parse(kAck, {}, kNow, &a, &p)) << p.status;
  EXPECT_EQ(a.status, "accepted");
  EXPECT_EQ(a.acknowledged_at_ms, 1795688130310);
  EXPECT_EQ(a.DedupKey(), std::string("3f6c1e9a\x1f") + "accepted");
  struct Case {
    std::string body;
    std::string reason;
  };
  for (
      const Case& c : std::vector<Case>{
          {R"({"version":"1","status":"accepted","tenant_id":"acme"})", "missing_assignment_id"},
          {R"({"version":"1","assignment_id":"","status":"accepted","tenant_id":"acme"})",
           "invalid_assignment_id"},
          {R"({"version":"1","assignment_id":"a","tenant_id":"acme"})", "missing_status"},
          {R"({"version":"1","assignment_id":"a","status":"done","tenant_id":"acme"})",
           "invalid_status"},
          {R"({"version":"1","assignment_id":"a","status":"error"})", "missing_tenant_id"},
          {R"({"assignment_id":"a","status":"error","tenant_id":"acme"})", "missing_version"},
          {R"({"version":"1","assignment_id":"a","status":"error","tenant_id":"acme","acknowledged_at":"x"})",
           "invalid_acknowledged_at"},
      }) {
    EXPECT_FALSE(parser.Parse(c.body, {}, kNow, &a, &p)) << c.body;
    EXPECT_EQ(p.reason, c.reason) << c.body;
  }
  // Default acknowledged_at = receive time.
  ASSERT_TRUE(
      parser.Parse(R"({"version":1,"assignment_id":"a","status":"rejected","tenant_id":"acme"})",
                   {}, kNow, &a, &p));
  EXPECT_EQ(a.acknowledged_at_ms, kNow);
}

// ---------------------------------------------------------------- usage (§3.7)
TEST(UsageEventTest, EveryKeyPresentNullForUnknown) {
  ResultCase r = ParseResult(kValid);
  ASSERT_TRUE(r.ok);
  EXPECT_EQ(
      BuildUsageEvent(r.result),
      R"({"version":"1","usage_id":"usage-3f6c1e9a-8b2d-4c47-9e15-6a0d2b7f41c3","tenant_id":"acme","provider_id":"anthropic-sonnet","event_type":"chat.completion","latency_ms":912,"cost":0.0034,"status":"success","error_code":null,"trace_id":"7d3e0c9a51b24f6e8a1c2b3d4e5f6071","timestamp":1795688131035,"assignment_id":"3f6c1e9a-8b2d-4c47-9e15-6a0d2b7f41c3","request_id":"req-7f3a-0042"})");
  ExecResult minimal;
  minimal.request_id = "r1";
  minimal.tenant_id = "acme";
  minimal.provider_id = "p1";
  minimal.status = "error";
  minimal.error_type = "HTTP_503";
  minimal.timestamp_ms = 5;
  EXPECT_EQ(
      BuildUsageEvent(minimal),
      R"({"version":"1","usage_id":"usage-r1","tenant_id":"acme","provider_id":"p1","event_type":"unknown","latency_ms":null,"cost":null,"status":"error","error_code":"HTTP_503","trace_id":null,"timestamp":5,"assignment_id":null,"request_id":"r1"})");
  auto headers =
      UsageHeaders(minimal, std::string("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"));
  ASSERT_EQ(headers.size(), 4u);
  EXPECT_EQ(headers[0], (std::pair<std::string, std::string>{"Nats-Msg-Id", "usage-r1"}));
  EXPECT_EQ(headers[1].second, "acme");
  EXPECT_EQ(headers[2], (std::pair<std::string, std::string>{"version", "1"}));
  EXPECT_EQ(UsageHeaders(minimal, std::string("garbage")).size(), 3u);
}

// ---------------------------------------------------------------- DLQ envelopes (§3.8)
TEST(WorkerDlqTest, PoisonEnvelopeEmbedsParsedObject) {
  const std::string body = With("status", "\"done\"");
  ResultCase r = ParseResult(body);
  ASSERT_FALSE(r.ok);
  PoisonEnvelope e;
  e.original_subject = "caf.exec.result.v1";
  e.body = body;
  e.code = "CORRELATION_FIELDS_INVALID";
  const std::string message(r.parse.status.message());
  e.message = message;
  e.parse = &r.parse;
  e.source = {"CAF_RESULTS", "router-results", 48213, 1, std::string("res-3f6c1e9a")};
  e.received_at_ms = 1795688131100;
  e.node_id = "router-a";
  const std::string out = BuildPoisonEnvelope(e);
  simdjson::dom::parser parser;
  simdjson::dom::element doc = parser.parse(out);
  EXPECT_EQ(std::string_view(doc["reason"]), "poison");
  EXPECT_EQ(std::string_view(doc["original_payload_hash"]), policy::Sha256Hex(body));
  EXPECT_EQ(std::string_view(doc["validation_error"]["message"]),
            "Correlation fields validation failed: invalid_status");
  EXPECT_EQ(std::string_view(doc["context"]["tenant_id"]), "acme");
  EXPECT_EQ(int64_t(doc["source"]["stream_seq"]), 48213);
  EXPECT_EQ(std::string_view(doc["source"]["msg_id"]), "res-3f6c1e9a");
  EXPECT_EQ(std::string_view(doc["message"]["status"]), "done");
  EXPECT_TRUE(doc["original_payload_b64"].error());
  EXPECT_EQ(std::string_view(doc["router_node_id"]), "router-a");
  e.include_payload = false;
  doc = parser.parse(BuildPoisonEnvelope(e));
  EXPECT_TRUE(doc["message"].error());
}

TEST(WorkerDlqTest, NonObjectBodyIsBase64OrTruncated) {
  const std::string body = "\x01\x02not json";
  ResultCase r = ParseResult(body);
  ASSERT_FALSE(r.ok);
  PoisonEnvelope e;
  e.original_subject = "caf.exec.result.v1";
  e.body = body;
  e.code = "SCHEMA_VALIDATION_FAILED";
  e.message = "Schema validation failed: invalid_format";
  e.parse = &r.parse;
  simdjson::dom::parser parser;
  simdjson::dom::element doc = parser.parse(BuildPoisonEnvelope(e));
  EXPECT_EQ(std::string_view(doc["original_payload_b64"]), "AQJub3QganNvbg==");
  EXPECT_TRUE(doc["message"].error());
  e.max_payload_bytes = 8 * 1024 + 4;  // too small for the base64 text
  doc = parser.parse(BuildPoisonEnvelope(e));
  EXPECT_TRUE(bool(doc["payload_truncated"]));
  EXPECT_TRUE(doc["source"]["msg_id"].is_null());
}

TEST(WorkerDlqTest, MaxDeliverEnvelopeAndHeaders) {
  MaxDeliverEnvelope e;
  e.original_subject = "caf.exec.result.v1";
  e.body = kValid;
  e.last_error = "usage_publish_failed: no responders";
  const std::string tenant = "acme";
  e.tenant_id = &tenant;
  e.source = {"CAF_RESULTS", "router-results", 48377, 10, std::nullopt};
  e.timestamp_ms = 7;
  e.node_id = "router-b";
  simdjson::dom::parser parser;
  simdjson::dom::element doc = parser.parse(BuildMaxDeliverEnvelope(e));
  EXPECT_EQ(std::string_view(doc["reason"]), "maxdeliver_exhausted");
  EXPECT_EQ(std::string_view(doc["error_code"]), "MAXDELIVER_EXHAUSTED");
  EXPECT_EQ(std::string_view(doc["msg_id"]), "CAF_RESULTS:48377");  // no Nats-Msg-Id
  EXPECT_EQ(std::string_view(doc["last_error"]), "usage_publish_failed: no responders");
  EXPECT_EQ(std::string_view(doc["tenant_id"]), "acme");
  EXPECT_TRUE(doc["trace_id"].is_null());
  EXPECT_EQ(int64_t(doc["source"]["num_delivered"]), 10);
  EXPECT_EQ(std::string_view(doc["message"]["provider_id"]), "anthropic-sonnet");

  auto h =
      DlqHeaders("maxdeliver_exhausted", "caf.exec.result.v1", e.source, {{"tenant_id", "acme"}});
  ASSERT_EQ(h.size(), 7u);
  EXPECT_EQ(h[0], (std::pair<std::string, std::string>{"Nats-Msg-Id", "dlq-CAF_RESULTS-48377"}));
  EXPECT_EQ(h[1].second, "maxdeliver_exhausted");
  EXPECT_EQ(h[4].second, "48377");
  EXPECT_EQ(h[5], (std::pair<std::string, std::string>{"x-delivery-count", "10"}));
  EXPECT_EQ(h[6].first, "tenant_id");
}

// ---------------------------------------------------------------- delivery policy (§6.3)
TEST(ConsumerPolicyTest, NakDelayTableLastEntryRepeats) {
  const std::vector<int64_t> results = {1000, 2000, 5000, 10000, 20000, 30000, 60000, 60000, 60000};
  EXPECT_EQ(NakDelayMs(results, 1), 1000);
  EXPECT_EQ(NakDelayMs(results, 3), 5000);
  EXPECT_EQ(NakDelayMs(results, 9), 60000);
  EXPECT_EQ(NakDelayMs(results, 40), 60000);
  EXPECT_EQ(NakDelayMs(results, 0), 1000);
  const std::vector<int64_t> acks = {1000, 5000, 15000, 30000};
  EXPECT_EQ(NakDelayMs(acks, 2), 5000);
  EXPECT_EQ(NakDelayMs(acks, 4), 30000);
  EXPECT_EQ(NakDelayMs({}, 3), 0);
}

TEST(ConsumerPolicyTest, JitterIsWithinTenPercent) {
  bool low = false, high = false;
  for (uint64_t r = 0; r < 2000; ++r) {
    const int64_t d = JitteredNakDelayMs(1000, r * 7919);
    ASSERT_GE(d, 900);
    ASSERT_LE(d, 1100);
    low |= d == 900;
    high |= d == 1100;
  }
  EXPECT_TRUE(low);
  EXPECT_TRUE(high);
  EXPECT_EQ(JitteredNakDelayMs(5, 123), 5);
  EXPECT_EQ(JitteredNakDelayMs(0, 123), 0);
  // §12 test config: 100 ms delays never go below 90 ms.
  for (uint64_t r = 0; r < 100; ++r) EXPECT_GE(JitteredNakDelayMs(100, r), 90);
}

TEST(ConsumerPolicyTest, LastDeliveryByNumDelivered) {
  EXPECT_FALSE(IsLastDelivery(9, 10));
  EXPECT_TRUE(IsLastDelivery(10, 10));
  EXPECT_TRUE(IsLastDelivery(11, 10));
  EXPECT_FALSE(IsLastDelivery(100, 0));  // unlimited
}

TEST(DedupSetTest, TtlAndBound) {
  DedupSet set(3, 1000);
  set.Insert("a", 0);
  set.Insert("b", 0);
  set.Insert("c", 0);
  EXPECT_TRUE(set.Contains("a", 10));  // a becomes most recent
  set.Insert("d", 10);                 // evicts b (least recently used)
  EXPECT_FALSE(set.Contains("b", 10));
  EXPECT_TRUE(set.Contains("a", 10));
  EXPECT_EQ(set.Size(), 3u);
  EXPECT_FALSE(set.Contains("a", 1000));  // expired
  EXPECT_FALSE(set.TestAndInsert("x", 2000));
  EXPECT_TRUE(set.TestAndInsert("x", 2500));
  EXPECT_FALSE(set.TestAndInsert("x", 3000));  // expired at 3000: inserted again
}

}  // namespace
}  // namespace router::nats_adapter
