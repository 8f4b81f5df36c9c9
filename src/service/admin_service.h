#pragma once
// AdminService: the policy methods of RouterAdmin (grpc-api.md §6) behind authentication,
// decoding, effective tenant and RBAC, which the transport adapter performs first (§5.2 checks
// 1-3). This class does checks 4-6: quota, validation (the one validator, POL §1.5), durable
// commit and snapshot publish (through PolicyRegistry), and audits the attempts it rejects.
// Thread-safe: writes are serialized by PolicyRegistry; reads go to the store.

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "core/breaker_registry.h"
#include "core/provider_stats.h"
#include "policy/policy_compiler.h"
#include "service/correlation_store.h"
#include "service/policy_registry.h"
#include "store/policy_store.h"

namespace router::service {

struct AdminCaller {
  std::string principal;
  std::string claimed_user;  // x-user-id when well-formed, else ""
  std::string correlation_id;
  std::string client_addr;
};

// AdminPolicy as decoded by the transport.
struct PolicyInput {
  std::string policy_id;
  std::string policy_json;          // authoritative when non-empty
  policy::LegacyPolicyView legacy;  // used only when policy_json is empty
  int64_t expected_version = 0;     // 0 = unconditional
};

// AdminPolicy as returned by GetPolicy / ListPolicies.
struct PolicyOutput {
  std::string policy_id;
  std::string policy_json;  // stored canonical document
  int64_t version = 0;
  policy::LegacyPolicyView legacy;
};

// One breaker as returned by GetCircuitBreakerStates / ResetCircuitBreaker (grpc-api.md §8).
struct BreakerStateOutput {
  core::BreakerEntry entry;
  int64_t observed_latency_ms = 0;  // latency EWMA rounded; 0 = no sample yet
  double observed_cost = 0;         // cost EWMA; 0 = no sample yet
};

struct AdminServiceOptions {
  int64_t max_policies_per_tenant = 1000;
};

class AdminService {
 public:
  AdminService(AdminServiceOptions options, store::PolicyStore& store, PolicyRegistry& registry);

  // grpc-api.md §6.1 `policy_id: must match ^[A-Za-z0-9_.-]{1,255}$` (check 2).
  static absl::Status ValidatePolicyId(std::string_view policy_id);

  // Checks 4-6 of UpsertPolicy. Returns the version now current.
  absl::StatusOr<int64_t> Upsert(const AdminCaller& caller, std::string_view tenant_id,
                                 const PolicyInput& input);
  absl::Status Delete(const AdminCaller& caller, std::string_view tenant_id,
                      std::string_view policy_id);
  absl::StatusOr<PolicyOutput> Get(std::string_view tenant_id, std::string_view policy_id);
  absl::StatusOr<std::vector<PolicyOutput>> List(std::string_view tenant_id);

  // Circuit breakers (grpc-api.md §8, POL §6 Admin operations). SetBreakers is called by the
  // Application before Start (both must outlive this service); without it the breaker methods
  // answer UNIMPLEMENTED.
  void SetBreakers(core::BreakerRegistry* breakers, const core::ProviderStats* stats) {
    breakers_ = breakers;
    stats_ = stats;
  }
  // `""`/closed, half_open, open; else INVALID_ARGUMENT
  // `target_state must be one of "closed", "half_open", "open"`.
  static absl::StatusOr<core::BreakerTarget> ParseBreakerTarget(std::string_view target_state);
  absl::StatusOr<std::vector<BreakerStateOutput>> GetBreakerStates(std::string_view tenant_id,
                                                                   std::string_view provider_id);
  // Applies the reset and writes its audit record (action breaker_reset / breaker_force,
  // resource breaker/<provider_id>), also for NOT_FOUND.
  absl::StatusOr<BreakerStateOutput> ResetBreaker(const AdminCaller& caller,
                                                  std::string_view tenant_id,
                                                  std::string_view provider_id,
                                                  core::BreakerTarget target);
  // Audits a ResetCircuitBreaker attempt rejected by the transport after authentication.
  void AuditBreakerRejected(const AdminCaller& caller, std::string_view tenant_id,
                            std::string_view provider_id, std::string_view target_state,
                            const absl::Status& status);

  // GetAssignment (grpc-api.md §9, NATS §7.2). SetAssignments is called by the Application
  // when NATS is configured (the store must outlive this service); without it GetAssignment
  // answers FAILED_PRECONDITION `assignment tracking disabled: NATS is not configured`.
  // `remote` (optional) asks the other replicas (S10, 250 ms) after a local miss.
  using RemoteAssignmentLookup = std::function<std::optional<AssignmentRecord>(
      std::string_view tenant_id, std::string_view assignment_id, std::string_view request_id)>;
  void SetAssignments(const CorrelationStore* store, RemoteAssignmentLookup remote = nullptr) {
    assignments_ = store;
    remote_assignments_ = std::move(remote);
  }
  // assignment_id wins over request_id (newest record). Miss, expiry, other tenant: NOT_FOUND
  // `assignment not found`.
  absl::StatusOr<AssignmentRecord> GetAssignment(std::string_view tenant_id,
                                                 std::string_view assignment_id,
                                                 std::string_view request_id) const;

  // Audits an attempt rejected by the transport after authentication (decode, tenant, RBAC).
  void AuditRejected(const AdminCaller& caller, std::string_view tenant_id, std::string_view action,
                     std::string_view policy_id, const absl::Status& status);

 private:
  PolicyOutput ToOutput(const store::StoredPolicy& stored) const;
  const CorrelationStore* assignments_ = nullptr;
  RemoteAssignmentLookup remote_assignments_;
  BreakerStateOutput ToBreakerOutput(core::BreakerEntry entry) const;
  void AuditBreaker(const AdminCaller& caller, std::string_view tenant_id,
                    std::string_view provider_id, std::string_view action,
                    const absl::Status& status);

  const AdminServiceOptions options_;
  store::PolicyStore& store_;
  PolicyRegistry& registry_;
  core::BreakerRegistry* breakers_ = nullptr;
  const core::ProviderStats* stats_ = nullptr;
};

}  // namespace router::service
