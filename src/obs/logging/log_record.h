#pragma once
// LogRecord: one structured log record as built on the caller thread (OBS §5.1), before
// redaction, UTF-8 repair, truncation and serialization (which the writer thread does, §5.4).
// CorrelationKey lists the correlation keys of §5.1 in their output order.
// Plain value type; thread-compatible.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "obs/logging/log_value.h"

namespace router::obs {

// Correlation keys in the order §5.1 writes them (after `message`, before `context`).
// kPolicyVersion and kLatencyMs are integers, the others strings.
enum class CorrelationKey : uint8_t {
  kNodeId,
  kTenantId,
  kPolicyId,
  kPolicyVersion,
  kProviderId,
  kRequestId,
  kDecisionId,
  kAssignmentId,
  kCorrelationId,
  kTraceId,
  kSpanId,
  kRunId,
  kFlowId,
  kStepId,
  kErrorCode,
  kLatencyMs,
};
inline constexpr int kNumCorrelationKeys = 16;

// The JSON key, e.g. "tenant_id".
std::string_view CorrelationKeyName(CorrelationKey key);
// True for kPolicyVersion and kLatencyMs.
bool IsIntegerCorrelationKey(CorrelationKey key);

struct CorrelationValue {
  CorrelationKey key;
  std::string text;    // string keys
  int64_t number = 0;  // integer keys
};

struct LogRecord {
  LogLevel level = LogLevel::kInfo;
  // UTC epoch microseconds; 0 = stamped by Logger::Log.
  int64_t timestamp_us = 0;
  // Monotonic time of the event (rate limiting, §5.4); 0 = stamped by Logger::Log.
  int64_t mono_ns = 0;
  std::string subsystem;  // §5.1 list: main, config, grpc, ...
  std::string event;      // §5.2 catalogue name
  std::string message;
  // The message is the text of an error that came from a library: the value patterns of §5.3
  // are applied to it (our own messages are written as they are).
  bool message_from_library = false;
  // Never rate limited (lifecycle events; §5.4).
  bool rate_limit_exempt = false;
  // At most one entry per key; empty strings are omitted from the output.
  std::vector<CorrelationValue> correlation;
  // Written in this order (a repeated key keeps its first position and its last value).
  std::vector<LogField> context;

  // Sets (or replaces) a string correlation key.
  void SetCorrelation(CorrelationKey key, std::string_view text);
  // Sets (or replaces) an integer correlation key (policy_version, latency_ms).
  void SetCorrelation(CorrelationKey key, int64_t number);
  // The entry for `key`, or nullptr.
  const CorrelationValue* FindCorrelation(CorrelationKey key) const;
};

}  // namespace router::obs
