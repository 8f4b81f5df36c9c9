#pragma once
// Span names, attribute keys and attribute values of OBS §6.4: the one table where these wire
// strings are spelled. Also the span-status rule for gRPC codes. Constants only; thread-safe.

#include <string>
#include <string_view>

#include "obs/tracing/span.h"

namespace router::obs {

namespace span_name {
inline constexpr std::string_view kDecide = "beamline.router.decide";
inline constexpr std::string_view kPolicyLookup = "beamline.router.policy.lookup";
inline constexpr std::string_view kProviderSelect = "beamline.router.provider.select";
inline constexpr std::string_view kPublishAssignment = "beamline.router.publish.assignment";
inline constexpr std::string_view kProcessResult = "beamline.router.process.result";
inline constexpr std::string_view kProcessAck = "beamline.router.process.ack";
inline constexpr std::string_view kEmitUsage = "beamline.router.emit.usage";
inline constexpr std::string_view kReportOutcome = "beamline.flow.v1.Router/ReportOutcome";
// Admin spans are "beamline.flow.v1.RouterAdmin/<Method>".
inline constexpr std::string_view kAdminPrefix = "beamline.flow.v1.RouterAdmin/";
}  // namespace span_name

namespace span_attr {
inline constexpr std::string_view kTransport = "transport";
inline constexpr std::string_view kRpcSystem = "rpc.system";
inline constexpr std::string_view kRpcService = "rpc.service";
inline constexpr std::string_view kRpcMethod = "rpc.method";
inline constexpr std::string_view kRpcGrpcStatusCode = "rpc.grpc.status_code";
inline constexpr std::string_view kMessagingSystem = "messaging.system";
inline constexpr std::string_view kMessagingDestinationName = "messaging.destination.name";
inline constexpr std::string_view kMessagingMessageId = "messaging.message.id";
inline constexpr std::string_view kTenantId = "tenant_id";
inline constexpr std::string_view kPolicyId = "policy_id";
inline constexpr std::string_view kPolicyVersion = "policy_version";
inline constexpr std::string_view kDecisionId = "decision_id";
inline constexpr std::string_view kRequestId = "request_id";
inline constexpr std::string_view kCorrelationId = "correlation_id";
inline constexpr std::string_view kProviderId = "provider_id";
inline constexpr std::string_view kDecisionReason = "decision.reason";
inline constexpr std::string_view kDecideOutcome = "decide.outcome";
inline constexpr std::string_view kStickyResult = "sticky.result";
inline constexpr std::string_view kIdempotencyReplayed = "idempotency.replayed";
inline constexpr std::string_view kPushAssignment = "push_assignment";
inline constexpr std::string_view kAssignmentId = "assignment_id";
inline constexpr std::string_view kFound = "found";
inline constexpr std::string_view kCandidates = "candidates";
inline constexpr std::string_view kExcluded = "excluded";
inline constexpr std::string_view kFallbackRule = "fallback.rule";
inline constexpr std::string_view kAttempts = "attempts";
inline constexpr std::string_view kPublishResult = "publish.result";
inline constexpr std::string_view kPublishFailureReason = "publish.failure_reason";
inline constexpr std::string_view kResultStatus = "result.status";
inline constexpr std::string_view kLatencyMs = "latency_ms";
inline constexpr std::string_view kCost = "cost";
inline constexpr std::string_view kDeliveryCount = "delivery.count";
inline constexpr std::string_view kFate = "fate";
inline constexpr std::string_view kPrincipal = "principal";
inline constexpr std::string_view kErrorType = "error.type";
}  // namespace span_attr

namespace span_value {
inline constexpr std::string_view kGrpc = "grpc";
inline constexpr std::string_view kNats = "nats";
inline constexpr std::string_view kRouterService = "beamline.flow.v1.Router";
inline constexpr std::string_view kStickyHit = "hit";
inline constexpr std::string_view kStickyMiss = "miss";
inline constexpr std::string_view kStickyRepin = "repin";
inline constexpr std::string_view kStickyOff = "off";
inline constexpr std::string_view kPublished = "published";
inline constexpr std::string_view kDuplicate = "duplicate";
inline constexpr std::string_view kFailed = "failed";
inline constexpr std::string_view kFateAck = "ack";
inline constexpr std::string_view kFateNak = "nak";
inline constexpr std::string_view kFateTerm = "term";
inline constexpr std::string_view kFateDuplicate = "duplicate";
}  // namespace span_value

// OBS §6.4: span status is ERROR for UNKNOWN (2), DEADLINE_EXCEEDED (4), UNIMPLEMENTED (12),
// INTERNAL (13), UNAVAILABLE (14) and DATA_LOSS (15); client errors leave it UNSET.
inline bool IsServerErrorGrpcCode(int code) {
  return code == 2 || code == 4 || code == 12 || code == 13 || code == 14 || code == 15;
}

// Sets rpc.grpc.status_code and, for a server error, status ERROR with `error.type`
// (e.g. the error tag "internal" or "no_provider_available") and its message.
inline void RecordGrpcStatus(Span& span, int code, std::string_view error_type,
                             std::string_view message = {}) {
  span.SetAttribute(span_attr::kRpcGrpcStatusCode, code);
  if (IsServerErrorGrpcCode(code)) {
    if (!error_type.empty()) span.SetAttribute(span_attr::kErrorType, error_type);
    span.SetStatus(SpanStatusCode::kError, message);
  }
}

}  // namespace router::obs
