// DecideProcessor: the §5 decide flow over the real DecisionService (no NATS): replies,
// error mapping incl. invalid_context and TENANT_FORBIDDEN, the DLQ decision, assignment
// statuses, trace-id resolution (§2 `<trace32>`) and diagnostics counters.

#include "nats/decide_processor.h"

#include <gtest/gtest.h>

#include <memory>

#include "core/decider.h"
#include "core/provider_health.h"
#include "core/snapshot.h"
#include "core/sticky_table.h"
#include "nats_test_util.h"
#include "policy/policy_compiler.h"
#include "service/ids.h"
#include "support/fake_clock.h"

namespace router::nats_adapter {
namespace {

using testutil::Json;

constexpr char kSubject[] = "beamline.router.v1.decide";

policy::CompiledPolicyPtr Compile(const char* json, const char* tenant, const char* id,
                                  uint64_t version) {
  auto compiled = policy::CompilePolicy(json, tenant, id);
  EXPECT_TRUE(compiled.ok()) << compiled.status();
  auto copy = std::make_shared<policy::CompiledPolicy>(**compiled);
  copy->version = version;
  return copy;
}

class DecideProcessorTest : public ::testing::Test {
 protected:
  DecideProcessorTest() {
    core::SnapshotPtr snap = snapshots_.Load();
    snap = core::WithUpsert(
        snap,
        Compile(
            R"({"version":"1.0","providers":[{"name":"p1","weight":100,"expected_latency_ms":840,"cost":0.0031}]})",
            "acme", "default", 7));
    snap = core::WithUpsert(
        snap, Compile(R"({"version":"1.0","providers":[{"name":"p2","weight":100}]})", "acme",
                      "other", 2));
    snap = core::WithUpsert(
        snap, Compile(R"({"version":"1.0","providers":[{"name":"p1","weight":100}]})", "beta",
                      "default", 1));
    snapshots_.Publish(snap);
    service::DecisionServiceOptions opts;
    opts.tenant_allowlist = {"acme", "beta"};
    service_ = std::make_unique<service::DecisionService>(opts, clock_, snapshots_, decider_);
    options_.node_id = "router-t";
    Rebuild();
  }
  void Rebuild() {
    processor_ = std::make_unique<DecideProcessor>(options_, *service_, stats_);
    worker_ = processor_->NewWorker();
  }
  DecideOutcome Run(const std::string& body, const DecideHeaders& headers = {}) {
    message_.subject = kSubject;
    body_ = body;
    message_.body = body_;
    message_.headers = headers;
    message_.received_at_ms = 1795688131100;
    return processor_->Process(message_, *worker_);
  }
  static std::string Body(const std::string& extra = "") {
    return R"({"version":"1","request_id":"r1","tenant_id":"acme","task":{"type":"chat","payload_ref":"x"})" +
           extra + "}";
  }

