#include "obs/logging/log_record.h"

#include <array>
#include <string>

namespace router::obs {
namespace {

constexpr std::array<std::string_view, kNumCorrelationKeys> kCorrelationNames = {
    "node_id",     "tenant_id",     "policy_id",      "policy_version", "provider_id", "request_id",
    "decision_id", "assignment_id", "correlation_id", "trace_id",       "span_id",     "run_id",
    "flow_id",     "step_id",       "error_code",     "latency_ms",
};

CorrelationValue* FindMutable(std::vector<CorrelationValue>& list, CorrelationKey key) {
  for (CorrelationValue& v : list) {
    if (v.key == key) return &v;
  }
  return nullptr;
}

}  // namespace

std::string_view CorrelationKeyName(CorrelationKey key) {
  const auto index = static_cast<size_t>(key);
  return index < kCorrelationNames.size() ? kCorrelationNames[index] : std::string_view("");
}

bool IsIntegerCorrelationKey(CorrelationKey key) {
  return key == CorrelationKey::kPolicyVersion || key == CorrelationKey::kLatencyMs;
}

void LogRecord::SetCorrelation(CorrelationKey key, std::string_view text) {
  if (CorrelationValue* existing = FindMutable(correlation, key)) {
    existing->text.assign(text);
    return;
  }
  correlation.push_back(CorrelationValue{key, std::string(text), 0});
}

void LogRecord::SetCorrelation(CorrelationKey key, int64_t number) {
  if (CorrelationValue* existing = FindMutable(correlation, key)) {
    existing->number = number;
    return;
  }
  correlation.push_back(CorrelationValue{key, std::string(), number});
}

const CorrelationValue* LogRecord::FindCorrelation(CorrelationKey key) const {
  for (const CorrelationValue& v : correlation) {
    if (v.key == key) return &v;
  }
  return nullptr;
}

}  // namespace router::obs
