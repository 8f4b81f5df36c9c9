#pragma once
// DLQ envelopes of the worker messages (nats-contracts.md §3.8, S8; §2 DLQ headers):
// envelope A (`reason: "poison"`) for an invalid result (S5) or ack (S4), envelope B
// (`reason: "maxdeliver_exhausted"`) for a valid message whose last delivery failed
// transiently. Both are published to `<source subject>.dlq` (stream ROUTER_DLQ) with the headers
// `Nats-Msg-Id: dlq-<stream>-<stream_seq>`, `x-dlq-reason`, `x-original-subject`,
// `x-original-msg-id`, `x-original-stream-seq`, `x-delivery-count` and the original headers
// except `Nats-*`. Pure functions; thread-safe.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "nats/worker_message.h"

namespace router::nats_adapter {

// `source` of both envelopes (JetStream metadata of the delivery).
struct DlqSource {
  std::string stream;
  std::string consumer;
  uint64_t stream_seq = 0;
  uint64_t num_delivered = 0;
  std::optional<std::string> msg_id;  // original Nats-Msg-Id
};

struct PoisonEnvelope {  // A
  std::string_view original_subject;
  std::string_view body;  // hashed; embedded per the include_payload / size rules
  std::string_view code;  // intake code
  std::string_view message;
  const WorkerParse* parse = nullptr;  // json_object, too_large, context
  DlqSource source;
  bool include_payload = true;  // nats.dlq.include_payload
  int64_t max_payload_bytes = 1048576;
  int64_t received_at_ms = 0;
  std::string_view node_id;
};
std::string BuildPoisonEnvelope(const PoisonEnvelope& e);

struct MaxDeliverEnvelope {  // B
  std::string_view original_subject;
  std::string_view body;  // the parsed original (a JSON object), unless include_payload = false
  std::string_view last_error;
  const std::string* tenant_id = nullptr;  // null -> JSON null
  const std::string* trace_id = nullptr;
  DlqSource source;
  bool include_payload = true;
  int64_t timestamp_ms = 0;
  std::string_view node_id;
};
std::string BuildMaxDeliverEnvelope(const MaxDeliverEnvelope& e);

// The §2 DLQ headers. `reason` is `poison` or `maxdeliver_exhausted`.
std::vector<std::pair<std::string, std::string>> DlqHeaders(
    std::string_view reason, std::string_view original_subject, const DlqSource& source,
    std::vector<std::pair<std::string, std::string>> original_headers);

}  // namespace router::nats_adapter
