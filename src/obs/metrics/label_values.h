#pragma once
// Closed label value sets of the metrics catalogue (observability.md §2.4). This is the one table
// where these wire strings are spelled; catalogue.cc builds the family definitions from it and
// callers may pass either these constants or the same strings from their own tables (error tags
// in base/errors.h, decision reasons in core). A value outside its set is a bug: it asserts in
// debug builds and is recorded as `other` in release builds (OBS §2.2).
//
// Immutable constants; thread-safe.

#include <string_view>

namespace router::obs::values {

// The value every sanitised, over-budget or overflowed label takes (OBS §2.2).
inline constexpr std::string_view kOther = "other";

inline constexpr std::string_view kTransportGrpc = "grpc";
inline constexpr std::string_view kTransportNats = "nats";
inline constexpr std::string_view kTransport[] = {kTransportGrpc, kTransportNats};

// `outcome` of router_decide_requests_total / router_decide_duration_seconds: `ok` or the Decide
// error tag (grpc-api.md §1), plus `cancelled` and `assignment_not_persisted` (NATS only).
inline constexpr std::string_view kDecideOutcomeOk = "ok";
inline constexpr std::string_view kDecideOutcome[] = {
    "ok",
    "invalid_request",
    "tenant_not_allowed",
    "overloaded",
    "rate_limit_exceeded",
    "policy_not_found",
    "deadline_exceeded",
    "no_provider_configured",
    "no_provider_available",
    "idempotency_key_reused",
    "internal",
    "cancelled",
    "assignment_not_persisted",
    // Extension pipeline tags (POL §9): Decide answers them today when a required item cannot
    // run (cause extension_unavailable).
    "pre_processor_failed",
    "validator_blocked",
    "post_processor_failed",
};

inline constexpr std::string_view kDecisionReason[] = {
    "sticky", "weighted", "best_score", "retry", "fallback", "circuit_breaker_fallback",
};
inline constexpr std::string_view kRepinReason[] = {"circuit_open", "half_open_full",
                                                    "not_in_policy", "zero_weight"};
inline constexpr std::string_view kEvictionReason[] = {"expired", "capacity"};
inline constexpr std::string_view kScope[] = {"policy", "tenant"};
inline constexpr std::string_view kBreakerState[] = {"closed", "open", "half_open"};
inline constexpr std::string_view kBreakerTriggerReason[] = {
    "failure_threshold_exceeded",
    "error_rate_threshold_exceeded",
    "latency_threshold_exceeded",
    "half_open_failure",
    "timeout_elapsed",
};
inline constexpr std::string_view kBreakerEventType[] = {
    "success", "failure", "ignored", "unclassified", "fail_fast", "probe_admitted", "probe_expired",
};
inline constexpr std::string_view kBreakerTransitionType[] = {"lazy", "sweep"};
inline constexpr std::string_view kBreakerOperation[] = {"reset_closed", "reset_half_open",
                                                         "force_open"};

// `status`: provider outcomes and results; worker acks; extension calls.
inline constexpr std::string_view kOutcomeStatus[] = {"success", "error", "timeout", "cancelled"};
inline constexpr std::string_view kAckStatus[] = {"accepted", "rejected", "error"};
inline constexpr std::string_view kExtensionStatus[] = {"ok", "error", "timeout", "unavailable",
                                                        "skipped"};
inline constexpr std::string_view kExtensionStage[] = {"pre", "validator", "post"};

// `source`: of provider outcomes; of intake, DLQ and contract checks; of correlation misses.
inline constexpr std::string_view kOutcomeSource[] = {"result", "report_outcome"};
inline constexpr std::string_view kIntakeSource[] = {"decide", "results", "acks"};
inline constexpr std::string_view kCorrelationSource[] = {"results", "acks", "admin"};

inline constexpr std::string_view kIntakeCode[] = {
    "SCHEMA_VALIDATION_FAILED",  "VERSION_UNSUPPORTED",   "CORRELATION_FIELDS_INVALID",
    "TENANT_FORBIDDEN",          "IDEMPOTENCY_VIOLATION", "PAYLOAD_TOO_SMALL",
    "INTERNAL_VALIDATION_ERROR",
};
inline constexpr std::string_view kConsumer[] = {"results", "acks"};
inline constexpr std::string_view kAssignmentOutcome[] = {
    "published", "deduplicated", "failed", "retries_exhausted", "expired", "shutdown_dropped",
};
inline constexpr std::string_view kReplyWaitResult[] = {"published", "timeout"};
inline constexpr std::string_view kPublishFailureReason[] = {
    "timeout",       "no_responders", "stream_not_found", "insufficient_resources",
    "limit_reached", "disconnected",  "invalid_subject",  "payload_too_large",
    "api_error",
};
inline constexpr std::string_view kNakReason[] = {
    "usage_publish_failed", "dlq_publish_failed", "disconnected", "internal_error", "shutdown",
};
inline constexpr std::string_view kTermReason[] = {"poison", "maxdeliver_exhausted"};
inline constexpr std::string_view kDlqReason[] = {"intake_validation", "poison",
                                                  "maxdeliver_exhausted"};
inline constexpr std::string_view kReplyFailureReason[] = {"no_reply_subject", "disconnected",
                                                           "publish_error"};
inline constexpr std::string_view kNatsConnectFailureReason[] = {"refused", "timeout", "tls",
                                                                 "auth",    "dns",     "other"};
inline constexpr std::string_view kNatsSubscription[] = {"decide", "fanout", "status"};
inline constexpr std::string_view kAckOp[] = {"ack", "nak", "term"};
inline constexpr std::string_view kStreamRole[] = {"assignments", "results", "acks", "usage",
                                                   "dlq"};
inline constexpr std::string_view kStreamEnsureResult[] = {"created", "updated", "unchanged",
                                                           "error"};
inline constexpr std::string_view kBackpressureEventType[] = {"warning", "active", "inactive"};
inline constexpr std::string_view kBackpressureSignal[] = {"inflight", "latency_p95", "pending"};

inline constexpr std::string_view kReadyCheck[] = {
    "config", "store", "grpc", "nats", "decide_subscription", "jetstream", "consumers", "shutdown",
};

// gRPC: proto service short names, their methods, canonical status names.
inline constexpr std::string_view kGrpcServiceRouter = "Router";
inline constexpr std::string_view kGrpcServiceRouterAdmin = "RouterAdmin";
inline constexpr std::string_view kGrpcServiceHealth = "Health";
inline constexpr std::string_view kGrpcServiceReflection = "Reflection";
inline constexpr std::string_view kGrpcService[] = {kGrpcServiceRouter, kGrpcServiceRouterAdmin,
                                                    kGrpcServiceHealth, kGrpcServiceReflection};
inline constexpr std::string_view kRouterMethod[] = {"Decide", "ReportOutcome"};
inline constexpr std::string_view kRouterAdminMethod[] = {
    "UpsertPolicy",        "DeletePolicy",        "GetPolicy", "ListPolicies",
    "GetCheckpointStatus", "GetValidatorsHealth", "DryRun",    "GetCircuitBreakerStates",
    "ResetCircuitBreaker", "GetAssignment",
};
inline constexpr std::string_view kHealthMethod[] = {"Check", "Watch"};
inline constexpr std::string_view kReflectionMethod[] = {"ServerReflectionInfo"};
// Union of the four lists above (the `method` label of router_grpc_requests_total).
inline constexpr std::string_view kGrpcMethod[] = {
    "Decide",
    "ReportOutcome",
    "UpsertPolicy",
    "DeletePolicy",
    "GetPolicy",
    "ListPolicies",
    "GetCheckpointStatus",
    "GetValidatorsHealth",
    "DryRun",
    "GetCircuitBreakerStates",
    "ResetCircuitBreaker",
    "GetAssignment",
    "Check",
    "Watch",
    "ServerReflectionInfo",
};
inline constexpr std::string_view kGrpcCode[] = {
    "OK",
    "CANCELLED",
    "UNKNOWN",
    "INVALID_ARGUMENT",
    "DEADLINE_EXCEEDED",
    "NOT_FOUND",
    "ALREADY_EXISTS",
    "PERMISSION_DENIED",
    "RESOURCE_EXHAUSTED",
    "FAILED_PRECONDITION",
    "ABORTED",
    "OUT_OF_RANGE",
    "UNIMPLEMENTED",
    "INTERNAL",
    "UNAVAILABLE",
    "DATA_LOSS",
    "UNAUTHENTICATED",
};

inline constexpr std::string_view kAdminAuthFailureReason[] = {"missing", "invalid", "disabled"};

// HTTP port: the three served paths plus `other`; the status codes the server answers.
inline constexpr std::string_view kHttpPath[] = {"/metrics", "/health", "/ready", "other"};
inline constexpr std::string_view kHttpCode[] = {"200", "400", "404", "405", "413", "500", "503"};

inline constexpr std::string_view kStoreReloadTrigger[] = {"startup", "admin", "external"};
inline constexpr std::string_view kResult[] = {"ok", "error"};  // store reloads, config reloads
inline constexpr std::string_view kStoreOp[] = {"read", "write", "integrity"};

// Log levels as in `log.level` (lower case).
inline constexpr std::string_view kLogLevel[] = {"error", "warn", "info", "debug"};
inline constexpr std::string_view kSpanDropReason[] = {"queue_full", "export_failed", "rejected",
                                                       "shutdown"};

}  // namespace router::obs::values
