// DecideRequest intake: every ordered rule of nats-contracts.md §4.1 with the exact §4.2
// messages, the §3.1 field semantics, and robustness against arbitrary bytes.

#include "nats/decide_request.h"

#include <gtest/gtest.h>

#include <random>
#include <string>

#include "nats_test_util.h"

namespace router::nats_adapter {
namespace {

using testutil::Detail;
using testutil::IsIntake;

constexpr char kSubject[] = "beamline.router.v1.decide";
constexpr char kSchema[] = "SCHEMA_VALIDATION_FAILED";
constexpr char kCorr[] = "CORRELATION_FIELDS_INVALID";
constexpr char kVersion[] = "VERSION_UNSUPPORTED";

// A valid request with `extra` members appended (each starting with ',').
std::string Body(const std::string& extra = "") {
  return R"({"version":"1","request_id":"r1","tenant_id":"acme","task":{"type":"t","payload_ref":"blob://x"})" +
         extra + "}";
}

std::string CorrMsg(const std::string& reason) {
  return "Correlation fields validation failed: " + reason;
}
std::string SchemaMsg(const std::string& reason) { return "Schema validation failed: " + reason; }

class DecideRequestTest : public ::testing::Test {
 protected:
  absl::Status Parse(std::string_view body, const DecideHeaders& headers = {},
                     std::string_view subject = kSubject) {
    return parser_.Parse(subject, body, headers, &req_, &ctx_);
  }
  IntakeOptions options_;
  DecideRequestParser parser_{options_};
  DecideRequest req_;
  FlatContext ctx_;
};

TEST_F(DecideRequestTest, ValidRequestFillsEveryField) {
  const std::string body =
      R"({"version":"1","request_id":"req-7f3a-0042","tenant_id":"acme","trace_id":"tr-1","policy_id":"support-chat",)"
      R"("task":{"type":"chat.completion","payload_ref":"blob://acme/in/0042.json","payload":{"prompt":"Summarise ticket 4711","max_tokens":256}},)"
      R"("constraints":{"region":"eu"},"metadata":{"session_id":"sess-19c2","channel":"web"},"push_assignment":true,)"
      R"("assignment_subject":"caf.exec.assign.v1","options":{"priority":80,"deadline_ms":5000},"idempotency_key":"acme-ticket-4711-a1",)"
      R"("run_id":"01JDQ3V8K2M4N6P8R0S2T4V6W8","flow_id":"5b1e8c2d-3f4a-4b6c-8d9e-0a1b2c3d4e5f","step_id":"9C8B7A6D-5E4F-4A3B-9C2D-1E0F9A8B7C6D"})";
  ASSERT_TRUE(Parse(body).ok());
  EXPECT_EQ(req_.request_id, "req-7f3a-0042");
  EXPECT_TRUE(req_.request_id_valid);
  EXPECT_EQ(req_.tenant_id, "acme");
  EXPECT_EQ(req_.trace_id, std::optional<std::string_view>("tr-1"));
  EXPECT_EQ(req_.policy_id, "support-chat");
  EXPECT_EQ(req_.task_type, "chat.completion");
  EXPECT_TRUE(req_.push_assignment);
  EXPECT_EQ(req_.assignment_subject, "caf.exec.assign.v1");
  EXPECT_EQ(req_.deadline_ms, std::optional<int64_t>(5000));
  EXPECT_EQ(req_.idempotency_key, std::optional<std::string_view>("acme-ticket-4711-a1"));
  EXPECT_EQ(req_.run_id, "01JDQ3V8K2M4N6P8R0S2T4V6W8");
  EXPECT_EQ(req_.step_id, "9C8B7A6D-5E4F-4A3B-9C2D-1E0F9A8B7C6D");
  EXPECT_EQ(ctx_.Find("region"), std::optional<std::string_view>("eu"));
  EXPECT_EQ(ctx_.Find("channel"), std::optional<std::string_view>("web"));
  EXPECT_EQ(ctx_.Size(), 3u);
}

// Rule 1.
TEST_F(DecideRequestTest, Rule1EmptyOrTinyBody) {
  EXPECT_TRUE(IsIntake(Parse(""), "PAYLOAD_TOO_SMALL", "empty_payload",
                       "Payload is too small or empty: 0 bytes, minimum: 2 bytes"));
  EXPECT_TRUE(IsIntake(Parse(" \n\t\r "), "PAYLOAD_TOO_SMALL", "empty_payload",
                       "Payload is too small or empty: 0 bytes, minimum: 2 bytes"));
  EXPECT_TRUE(IsIntake(Parse("  {  "), "PAYLOAD_TOO_SMALL", "empty_payload",
                       "Payload is too small or empty: 1 bytes, minimum: 2 bytes"));
  // Two bytes pass rule 1 (and fail later: the subject token supplies the version).
  EXPECT_TRUE(
      IsIntake(Parse("{}"), kCorr, "missing_tenant_id", CorrMsg("missing_tenant_id"), "tenant_id"));
}

// Rule 2 precedes rule 3: an oversize body is payload_too_large even when it is not JSON.
TEST_F(DecideRequestTest, Rule2PayloadTooLarge) {
  IntakeOptions small;
  small.max_payload_bytes = 64;
  DecideRequestParser parser(small);
  const std::string body(65, 'x');
  EXPECT_TRUE(IsIntake(parser.Parse(kSubject, body, {}, &req_, &ctx_), kSchema, "payload_too_large",
                       SchemaMsg("payload_too_large")));
  const std::string fits = R"({"version":"1","request_id":"r","tenant_id":"a","task":5})";
  ASSERT_LE(fits.size(), 64u);
  EXPECT_EQ(Detail(parser.Parse(kSubject, fits, {}, &req_, &ctx_), "reason"),
            "invalid_task_format");
}

// Rule 3: not UTF-8 JSON, not an object, duplicate interpreted key, depth > 32.
TEST_F(DecideRequestTest, Rule3InvalidFormat) {
  const std::string cases[] = {
      "{bad json",
      "[]",
      "\"a string\"",
      "12345",
      "null",
      R"({"a":1} trailing)",
      std::string("{\"tenant_id\":\"ac\xff\xfe\"}"),  // invalid UTF-8
      std::string("{\"a\":\"\xed\xa0\x80\"}"),        // encoded surrogate
      std::string("{\"a\":1,\x00\"b\":2}", 15),       // NUL byte
      R"({"version":"1","version":"1"})",             // duplicate top-level key
      Body(R"(,"metadata":{"k":"1","k":"2"})"),       // duplicate in metadata
      Body(R"(,"constraints":{"k":"1","k":"2"})"),
      Body(R"(,"options":{"priority":1,"priority":2})"),
      R"({"version":"1","request_id":"r1","tenant_id":"acme","task":{"type":"t","type":"u","payload_ref":"x"}})",
      R"({"a":1e999})",  // number out of range
  };
  for (const std::string& body : cases) {
    EXPECT_TRUE(IsIntake(Parse(body), kSchema, "invalid_format", SchemaMsg("invalid_format")))
        << body;
  }
}

TEST_F(DecideRequestTest, Rule3DuplicatesOutsideInterpretedObjectsAreAccepted) {
  // task.payload is copied verbatim, not interpreted.
  EXPECT_TRUE(
      Parse(
          R"({"version":"1","request_id":"r1","tenant_id":"acme","task":{"type":"t","payload":{"k":"abcdefgh","k":"x"}}})")
          .ok());
}

TEST_F(DecideRequestTest, Rule3ManyTopLevelKeysDuplicateDetected) {
  std::string body = "{";
  for (int i = 0; i < 5000; ++i) body += "\"k" + std::to_string(i) + "\":1,";
  body += "\"k17\":2}";
  EXPECT_TRUE(IsIntake(Parse(body), kSchema, "invalid_format", SchemaMsg("invalid_format")));
}

TEST_F(DecideRequestTest, Rule3DepthLimitIs32) {
  auto nested = [](int levels) {
    // The body object is level 1; metadata adds one level per object.
    std::string inner = "\"v\"";
    for (int i = 0; i < levels - 1; ++i) inner = "[" + inner + "]";
    return Body(",\"x\":" + inner);
  };
  // 32 levels in total: the top object plus 31 nested arrays.
  EXPECT_TRUE(Parse(nested(32)).ok());
  EXPECT_TRUE(IsIntake(Parse(nested(33)), kSchema, "invalid_format", SchemaMsg("invalid_format")));
  std::string deep(100000, '[');
  EXPECT_TRUE(IsIntake(Parse(deep), kSchema, "invalid_format", SchemaMsg("invalid_format")));
}

// Rule 4: header > payload > subject token.
TEST_F(DecideRequestTest, Rule4Version) {
  const std::string no_version =
      R"({"request_id":"r1","tenant_id":"acme","task":{"type":"t","payload_ref":"x"}})";
  // The default subject carries v1.
  EXPECT_TRUE(Parse(no_version).ok());
  EXPECT_TRUE(IsIntake(Parse(no_version, {}, "router.decide"), kVersion, "missing_version",
                       "Unsupported schema version: unknown, supported versions: [1]", "version"));
  EXPECT_TRUE(IsIntake(Parse(no_version, {}, "beamline.router.v2.decide"), kVersion,
                       "unsupported_version",
                       "Unsupported schema version: 2, supported versions: [1]", "version"));
  DecideHeaders v2;
  v2.version = "2";
  EXPECT_TRUE(IsIntake(Parse(Body(), v2), kVersion, "unsupported_version",
                       "Unsupported schema version: 2, supported versions: [1]", "version"));
  DecideHeaders v1;
  v1.version = "1";
  const std::string payload_v2 =
      R"({"version":"2","request_id":"r1","tenant_id":"acme","task":{"type":"t","payload_ref":"x"}})";
  EXPECT_TRUE(Parse(payload_v2, v1).ok());  // header wins
  EXPECT_TRUE(IsIntake(Parse(payload_v2), kVersion, "unsupported_version",
                       "Unsupported schema version: 2, supported versions: [1]", "version"));
  auto with_version = [](const std::string& v) {
    return R"({"version":)" + v +
           R"(,"request_id":"r1","tenant_id":"acme","task":{"type":"t","payload_ref":"x"}})";
  };
  EXPECT_TRUE(Parse(with_version("1")).ok());  // integer 1 (§11)
  EXPECT_TRUE(Parse(with_version("\"1\"")).ok());
  for (const auto& [v, shown] : std::vector<std::pair<std::string, std::string>>{{"1.0", "1.0"},
                                                                                 {"\"1.0\"", "1.0"},
                                                                                 {"true", "true"},
                                                                                 {"null", "null"},
                                                                                 {"[1]", "[1]"},
                                                                                 {"\"v1\"", "v1"},
                                                                                 {"2", "2"}}) {
    EXPECT_TRUE(IsIntake(Parse(with_version(v)), kVersion, "unsupported_version",
                         "Unsupported schema version: " + shown + ", supported versions: [1]",
                         "version"))
        << v;
  }
}

// Rule 5.
TEST_F(DecideRequestTest, Rule5TenantId) {
  EXPECT_TRUE(IsIntake(Parse(R"({"version":"1","request_id":"r1","task":{}})"), kCorr,
                       "missing_tenant_id", CorrMsg("missing_tenant_id"), "tenant_id"));
  EXPECT_TRUE(IsIntake(Parse(R"({"version":"1","tenant_id":""})"), kCorr, "empty_tenant_id",
                       CorrMsg("empty_tenant_id"), "tenant_id"));
  for (const char* bad : {"5", "null", "\"bad tenant\"", "\"..\"", "\"a/b\"", "{}"}) {
    EXPECT_TRUE(IsIntake(Parse(std::string(R"({"version":"1","tenant_id":)") + bad + "}"), kCorr,
                         "invalid_tenant_id_format", CorrMsg("invalid_tenant_id_format"),
                         "tenant_id"))
        << bad;
  }
  EXPECT_TRUE(IsIntake(Parse(R"({"version":"1","tenant_id":")" + std::string(256, 'a') + "\"}"),
                       kCorr, "invalid_tenant_id_format", CorrMsg("invalid_tenant_id_format"),
                       "tenant_id"));
}

// Rule 6: dependencies by presence.
TEST_F(DecideRequestTest, Rule6RunFlowStepDependencies) {
  const std::string uuid = "\"5b1e8c2d-3f4a-4b6c-8d9e-0a1b2c3d4e5f\"";
  EXPECT_TRUE(IsIntake(Parse(Body(",\"run_id\":" + uuid)), kCorr,
                       "flow_id_required_when_run_id_present",
                       CorrMsg("flow_id_required_when_run_id_present"), "flow_id"));
  EXPECT_TRUE(IsIntake(Parse(Body(",\"run_id\":" + uuid + ",\"flow_id\":" + uuid)), kCorr,
                       "step_id_required_when_run_id_present",
                       CorrMsg("step_id_required_when_run_id_present"), "step_id"));
  EXPECT_TRUE(IsIntake(Parse(Body(",\"flow_id\":" + uuid)), kCorr,
                       "run_id_required_when_flow_id_present",
                       CorrMsg("run_id_required_when_flow_id_present"), "run_id"));
  EXPECT_TRUE(IsIntake(Parse(Body(",\"step_id\":" + uuid)), kCorr,
                       "run_id_required_when_step_id_present",
                       CorrMsg("run_id_required_when_step_id_present"), "run_id"));
  EXPECT_TRUE(
      Parse(Body(",\"run_id\":" + uuid + ",\"flow_id\":" + uuid + ",\"step_id\":" + uuid)).ok());
}

// Rule 7: UUID v4 (any case) or ULID.
TEST_F(DecideRequestTest, Rule7RunFlowStepFormats) {
  const std::string ok_uuid = "\"5b1e8c2d-3f4a-4b6c-8d9e-0a1b2c3d4e5f\"";
  auto ids = [&](const std::string& run, const std::string& flow, const std::string& step) {
    return Body(",\"run_id\":" + run + ",\"flow_id\":" + flow + ",\"step_id\":" + step);
  };
  EXPECT_TRUE(Parse(ids("\"01JDQ3V8K2M4N6P8R0S2T4V6W8\"",
                        "\"5B1E8C2D-3F4A-4B6C-AD9E-0A1B2C3D4E5F\"", ok_uuid))
                  .ok());
  for (const char* bad : {"\"abc\"", "5", "null",
                          "\"5b1e8c2d-3f4a-1b6c-8d9e-0a1b2c3d4e5f\"",  // version 1
                          "\"5b1e8c2d-3f4a-4b6c-cd9e-0a1b2c3d4e5f\"",  // variant c
                          "\"01JDQ3V8K2M4N6P8R0S2T4V6WI\"",            // I not in the alphabet
                          "\"01jdq3v8k2m4n6p8r0s2t4v6w8\""}) {         // lowercase ULID
    EXPECT_TRUE(IsIntake(Parse(ids(bad, ok_uuid, ok_uuid)), kCorr, "invalid_run_id_format",
                         CorrMsg("invalid_run_id_format"), "run_id"))
        << bad;
  }
  EXPECT_TRUE(IsIntake(Parse(ids(ok_uuid, "\"x\"", ok_uuid)), kCorr, "invalid_flow_id_format",
                       CorrMsg("invalid_flow_id_format"), "flow_id"));
  EXPECT_TRUE(IsIntake(Parse(ids(ok_uuid, ok_uuid, "\"x\"")), kCorr, "invalid_step_id_format",
                       CorrMsg("invalid_step_id_format"), "step_id"));
}

// Rule 8: a string trace_id is never rejected.
TEST_F(DecideRequestTest, Rule8TraceId) {
  for (const char* bad : {"123", "null", "{}", "true"}) {
    EXPECT_TRUE(IsIntake(Parse(Body(std::string(",\"trace_id\":") + bad)), kCorr,
                         "invalid_trace_id_format", CorrMsg("invalid_trace_id_format"), "trace_id"))
        << bad;
  }
  EXPECT_TRUE(Parse(Body(R"(,"trace_id":"")")).ok());
  EXPECT_TRUE(Parse(Body(R"(,"trace_id":"anything \u0001 goes")")).ok());
}

// Rule 9: payload key, else the Idempotency-Key header.
TEST_F(DecideRequestTest, Rule9IdempotencyKey) {
  EXPECT_TRUE(IsIntake(Parse(Body(R"(,"idempotency_key":"")")), kCorr, "empty_idempotency_key",
                       CorrMsg("empty_idempotency_key"), "idempotency_key"));
  EXPECT_TRUE(IsIntake(Parse(Body(",\"idempotency_key\":\"" + std::string(257, 'k') + "\"")), kCorr,
                       "idempotency_key_too_long", CorrMsg("idempotency_key_too_long"),
                       "idempotency_key"));
  EXPECT_TRUE(Parse(Body(",\"idempotency_key\":\"" + std::string(256, 'k') + "\"")).ok());
  for (const char* bad : {"5", "null", R"("a\u0001b")", R"("tab\tkey")", R"("del\u007f")"}) {
    EXPECT_TRUE(IsIntake(Parse(Body(std::string(",\"idempotency_key\":") + bad)), kCorr,
                         "invalid_idempotency_key_format",
                         CorrMsg("invalid_idempotency_key_format"), "idempotency_key"))
        << bad;
  }
  DecideHeaders h;
  h.idempotency_key = "";
  EXPECT_TRUE(IsIntake(Parse(Body(), h), kCorr, "empty_idempotency_key",
                       CorrMsg("empty_idempotency_key"), "idempotency_key"));
  h.idempotency_key = "from-header";
  ASSERT_TRUE(Parse(Body(), h).ok());
  EXPECT_EQ(req_.idempotency_key, std::optional<std::string_view>("from-header"));
  ASSERT_TRUE(Parse(Body(R"(,"idempotency_key":"from-payload")"), h).ok());
  EXPECT_EQ(req_.idempotency_key, std::optional<std::string_view>("from-payload"));
}

// Rule 10.
TEST_F(DecideRequestTest, Rule10RequestId) {
  const std::string tail = R"("tenant_id":"acme","task":{"type":"t","payload_ref":"x"}})";
  EXPECT_TRUE(IsIntake(Parse(R"({"version":"1",)" + tail), kCorr, "missing_request_id",
                       CorrMsg("missing_request_id"), "request_id"));
  EXPECT_TRUE(IsIntake(Parse(R"({"version":"1","request_id":"",)" + tail), kCorr,
                       "empty_request_id", CorrMsg("empty_request_id"), "request_id"));
  for (const std::string& bad : {std::string("5"), std::string("null"),
                                 "\"" + std::string(257, 'r') + "\"", std::string(R"("a\nb")")}) {
    EXPECT_TRUE(IsIntake(Parse(R"({"version":"1","request_id":)" + bad + "," + tail), kCorr,
                         "invalid_request_id_format", CorrMsg("invalid_request_id_format"),
                         "request_id"))
        << bad;
  }
  EXPECT_TRUE(
      Parse(R"({"version":"1","request_id":")" + std::string(256, 'r') + "\"," + tail).ok());
}

