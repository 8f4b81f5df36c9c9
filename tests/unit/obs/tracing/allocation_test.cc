// OBS O1: starting, annotating and ending a span on the decide path does not allocate in steady
// state. This file replaces the global operator new for the whole unit_tracing binary with the
// counting allocator of tests/support/alloc_counter.h, which counts the calling thread's
// allocations.
#include <gtest/gtest.h>

#include "base/system_clock.h"
#include "obs/tracing/span_names.h"
#include "obs/tracing/trace_extraction.h"
#include "obs/tracing/tracer.h"
#include "support/alloc_counter.h"

ROUTER_DEFINE_COUNTING_ALLOCATOR();

namespace router::obs {
namespace {

using AllocationCounter = ::router::testing::ScopedAllocationCounter;

TEST(TracingAllocationTest, DecidePathSpansDoNotAllocate) {
  SystemClock clock;
  TracingOptions o;
  o.otlp_endpoint = "http://127.0.0.1:9";  // never reached: nothing is exported during the test
  o.sample_ratio = 1.0;
  o.queue_max_spans = 4096;
  o.batch_max_spans = 4096;
  o.batch_interval_ms = 600'000;
  auto tracer = Tracer::Create(o, clock);
  ASSERT_TRUE(tracer.ok());
  const std::string tenant = "acme";
  auto one_decide = [&] {
    ExtractedTrace trace = ExtractGrpcTrace(
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", "k=v",
        [](std::string_view) -> std::optional<std::string_view> { return std::nullopt; }, "");
    Span decide = (*tracer)->StartSpan(span_name::kDecide, trace.context, SpanKind::kServer);
    decide.SetAttribute(span_attr::kRpcSystem, span_value::kGrpc);
    decide.SetAttribute(span_attr::kTenantId, tenant);
    decide.SetAttribute(span_attr::kPolicyVersion, 7);
    decide.SetAttribute(span_attr::kPushAssignment, false);
    {
      Span lookup =
          (*tracer)->StartSpan(span_name::kPolicyLookup, decide.context(), SpanKind::kInternal);
      lookup.SetAttribute(span_attr::kFound, true);
    }
    char traceparent[kTraceparentLength];
    WriteTraceparent(decide.context().trace_id, decide.context().span_id, decide.context().flags,
                     traceparent);
    RecordGrpcStatus(decide, 0, "");
    decide.End();
  };
  one_decide();  // warm-up: thread-local id generator
  long count;
  {
    AllocationCounter counter;
    for (int i = 0; i < 1000; ++i) one_decide();
    count = counter.count();
  }
  EXPECT_EQ(count, 0);
  EXPECT_EQ((*tracer)->Counters().spans_recorded, 2002);
  EXPECT_EQ((*tracer)->Counters().dropped_queue_full, 0);
}

}  // namespace
}  // namespace router::obs
