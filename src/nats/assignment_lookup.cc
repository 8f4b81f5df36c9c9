#include "nats/assignment_lookup.h"

#include "absl/status/statusor.h"
#include "policy/json_tree.h"

namespace router::nats_adapter {

namespace {
constexpr int64_t kDrainWaitMs = 2000;
}  // namespace

AssignmentLookup::AssignmentLookup(NatsConnection& connection,
                                   const service::CorrelationStore& store, std::string subject)
    : connection_(connection), store_(store), subject_(std::move(subject)) {}

AssignmentLookup::~AssignmentLookup() { Close(); }

absl::Status AssignmentLookup::Subscribe() {
  if (Subscribed()) return absl::OkStatus();
  natsConnection* nc = connection_.raw();
  if (nc == nullptr) return absl::UnavailableError("no connection");
  natsStatus s =
      natsConnection_Subscribe(&sub_, nc, subject_.c_str(), &AssignmentLookup::OnMsg, this);
  if (s != NATS_OK) {
    sub_ = nullptr;
    return NatsError(s, "subscribe " + subject_);
  }
  subscribed_.store(true, std::memory_order_release);
  return absl::OkStatus();
}

void AssignmentLookup::Close() {
  subscribed_.store(false, std::memory_order_release);
  if (sub_ == nullptr) return;
  if (natsSubscription_Drain(sub_) == NATS_OK) {
    (void)natsSubscription_WaitForDrainCompletion(sub_, kDrainWaitMs);
  } else {
    (void)natsSubscription_Unsubscribe(sub_);
  }
  natsSubscription_Destroy(sub_);
  sub_ = nullptr;
}

std::optional<std::string> AssignmentLookup::Answer(std::string_view request) const {
  policy::JsonParseOptions options;
  options.max_bytes = 4096;
  options.max_depth = 4;
  absl::StatusOr<policy::JsonValue> root = policy::ParseJson(request, options);
  if (!root.ok() || !root->IsObject()) return std::nullopt;
  std::string tenant, assignment_id, request_id;
  for (const policy::JsonMember& m : root->members) {
    if (!m.value.IsString()) continue;
    if (m.key == "tenant_id") tenant = m.value.str;
    if (m.key == "assignment_id") assignment_id = m.value.str;
    if (m.key == "request_id") request_id = m.value.str;
  }
  if (tenant.empty() || (assignment_id.empty() && request_id.empty())) return std::nullopt;
  std::optional<service::AssignmentRecord> found = !assignment_id.empty()
                                                       ? store_.Get(tenant, assignment_id)
                                                       : store_.FindByRequest(tenant, request_id);
  if (!found.has_value()) return std::nullopt;
  return service::AssignmentRecordToJson(*found);
}

std::optional<service::AssignmentRecord> AssignmentLookup::Ask(
    std::string_view tenant_id, std::string_view assignment_id, std::string_view request_id,
    std::chrono::milliseconds deadline) const {
  natsConnection* nc = connection_.raw();
  if (nc == nullptr) return std::nullopt;
  const std::string body = RequestBody(tenant_id, assignment_id, request_id);
  natsMsg* reply = nullptr;
  natsStatus s = natsConnection_Request(&reply, nc, subject_.c_str(), body.data(),
                                        static_cast<int>(body.size()), deadline.count());
  if (s != NATS_OK || reply == nullptr) {
    if (reply != nullptr) natsMsg_Destroy(reply);
    return std::nullopt;
  }
  const char* data = natsMsg_GetData(reply);
  const int len = natsMsg_GetDataLength(reply);
  std::optional<service::AssignmentRecord> record =
      service::AssignmentRecordFromJson(std::string_view(data != nullptr ? data : "", len));
  natsMsg_Destroy(reply);
  if (record.has_value() && record->tenant_id != tenant_id) return std::nullopt;
  return record;
}

std::string AssignmentLookup::RequestBody(std::string_view tenant_id,
                                          std::string_view assignment_id,
                                          std::string_view request_id) {
  std::string body = "{\"tenant_id\":";
  policy::AppendJsonString(body, tenant_id);
  if (!assignment_id.empty()) {
    body.append(",\"assignment_id\":");
    policy::AppendJsonString(body, assignment_id);
  } else {
    body.append(",\"request_id\":");
    policy::AppendJsonString(body, request_id);
  }
  body.push_back('}');
  return body;
}

void AssignmentLookup::OnMsg(natsConnection* nc, natsSubscription*, natsMsg* msg,
                             void* closure) noexcept {
  auto* self = static_cast<AssignmentLookup*>(closure);
  try {
    const char* reply_to = natsMsg_GetReply(msg);
    if (reply_to != nullptr && reply_to[0] != '\0') {
      const char* data = natsMsg_GetData(msg);
      std::optional<std::string> answer =
          self->Answer(std::string_view(data != nullptr ? data : "", natsMsg_GetDataLength(msg)));
      if (answer.has_value()) {
        (void)natsConnection_Publish(nc, reply_to, answer->data(),
                                     static_cast<int>(answer->size()));
      }
    }
  } catch (...) {
    // Never unwind into cnats; the asker simply gets no answer.
  }
  natsMsg_Destroy(msg);
}

}  // namespace router::nats_adapter
