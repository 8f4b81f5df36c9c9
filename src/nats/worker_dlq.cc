#include "nats/worker_dlq.h"

#include "absl/strings/escaping.h"
#include "nats/json_writer.h"
#include "policy/sha256.h"

namespace router::nats_adapter {
namespace {

constexpr int64_t kEnvelopeReserveBytes = 8 * 1024;  // §3.8: base64 fits max_payload - 8 KiB

std::string_view TrimJson(std::string_view s) {
  auto space = [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; };
  while (!s.empty() && space(s.front())) s.remove_prefix(1);
  while (!s.empty() && space(s.back())) s.remove_suffix(1);
  return s;
}

std::string MsgIdOf(const DlqSource& s) {
  if (s.msg_id) return *s.msg_id;
  return s.stream + ":" + std::to_string(s.stream_seq);
}

void WriteSource(JsonWriter& w, const DlqSource& s) {
  w.Key("source").BeginObject();
  w.Field("stream", s.stream).Field("consumer", s.consumer);
  w.Field("stream_seq", static_cast<int64_t>(s.stream_seq));
  w.Field("num_delivered", static_cast<int64_t>(s.num_delivered));
  w.Key("msg_id");
  if (s.msg_id) {
    w.String(*s.msg_id);
  } else {
    w.Null();
  }
  w.EndObject();
}

}  // namespace

std::string BuildPoisonEnvelope(const PoisonEnvelope& e) {
  std::string out;
  JsonWriter w(out);
  w.BeginObject()
      .Field("version", "1")
      .Field("reason", "poison")
      .Field("original_subject", e.original_subject)
      .Field("original_payload_hash", policy::Sha256Hex(e.body));
  w.Key("validation_error")
      .BeginObject()
      .Field("code", e.code)
      .Field("message", e.message)
      .Field("severity", "error")
      .EndObject();
  w.Key("context").BeginObject();
  if (e.parse != nullptr) {
    const WorkerContext& c = e.parse->context;
    if (c.request_id) w.Field("request_id", *c.request_id);
    if (c.tenant_id) w.Field("tenant_id", *c.tenant_id);
    if (c.trace_id) w.Field("trace_id", *c.trace_id);
    if (c.assignment_id) w.Field("assignment_id", *c.assignment_id);
  }
  w.EndObject();
  WriteSource(w, e.source);
  const bool json_object = e.parse != nullptr && e.parse->json_object;
  const bool too_large = e.parse != nullptr && e.parse->too_large;
  if (json_object) {
    if (e.include_payload) w.Key("message").Raw(TrimJson(e.body));
  } else if (!too_large && static_cast<int64_t>((e.body.size() + 2) / 3 * 4) <=
                               e.max_payload_bytes - kEnvelopeReserveBytes) {
    w.Field("original_payload_b64",
            absl::Base64Escape(absl::string_view(e.body.data(), e.body.size())));
  } else {
    w.Field("payload_truncated", true);
  }
  w.Field("received_at", e.received_at_ms).Field("router_node_id", e.node_id);
  w.EndObject();
  return out;
}

std::string BuildMaxDeliverEnvelope(const MaxDeliverEnvelope& e) {
  std::string out;
  JsonWriter w(out);
  w.BeginObject()
      .Field("version", "1")
      .Field("reason", "maxdeliver_exhausted")
      .Field("error_code", "MAXDELIVER_EXHAUSTED")
      .Field("original_subject", e.original_subject)
      .Field("msg_id", MsgIdOf(e.source))
      .Field("last_error", e.last_error);
  w.Key("tenant_id");
  if (e.tenant_id) {
    w.String(*e.tenant_id);
  } else {
    w.Null();
  }
  w.Key("trace_id");
  if (e.trace_id) {
    w.String(*e.trace_id);
  } else {
    w.Null();
  }
  WriteSource(w, e.source);
  if (e.include_payload) w.Key("message").Raw(TrimJson(e.body));
  w.Field("timestamp", e.timestamp_ms).Field("router_node_id", e.node_id);
  w.EndObject();
  return out;
}

std::vector<std::pair<std::string, std::string>> DlqHeaders(
    std::string_view reason, std::string_view original_subject, const DlqSource& source,
    std::vector<std::pair<std::string, std::string>> original_headers) {
  std::vector<std::pair<std::string, std::string>> h;
  h.emplace_back("Nats-Msg-Id", "dlq-" + source.stream + "-" + std::to_string(source.stream_seq));
  h.emplace_back("x-dlq-reason", std::string(reason));
  h.emplace_back("x-original-subject", std::string(original_subject));
  h.emplace_back("x-original-msg-id", source.msg_id.value_or(""));
  h.emplace_back("x-original-stream-seq", std::to_string(source.stream_seq));
  h.emplace_back("x-delivery-count", std::to_string(source.num_delivered));
  for (auto& kv : original_headers) h.push_back(std::move(kv));
  return h;
}

}  // namespace router::nats_adapter