// Rules 11-13: task, task.type, task.payload / payload_ref.
TEST_F(DecideRequestTest, Rules11To13Task) {
  const std::string head = R"({"version":"1","request_id":"r1","tenant_id":"acme")";
  EXPECT_TRUE(IsIntake(Parse(head + "}"), kCorr, "missing_task", CorrMsg("missing_task"), "task"));
  for (const char* bad : {"\"x\"", "[]", "null", "5"}) {
    EXPECT_TRUE(IsIntake(Parse(head + ",\"task\":" + bad + "}"), kCorr, "invalid_task_format",
                         CorrMsg("invalid_task_format"), "task"))
        << bad;
  }
  EXPECT_TRUE(IsIntake(Parse(head + R"(,"task":{"payload_ref":"x"}})"), kCorr, "missing_task_type",
                       CorrMsg("missing_task_type"), "task.type"));
  EXPECT_TRUE(IsIntake(Parse(head + R"(,"task":{"type":"","payload_ref":"x"}})"), kCorr,
                       "empty_task_type", CorrMsg("empty_task_type"), "task.type"));
  EXPECT_TRUE(IsIntake(Parse(head + R"(,"task":{"type":5,"payload_ref":"x"}})"), kCorr,
                       "invalid_task_type", CorrMsg("invalid_task_type"), "task.type"));
  EXPECT_TRUE(IsIntake(
      Parse(head + R"(,"task":{"type":")" + std::string(129, 't') + R"(","payload_ref":"x"}})"),
      kCorr, "invalid_task_type", CorrMsg("invalid_task_type"), "task.type"));
  EXPECT_TRUE(
      Parse(head + R"(,"task":{"type":")" + std::string(128, 't') + R"(","payload_ref":"x"}})")
          .ok());
  EXPECT_TRUE(IsIntake(Parse(head + R"(,"task":{"type":"t"}})"), kCorr, "missing_task_payload",
                       CorrMsg("missing_task_payload"), "task.payload"));
  EXPECT_TRUE(IsIntake(Parse(head + R"(,"task":{"type":"t","payload_ref":5}})"), kCorr,
                       "invalid_payload_format", CorrMsg("invalid_payload_format"),
                       "task.payload_ref"));
  EXPECT_TRUE(IsIntake(Parse(head + R"(,"task":{"type":"t","payload":"text"}})"), kCorr,
                       "invalid_payload_format", CorrMsg("invalid_payload_format"),
                       "task.payload"));
  // {"a":1} encodes to 7 bytes < min_payload_bytes (10).
  EXPECT_TRUE(IsIntake(Parse(head + R"(,"task":{"type":"t","payload":{ "a" : 1 }}})"), kCorr,
                       "payload_too_small", CorrMsg("payload_too_small"), "task.payload"));
  // {"abc":12} encodes to exactly 10 bytes.
  EXPECT_TRUE(Parse(head + R"(,"task":{"type":"t","payload":{"abc":12}}})").ok());
}

