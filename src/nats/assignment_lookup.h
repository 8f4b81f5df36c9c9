#pragma once
// AssignmentLookup: the cross-replica assignment lookup on S10 (nats-contracts.md §1 S10, §3.9,
// §7.2; grpc-api.md §9). Every replica subscribes `beamline.router.v1.internal.assignment.get`
// without a queue group; a request `{"tenant_id":"acme","assignment_id":"…"}` or
// `{"tenant_id":"acme","request_id":"…"}` is answered only by the replica holding the record
// (the proto Assignment as JSON with proto field names, AssignmentRecordToJson); the others
// stay silent. Ask() is the asking side, used by RouterAdmin/GetAssignment after a local miss:
// one core request, the first reply wins, nothing within the deadline (250 ms) = not found.
//
// The NatsTransport subscribes it at each connection setup (SetAssignmentLookup) and closes it
// at Stop. S10 exposes tenant data: deployments restrict the subject to router credentials.
// Thread-safety: thread-safe; callbacks run on cnats threads and only read the store.

#include <nats/nats.h>

#include <atomic>
#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "nats/connection.h"
#include "service/correlation_store.h"

namespace router::nats_adapter {

inline constexpr char kAssignmentLookupSubject[] = "beamline.router.v1.internal.assignment.get";
inline constexpr std::chrono::milliseconds kAssignmentLookupDeadline{250};

class AssignmentLookup {
 public:
  // `connection` and `store` must outlive the lookup.
  AssignmentLookup(NatsConnection& connection, const service::CorrelationStore& store,
                   std::string subject = kAssignmentLookupSubject);
  ~AssignmentLookup();
  AssignmentLookup(const AssignmentLookup&) = delete;
  AssignmentLookup& operator=(const AssignmentLookup&) = delete;

  // Subscribes the responder (once; cnats re-subscribes after reconnects). UNAVAILABLE while
  // there is no connection.
  absl::Status Subscribe();
  bool Subscribed() const { return subscribed_.load(std::memory_order_acquire); }
  // Unsubscribes (draining running callbacks). Idempotent.
  void Close();

  // The responder's decision for one request body: the reply body when this replica holds the
  // record (tenant-scoped; assignment_id wins over request_id), nullopt = stay silent
  // (malformed request, unknown, expired or another tenant's record).
  std::optional<std::string> Answer(std::string_view request) const;

  // Asks the other replicas; nullopt on no answer within `deadline`, no connection, no
  // responders or a malformed reply. Blocks the caller up to `deadline`.
  std::optional<service::AssignmentRecord> Ask(
      std::string_view tenant_id, std::string_view assignment_id, std::string_view request_id,
      std::chrono::milliseconds deadline = kAssignmentLookupDeadline) const;

  // S10 request body.
  static std::string RequestBody(std::string_view tenant_id, std::string_view assignment_id,
                                 std::string_view request_id);

 private:
  static void OnMsg(natsConnection* nc, natsSubscription* sub, natsMsg* msg,
                    void* closure) noexcept;

  NatsConnection& connection_;
  const service::CorrelationStore& store_;
  const std::string subject_;
  natsSubscription* sub_ = nullptr;  // guarded by the owner's call order (Subscribe/Close)
  std::atomic<bool> subscribed_{false};
};

}  // namespace router::nats_adapter
