// Tests for span recording in the Tracer: propagation without an endpoint, sampling flags,
// internal spans, the span pool and queue bounds, shutdown accounting (OBS §6.3, §6.4, §6.6, O1).
#include "obs/tracing/tracer.h"

#include <gtest/gtest.h>

#include <latch>
#include <thread>
#include <vector>

#include "obs/tracing/span_names.h"
#include "support/fake_clock.h"
#include "support/wait_for.h"
#include "unit/obs/tracing/otlp_receiver.h"

namespace router::obs {
namespace {

using ::router::testing::FakeClock;
using ::router::testing::WaitFor;
using tracing_test::OtlpReceiver;

constexpr std::string_view kSampledParent =
    "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
constexpr std::string_view kUnsampledParent =
    "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00";

std::unique_ptr<Tracer> MakeTracer(TracingOptions options, const Clock& clock) {
  absl::StatusOr<std::unique_ptr<Tracer>> tracer = Tracer::Create(std::move(options), clock);
  EXPECT_TRUE(tracer.ok()) << tracer.status();
  return tracer.ok() ? *std::move(tracer) : nullptr;
}

TracingOptions Recording(const std::string& endpoint) {
  TracingOptions o;
  o.otlp_endpoint = endpoint;
  o.sample_ratio = 1.0;
  o.batch_interval_ms = 60'000;  // exports only on a full batch, a flush or shutdown
  o.retry_backoff_ms = 1;
  return o;
}

class TracerTest : public ::testing::Test {
 protected:
  FakeClock clock_;
};

TEST_F(TracerTest, WithoutEndpointNothingIsRecordedButIdsPropagate) {
  // OBS §6.3: without tracing.otlp_endpoint nothing is recorded; outgoing flags copy the parent's
  // flag (00 for new roots). OBS §6.1: propagation happens whether or not spans are exported.
  std::unique_ptr<Tracer> tracer = MakeTracer(TracingOptions{}, clock_);
  ASSERT_NE(tracer, nullptr);
  EXPECT_FALSE(tracer->recording());
  TraceContext parent = *ParseTraceparent(kSampledParent);

  Span span = tracer->StartSpan(span_name::kDecide, parent, SpanKind::kServer);
  EXPECT_FALSE(span.IsRecording());
  EXPECT_EQ(span.context().trace_id, parent.trace_id);
  EXPECT_TRUE(span.context().span_id.IsValid());
  EXPECT_NE(span.context().span_id, parent.span_id);
  EXPECT_TRUE(span.context().sampled());
  EXPECT_EQ(span.TraceIdHex(), "4bf92f3577b34da6a3ce929d0e0e4736");
  span.SetAttribute(span_attr::kTenantId, "acme");  // a no-op, never a crash
  span.End();

  Span unsampled =
      tracer->StartSpan(span_name::kDecide, *ParseTraceparent(kUnsampledParent), SpanKind::kServer);
  EXPECT_FALSE(unsampled.context().sampled());

  Span root = tracer->StartSpan(span_name::kDecide, TraceContext{}, SpanKind::kServer);
  EXPECT_TRUE(root.context().trace_id.IsValid());
  EXPECT_EQ(FormatTraceparent(root.context()).substr(53), "00");

  TraceContext bare_trace_id;  // context trace_id without flags
  bare_trace_id.trace_id = NewTraceId();
  EXPECT_FALSE(tracer->StartSpan("x", bare_trace_id, SpanKind::kServer).context().sampled());

  TracerCounters c = tracer->Counters();
  EXPECT_EQ(c.spans_recorded, 0);
  EXPECT_EQ(c.dropped_queue_full, 0);
}

TEST_F(TracerTest, InvalidOptionsAreRejected) {
  TracingOptions o;
  o.otlp_endpoint = "ftp://c:21";
  EXPECT_EQ(Tracer::Create(o, clock_).status().code(), absl::StatusCode::kInvalidArgument);
  o = TracingOptions{};
  o.sample_ratio = 1.5;
  EXPECT_FALSE(Tracer::Create(o, clock_).ok());
  o = TracingOptions{};
  o.batch_max_spans = 0;
  EXPECT_FALSE(Tracer::Create(o, clock_).ok());
  o = TracingOptions{};
  o.queue_max_spans = 0;
  EXPECT_FALSE(Tracer::Create(o, clock_).ok());
}

TEST_F(TracerTest, UnsampledRootIsNotRecordedAndNotCountedAsDropped) {
  OtlpReceiver receiver;
  TracingOptions o = Recording(receiver.endpoint());
  o.sample_ratio = 0.0;
  std::unique_ptr<Tracer> tracer = MakeTracer(o, clock_);
  Span span = tracer->StartSpan(span_name::kDecide, TraceContext{}, SpanKind::kServer);
  EXPECT_FALSE(span.IsRecording());
  EXPECT_FALSE(span.context().sampled());
  span.End();
  tracer->Shutdown();
  TracerCounters c = tracer->Counters();
  EXPECT_EQ(c.spans_recorded, 0);
  EXPECT_EQ(c.dropped_queue_full + c.dropped_shutdown + c.dropped_export_failed, 0);
  EXPECT_EQ(receiver.RequestCount(), 0u);
}

TEST_F(TracerTest, ChildrenFollowTheirLocalParentWhateverTheRatio) {
  OtlpReceiver receiver;
  TracingOptions o = Recording(receiver.endpoint());
  o.sample_ratio = 0.0;  // only parent-based decisions sample here
  std::unique_ptr<Tracer> tracer = MakeTracer(o, clock_);
  Span decide =
      tracer->StartSpan(span_name::kDecide, *ParseTraceparent(kSampledParent), SpanKind::kServer);
  ASSERT_TRUE(decide.IsRecording());
  Span lookup = tracer->StartSpan(span_name::kPolicyLookup, decide.context(), SpanKind::kInternal);
  EXPECT_TRUE(lookup.IsRecording());
  EXPECT_EQ(lookup.context().trace_id, decide.context().trace_id);
  EXPECT_EQ(FormatTraceparent(lookup.context()).substr(53), "01");

  Span unsampled =
      tracer->StartSpan(span_name::kDecide, *ParseTraceparent(kUnsampledParent), SpanKind::kServer);
  EXPECT_FALSE(unsampled.IsRecording());
  Span child =
      tracer->StartSpan(span_name::kPublishAssignment, unsampled.context(), SpanKind::kProducer);
  EXPECT_FALSE(child.IsRecording());
  EXPECT_EQ(FormatTraceparent(child.context()).substr(53), "00");
}

TEST_F(TracerTest, InternalSpansOffStandInForTheirParent) {
  // OBS §6.4: the two INTERNAL spans are recorded only when tracing.internal_spans=true.
  OtlpReceiver receiver;
  TracingOptions o = Recording(receiver.endpoint());
  o.internal_spans = false;
  std::unique_ptr<Tracer> tracer = MakeTracer(o, clock_);
  EXPECT_FALSE(tracer->internal_spans());
  Span decide = tracer->StartSpan(span_name::kDecide, TraceContext{}, SpanKind::kServer);
  ASSERT_TRUE(decide.IsRecording());
  Span select =
      tracer->StartSpan(span_name::kProviderSelect, decide.context(), SpanKind::kInternal);
  EXPECT_FALSE(select.IsRecording());
  EXPECT_EQ(select.context().trace_id, decide.context().trace_id);
  EXPECT_EQ(select.context().span_id, decide.context().span_id);
  EXPECT_TRUE(select.context().sampled());
  select.End();
  decide.End();
  tracer->Shutdown();
  EXPECT_EQ(tracer->Counters().spans_recorded, 1);
  EXPECT_EQ(tracer->Counters().spans_exported, 1);
}

TEST_F(TracerTest, EmptyPoolDropsAsQueueFullAndTheRequestGoesOn) {
  // OBS §6.6: full queue or empty pool: the span is dropped, dropped{queue_full} +1.
  OtlpReceiver receiver;
  TracingOptions o = Recording(receiver.endpoint());
  o.queue_max_spans = 4;
  std::unique_ptr<Tracer> tracer = MakeTracer(o, clock_);
  std::vector<Span> open;
  for (int i = 0; i < 4; ++i) {
    open.push_back(tracer->StartSpan(span_name::kDecide, TraceContext{}, SpanKind::kServer));
    EXPECT_TRUE(open.back().IsRecording());
  }
  Span fifth = tracer->StartSpan(span_name::kDecide, TraceContext{}, SpanKind::kServer);
  EXPECT_FALSE(fifth.IsRecording());
  EXPECT_TRUE(fifth.context().trace_id.IsValid());  // ids still propagate
  EXPECT_TRUE(fifth.context().sampled());
  EXPECT_EQ(tracer->Counters().dropped_queue_full, 1);
  open.clear();  // ends the four
  tracer->Shutdown();
  TracerCounters c = tracer->Counters();
  EXPECT_EQ(c.spans_recorded, 4);
  EXPECT_EQ(c.spans_exported, 4);
  EXPECT_EQ(c.queue_spans, 0);
}

TEST_F(TracerTest, StartAndEndNeverBlockWhileTheCollectorIsStuck) {
  // OBS O1 / §6.6: export never runs on a request thread; a stuck collector costs drops, not
  // latency. The receiver holds every request until released.
  OtlpReceiver receiver;
  receiver.Hold();
  TracingOptions o = Recording(receiver.endpoint());
  o.queue_max_spans = 8;
  o.batch_max_spans = 8;
  o.batch_interval_ms = 5;
  o.otlp_timeout_ms = 30'000;
  std::unique_ptr<Tracer> tracer = MakeTracer(o, clock_);
  constexpr int kThreads = 4;
  constexpr int kSpansPerThread = 1000;
  std::latch start(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      start.arrive_and_wait();
      for (int i = 0; i < kSpansPerThread; ++i) {
        Span s = tracer->StartSpan(span_name::kDecide, TraceContext{}, SpanKind::kServer);
        s.SetAttribute(span_attr::kTenantId, "acme");
        s.End();
      }
    });
  }
  for (auto& t : threads) t.join();  // would hang here if Start/End waited for the exporter
  TracerCounters during = tracer->Counters();
  EXPECT_EQ(during.spans_recorded + during.dropped_queue_full, kThreads * kSpansPerThread);
  // The exporter holds at most one batch in its stuck POST and the pool refills at most twice.
  EXPECT_LE(during.spans_recorded, 3 * 8);
  EXPECT_GE(during.dropped_queue_full, kThreads * kSpansPerThread - 3 * 8);