// Rule 14.
TEST_F(DecideRequestTest, Rule14PolicyId) {
  for (const char* bad : {"5", "null", "\"bad id\"", "\"..\""}) {
    EXPECT_TRUE(IsIntake(Parse(Body(std::string(",\"policy_id\":") + bad)), kSchema,
                         "invalid_policy_id", SchemaMsg("invalid_policy_id"), "policy_id"))
        << bad;
  }
  ASSERT_TRUE(Parse(Body(R"(,"policy_id":"")")).ok());
  EXPECT_EQ(req_.policy_id, "");
}

// Rule 15.
TEST_F(DecideRequestTest, Rule15ContextShapesAndBounds) {
  EXPECT_TRUE(IsIntake(Parse(Body(R"(,"constraints":"eu")")), kSchema, "invalid_constraints_format",
                       SchemaMsg("invalid_constraints_format"), "constraints"));
  EXPECT_TRUE(IsIntake(Parse(Body(R"(,"metadata":[])")), kSchema, "invalid_metadata_format",
                       SchemaMsg("invalid_metadata_format"), "metadata"));
  EXPECT_TRUE(IsIntake(Parse(Body(R"(,"options":5)")), kSchema, "invalid_options_format",
                       SchemaMsg("invalid_options_format"), "options"));
  // Shape problems come before bounds: metadata too large, options not an object.
  std::string many = ",\"metadata\":{";
  for (int i = 0; i < 65; ++i) many += (i ? "," : "") + ("\"k" + std::to_string(i) + "\":1");
  many += "}";
  EXPECT_TRUE(IsIntake(Parse(Body(many + R"(,"options":5)")), kSchema, "invalid_options_format",
                       SchemaMsg("invalid_options_format"), "options"));
  EXPECT_TRUE(IsIntake(Parse(Body(many)), kSchema, "context_too_large",
                       SchemaMsg("context_too_large"), "metadata"));
  EXPECT_TRUE(IsIntake(Parse(Body(",\"constraints\":{\"" + std::string(129, 'k') + "\":1}")),
                       kSchema, "context_too_large", SchemaMsg("context_too_large"),
                       "constraints"));
  EXPECT_TRUE(IsIntake(Parse(Body(",\"metadata\":{\"k\":\"" + std::string(1025, 'v') + "\"}")),
                       kSchema, "context_too_large", SchemaMsg("context_too_large"), "metadata"));
  EXPECT_TRUE(Parse(Body(",\"metadata\":{\"k\":\"" + std::string(1024, 'v') + "\"}")).ok());
  EXPECT_TRUE(IsIntake(Parse(Body(R"(,"metadata":{"a":{"b":{"c":{"d":{"e":"x"}}}}})")), kSchema,
                       "context_too_large", SchemaMsg("context_too_large"), "metadata"));
  EXPECT_TRUE(Parse(Body(R"(,"metadata":{"a":{"b":{"c":{"d":"x"}}}})")).ok());
  for (const char* bad : {"0", "3600001", "\"5000\"", "1.5", "-1", "null"}) {
    EXPECT_TRUE(IsIntake(Parse(Body(std::string(R"(,"options":{"deadline_ms":)") + bad + "}")),
                         kSchema, "invalid_deadline_ms", SchemaMsg("invalid_deadline_ms"),
                         "options.deadline_ms"))
        << bad;
  }
  ASSERT_TRUE(Parse(Body(R"(,"options":{"deadline_ms":3600000})")).ok());
  EXPECT_EQ(req_.deadline_ms, std::optional<int64_t>(3600000));
}

