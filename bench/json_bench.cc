// json micro-benchmarks (reliability-and-performance.md §2.4; reported, no target): NATS
// DecideRequest parse (intake rules 1-16 with simdjson, nats-contracts.md §3.1, §4), DecideResponse
// build (§3.2), ExecAssignment build (§3.4, from the parsed request), and the gRPC
// RouteRequest protobuf parse for comparison. Each reports ns per operation and heap
// allocations per operation (counting allocator of tests/support/alloc_counter.h).
#include <benchmark/benchmark.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#include "beamline/flow/v1/flow.pb.h"
#include "nats/decide_codec.h"
#include "nats/decide_request.h"
#include "nats/exec_assignment.h"
#include "nats/flat_context.h"
#include "service/decision_service.h"
#include "support/alloc_counter.h"

ROUTER_DEFINE_COUNTING_ALLOCATOR();

namespace router::bench {
namespace {

// The nats_decide request (§2.3) with a little context, as the load tool sends it.
const std::string& DecideBody() {
  static const std::string body =
      R"({"version":"1","request_id":"0b0f9c1e-7d2a-4c55-9e59-3f1b2a4c5d6e","tenant_id":"bench-0",)"
      R"("trace_id":"4bf92f3577b34da6a3ce929d0e0e4736","policy_id":"three_providers",)"
      R"("task":{"type":"text.generate","payload_ref":"s3://bucket/key"},)"
      R"("constraints":{"session_id":"session-42","region":"eu"},)"
      R"("metadata":{"user":"u-1"},"push_assignment":true})";
  return body;
}

void SetAllocCounter(benchmark::State& state, int64_t allocations) {
  state.SetItemsProcessed(state.iterations());
  const double n = static_cast<double>(state.iterations());
  state.counters["allocs_per_op"] = n > 0 ? static_cast<double>(allocations) / n : 0;
}

void BM_NatsDecideRequestParse(benchmark::State& state) {
  nats_adapter::DecideRequestParser parser(nats_adapter::IntakeOptions{});
  nats_adapter::DecideHeaders headers;
  nats_adapter::DecideRequest request;
  nats_adapter::FlatContext context;
  const std::string& body = DecideBody();
  auto one = [&] {
    request = nats_adapter::DecideRequest{};
    context.Clear();
    absl::Status s = parser.Parse("beamline.router.v1.decide", body, headers, &request, &context);
    if (!s.ok()) {
      state.SkipWithError("parse failed");
      return false;
    }
    benchmark::DoNotOptimize(request.tenant_id);
    return true;
  };
  for (int i = 0; i < 100; ++i) {
    if (!one()) return;
  }
  const int64_t before = testing::ThreadAllocations();
  for (auto _ : state) {
    if (!one()) return;
  }
  SetAllocCounter(state, testing::ThreadAllocations() - before);
}

service::DecideOutput SampleDecision() {
  service::DecideOutput out;
  out.provider_id = "a";
  out.reason = "sticky";
  out.priority = 100;
  out.expected_latency_ms = 200;
  out.expected_cost = 0.01;
  out.policy_version = 3;
  out.decision_id = "7c9e6679-7425-40de-944b-e07fc1f66afe";
  out.trace_id = "4bf92f3577b34da6a3ce929d0e0e4736";
  out.metadata = {{"session_id", "session-42"},
                  {"region", "eu"},
                  {"user", "u-1"},
                  {"tenant_id", "bench-0"},
                  {"policy_id", "three_providers"},
                  {"policy_version", "3"},
                  {"decision_id", out.decision_id},
                  {"trace_id", out.trace_id}};
  return out;
}

void BM_NatsDecideResponseBuild(benchmark::State& state) {
  const service::DecideOutput decision = SampleDecision();
  nats_adapter::AssignmentStatus assignment;
  assignment.status = "published";
  assignment.assignment_id = "5f0c2b7e-3a1d-4e8f-9b6a-0c1d2e3f4a5b";
  assignment.subject = "caf.exec.assign.v1";
  nats_adapter::ReplyContext reply;
  reply.request_id = "0b0f9c1e-7d2a-4c55-9e59-3f1b2a4c5d6e";
  reply.trace_id = "4bf92f3577b34da6a3ce929d0e0e4736";
  std::string out;
  out.reserve(4096);
  const std::optional<nats_adapter::AssignmentStatus> with = assignment;
  for (int i = 0; i < 100; ++i) {
    out.clear();
    nats_adapter::WriteDecideResponse(decision, with, reply, out);
  }
  const int64_t before = testing::ThreadAllocations();
  for (auto _ : state) {
    out.clear();
    nats_adapter::WriteDecideResponse(decision, with, reply, out);
    benchmark::DoNotOptimize(out.data());
  }
  SetAllocCounter(state, testing::ThreadAllocations() - before);
  state.counters["bytes"] = static_cast<double>(out.size());
}

void BM_NatsExecAssignmentBuild(benchmark::State& state) {
  nats_adapter::DecideRequestParser parser(nats_adapter::IntakeOptions{});
  nats_adapter::DecideHeaders headers;
  nats_adapter::DecideRequest request;
  nats_adapter::FlatContext context;
  if (!parser.Parse("beamline.router.v1.decide", DecideBody(), headers, &request, &context).ok()) {
    state.SkipWithError("parse failed");
    return;
  }
  const service::DecideOutput decision = SampleDecision();
  nats_adapter::ExecAssignmentInput in;
  in.assignment_id = "5f0c2b7e-3a1d-4e8f-9b6a-0c1d2e3f4a5b";
  in.request_id = request.request_id;
  in.tenant_id = request.tenant_id;
  in.issued_at_ms = 1795688131100;
  in.task = request.task;
  in.options = request.options;
  in.metadata = request.metadata;
  in.correlation_trace_id = "4bf92f3577b34da6a3ce929d0e0e4736";
  in.decision = &decision;
  const nats_adapter::AssignmentDeadlineOptions deadline;
  std::string out;
  out.reserve(4096);
  for (int i = 0; i < 100; ++i) {
    if (!nats_adapter::BuildExecAssignment(in, deadline, 1048576, out).ok()) {
      state.SkipWithError("build failed");
      return;
    }
  }
  const int64_t before = testing::ThreadAllocations();
  for (auto _ : state) {
    absl::Status s = nats_adapter::BuildExecAssignment(in, deadline, 1048576, out);
    benchmark::DoNotOptimize(s);
    benchmark::DoNotOptimize(out.data());
  }
  SetAllocCounter(state, testing::ThreadAllocations() - before);
  state.counters["bytes"] = static_cast<double>(out.size());
}

void BM_GrpcRouteRequestParse(benchmark::State& state) {
  beamline::flow::v1::RouteRequest req;
  req.mutable_message()->set_tenant_id("bench-0");
  req.mutable_message()->set_message_type("chat");
  req.mutable_message()->set_payload("Hello");
  req.set_policy_id("three_providers");
  (*req.mutable_context())["session_id"] = "session-42";
  (*req.mutable_context())["region"] = "eu";
  (*req.mutable_context())["user"] = "u-1";
  const std::string wire = req.SerializeAsString();
  beamline::flow::v1::RouteRequest parsed;
  const int64_t before = testing::ThreadAllocations();
  for (auto _ : state) {
    parsed.Clear();
    if (!parsed.ParseFromString(wire)) {
      state.SkipWithError("parse failed");
      return;
    }
    benchmark::DoNotOptimize(parsed.message().tenant_id().data());
  }
  SetAllocCounter(state, testing::ThreadAllocations() - before);
}

BENCHMARK(BM_NatsDecideRequestParse);
BENCHMARK(BM_NatsDecideResponseBuild);
BENCHMARK(BM_NatsExecAssignmentBuild);
BENCHMARK(BM_GrpcRouteRequestParse);

}  // namespace
}  // namespace router::bench

BENCHMARK_MAIN();
