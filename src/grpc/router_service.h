#pragma once
// RouterGrpcService: the `beamline.flow.v1.Router` adapter. Methods are registered as raw
// callback methods through the generated service class (so reflection lists them and decode
// failures get our INVALID_ARGUMENT `invalid request`); each handler decodes, calls the
// transport-neutral service, and encodes. Decide runs inline on the gRPC callback thread: it
// never blocks, except that a duplicate of an idempotency key still being decided waits
// (bounded) for the first call (grpc-api §3.7). Thread-safe; references must outlive the
// server.

#include "beamline/flow/v1/flow.grpc.pb.h"
#include "grpc/call_counter.h"
#include "service/backpressure.h"
#include "service/decision_service.h"
#include "service/outcome_service.h"
#include "service/reply_delayer.h"

namespace router::grpc_adapter {

using RawRouterBase = beamline::flow::v1::Router::WithRawCallbackMethod_Decide<
    beamline::flow::v1::Router::WithRawCallbackMethod_ReportOutcome<
        beamline::flow::v1::Router::Service>>;

class RouterGrpcService final : public RawRouterBase {
 public:
  RouterGrpcService(service::DecisionService& decisions, service::OutcomeService& outcomes)
      : decisions_(decisions), outcomes_(outcomes) {}

  // Wiring before the server starts (null = off). Every Decide holds a DecideTicket of
  // `monitor` (inflight, latency; nats-contracts.md §9); successful replies go through
  // `delayer` ([testing] decide_delay_ms).
  void SetBackpressure(service::BackpressureMonitor* monitor) { backpressure_ = monitor; }
  void SetReplyDelayer(service::ReplyDelayer* delayer) { delayer_ = delayer; }
  // Decide reports each finished call here itself (service "Router", method "Decide", the
  // status sent), so the server's call-counting interceptor can leave Decide alone
  // (call_counter.h). Null = not reported.
  void SetCallObserver(CallObserver observer) { observer_ = std::move(observer); }

  ::grpc::ServerUnaryReactor* Decide(::grpc::CallbackServerContext* context,
                                     const ::grpc::ByteBuffer* request,
                                     ::grpc::ByteBuffer* response) override;
  ::grpc::ServerUnaryReactor* ReportOutcome(::grpc::CallbackServerContext* context,
                                            const ::grpc::ByteBuffer* request,
                                            ::grpc::ByteBuffer* response) override;

 private:
  service::DecisionService& decisions_;
  service::OutcomeService& outcomes_;
  service::BackpressureMonitor* backpressure_ = nullptr;
  service::ReplyDelayer* delayer_ = nullptr;
  CallObserver observer_;
};

// Fills a RouteDecision from a successful service output.
void FillRouteDecision(const service::DecideOutput& out, bool with_explanation,
                       beamline::flow::v1::RouteDecision* decision);
void FillExplanation(const service::DecideOutput& out, beamline::flow::v1::Explanation* expl);

// RequestContext over a RouteRequest.context map (no copy).
class ProtoMapContext final : public service::RequestContext {
 public:
  explicit ProtoMapContext(const google::protobuf::Map<std::string, std::string>& map)
      : map_(map) {}
  std::optional<std::string_view> Find(std::string_view key) const override;
  size_t Size() const override { return map_.size(); }
  void ForEach(const std::function<void(std::string_view, std::string_view)>& fn) const override;

 private:
  const google::protobuf::Map<std::string, std::string>& map_;
};

}  // namespace router::grpc_adapter
