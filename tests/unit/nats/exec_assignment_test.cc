// ExecAssignment body and headers (nats-contracts.md §3.4, §2, §5 step 11 pre-publish checks).

#include "nats/exec_assignment.h"

#include <gtest/gtest.h>
#include <nats/nats.h>

#include "nats_test_util.h"

namespace router::nats_adapter {
namespace {

using testutil::Json;

service::DecideOutput Decision(int64_t latency = 840) {
  service::DecideOutput d;
  d.provider_id = "anthropic-sonnet";
  d.reason = "weighted";
  d.priority = 50;
  d.expected_latency_ms = latency;
  d.expected_cost = 0.0031;
  d.policy_version = 7;
  d.decision_id = "b2c4d6e8-1a3b-4c5d-8e6f-7a8b9c0d1e2f";
  d.trace_id = "7d3e0c9a51b24f6e8a1c2b3d4e5f6071";
  d.metadata = {{"region", "eu"},
                {"tenant_id", "acme"},
                {"policy_id", "support-chat"},
                {"region", "us"}};  // repeated key: the last wins
  return d;
}

class ExecAssignmentTest : public ::testing::Test {
 protected:
  void Parse(const char* request) {
    ASSERT_EQ(parser_.parse(request, strlen(request)).get(doc_), simdjson::SUCCESS);
    simdjson::dom::object root;
    ASSERT_EQ(doc_.get(root), simdjson::SUCCESS);
    in_.task = root["task"].value();
    simdjson::dom::object o;
    if (root["options"].get(o) == simdjson::SUCCESS) in_.options = o;
    if (root["metadata"].get(o) == simdjson::SUCCESS) in_.metadata = o;
    in_.assignment_id = "3f6c1e9a-8b2d-4c47-9e15-6a0d2b7f41c3";
    in_.request_id = "req-7f3a-0042";
    in_.tenant_id = "acme";
    in_.issued_at_ms = 1795688130123;
    in_.correlation_trace_id = "7d3e0c9a51b24f6e8a1c2b3d4e5f6071";
    in_.decision = &decision_;
  }
  simdjson::dom::parser parser_;
  simdjson::dom::element doc_;
  service::DecideOutput decision_ = Decision();
  ExecAssignmentInput in_;
  std::string out_;
};

// §3.4: D = clamp(latency x 5, 5000, 60000); without an estimate D = 5000.
TEST(AssignmentDeadlineTest, Formula) {
  AssignmentDeadlineOptions o;
  EXPECT_EQ(AssignmentDeadlineMs(840, o), 5000);
  EXPECT_EQ(AssignmentDeadlineMs(2000, o), 10000);
  EXPECT_EQ(AssignmentDeadlineMs(20000, o), 60000);
  EXPECT_EQ(AssignmentDeadlineMs(0, o), 5000);
  o.multiplier = 3;
  o.min_ms = 1000;
  EXPECT_EQ(AssignmentDeadlineMs(500, o), 1500);
}

// §3.4: every field, defaults with the request's options shallow-merged over them.
TEST_F(ExecAssignmentTest, BodyHasEveryFieldAndMergedOptions) {
  Parse(R"({"task":{"type":"chat.completion","payload":{"prompt":"x","max_tokens":256}},
            "options":{"priority":80,"queue":"gold","retry":{"max_attempts":5}},
            "metadata":{"session_id":"sess-19c2","channel":"web"}})");
  in_.run_id = "01JDQ3V8K2M4N6P8R0S2T4V6W8";
  in_.flow_id = "5b1e8c2d-3f4a-4b6c-8d9e-0a1b2c3d4e5f";
  in_.step_id = "9c8b7a6d-5e4f-4a3b-9c2d-1e0f9a8b7c6d";
  ASSERT_TRUE(BuildExecAssignment(in_, {}, 1 << 20, out_).ok());
  Json j(out_);
  ASSERT_TRUE(j.ok()) << out_;
  EXPECT_EQ(j.Str("/version"), "1");
  EXPECT_EQ(j.Str("/assignment_id"), "3f6c1e9a-8b2d-4c47-9e15-6a0d2b7f41c3");
  EXPECT_EQ(j.Str("/request_id"), "req-7f3a-0042");
  EXPECT_EQ(j.Str("/tenant_id"), "acme");
  EXPECT_EQ(j.Str("/decision_id"), decision_.decision_id);
  EXPECT_EQ(j.Int("/issued_at_ms"), 1795688130123);
  EXPECT_EQ(j.Str("/executor/provider_id"), "anthropic-sonnet");
  EXPECT_EQ(j.Str("/executor/channel"), "nats");
  EXPECT_EQ(j.Str("/job/type"), "chat.completion");
  EXPECT_EQ(j.Int("/job/payload/max_tokens"), 256);
  EXPECT_EQ(j.Int("/options/priority"), 80);       // request wins
  EXPECT_EQ(j.Int("/options/deadline_ms"), 5000);  // default D
  EXPECT_EQ(j.Int("/options/retry/max_attempts"), 5);
  EXPECT_EQ(j.Int("/options/retry/backoff_ms"), -1);  // shallow merge: replaced as a whole
  EXPECT_EQ(j.Str("/options/queue"), "gold");
  EXPECT_EQ(j.Str("/correlation/trace_id"), "7d3e0c9a51b24f6e8a1c2b3d4e5f6071");
  EXPECT_EQ(j.Str("/correlation/run_id"), "01JDQ3V8K2M4N6P8R0S2T4V6W8");
  EXPECT_EQ(j.Str("/correlation/step_id"), "9c8b7a6d-5e4f-4a3b-9c2d-1e0f9a8b7c6d");
  EXPECT_EQ(j.Int("/decision/priority"), 50);
  EXPECT_EQ(j.Int("/decision/expected_latency_ms"), 840);
  EXPECT_EQ(j.Str("/decision/reason"), "weighted");
  EXPECT_EQ(j.Str("/decision/policy_id"), "support-chat");
  EXPECT_EQ(j.Int("/decision/policy_version"), 7);
  EXPECT_EQ(j.Str("/decision/metadata/region"), "us");
  EXPECT_EQ(j.Str("/metadata/channel"), "web");
  EXPECT_EQ(out_.find("\"region\":\"eu\""), std::string::npos);
}

TEST_F(ExecAssignmentTest, DefaultsWithoutOptionsAndEmptyMetadata) {
  Parse(R"({"task":{"type":"t","payload_ref":"blob://x"}})");
  decision_.expected_latency_ms = 2000;
  ASSERT_TRUE(BuildExecAssignment(in_, {}, 1 << 20, out_).ok());
  Json j(out_);
  EXPECT_EQ(j.Int("/options/priority"), 50);
  EXPECT_EQ(j.Int("/options/deadline_ms"), 10000);
  EXPECT_EQ(j.Int("/options/retry/max_attempts"), 2);
  EXPECT_EQ(j.Int("/options/retry/backoff_ms"), 200);
  EXPECT_NE(out_.find(R"("metadata":{}})"), std::string::npos) << out_;
  EXPECT_EQ(out_.find("run_id"), std::string::npos);
}

// §5 step 11 pre-publish checks.
TEST_F(ExecAssignmentTest, PrePublishChecks) {
  Parse(R"({"task":{"type":"t","payload_ref":"blob://x"}})");
  absl::Status s = BuildExecAssignment(in_, {}, 100, out_);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(testutil::Detail(s, "reason"), "assignment_too_large");
  decision_.provider_id = "bad provider";
  EXPECT_EQ(BuildExecAssignment(in_, {}, 1 << 20, out_).code(), absl::StatusCode::kInternal);
  decision_ = Decision(3'600'001);
  EXPECT_EQ(BuildExecAssignment(in_, {}, 1 << 20, out_).code(), absl::StatusCode::kInternal);
  decision_ = Decision();
  in_.tenant_id = "a b";
  EXPECT_EQ(BuildExecAssignment(in_, {}, 1 << 20, out_).code(), absl::StatusCode::kInternal);
  EXPECT_TRUE(IsValidProviderId("openai:gpt-4o/mini_v1.2"));
  EXPECT_FALSE(IsValidProviderId(std::string(129, 'a')));
}

// §2 ExecAssignment headers.
TEST(ExecAssignmentHeadersTest, HeadersInOrder) {
  AssignmentTrace t;
  t.trace32 = "7d3e0c9a51b24f6e8a1c2b3d4e5f6071";
  t.flags = 1;
  t.tracestate = "vendor=1";
  HeaderList h = ExecAssignmentHeaders("id-1", "acme", "req-1", t);
  ASSERT_EQ(h.size(), 10u);
  EXPECT_EQ(h[0], (std::pair<std::string, std::string>("Nats-Msg-Id", "id-1")));
  EXPECT_EQ(h[1].second, "acme");
  EXPECT_EQ(h[2], (std::pair<std::string, std::string>("version", "1")));
  EXPECT_EQ(h[3].second, "req-1");
  EXPECT_EQ(h[4].first, "traceparent");
  EXPECT_EQ(h[4].second.substr(0, 36), "00-7d3e0c9a51b24f6e8a1c2b3d4e5f6071-");
  EXPECT_EQ(h[4].second.substr(53), "01");
  EXPECT_EQ(h[5], (std::pair<std::string, std::string>("tracestate", "vendor=1")));
  EXPECT_EQ(h[6], (std::pair<std::string, std::string>("trace_id", t.trace32)));
  EXPECT_EQ(h[7].second, h[4].second.substr(36, 16));
  EXPECT_EQ(h[8].first, "X-Trace-Id");
  EXPECT_EQ(h[9].second, h[7].second);
  // A lenient request trace id is copied verbatim when <= 128 printable ASCII bytes.
  t.request_trace_id = "tr-123";
  t.tracestate = "";
  h = ExecAssignmentHeaders("id-1", "acme", "req-1", t);
  EXPECT_EQ(h.size(), 9u);
  EXPECT_EQ(h[5], (std::pair<std::string, std::string>("trace_id", "tr-123")));
  const std::string long_id(129, 'x');
  t.request_trace_id = long_id;
  h = ExecAssignmentHeaders("id-1", "acme", "req-1", t);
  EXPECT_EQ(h[5].second, t.trace32);
}

}  // namespace
}  // namespace router::nats_adapter
