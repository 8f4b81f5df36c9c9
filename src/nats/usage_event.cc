#include "nats/usage_event.h"

#include "nats/json_writer.h"

namespace router::nats_adapter {
namespace {

bool LowerHex(std::string_view s) {
  bool non_zero = false;
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
    non_zero |= c != '0';
  }
  return non_zero;
}

}  // namespace

std::string UsageId(const ExecResult& result) { return "usage-" + result.DedupKey(); }

bool IsWellFormedTraceparent(std::string_view v) {
  if (v.size() != 55 || v[2] != '-' || v[35] != '-' || v[52] != '-') return false;
  if (v.substr(0, 2) != "00") return false;
  const std::string_view flags = v.substr(53, 2);
  const bool flags_hex = LowerHex(flags) || flags == "00";
  return LowerHex(v.substr(3, 32)) && LowerHex(v.substr(36, 16)) && flags_hex;
}

std::string BuildUsageEvent(const ExecResult& r) {
  std::string out;
  JsonWriter w(out);
  w.BeginObject()
      .Field("version", "1")
      .Field("usage_id", UsageId(r))
      .Field("tenant_id", r.tenant_id)
      .Field("provider_id", r.provider_id)
      .Field("event_type", r.event_type);
  w.Key("latency_ms");
  if (r.latency_ms) {
    w.Int(*r.latency_ms);
  } else {
    w.Null();
  }
  w.Key("cost");
  if (r.cost) {
    w.Double(*r.cost);
  } else {
    w.Null();
  }
  w.Field("status", r.status);
  w.Key("error_code");
  if (const std::string& code = r.EffectiveErrorCode(); !code.empty()) {
    w.String(code);
  } else {
    w.Null();
  }
  w.Key("trace_id");
  if (r.trace_id) {
    w.String(*r.trace_id);
  } else {
    w.Null();
  }
  w.Field("timestamp", r.timestamp_ms);
  w.Key("assignment_id");
  if (!r.assignment_id.empty()) {
    w.String(r.assignment_id);
  } else {
    w.Null();
  }
  w.Key("request_id");
  if (!r.request_id.empty()) {
    w.String(r.request_id);
  } else {
    w.Null();
  }
  w.EndObject();
  return out;
}

std::vector<std::pair<std::string, std::string>> UsageHeaders(
    const ExecResult& r, const std::optional<std::string>& traceparent) {
  std::vector<std::pair<std::string, std::string>> h = {
      {"Nats-Msg-Id", UsageId(r)}, {"tenant_id", r.tenant_id}, {"version", "1"}};
  if (traceparent && IsWellFormedTraceparent(*traceparent))
    h.emplace_back("traceparent", *traceparent);
  return h;
}

}  // namespace router::nats_adapter
