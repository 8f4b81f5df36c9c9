// Record serialization (obs/logging/record_format.h): OBS §5.1 key order, absent keys omitted,
// RFC 3339 microsecond timestamps, invalid UTF-8 -> U+FFFD, strings cut at 2048 bytes with
// "...(truncated)", records cut at log.max_record_bytes while staying valid JSON.
#include "obs/logging/record_format.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "unit/obs/logging/json_reader.h"

namespace router::obs {
namespace {

using testing::Json;
using testing::JsonReader;

constexpr std::string_view kFffd = "\xEF\xBF\xBD";

LogRecord BasicRecord() {
  LogRecord r;
  r.level = LogLevel::kInfo;
  r.timestamp_us = 1'795'718'700'123'456;  // 2026-11-26T18:45:00.123456Z (§5.1 example)
  r.subsystem = "main";
  r.event = "router.listening";
  r.message = "listening";
  return r;
}

std::string Format(const LogRecord& r, const FormatOptions& options = {},
                   const Redactor& redactor = Redactor()) {
  return FormatRecordLine(r, redactor, options);
}

Json ParseLine(const std::string& line) {
  EXPECT_FALSE(line.empty());
  EXPECT_EQ(line.back(), '\n') << "one record per line";
  EXPECT_EQ(line.find('\n'), line.size() - 1) << "no raw newline inside a record";
  std::optional<Json> json = JsonReader::Parse(std::string_view(line).substr(0, line.size() - 1));
  EXPECT_TRUE(json.has_value()) << "not valid JSON: " << line;
  return json.value_or(Json());
}

// ---------------------------------------------------------------- timestamp

TEST(FormatTimestampTest, Rfc3339UtcWithMicroseconds) {
  EXPECT_EQ(FormatTimestamp(1'795'718'700'123'456), "2026-11-26T18:45:00.123456Z");
  EXPECT_EQ(FormatTimestamp(0), "1970-01-01T00:00:00.000000Z");
  EXPECT_EQ(FormatTimestamp(1'700'000'000'000'000), "2023-11-14T22:13:20.000000Z");
  EXPECT_EQ(FormatTimestamp(951'782'400'000'001), "2000-02-29T00:00:00.000001Z");
  EXPECT_EQ(FormatTimestamp(-1), "1969-12-31T23:59:59.999999Z");
}

// ---------------------------------------------------------------- key order (§5.1)

TEST(RecordFormatTest, MinimalRecordHasTheSixFixedKeysInOrder) {
  const Json j = ParseLine(Format(BasicRecord()));
  EXPECT_EQ(j.Keys(), (std::vector<std::string>{"timestamp", "level", "component", "subsystem",
                                                "event", "message"}));
  EXPECT_EQ(j.Str("timestamp"), "2026-11-26T18:45:00.123456Z");
  EXPECT_EQ(j.Str("level"), "INFO");
  EXPECT_EQ(j.Str("component"), "router");
  EXPECT_EQ(j.Str("subsystem"), "main");
  EXPECT_EQ(j.Str("event"), "router.listening");
  EXPECT_EQ(j.Str("message"), "listening");
}

TEST(RecordFormatTest, ExactLineForASimpleRecord) {
  LogRecord r = BasicRecord();
  r.context.push_back({"grpc_port", 9000});
  EXPECT_EQ(Format(r),
            "{\"timestamp\":\"2026-11-26T18:45:00.123456Z\",\"level\":\"INFO\","
            "\"component\":\"router\",\"subsystem\":\"main\",\"event\":\"router.listening\","
            "\"message\":\"listening\",\"context\":{\"grpc_port\":9000}}\n");
}

TEST(RecordFormatTest, LevelNames) {
  LogRecord r = BasicRecord();
  const std::vector<std::pair<LogLevel, std::string>> cases = {{LogLevel::kError, "ERROR"},
                                                               {LogLevel::kWarn, "WARN"},
                                                               {LogLevel::kInfo, "INFO"},
                                                               {LogLevel::kDebug, "DEBUG"}};
  for (const auto& [level, name] : cases) {
    r.level = level;
    EXPECT_EQ(ParseLine(Format(r)).Str("level"), name);
  }
}

TEST(RecordFormatTest, CorrelationKeysInSpecOrderWhateverTheSetOrder) {
  LogRecord r = BasicRecord();
  // Set in reverse order; the output follows §5.1.
  r.SetCorrelation(CorrelationKey::kLatencyMs, int64_t{12});
  r.SetCorrelation(CorrelationKey::kErrorCode, "internal");
  r.SetCorrelation(CorrelationKey::kStepId, "s1");
  r.SetCorrelation(CorrelationKey::kFlowId, "f1");
  r.SetCorrelation(CorrelationKey::kRunId, "r1");
  r.SetCorrelation(CorrelationKey::kSpanId, "00f067aa0ba902b7");
  r.SetCorrelation(CorrelationKey::kTraceId, "4bf92f3577b34da6a3ce929d0e0e4736");
  r.SetCorrelation(CorrelationKey::kCorrelationId, "c1");
  r.SetCorrelation(CorrelationKey::kAssignmentId, "a1");
  r.SetCorrelation(CorrelationKey::kDecisionId, "d1");
  r.SetCorrelation(CorrelationKey::kRequestId, "q1");
  r.SetCorrelation(CorrelationKey::kProviderId, "p1");
  r.SetCorrelation(CorrelationKey::kPolicyVersion, int64_t{7});
  r.SetCorrelation(CorrelationKey::kPolicyId, "support-chat");
  r.SetCorrelation(CorrelationKey::kTenantId, "acme");
  r.SetCorrelation(CorrelationKey::kNodeId, "router-a1");
  r.context.push_back({"k", "v"});
  const Json j = ParseLine(Format(r));
  EXPECT_EQ(j.Keys(),
            (std::vector<std::string>{
                "timestamp",   "level",      "component",   "subsystem",     "event",
                "message",     "node_id",    "tenant_id",   "policy_id",     "policy_version",
                "provider_id", "request_id", "decision_id", "assignment_id", "correlation_id",
                "trace_id",    "span_id",    "run_id",      "flow_id",       "step_id",
                "error_code",  "latency_ms", "context"}));
  EXPECT_EQ(j.Num("policy_version"), "7");  // integer, not a string
  EXPECT_EQ(j.Num("latency_ms"), "12");
  EXPECT_EQ(j.Str("tenant_id"), "acme");
  EXPECT_EQ(j.Str("error_code"), "internal");
}

TEST(RecordFormatTest, EmptyCorrelationValuesAreOmitted) {
  LogRecord r = BasicRecord();
  r.SetCorrelation(CorrelationKey::kTenantId, "");
  r.SetCorrelation(CorrelationKey::kRequestId, "q1");
  const Json j = ParseLine(Format(r));
  EXPECT_FALSE(j.Has("tenant_id"));
  EXPECT_EQ(j.Str("request_id"), "q1");
}

TEST(RecordFormatTest, SetCorrelationReplaces) {
  LogRecord r = BasicRecord();
  r.SetCorrelation(CorrelationKey::kTenantId, "a");
  r.SetCorrelation(CorrelationKey::kTenantId, "b");
  EXPECT_EQ(r.correlation.size(), 1u);
  EXPECT_EQ(ParseLine(Format(r)).Str("tenant_id"), "b");
}

TEST(RecordFormatTest, DefaultNodeIdUnlessTheRecordHasOne) {
  FormatOptions options;
  options.default_node_id = "router-a1";
  LogRecord r = BasicRecord();
  r.SetCorrelation(CorrelationKey::kTenantId, "acme");
  Json j = ParseLine(Format(r, options));
  EXPECT_EQ(j.Keys()[6], "node_id");
  EXPECT_EQ(j.Str("node_id"), "router-a1");
  r.SetCorrelation(CorrelationKey::kNodeId, "other");
  EXPECT_EQ(ParseLine(Format(r, options)).Str("node_id"), "other");
}

// ---------------------------------------------------------------- context values

TEST(RecordFormatTest, ContextValueTypes) {
  LogRecord r = BasicRecord();
  r.context = {{"s", "text"},
               {"i", -42},
               {"u", std::numeric_limits<uint64_t>::max()},
               {"big", std::numeric_limits<int64_t>::min()},
               {"d", 0.25},
               {"nan", std::nan("")},
               {"inf", std::numeric_limits<double>::infinity()},
               {"t", true},
               {"f", false},
               {"n", nullptr},
               {"arr", LogValue::Array({1, "two", false})},
               {"obj", LogValue::Object({{"a", 1}, {"b", "x"}})}};
  const std::string line = Format(r);
  EXPECT_NE(line.find("\"context\":{\"s\":\"text\",\"i\":-42,\"u\":18446744073709551615,"
                      "\"big\":-9223372036854775808,\"d\":0.25,\"nan\":null,\"inf\":null,"
                      "\"t\":true,\"f\":false,\"n\":null,\"arr\":[1,\"two\",false],"
                      "\"obj\":{\"a\":1,\"b\":\"x\"}}}"),
            std::string::npos)
      << line;
  ParseLine(line);
}

TEST(RecordFormatTest, ContextIsOmittedWhenEmpty) {
  EXPECT_FALSE(ParseLine(Format(BasicRecord())).Has("context"));
}

TEST(RecordFormatTest, RepeatedContextKeyKeepsFirstPositionAndLastValue) {
  LogRecord r = BasicRecord();
  r.context = {{"a", 1}, {"b", 2}, {"a", 3}};
  const Json j = ParseLine(Format(r));
  const Json* context = j.Find("context");
  ASSERT_NE(context, nullptr);
  EXPECT_EQ(context->Keys(), (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(context->Num("a"), "3");
}

TEST(RecordFormatTest, EscapesQuotesBackslashesAndControlCharacters) {
  LogRecord r = BasicRecord();
  const std::string nasty = std::string("q\"b\\n\nr\rt\tc\x01 del\x7f end") + '\0' + "z";
  r.message = nasty;
  r.context = {{"k\"ey", nasty}};
  const std::string line = Format(r);
  EXPECT_NE(line.find("\\u0001"), std::string::npos);
  EXPECT_NE(line.find("\\u0000"), std::string::npos);
  const Json j = ParseLine(line);
  EXPECT_EQ(j.Str("message"), nasty);
  ASSERT_NE(j.Find("context"), nullptr);
  EXPECT_EQ(j.Find("context")->Str("k\"ey"), nasty);
}

// ---------------------------------------------------------------- UTF-8 (§5.1)

TEST(Utf8Test, ValidTextIsUnchanged) {
  const std::string text = "caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80 \xF4\x8F\xBF\xBF";
  EXPECT_TRUE(IsValidUtf8(text));
  EXPECT_EQ(SanitizeUtf8(text), text);
}

TEST(Utf8Test, InvalidBytesBecomeReplacementCharacters) {
  const std::string f(kFffd);
  // Each maximal invalid subsequence is one U+FFFD (Unicode §3.9 / WHATWG).
  EXPECT_EQ(SanitizeUtf8("a\xFF"
                         "b"),
            "a" + f + "b");
  EXPECT_EQ(SanitizeUtf8("a\xE2\x82"
                         "b"),
            "a" + f + "b");                                    // truncated sequence
  EXPECT_EQ(SanitizeUtf8("\xC0\xAF"), f + f);                  // overlong
  EXPECT_EQ(SanitizeUtf8("\xED\xA0\x80"), f + f + f);          // surrogate
  EXPECT_EQ(SanitizeUtf8("\xF4\x90\x80\x80"), f + f + f + f);  // above U+10FFFF
  EXPECT_EQ(SanitizeUtf8("x\xF0\x9F\x98"), "x" + f);           // cut at the end
  EXPECT_EQ(SanitizeUtf8("\x80\x80"), f + f);                  // stray continuations
  EXPECT_FALSE(IsValidUtf8("\xC3"));
}

TEST(RecordFormatTest, InvalidUtf8InAnyStringIsRepairedAndTheLineIsValid) {
  LogRecord r = BasicRecord();
  r.message = "bad \xFF byte";
  r.SetCorrelation(CorrelationKey::kTenantId, "t\xC3");
  r.context = {{"k\xFE", "v\xE2\x82"}};
  const std::string line = Format(r);
  EXPECT_TRUE(IsValidUtf8(line));
  const Json j = ParseLine(line);
  EXPECT_EQ(j.Str("message"), "bad " + std::string(kFffd) + " byte");
  EXPECT_EQ(j.Str("tenant_id"), "t" + std::string(kFffd));
  ASSERT_NE(j.Find("context"), nullptr);
  EXPECT_EQ(j.Find("context")->Str("k" + std::string(kFffd)), "v" + std::string(kFffd));
}

// ---------------------------------------------------------------- string truncation (§5.1)

TEST(TruncateTest, CutsAt2048BytesWithSuffix) {
  std::string s(3000, 'a');
  EXPECT_TRUE(TruncateUtf8(&s, 2048));
  EXPECT_EQ(s, std::string(2048, 'a') + "...(truncated)");
  std::string exact(2048, 'b');
  EXPECT_FALSE(TruncateUtf8(&exact, 2048));
  EXPECT_EQ(exact, std::string(2048, 'b'));
}

TEST(TruncateTest, NeverSplitsAUtf8Sequence) {
  std::string s = std::string(2047, 'a') + "\xC3\xA9" + "zz";  // é straddles byte 2048
  EXPECT_TRUE(TruncateUtf8(&s, 2048));
  EXPECT_EQ(s, std::string(2047, 'a') + "...(truncated)");
  std::string emoji = std::string(2046, 'a') + "\xF0\x9F\x98\x80";
  EXPECT_TRUE(TruncateUtf8(&emoji, 2048));
  EXPECT_EQ(emoji, std::string(2046, 'a') + "...(truncated)");
}

TEST(RecordFormatTest, EveryStringValueIsCutAt2048Bytes) {
  LogRecord r = BasicRecord();
  const std::string long_text(5000, 'x');
  const std::string cut = std::string(2048, 'x') + "...(truncated)";
  r.message = long_text;
  r.SetCorrelation(CorrelationKey::kRequestId, long_text);
  r.context = {{"v", long_text}, {"arr", LogValue::Array({long_text})}};
  const Json j = ParseLine(Format(r));
  EXPECT_EQ(j.Str("message"), cut);
  EXPECT_EQ(j.Str("request_id"), cut);
  const Json* context = j.Find("context");
  ASSERT_NE(context, nullptr);
  EXPECT_EQ(context->Str("v"), cut);
  ASSERT_NE(context->Find("arr"), nullptr);
  EXPECT_EQ(context->Find("arr")->items.at(0).text, cut);
}

// ---------------------------------------------------------------- record truncation (§5.1)

TEST(RecordFormatTest, RecordWithinLimitIsNotMarked) {
  FormatOptions options;
  options.max_record_bytes = 1024;
  LogRecord r = BasicRecord();
  r.context = {{"a", std::string(100, 'a')}};
  const std::string line = Format(r, options);
  EXPECT_LE(line.size() - 1, 1024u);
  EXPECT_EQ(line.find("record_truncated"), std::string::npos);
}

TEST(RecordFormatTest, LongRecordKeepsTheFieldsThatFitAndStaysValidJson) {
  FormatOptions options;
  options.max_record_bytes = 2048;
  LogRecord r = BasicRecord();
  r.SetCorrelation(CorrelationKey::kTenantId, "acme");
  r.context = {{"small", 1},
               {"huge", std::string(1900, 'h')},
               {"after", "kept"},
               {"huge2", std::string(1900, 'i')}};
  const std::string line = Format(r, options);
  EXPECT_LE(line.size() - 1, 2048u) << line.size();
  const Json j = ParseLine(line);
  EXPECT_EQ(j.Str("tenant_id"), "acme");
  const Json* context = j.Find("context");
  ASSERT_NE(context, nullptr);
  EXPECT_EQ(context->Keys(), (std::vector<std::string>{"small", "after", "record_truncated"}));
  ASSERT_NE(context->Find("record_truncated"), nullptr);
  EXPECT_TRUE(context->Find("record_truncated")->boolean);
}

TEST(RecordFormatTest, DefaultLimitIs16KiB) {
  LogRecord r = BasicRecord();
  for (int i = 0; i < 20; ++i)
    r.context.push_back({"f" + std::to_string(i), std::string(2000, 'x')});
  const std::string line = Format(r);
  EXPECT_LE(line.size() - 1, 16384u);
  EXPECT_GT(line.size() - 1, 14000u);  // as many fields as fit, not just a few
  ParseLine(line);
}

TEST(RecordFormatTest, OversizedFixedPartIsCutUntilItFits) {
  FormatOptions options;
  options.max_record_bytes = 1024;
  LogRecord r = BasicRecord();
  // Control characters escape to 6 bytes each: far beyond the limit before any context.
  r.message = std::string(2000, '\x01');
  for (int k = 1; k < kNumCorrelationKeys - 1; ++k) {
    const auto key = static_cast<CorrelationKey>(k);
    if (!IsIntegerCorrelationKey(key)) r.SetCorrelation(key, std::string(2000, '\x02'));
  }
  r.context = {{"k", "v"}};
  const std::string line = Format(r, options);
  EXPECT_LE(line.size() - 1, 1024u) << line.size();
  const Json j = ParseLine(line);
  EXPECT_EQ(j.Str("event"), "router.listening");
  EXPECT_NE(j.Str("message").find("...(truncated)"), std::string::npos);
}

TEST(RecordFormatTest, LimitBelowMinimumActsAsMinimum) {
  FormatOptions options;
  options.max_record_bytes = 10;
  LogRecord r = BasicRecord();
  r.context = {{"k", std::string(3000, 'k')}};
  const std::string line = Format(r, options);
  EXPECT_LE(line.size() - 1, kMinRecordBytes);
  ParseLine(line);
}

// ---------------------------------------------------------------- redaction in records (§5.3)

TEST(RecordFormatTest, ContextIsRedactedOwnMessageIsNot) {
  LogRecord r = BasicRecord();
  r.message = "basic configuration loaded, token: refreshed";  // our prose, as written
  r.context = {{"api_key", "k-123"}, {"note", "Authorization: Bearer abc.def"}};
  const Json j = ParseLine(Format(r));
  EXPECT_EQ(j.Str("message"), "basic configuration loaded, token: refreshed");
  const Json* context = j.Find("context");
  ASSERT_NE(context, nullptr);
  EXPECT_EQ(context->Str("api_key"), "[REDACTED]");
  EXPECT_EQ(context->Str("note"), "Authorization: Bearer [REDACTED]");
}

TEST(RecordFormatTest, LibraryMessageIsRedacted) {
  LogRecord r = BasicRecord();
  r.message = "connect nats://alice:pw@nats.local:4222 failed: password=hunter2";
  r.message_from_library = true;
  EXPECT_EQ(ParseLine(Format(r)).Str("message"),
            "connect nats://***@nats.local:4222 failed: password=[REDACTED]");
}

TEST(RecordFormatTest, KnownSecretsAreRedactedEverywhere) {
  const Redactor redactor(RedactionOptions{{}, {"s3cr3t-admin-key"}});
  LogRecord r = BasicRecord();
  r.message = "key s3cr3t-admin-key rejected";
  r.SetCorrelation(CorrelationKey::kRequestId, "s3cr3t-admin-key");
  r.context = {{"x", "s3cr3t-admin-key"}};
  const std::string line = Format(r, FormatOptions(), redactor);
  EXPECT_EQ(line.find("s3cr3t"), std::string::npos) << line;
  EXPECT_EQ(ParseLine(line).Str("message"), "key [REDACTED] rejected");
}

}  // namespace
}  // namespace router::obs