// Rule 16: only when pushing.
TEST_F(DecideRequestTest, Rule16AssignmentSubject) {
  EXPECT_TRUE(IsIntake(Parse(Body(R"(,"push_assignment":true,"assignment_subject":"orders.x")")),
                       kSchema, "assignment_subject_not_allowed",
                       SchemaMsg("assignment_subject_not_allowed"), "assignment_subject"));
  for (const char* bad : {"\"caf.exec.*\"", "\"caf.>\"", "\"$JS.API.x\"", "\"_INBOX.abc\"",
                          "\"a..b\"", "\"has space\"", "\"\"", "5"}) {
    EXPECT_TRUE(
        IsIntake(Parse(Body(std::string(R"(,"push_assignment":true,"assignment_subject":)") + bad)),
                 kSchema, "invalid_assignment_subject", SchemaMsg("invalid_assignment_subject"),
                 "assignment_subject"))
        << bad;
  }
  // Not pushing: the subject is not checked.
  EXPECT_TRUE(Parse(Body(R"(,"push_assignment":false,"assignment_subject":5)")).ok());
  // §3.1 truthiness: true, "true", 1.
  for (const char* yes : {"true", "\"true\"", "1"}) {
    ASSERT_TRUE(Parse(Body(std::string(",\"push_assignment\":") + yes)).ok());
    EXPECT_TRUE(req_.push_assignment) << yes;
    EXPECT_EQ(req_.assignment_subject, "caf.exec.assign.v1");
  }
  for (const char* no : {"false", "\"yes\"", "0", "2", "null", "\"TRUE\""}) {
    ASSERT_TRUE(Parse(Body(std::string(",\"push_assignment\":") + no)).ok());
    EXPECT_FALSE(req_.push_assignment) << no;
  }
  IntakeOptions wide;
  wide.assignment_stream_subjects = {"caf.exec.assign.v1", "caf.exec.assign.eu.*"};
  DecideRequestParser parser(wide);
  ASSERT_TRUE(
      parser
          .Parse(kSubject,
                 Body(R"(,"push_assignment":true,"assignment_subject":"caf.exec.assign.eu.gpu")"),
                 {}, &req_, &ctx_)
          .ok());
  EXPECT_EQ(req_.assignment_subject, "caf.exec.assign.eu.gpu");
}

