// End-to-end export tests against a real local OTLP/HTTP receiver (OBS §6.6): batch contents in
// the OTLP JSON mapping, batch triggers, retries and failure accounting, gzip, shutdown flush.
#include <gtest/gtest.h>
#include <rapidjson/document.h>

#include <atomic>
#include <string>
#include <vector>

#include "obs/tracing/span_names.h"
#include "obs/tracing/tracer.h"
#include "support/fake_clock.h"
#include "support/wait_for.h"
#include "unit/obs/tracing/otlp_receiver.h"

namespace router::obs {
namespace {

using ::router::testing::FakeClock;
using ::router::testing::WaitFor;
using tracing_test::OtlpReceiver;
using tracing_test::ReceivedRequest;

constexpr auto kDeadline = std::chrono::seconds(10);
constexpr std::string_view kParent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

TracingOptions Options(const std::string& endpoint) {
  TracingOptions o;
  o.otlp_endpoint = endpoint;
  o.sample_ratio = 1.0;
  o.batch_interval_ms = 60'000;  // only full batches, flushes and shutdown send
  o.retry_backoff_ms = 1;
  o.host_name = "test-host";
  return o;
}

struct Harness {
  explicit Harness(TracingOptions options, TracerHooks hooks = {}) {
    auto created = Tracer::Create(std::move(options), clock, std::move(hooks));
    EXPECT_TRUE(created.ok()) << created.status();
    if (created.ok()) tracer = *std::move(created);
  }
  void EndSpans(int n, std::string_view name = span_name::kDecide) {
    for (int i = 0; i < n; ++i) {
      Span s = tracer->StartSpan(name, TraceContext{}, SpanKind::kServer);
      s.End();
    }
  }
  FakeClock clock;
  std::unique_ptr<Tracer> tracer;
};

rapidjson::Document ParseBody(const ReceivedRequest& r) {
  rapidjson::Document d;
  d.Parse(r.body.c_str(), r.body.size());
  EXPECT_FALSE(d.HasParseError()) << r.body;
  return d;
}

// Every span object of every received request.
std::vector<std::string> SpanNames(const std::vector<ReceivedRequest>& requests) {
  std::vector<std::string> names;
  for (const ReceivedRequest& r : requests) {
    rapidjson::Document d = ParseBody(r);
    for (const auto& s : d["resourceSpans"][0]["scopeSpans"][0]["spans"].GetArray()) {
      names.push_back(s["name"].GetString());
    }
  }
  return names;
}

const rapidjson::Value* FindSpan(const rapidjson::Value& spans, std::string_view name) {
  for (const auto& s : spans.GetArray()) {
    if (s["name"].GetString() == name) return &s;
  }
  return nullptr;
}

const rapidjson::Value* FindAttribute(const rapidjson::Value& attrs, std::string_view key) {
  for (const auto& a : attrs.GetArray()) {
    if (a["key"].GetString() == key) return &a["value"];
  }
  return nullptr;
}

TEST(OtlpExportTest, BatchCarriesIdsNamesAttributesAndResource) {
  OtlpReceiver receiver;
  TracingOptions o = Options(receiver.endpoint());
  o.batch_max_spans = 3;  // the third End sends
  o.service_name = "router-under-test";
  o.service_version = "0.1.0";
  o.service_instance_id = "node-7";
  o.resource_attributes = {{"deployment.environment", "test"}};
  o.otlp_headers = {{"x-api-key", "s3cret"}};
  std::atomic<int> durations{0};
  TracerHooks hooks;
  hooks.export_duration = [&](double seconds) {
    if (seconds >= 0) durations.fetch_add(1);
  };
  Harness h(o, std::move(hooks));

  TraceContext parent = *ParseTraceparent(kParent);
  parent.tracestate = "rojo=00f067aa0ba902b7";
  Span decide = h.tracer->StartSpan(span_name::kDecide, parent, SpanKind::kServer);
  decide.SetAttribute(span_attr::kRpcSystem, span_value::kGrpc);
  decide.SetAttribute(span_attr::kTenantId, "acme");
  decide.SetAttribute(span_attr::kPolicyVersion, 7);
  decide.SetAttribute(span_attr::kPushAssignment, true);
  decide.SetAttribute(span_attr::kCost, 0.25);
  Span lookup =
      h.tracer->StartSpan(span_name::kPolicyLookup, decide.context(), SpanKind::kInternal);
  lookup.SetAttribute(span_attr::kFound, true);
  h.clock.Advance(std::chrono::milliseconds(2));
  lookup.End();
  Span publish =
      h.tracer->StartSpan(span_name::kPublishAssignment, decide.context(), SpanKind::kProducer);
  publish.SetAttribute(span_attr::kPublishResult, span_value::kFailed);
  publish.SetStatus(SpanStatusCode::kError, "no PubAck");
  h.clock.Advance(std::chrono::milliseconds(3));
  RecordGrpcStatus(decide, 13, "internal", "internal error");
  decide.End();
  publish.End();  // after its parent (OBS §6.4), third span: the batch goes out

  ASSERT_TRUE(WaitFor([&] { return h.tracer->Counters().spans_exported == 3; }, kDeadline,
                      "3 spans exported")
                  .ok());
  std::vector<ReceivedRequest> requests = receiver.Requests();
  ASSERT_EQ(requests.size(), 1u);
  const ReceivedRequest& req = requests[0];
  EXPECT_EQ(req.path, "/v1/traces");
  EXPECT_EQ(req.content_type, "application/json");
  auto key = req.headers.find("x-api-key");
  ASSERT_NE(key, req.headers.end());
  EXPECT_EQ(key->second, "s3cret");

  rapidjson::Document d = ParseBody(req);
  const auto& rs = d["resourceSpans"][0];
  const auto& resource = rs["resource"]["attributes"];
  EXPECT_STREQ(FindAttribute(resource, "service.name")->operator[]("stringValue").GetString(),
               "router-under-test");
  EXPECT_STREQ(FindAttribute(resource, "service.version")->operator[]("stringValue").GetString(),
               "0.1.0");
  EXPECT_STREQ(
      FindAttribute(resource, "service.instance.id")->operator[]("stringValue").GetString(),
      "node-7");
  EXPECT_STREQ(FindAttribute(resource, "host.name")->operator[]("stringValue").GetString(),
               "test-host");
  EXPECT_STREQ(
      FindAttribute(resource, "deployment.environment")->operator[]("stringValue").GetString(),
      "test");

  const auto& spans = rs["scopeSpans"][0]["spans"];
  ASSERT_EQ(spans.Size(), 3u);
  const rapidjson::Value* d_span = FindSpan(spans, span_name::kDecide);
  const rapidjson::Value* l_span = FindSpan(spans, span_name::kPolicyLookup);
  const rapidjson::Value* p_span = FindSpan(spans, span_name::kPublishAssignment);
  ASSERT_TRUE(d_span && l_span && p_span);
  const std::string decide_id = decide.context().span_id.ToHex();

  EXPECT_STREQ((*d_span)["traceId"].GetString(), "4bf92f3577b34da6a3ce929d0e0e4736");
  EXPECT_EQ((*d_span)["spanId"].GetString(), decide_id);
  EXPECT_STREQ((*d_span)["parentSpanId"].GetString(), "00f067aa0ba902b7");
  EXPECT_STREQ((*d_span)["traceState"].GetString(), "rojo=00f067aa0ba902b7");
  EXPECT_EQ((*d_span)["kind"].GetInt(), 2);
  EXPECT_STREQ((*d_span)["startTimeUnixNano"].GetString(), "1700000000000000000");
  EXPECT_STREQ((*d_span)["endTimeUnixNano"].GetString(), "1700000000005000000");
  const auto& da = (*d_span)["attributes"];
  EXPECT_STREQ((*FindAttribute(da, "rpc.system"))["stringValue"].GetString(), "grpc");
  EXPECT_STREQ((*FindAttribute(da, "tenant_id"))["stringValue"].GetString(), "acme");
  EXPECT_STREQ((*FindAttribute(da, "policy_version"))["intValue"].GetString(), "7");
  EXPECT_TRUE((*FindAttribute(da, "push_assignment"))["boolValue"].GetBool());
  EXPECT_DOUBLE_EQ((*FindAttribute(da, "cost"))["doubleValue"].GetDouble(), 0.25);
  EXPECT_STREQ((*FindAttribute(da, "rpc.grpc.status_code"))["intValue"].GetString(), "13");
  EXPECT_STREQ((*FindAttribute(da, "error.type"))["stringValue"].GetString(), "internal");
  EXPECT_EQ((*d_span)["status"]["code"].GetInt(), 2);

  EXPECT_STREQ((*l_span)["traceId"].GetString(), "4bf92f3577b34da6a3ce929d0e0e4736");
  EXPECT_EQ((*l_span)["parentSpanId"].GetString(), decide_id);
  EXPECT_EQ((*l_span)["kind"].GetInt(), 1);
  EXPECT_STREQ((*l_span)["endTimeUnixNano"].GetString(), "1700000000002000000");
  EXPECT_TRUE((*FindAttribute((*l_span)["attributes"], "found"))["boolValue"].GetBool());

  EXPECT_EQ((*p_span)["parentSpanId"].GetString(), decide_id);
  EXPECT_EQ((*p_span)["kind"].GetInt(), 4);
  EXPECT_EQ((*p_span)["status"]["code"].GetInt(), 2);
  EXPECT_STREQ((*p_span)["status"]["message"].GetString(), "no PubAck");

  EXPECT_GE(durations.load(), 1);
  EXPECT_EQ(h.tracer->Counters().export_requests, 1);
}

TEST(OtlpExportTest, ClientErrorLeavesStatusUnset) {
  // OBS §6.4: client errors leave the span status UNSET.
  OtlpReceiver receiver;
  Harness h(Options(receiver.endpoint()));
  Span s = h.tracer->StartSpan(span_name::kDecide, TraceContext{}, SpanKind::kServer);
  RecordGrpcStatus(s, 5, "policy_not_found");  // NOT_FOUND
  s.End();
  h.tracer->Shutdown();
  ASSERT_EQ(receiver.RequestCount(), 1u);
  rapidjson::Document d = ParseBody(receiver.Requests()[0]);
  const auto& span = d["resourceSpans"][0]["scopeSpans"][0]["spans"][0];
  EXPECT_FALSE(span.HasMember("status"));
  EXPECT_EQ(FindAttribute(span["attributes"], "error.type"), nullptr);
  EXPECT_STREQ((*FindAttribute(span["attributes"], "rpc.grpc.status_code"))["intValue"].GetString(),
               "5");
}

TEST(OtlpExportTest, AttributeLimitsAreBoundedAndCounted) {
  OtlpReceiver receiver;
  Harness h(Options(receiver.endpoint()));
  Span s = h.tracer->StartSpan(std::string(300, 'n'), TraceContext{}, SpanKind::kServer);
  s.SetAttribute("k", "first");
  s.SetAttribute("k", "second");  // overwrite, not a duplicate
  for (size_t i = 0; i < kMaxSpanAttributes + 3; ++i) {
    s.SetAttribute("attr." + std::to_string(i), static_cast<int64_t>(i));
  }
  s.SetAttribute("k", std::string(kSpanArenaBytes, 'v'));  // cannot fit: dropped, counted
  s.End();
  h.tracer->Shutdown();
  ASSERT_EQ(receiver.RequestCount(), 1u);
  rapidjson::Document d = ParseBody(receiver.Requests()[0]);
  const auto& span = d["resourceSpans"][0]["scopeSpans"][0]["spans"][0];
  EXPECT_EQ(std::string(span["name"].GetString()), std::string(kMaxSpanNameBytes, 'n'));
  EXPECT_EQ(span["attributes"].Size(), kMaxSpanAttributes);
  EXPECT_STREQ((*FindAttribute(span["attributes"], "k"))["stringValue"].GetString(), "second");
  // 1 + 34 attributes offered, 31 fitted besides "k": 4 dropped by count, 1 by size.
  EXPECT_EQ(span["droppedAttributesCount"].GetInt(), 5);
}

TEST(OtlpExportTest, BatchIntervalSendsAPartialBatch) {
  OtlpReceiver receiver;
  TracingOptions o = Options(receiver.endpoint());
  o.batch_interval_ms = 20;
  Harness h(o);
  h.EndSpans(2);
  ASSERT_TRUE(WaitFor([&] { return h.tracer->Counters().spans_exported == 2; }, kDeadline,
                      "interval export")
                  .ok());
  EXPECT_EQ(SpanNames(receiver.Requests()).size(), 2u);
  EXPECT_EQ(h.tracer->Counters().queue_spans, 0);
}

TEST(OtlpExportTest, FullBatchesAreSentSeparately) {
  OtlpReceiver receiver;
  TracingOptions o = Options(receiver.endpoint());
  o.batch_max_spans = 4;
  Harness h(o);
  h.EndSpans(8);
  ASSERT_TRUE(WaitFor([&] { return h.tracer->Counters().spans_exported == 8; }, kDeadline,
                      "two batches exported")
                  .ok());
  for (const ReceivedRequest& r : receiver.Requests()) {
    rapidjson::Document d = ParseBody(r);
    EXPECT_LE(d["resourceSpans"][0]["scopeSpans"][0]["spans"].Size(), 4u);
  }
  EXPECT_GE(receiver.RequestCount(), 2u);
}

TEST(OtlpExportTest, EndpointPathIsKeptAndSuffixed) {
  OtlpReceiver receiver;
  Harness h(Options(receiver.endpoint() + "/otlp"));
  h.EndSpans(1);
  h.tracer->Shutdown();
  ASSERT_EQ(receiver.RequestCount(), 1u);
  EXPECT_EQ(receiver.Requests()[0].path, "/otlp/v1/traces");
}

TEST(OtlpExportTest, ServerErrorDropsTheBatchAtOnce) {
  // OBS §6.6: statuses other than 429/502/503/504 drop the batch at once.
  OtlpReceiver receiver;
  receiver.SetDefaultStatus(500);
  std::atomic<int64_t> failed_spans{0};
  std::string reason;
  std::atomic<bool> reason_set{false};
  TracerHooks hooks;
  hooks.export_failed = [&](std::string_view why, int64_t n) {
    if (!reason_set.load()) {
      reason = std::string(why);
      reason_set.store(true);
    }
    failed_spans.fetch_add(n);
  };
  TracingOptions o = Options(receiver.endpoint());
  o.batch_max_spans = 3;
  Harness h(o, std::move(hooks));
  h.EndSpans(3);
  ASSERT_TRUE(WaitFor([&] { return h.tracer->Counters().dropped_export_failed == 3; }, kDeadline,
                      "export_failed drops")
                  .ok());
  EXPECT_EQ(receiver.RequestCount(), 1u);  // no retry
  EXPECT_EQ(failed_spans.load(), 3);
  EXPECT_EQ(reason, "http status 500");
  EXPECT_EQ(h.tracer->Counters().spans_exported, 0);
}

TEST(OtlpExportTest, RetryableStatusIsRetriedTwiceThenDropped) {
  OtlpReceiver receiver;
  receiver.SetDefaultStatus(503);
  receiver.SetResponseHeader("Retry-After", "0");
  TracingOptions o = Options(receiver.endpoint());
  o.batch_max_spans = 2;
  Harness h(o);
  h.EndSpans(2);
  ASSERT_TRUE(WaitFor([&] { return h.tracer->Counters().dropped_export_failed == 2; }, kDeadline,
                      "export_failed after retries")
                  .ok());
  EXPECT_EQ(receiver.RequestCount(), 3u);  // first attempt + 2 retries
  EXPECT_EQ(h.tracer->Counters().export_requests, 3);
}

TEST(OtlpExportTest, RetryThenSuccessExports) {
  OtlpReceiver receiver;
  receiver.Script({429, 502});
  TracingOptions o = Options(receiver.endpoint());
  o.batch_max_spans = 2;
  Harness h(o);
  h.EndSpans(2);
  ASSERT_TRUE(WaitFor([&] { return h.tracer->Counters().spans_exported == 2; }, kDeadline,
                      "exported after two retries")
                  .ok());
  EXPECT_EQ(receiver.RequestCount(), 3u);
  EXPECT_EQ(h.tracer->Counters().dropped_export_failed, 0);
}

TEST(OtlpExportTest, CollectorNotListeningDropsAsExportFailed) {
  std::string endpoint;
  {
    OtlpReceiver gone;
    endpoint = gone.endpoint();
  }  // stopped: connections to its port are refused
  TracingOptions o = Options(endpoint);
  o.batch_max_spans = 2;
  o.otlp_timeout_ms = 500;
  Harness h(o);
  h.EndSpans(2);
  ASSERT_TRUE(WaitFor([&] { return h.tracer->Counters().dropped_export_failed == 2; }, kDeadline,
                      "connection errors drop the batch")
                  .ok());
  EXPECT_EQ(h.tracer->Counters().export_requests, 3);  // connection errors are retried twice
  EXPECT_EQ(h.tracer->Counters().spans_exported, 0);
}

TEST(OtlpExportTest, PartialSuccessCountsRejectedSpans) {
  OtlpReceiver receiver;
  receiver.SetResponseBody(R"({"partialSuccess":{"rejectedSpans":"1","errorMessage":"bad"}})");
  TracingOptions o = Options(receiver.endpoint());
  o.batch_max_spans = 3;
  Harness h(o);
  h.EndSpans(3);
  ASSERT_TRUE(WaitFor([&] { return h.tracer->Counters().dropped_rejected == 1; }, kDeadline,
                      "rejected span counted")
                  .ok());
  EXPECT_EQ(h.tracer->Counters().spans_exported, 2);
}

TEST(OtlpExportTest, GzipCompressedBodyIsAccepted) {
  OtlpReceiver receiver;
  TracingOptions o = Options(receiver.endpoint());
  o.otlp_gzip = true;
  Harness h(o);
  h.EndSpans(2);
  h.tracer->Shutdown();
  ASSERT_EQ(receiver.RequestCount(), 1u);
  EXPECT_EQ(receiver.Requests()[0].content_encoding, "gzip");
  EXPECT_EQ(SpanNames(receiver.Requests()).size(), 2u);  // httplib inflated a valid body
  EXPECT_EQ(h.tracer->Counters().spans_exported, 2);
}

TEST(OtlpExportTest, ShutdownFlushesWaitingSpans) {
  // OBS §6.6: shutdown performs one final flush.
  OtlpReceiver receiver;
  Harness h(Options(receiver.endpoint()));
  h.EndSpans(5, span_name::kProcessResult);
  EXPECT_EQ(h.tracer->Counters().queue_spans, 5);
  EXPECT_EQ(receiver.RequestCount(), 0u);
  h.tracer->Shutdown();
  EXPECT_EQ(SpanNames(receiver.Requests()),
            std::vector<std::string>(5, std::string(span_name::kProcessResult)));
  TracerCounters c = h.tracer->Counters();
  EXPECT_EQ(c.spans_exported, 5);
  EXPECT_EQ(c.dropped_shutdown, 0);
  EXPECT_EQ(c.queue_spans, 0);
}

TEST(OtlpExportTest, RequestFlushSendsWithoutWaitingForTheInterval) {
  OtlpReceiver receiver;
  Harness h(Options(receiver.endpoint()));
  h.EndSpans(1);
  h.tracer->RequestFlush();
  EXPECT_TRUE(
      WaitFor([&] { return h.tracer->Counters().spans_exported == 1; }, kDeadline, "flushed span")
          .ok());
}

TEST(OtlpExportTest, FinalFlushIsBoundedByTheTimeoutAndTheRestCountsAsShutdown) {
  // OBS §6.6: one final flush bounded by otlp_timeout_ms; what remains counts as `shutdown`.
  OtlpReceiver receiver;
  receiver.Hold();  // the collector never answers
  TracingOptions o = Options(receiver.endpoint());
  o.batch_max_spans = 1;
  o.batch_interval_ms = 60'000;
  o.otlp_timeout_ms = 300;
  Harness h(o);
  // With batch_max 1 the exporter wakes on the first span; keep it stuck on that POST first.
  h.EndSpans(1);
  ASSERT_TRUE(WaitFor([&] { return receiver.Arrivals() >= 1; }, kDeadline, "first POST").ok());
  h.EndSpans(3);
  h.tracer->Shutdown();
  TracerCounters c = h.tracer->Counters();
  EXPECT_EQ(c.spans_recorded, 4);
  EXPECT_GE(c.dropped_export_failed, 1);  // the stuck POST(s) timed out
  EXPECT_GE(c.dropped_shutdown, 1);       // never attempted within the budget
  EXPECT_EQ(c.spans_exported, 0);
  EXPECT_EQ(c.dropped_export_failed + c.dropped_shutdown, 4);
  EXPECT_EQ(c.queue_spans, 0);
  receiver.Release();
}

}  // namespace
}  // namespace router::obs