  receiver.Release();
  tracer->Shutdown();
  TracerCounters c = tracer->Counters();
  // OBS O3: every recorded span has exactly one fate.
  EXPECT_EQ(c.spans_recorded,
            c.spans_exported + c.dropped_export_failed + c.dropped_rejected + c.dropped_shutdown);
  EXPECT_EQ(c.queue_spans, 0);
}

TEST_F(TracerTest, SpanEndedAfterShutdownCountsAsShutdown) {
  OtlpReceiver receiver;
  std::unique_ptr<Tracer> tracer = MakeTracer(Recording(receiver.endpoint()), clock_);
  Span span = tracer->StartSpan(span_name::kPublishAssignment, TraceContext{}, SpanKind::kProducer);
  ASSERT_TRUE(span.IsRecording());
  tracer->Shutdown();
  EXPECT_FALSE(tracer->recording());
  span.End();
  EXPECT_EQ(tracer->Counters().dropped_shutdown, 1);
  EXPECT_FALSE(tracer->StartSpan("late", TraceContext{}, SpanKind::kServer).IsRecording());
}

TEST_F(TracerTest, MoveTransfersTheRecordAndDestructionEndsIt) {
  OtlpReceiver receiver;
  std::unique_ptr<Tracer> tracer = MakeTracer(Recording(receiver.endpoint()), clock_);
  Span moved;
  {
    Span span =
        tracer->StartSpan(span_name::kPublishAssignment, TraceContext{}, SpanKind::kProducer);
    TraceContext context = span.context();
    moved = std::move(span);
    EXPECT_TRUE(moved.IsRecording());
    EXPECT_EQ(moved.context().span_id, context.span_id);
  }  // the moved-from handle ends nothing
  EXPECT_EQ(tracer->Counters().queue_spans, 0);
  moved = Span();  // assignment ends the span it held
  EXPECT_EQ(tracer->Counters().queue_spans, 1);
  moved.End();  // a second End on an inert handle is a no-op
  tracer->Shutdown();
  EXPECT_EQ(tracer->Counters().spans_exported, 1);
}

}  // namespace
}  // namespace router::obs