// First failure wins, and partial fields survive for the reply and DLQ context.
TEST_F(DecideRequestTest, OrderAndPartialFields) {
  // tenant (rule 5) before request_id (rule 10), request_id still echoed when valid.
  absl::Status s = Parse(R"({"version":"1","request_id":"r-77","trace_id":"t-9"})");
  EXPECT_EQ(Detail(s, "reason"), "missing_tenant_id");
  EXPECT_TRUE(req_.request_id_valid);
  EXPECT_EQ(req_.request_id, "r-77");
  EXPECT_EQ(req_.trace_id, std::optional<std::string_view>("t-9"));
  // trace_id (rule 8) before task (rule 11).
  EXPECT_EQ(
      Detail(Parse(R"({"version":"1","request_id":"r","tenant_id":"a","trace_id":1})"), "reason"),
      "invalid_trace_id_format");
  // version (rule 4) before tenant (rule 5); an invalid request_id is not echoed.
  s = Parse(R"({"version":"9","request_id":"","tenant_id":"bad tenant"})");
  EXPECT_EQ(Detail(s, "reason"), "unsupported_version");
  EXPECT_FALSE(req_.request_id_valid);
  EXPECT_EQ(req_.tenant_id, "bad tenant");
  EXPECT_FALSE(req_.tenant_id_valid);
}