  testing::FakeClock clock_;
  core::SnapshotHolder snapshots_;
  core::NoBreakers breakers_;
  core::NoStatistics statistics_;
  core::StickyTable sticky_{4, 100};
  core::Decider decider_{clock_, breakers_, statistics_, sticky_};
  std::unique_ptr<service::DecisionService> service_;
  DecideProcessorOptions options_;
  NatsStats stats_;
  std::unique_ptr<DecideProcessor> processor_;
  std::unique_ptr<DecideProcessor::Worker> worker_;
  DecideMessage message_;
  std::string body_;
};

TEST_F(DecideProcessorTest, SuccessfulDecideReply) {
  DecideOutcome out = Run(Body(R"(,"metadata":{"channel":"web"},"trace_id":"tr-123")"));
  ASSERT_TRUE(out.ok) << out.reply;
  EXPECT_FALSE(out.dlq);
  Json r(out.reply);
  EXPECT_TRUE(r.Bool("/ok"));
  EXPECT_EQ(r.Str("/decision/provider_id"), "p1");
  EXPECT_EQ(r.Str("/decision/reason"), "weighted");
  EXPECT_EQ(r.Int("/decision/expected_latency_ms"), 840);
  EXPECT_EQ(r.Str("/decision/policy_id"), "default");
  EXPECT_EQ(r.Int("/decision/policy_version"), 7);
  EXPECT_EQ(r.Str("/decision/metadata/channel"), "web");
  EXPECT_EQ(r.Str("/decision/metadata/policy_version"), "7");
  EXPECT_EQ(r.Str("/context/request_id"), "r1");
  // §9 lenient trace id: echoed verbatim; propagation uses a fresh id, counted once.
  EXPECT_EQ(r.Str("/context/trace_id"), "tr-123");
  EXPECT_TRUE(service::IsValidTraceId(r.Str("/decision/metadata/trace_id")));
  EXPECT_EQ(stats_.trace_id_nonconforming.load(), 1u);
  EXPECT_EQ(stats_.decide_ok.load(), 1u);
  EXPECT_FALSE(r.Has("/decision/explanation"));
}

TEST_F(DecideProcessorTest, TraceIdSources) {
  DecideHeaders h;
  h.traceparent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
  Json a(Run(Body(R"(,"trace_id":"5B1E8C2D-3F4A-4B6C-8D9E-0A1B2C3D4E5F")"), h).reply);
  EXPECT_EQ(a.Str("/decision/metadata/trace_id"), "0af7651916cd43dd8448eb211c80319c");
  EXPECT_EQ(a.Str("/context/trace_id"), "5B1E8C2D-3F4A-4B6C-8D9E-0A1B2C3D4E5F");
  // Invalid traceparent: ignored and counted; a UUID trace_id loses its hyphens.
  h.traceparent = "garbage";
  Json b(Run(Body(R"(,"trace_id":"5B1E8C2D-3F4A-4B6C-8D9E-0A1B2C3D4E5F")"), h).reply);
  EXPECT_EQ(b.Str("/decision/metadata/trace_id"), "5b1e8c2d3f4a4b6c8d9e0a1b2c3d4e5f");
  EXPECT_EQ(stats_.invalid_traceparent.load(), 1u);
  // No trace id at all: a fresh one, which is also the context trace_id.
  Json c(Run(Body()).reply);
  EXPECT_TRUE(service::IsValidTraceId(c.Str("/decision/metadata/trace_id")));
  EXPECT_EQ(c.Str("/context/trace_id"), c.Str("/decision/metadata/trace_id"));
  // All-zero ids do not conform.
  Json z(Run(Body(R"(,"trace_id":"00000000000000000000000000000000")")).reply);
  EXPECT_NE(z.Str("/decision/metadata/trace_id"), "00000000000000000000000000000000");
  EXPECT_EQ(stats_.trace_id_nonconforming.load(), 1u);
  EXPECT_EQ(stats_.invalid_traceparent.load(), 1u);
}

TEST_F(DecideProcessorTest, MissingDiagnosticHeadersAreCounted) {
  Run(Body(R"(,"trace_id":"t","span_id":"s")"));
  EXPECT_EQ(stats_.ctx_missing_headers.load(), 0u);
  Run(Body(R"(,"trace_id":"t")"));
  EXPECT_EQ(stats_.ctx_missing_headers.load(), 1u);
  DecideHeaders h;
  h.trace_id = "t";
  h.span_id = "s";
  Run(Body(), h);
  EXPECT_EQ(stats_.ctx_missing_headers.load(), 1u);
}

TEST_F(DecideProcessorTest, RouterKeysOverrideContextAndCorrelationIdIsCopied) {
  DecideHeaders h;
  h.correlation_id = "corr-9";
  const std::string reply(
      Run(Body(R"(,"metadata":{"tenant_id":"evil","decision_id":"x","k":"v"})"), h).reply);
  Json r(reply);
  EXPECT_EQ(r.Str("/decision/metadata/tenant_id"), "acme");
  EXPECT_EQ(r.Str("/decision/metadata/decision_id"), r.Str("/decision/decision_id"));
  EXPECT_EQ(r.Str("/decision/metadata/k"), "v");
  EXPECT_EQ(r.Str("/decision/metadata/correlation_id"), "corr-9");
  // Exactly one tenant_id key in the metadata object (JSON keys must be unique).
  EXPECT_EQ(reply.find("\"tenant_id\""), reply.rfind("\"tenant_id\""));
  EXPECT_EQ(reply.find("evil"), std::string::npos);
}

TEST_F(DecideProcessorTest, PolicyIdResolution) {
  Json from_context(Run(Body(R"(,"policy_id":"","constraints":{"policy_id":"other"})")).reply);
  EXPECT_EQ(from_context.Str("/decision/provider_id"), "p2");
  EXPECT_EQ(from_context.Str("/decision/policy_id"), "other");
  Json explicit_id(Run(Body(R"(,"policy_id":"other")")).reply);
  EXPECT_EQ(explicit_id.Int("/decision/policy_version"), 2);
}

TEST_F(DecideProcessorTest, ExplanationOnRequest) {
  Json r(Run(Body(R"(,"metadata":{"explain":true})")).reply);
  EXPECT_EQ(r.Str("/decision/explanation/steps/0"), "policy: acme/default v7, strategy weighted");
}

TEST_F(DecideProcessorTest, IntakeFailureRepliesAndAsksForDlq) {
  DecideOutcome out = Run(R"({"version":"1","request_id":"r-9","trace_id":"tr","tenant_id":""})");
  EXPECT_FALSE(out.ok);
  EXPECT_TRUE(out.dlq);
  Json r(out.reply);
  EXPECT_EQ(r.Str("/error/code"), "invalid_request");
  EXPECT_EQ(r.Str("/error/intake_error_code"), "CORRELATION_FIELDS_INVALID");
  EXPECT_EQ(r.Str("/context/request_id"), "r-9");
  EXPECT_EQ(r.Str("/context/trace_id"), "tr");
  Json e(processor_->BuildDlqEnvelope(message_, *worker_));
  EXPECT_EQ(e.Str("/validation_error/code"), "CORRELATION_FIELDS_INVALID");
  EXPECT_EQ(e.Str("/validation_error/message"),
            "Correlation fields validation failed: empty_tenant_id");
  EXPECT_EQ(e.Str("/context/request_id"), "r-9");
  EXPECT_EQ(e.Str("/context/trace_id"), "tr");
  EXPECT_FALSE(e.Has("/context/tenant_id"));
  EXPECT_EQ(e.Int("/received_at"), 1795688131100);
  EXPECT_EQ(e.Str("/router_node_id"), "router-t");
  EXPECT_EQ(stats_.intake_validation_errors.load(), 1u);
  EXPECT_EQ(stats_.intake_errors_by_code[static_cast<size_t>(IntakeCode::kCorrelationFieldsInvalid)]
                .load(),
            1u);

  // PAYLOAD_TOO_SMALL is not DLQ'd (§4.3), and request_id is null.
  DecideOutcome tiny = Run("{");
  EXPECT_FALSE(tiny.dlq);
  EXPECT_TRUE(Json(tiny.reply).IsNull("/context/request_id"));
}

TEST_F(DecideProcessorTest, DlqDisabled) {
  options_.dlq_enabled = false;
  Rebuild();
  EXPECT_FALSE(Run("{bad json").dlq);
}

TEST_F(DecideProcessorTest, TenantOutsideAllowlistIsTenantForbidden) {
  DecideOutcome out = Run(
      R"({"version":"1","request_id":"r1","tenant_id":"gamma","task":{"type":"t","payload_ref":"x"}})");
  EXPECT_TRUE(out.dlq);
  Json r(out.reply);
  EXPECT_EQ(r.Str("/error/code"), "unauthorized");
  EXPECT_EQ(r.Str("/error/intake_error_code"), "TENANT_FORBIDDEN");
  EXPECT_EQ(r.Str("/error/message"), "Tenant validation failed: tenant_not_allowed");
  EXPECT_EQ(Json(processor_->BuildDlqEnvelope(message_, *worker_)).Str("/context/tenant_id"),
            "gamma");
}

TEST_F(DecideProcessorTest, RoutingErrorsAreNotDlqd) {
  DecideOutcome out = Run(Body(R"(,"policy_id":"missing")"));
  EXPECT_FALSE(out.dlq);
  Json r(out.reply);
  EXPECT_EQ(r.Str("/error/code"), "policy_not_found");
  EXPECT_EQ(r.Str("/error/message"), "policy \"missing\" not found for tenant \"acme\"");
  EXPECT_EQ(r.Str("/error/details/tenant_id"), "acme");
  EXPECT_EQ(r.Str("/error/details/policy_id"), "missing");
  EXPECT_FALSE(r.Has("/error/intake_error_code"));
}

// §5 step 3: malformed context attempt/deadline -> invalid_context with the JSON path.
TEST_F(DecideProcessorTest, InvalidContextNamesItsField) {
  Json deadline(Run(Body(R"(,"constraints":{"deadline":"soon"})")).reply);
  EXPECT_EQ(deadline.Str("/error/code"), "invalid_request");
  EXPECT_EQ(deadline.Str("/error/message"), "context.deadline: must be an epoch-ms integer");
  EXPECT_EQ(deadline.Str("/error/details/reason"), "invalid_context");
  EXPECT_EQ(deadline.Str("/error/details/field"), "constraints.deadline");
  Json attempt(Run(Body(R"(,"constraints":{"attempt":"1"},"metadata":{"attempt":1001})")).reply);
  EXPECT_EQ(attempt.Str("/error/details/field"), "metadata.attempt");
  // A deadline in the past (FakeClock wall time) -> deadline_exceeded.
  Json past(Run(Body(R"(,"metadata":{"deadline":1000})")).reply);
  EXPECT_EQ(past.Str("/error/code"), "deadline_exceeded");
}

TEST_F(DecideProcessorTest, PushingStatuses) {
  Json unavailable(Run(Body(R"(,"push_assignment":true)")).reply);
  EXPECT_EQ(unavailable.Str("/error/code"), "unavailable");
  EXPECT_EQ(unavailable.Str("/error/message"),
            "Assignment publishing is not available in this build");
  EXPECT_EQ(unavailable.Int("/error/retry_after_ms"), 2000);
  EXPECT_EQ(unavailable.Str("/error/details/reason"), "assignment_publishing_unavailable");
  // Errors before the assignment step win over it.
  EXPECT_EQ(
      Json(Run(Body(R"(,"push_assignment":true,"policy_id":"missing")")).reply).Str("/error/code"),
      "policy_not_found");

  options_.assignment_allowed_tenants = {"beta"};
  Rebuild();
  Json blocked(Run(Body(R"(,"push_assignment":true)")).reply);
  EXPECT_TRUE(blocked.Bool("/ok"));
  EXPECT_EQ(blocked.Str("/assignment/status"), "tenant_blocked");
  // OBS §2.5: router_assignment_blocked_total counts the decision not to push.
  EXPECT_EQ(stats_.assignment_blocked.load(), 1u);
  EXPECT_EQ(stats_.assignment_skipped.load(), 0u);

  options_.jetstream_enabled = false;
  Rebuild();
  Json disabled(Run(Body(R"(,"push_assignment":"true")")).reply);
  EXPECT_EQ(disabled.Str("/assignment/status"), "disabled");
  EXPECT_EQ(stats_.assignment_skipped.load(), 1u);  // router_assignment_skipped_total
  Json not_pushing(Run(Body()).reply);
  EXPECT_FALSE(not_pushing.Has("/assignment"));
  EXPECT_EQ(stats_.assignment_skipped.load(), 1u);  // not pushing: neither counter moves
  EXPECT_EQ(stats_.assignment_blocked.load(), 1u);
}

TEST_F(DecideProcessorTest, WorkerStateDoesNotLeakBetweenRequests) {
  Run(Body(R"(,"metadata":{"leak":"yes"})"));
  Json second(Run(Body()).reply);
  EXPECT_FALSE(second.Has("/decision/metadata/leak"));
  Run("{bad json");
  Json third(Run(Body()).reply);
  EXPECT_TRUE(third.Bool("/ok"));
}

TEST_F(DecideProcessorTest, InternalErrorReplyShape) {
  EXPECT_EQ(
      DecideProcessor::InternalErrorReply(),
      R"({"ok":false,"error":{"code":"internal","message":"internal error"},"context":{"request_id":null}})");
}

TEST(DecideProcessorOptionsTest, FromConfig) {
  config::Config c;
  c.node_id = "n1";
  c.nats.max_payload_bytes = 2048;
  c.nats.decide.min_payload_bytes = 3;
  c.decide.max_context_entries = 10;
  c.nats.assignments.subject = "a.b";
  c.nats.assignments.publish_timeout_ms = 900;
  c.nats.jetstream.enabled = false;
  DecideProcessorOptions o = DecideProcessorOptions::FromConfig(c);
  EXPECT_EQ(o.node_id, "n1");
  EXPECT_EQ(o.intake.max_payload_bytes, 2048);
  EXPECT_EQ(o.intake.min_task_payload_bytes, 3);
  EXPECT_EQ(o.intake.context_limits.max_entries, 10u);
  EXPECT_EQ(o.intake.assignment_subject, "a.b");
  EXPECT_EQ(o.intake.assignment_stream_subjects, std::vector<std::string>{"a.b"});
  EXPECT_EQ(o.publish_timeout_ms, 900);
  EXPECT_FALSE(o.jetstream_enabled);
}

}  // namespace
}  // namespace router::nats_adapter
