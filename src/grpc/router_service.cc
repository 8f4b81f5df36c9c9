#include "grpc/router_service.h"

#include <google/protobuf/arena.h>

#include <exception>

#include "base/errors.h"
#include "grpc/proto_codec.h"
#include "grpc/status_mapping.h"

namespace router::grpc_adapter {
namespace fv1 = beamline::flow::v1;

// Metrics-only decide outcome (observability.md §3): the caller went away first.
constexpr std::string_view kCancelledTag = "cancelled";

std::optional<std::string_view> ProtoMapContext::Find(std::string_view key) const {
  // protobuf 3.21's Map has no heterogeneous lookup: the key is copied into a per-thread buffer,
  // which stops allocating once grown (keys past 15 bytes, e.g. previous_provider on the retry
  // path, would leave std::string's small-string buffer).
  thread_local std::string buffer;
  buffer.assign(key.data(), key.size());
  auto it = map_.find(buffer);
  if (it == map_.end()) return std::nullopt;
  return std::string_view(it->second);
}

void ProtoMapContext::ForEach(
    const std::function<void(std::string_view, std::string_view)>& fn) const {
  for (const auto& [k, v] : map_) fn(k, v);
}

void FillExplanation(const service::DecideOutput& out, fv1::Explanation* expl) {
  for (const auto& step : out.steps) expl->add_steps(step);
  for (const auto& [provider, reason] : out.excluded) {
    auto* e = expl->add_excluded_providers();
    e->set_provider_id(provider);
    e->set_reason(reason);
  }
}

void FillRouteDecision(const service::DecideOutput& out, bool with_explanation,
                       fv1::RouteDecision* d) {
  d->set_provider_id(out.provider_id);
  d->set_reason(out.reason);
  d->set_priority(out.priority);
  d->set_expected_latency_ms(out.expected_latency_ms);
  d->set_expected_cost(out.expected_cost);
  auto* md = d->mutable_metadata();
  for (const auto& [k, v] : out.metadata) (*md)[k] = v;
  d->set_policy_version(out.policy_version);
  d->set_decision_id(out.decision_id);
  if (with_explanation && out.has_explanation) FillExplanation(out, d->mutable_explanation());
}

::grpc::ServerUnaryReactor* RouterGrpcService::Decide(::grpc::CallbackServerContext* context,
                                                      const ::grpc::ByteBuffer* request,
                                                      ::grpc::ByteBuffer* response) {
  auto* reactor = context->DefaultReactor();
  // Every exit finishes through here: router_grpc_requests_total{Router,Decide,code}.
  auto finish = [this, reactor](const ::grpc::Status& status) {
    if (observer_) {
      try {
        observer_("Router", "Decide", status.error_code());
      } catch (...) {
        // A metric that cannot be recorded never keeps the reply from leaving.
      }
    }
    reactor->Finish(status);
  };
  // In flight until the reply is handed to gRPC; its duration feeds the backpressure p95 (§9).
  service::DecideTicket ticket =
      backpressure_ != nullptr ? backpressure_->Begin() : service::DecideTicket();
  try {
    // Request and reply messages live on an arena whose first block is on this stack frame: the
    // context map, its strings and the reply's metadata map cost no heap allocation per call
    // (issue #6 profile: protobuf maps and malloc were the adapter's largest own costs).
    alignas(16) char arena_block[4096];
    google::protobuf::ArenaOptions arena_options;
    arena_options.initial_block = arena_block;
    arena_options.initial_block_size = sizeof(arena_block);
    google::protobuf::Arena arena(arena_options);
    fv1::RouteRequest& req = *google::protobuf::Arena::CreateMessage<fv1::RouteRequest>(&arena);
    if ((request == nullptr || !request->Valid()) && context->IsCancelled()) {
      // No request message because the client reset the stream (h2load cutting a timed run, a
      // caller that gave up): `cancelled`, not a malformed request (observability.md §3).
      absl::Status s =
          MakeError(absl::StatusCode::kCancelled, "cancelled by the client", kCancelledTag);
      decisions_.CountUndecodable(service::Transport::kGrpc, s);
      finish(ToGrpcStatus(s, context));
      return reactor;
    }
    if (!DecodeRequest(request, &req)) {
      absl::Status s =
          MakeError(absl::StatusCode::kInvalidArgument, "invalid request", tag::kInvalidRequest);
      decisions_.CountUndecodable(service::Transport::kGrpc, s);
      finish(ToGrpcStatus(s, context));
      return reactor;
    }
    ProtoMapContext ctx(req.context());
    std::string correlation = CorrelationId(*context);
    std::string traceparent = FirstHeader(*context, "traceparent");
    std::string tracestate = FirstHeader(*context, "tracestate");
    service::DecideCall call;
    call.has_message = req.has_message();
    call.tenant_id = req.message().tenant_id();
    call.policy_id = req.policy_id();
    call.message_type = req.message().message_type();
    call.message_trace_id = req.message().trace_id();
    call.context = &ctx;
    call.correlation_id = correlation;
    call.traceparent = traceparent;
    call.tracestate = tracestate;
    call.message_payload = req.message().payload();
    service::DecideOutput out = decisions_.Decide(call);
    if (!out.status.ok()) {
      finish(ToGrpcStatus(out.status, context));
      return reactor;
    }
    // Idempotent replay (grpc-api §3.7): the stored RouteDecision bytes, byte-identical.
    if (out.replay != nullptr) {
      context->AddInitialMetadata("x-idempotent-replay", "true");
      ::grpc::Slice slice(out.replay->response);
      *response = ::grpc::ByteBuffer(&slice, 1);
      finish(::grpc::Status::OK);
      return reactor;
    }
    fv1::RouteDecision& decision =
        *google::protobuf::Arena::CreateMessage<fv1::RouteDecision>(&arena);
    FillRouteDecision(out, true, &decision);
    if (out.idempotency != nullptr) {
      // A fresh keyed decision: store exactly the bytes answered.
      service::IdempotencyRecord record;
      if (!decision.SerializeToString(&record.response)) {
        finish(ToGrpcStatus(absl::InternalError("encode"), context));
        return reactor;
      }
      record.decision_id = out.decision_id;
      ::grpc::Slice slice(record.response);
      *response = ::grpc::ByteBuffer(&slice, 1);
      out.idempotency->Complete(std::move(record));
      finish(::grpc::Status::OK);
      return reactor;
    }
    if (!EncodeResponse(decision, response)) {
      finish(ToGrpcStatus(absl::InternalError("encode"), context));
      return reactor;
    }
    if (delayer_ != nullptr) {
      // [testing] decide_delay_ms: the successful reply leaves by a timer; intake goes on.
      delayer_->Defer([finish, t = std::move(ticket)]() mutable {
        finish(::grpc::Status::OK);
        t.End();
      });
      return reactor;
    }
    finish(::grpc::Status::OK);
  } catch (const std::exception&) {
    // noexcept boundary: never unwind into gRPC's C core (style guide §2.4).
    finish(ToGrpcStatus(absl::InternalError("exception"), context));
  }
  return reactor;
}

::grpc::ServerUnaryReactor* RouterGrpcService::ReportOutcome(::grpc::CallbackServerContext* context,
                                                             const ::grpc::ByteBuffer* request,
                                                             ::grpc::ByteBuffer* response) {
  auto* reactor = context->DefaultReactor();
  try {
    fv1::ReportOutcomeRequest req;
    if (!DecodeRequest(request, &req)) {
      reactor->Finish(ToGrpcStatus(
          MakeError(absl::StatusCode::kInvalidArgument, "invalid request", tag::kInvalidRequest),
          context));
      return reactor;
    }
    service::OutcomeReport report;
    report.tenant_id = req.tenant_id();
    report.provider_id = req.provider_id();
    report.status = req.status();
    report.latency_ms = req.latency_ms();
    report.cost = req.cost();
    report.error_code = req.error_code();
    auto ack = outcomes_.Report(report);
    if (!ack.ok()) {
      reactor->Finish(ToGrpcStatus(ack.status(), context));
      return reactor;
    }
    fv1::ReportOutcomeResponse resp;
    resp.set_ok(true);
    resp.set_circuit_state(ack->circuit_state);
    EncodeResponse(resp, response);
    reactor->Finish(::grpc::Status::OK);
  } catch (const std::exception&) {
    reactor->Finish(ToGrpcStatus(absl::InternalError("exception"), context));
  }
  return reactor;
}

}  // namespace router::grpc_adapter