// Unknown fields are ignored (§0).
TEST_F(DecideRequestTest, UnknownFieldsIgnored) {
  EXPECT_TRUE(Parse(Body(R"(,"future":{"x":[1,2,{"y":null}]},"span_id":"abc")")).ok());
  EXPECT_TRUE(req_.payload_has_span_id);
}

// Robustness: arbitrary bytes never crash and always yield OK or an intake error.
TEST_F(DecideRequestTest, ArbitraryBytesNeverCrash) {
  std::mt19937_64 rng(42);
  const std::string seed =
      Body(R"(,"metadata":{"a":{"b":[1,2,"x"]},"c":true},"options":{"deadline_ms":10})");
  for (int i = 0; i < 3000; ++i) {
    std::string body = seed;
    const int edits = 1 + static_cast<int>(rng() % 8);
    for (int e = 0; e < edits; ++e) {
      const size_t pos = rng() % body.size();
      switch (rng() % 3) {
        case 0:
          body[pos] = static_cast<char>(rng() & 0xFF);
          break;
        case 1:
          body.erase(pos, 1 + rng() % 4);
          break;
        default:
          body.insert(pos, 1, static_cast<char>(rng() & 0xFF));
          break;
      }
      if (body.empty()) body = "{";
    }
    absl::Status s = Parse(body);
    if (!s.ok()) {
      EXPECT_NE(Detail(s, "intake_error_code"), "<absent>") << body;
    }
  }
  std::string random_bytes;
  for (int i = 0; i < 4096; ++i) random_bytes.push_back(static_cast<char>(rng() & 0xFF));
  EXPECT_FALSE(Parse(random_bytes).ok());
}

TEST(IdFormatsTest, UuidUlidAndPrintable) {
  EXPECT_TRUE(IsUuidV4AnyCase("5b1e8c2d-3f4a-4b6c-8d9e-0a1b2c3d4e5f"));
  EXPECT_TRUE(IsUuidV4AnyCase("5B1E8C2D-3F4A-4B6C-BD9E-0A1B2C3D4E5F"));
  EXPECT_FALSE(IsUuidV4AnyCase("5b1e8c2d3f4a4b6c8d9e0a1b2c3d4e5f"));
  EXPECT_FALSE(IsUuidV4AnyCase("5b1e8c2d-3f4a-4b6c-8d9e-0a1b2c3d4e5g"));
  EXPECT_TRUE(IsUlid("01JDQ3V8K2M4N6P8R0S2T4V6W8"));
  EXPECT_FALSE(IsUlid("01JDQ3V8K2M4N6P8R0S2T4V6WU"));  // U excluded
  EXPECT_FALSE(IsUlid("01JDQ3V8K2M4N6P8R0S2T4V6W"));
  EXPECT_TRUE(IsBoundedPrintable("abc", 3));
  EXPECT_FALSE(IsBoundedPrintable("abcd", 3));
  EXPECT_FALSE(IsBoundedPrintable("", 3));
  EXPECT_FALSE(IsBoundedPrintable(std::string("a\0b", 3), 3));
}

TEST(IntakeErrorTest, CodesAndMessages) {
  absl::Status s = IntakeError(IntakeCode::kTenantForbidden, "tenant_not_allowed", "tenant_id");
  EXPECT_EQ(s.code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(ErrorTag(s), "tenant_not_allowed");
  EXPECT_EQ(s.message(), "Tenant validation failed: tenant_not_allowed");
  s = IntakeError(IntakeCode::kIdempotencyViolation, "idempotency_key_reused");
  EXPECT_EQ(s.message(), "Idempotency violation: idempotency_key_reused");
  EXPECT_EQ(Detail(s, "intake_error_code"), "IDEMPOTENCY_VIOLATION");
  EXPECT_EQ(Detail(s, "field"), "<absent>");
  s = IntakeError(IntakeCode::kInternalValidationError, "internal_error");
  EXPECT_EQ(s.message(), "Internal validation error: internal_error");
  EXPECT_EQ(s.code(), absl::StatusCode::kInternal);
}

}  // namespace
}  // namespace router::nats_adapter
