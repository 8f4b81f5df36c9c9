#include "service/admin_service.h"

#include <cmath>

#include "base/errors.h"
#include "service/ids.h"

namespace router::service {
namespace {

store::AuditContext AuditOf(const AdminCaller& c) {
  return store::AuditContext{c.principal, c.claimed_user, c.correlation_id, c.client_addr};
}

std::string AuditResultFor(const absl::Status& s) {
  switch (s.code()) {
    case absl::StatusCode::kInvalidArgument:
      return std::string(store::audit_result::kInvalidArgument);
    case absl::StatusCode::kPermissionDenied:
      return std::string(store::audit_result::kPermissionDenied);
    case absl::StatusCode::kNotFound:
      return std::string(store::audit_result::kNotFound);
    case absl::StatusCode::kResourceExhausted:
      return std::string(store::audit_result::kQuotaExceeded);
    case absl::StatusCode::kAborted:
      return std::string(store::audit_result::kVersionConflict);
    default:
      return "internal";
  }
}

}  // namespace

AdminService::AdminService(AdminServiceOptions options, store::PolicyStore& store,
                           PolicyRegistry& registry)
    : options_(options), store_(store), registry_(registry) {}

absl::Status AdminService::ValidatePolicyId(std::string_view policy_id) {
  if (!IsValidId(policy_id)) {
    return MakeError(absl::StatusCode::kInvalidArgument,
                     "policy_id: must match ^[A-Za-z0-9_.-]{1,255}$", tag::kInvalidRequest);
  }
  return absl::OkStatus();
}

void AdminService::AuditRejected(const AdminCaller& caller, std::string_view tenant_id,
                                 std::string_view action, std::string_view policy_id,
                                 const absl::Status& status) {
  store::AuditRecord rec;
  rec.principal = caller.principal;
  rec.claimed_user = caller.claimed_user;
  rec.tenant_id = std::string(tenant_id);
  rec.action = std::string(action);
  rec.resource = store::PolicyResource(policy_id);
  rec.result = AuditResultFor(status);
  rec.correlation_id = caller.correlation_id;
  rec.client_addr = caller.client_addr;
  (void)store_.AppendAudit(rec);  // a failed audit append is logged by the store caller later
}

absl::StatusOr<int64_t> AdminService::Upsert(const AdminCaller& caller, std::string_view tenant_id,
                                             const PolicyInput& input) {
  // Check 4: quota (new keys only), before validation.
  if (auto s = store_.CheckQuota(tenant_id, input.policy_id, options_.max_policies_per_tenant);
      !s.ok()) {
    AuditRejected(caller, tenant_id, store::audit_action::kUpsert, input.policy_id, s);
    return s;
  }
  // Check 5: validation through the one validator.
  std::string document = input.policy_json;
  if (document.empty()) {
    auto doc = policy::LegacyToDocument(input.legacy);
    if (!doc.ok()) {
      AuditRejected(caller, tenant_id, store::audit_action::kUpsert, input.policy_id, doc.status());
      return doc.status();
    }
    document = *std::move(doc);
  }
  auto compiled = policy::CompilePolicy(document, tenant_id, input.policy_id);
  if (!compiled.ok()) {
    AuditRejected(caller, tenant_id, store::audit_action::kUpsert, input.policy_id,
                  compiled.status());
    return compiled.status();
  }
  // Check 6: durable commit, then snapshot publish, then reply.
  store::UpsertRequest req;
  req.tenant_id = std::string(tenant_id);
  req.policy_id = input.policy_id;
  req.expected_version = input.expected_version;
  req.max_policies_per_tenant = options_.max_policies_per_tenant;
  req.audit = AuditOf(caller);
  auto result = registry_.Upsert(std::move(req), *compiled);
  if (!result.ok()) return result.status();
  return result->version;
}

absl::Status AdminService::Delete(const AdminCaller& caller, std::string_view tenant_id,
                                  std::string_view policy_id) {
  store::DeleteRequest req;
  req.tenant_id = std::string(tenant_id);
  req.policy_id = std::string(policy_id);
  req.audit = AuditOf(caller);
  return registry_.Delete(std::move(req));
}

PolicyOutput AdminService::ToOutput(const store::StoredPolicy& stored) const {
  PolicyOutput out;
  out.policy_id = stored.policy_id;
  out.policy_json = stored.document;
  out.version = stored.version;
  // The legacy view is derived from the stored document every time (grpc-api.md §6.2).
  auto compiled = policy::CompilePolicy(stored.document, stored.tenant_id, stored.policy_id);
  if (compiled.ok()) out.legacy = policy::DocumentToLegacy(**compiled);
  return out;
}

absl::StatusOr<PolicyOutput> AdminService::Get(std::string_view tenant_id,
                                               std::string_view policy_id) {
  auto stored = store_.Get(tenant_id, policy_id);
  if (!stored.ok()) return stored.status();
  return ToOutput(*stored);
}

absl::StatusOr<std::vector<PolicyOutput>> AdminService::List(std::string_view tenant_id) {
  auto rows = store_.ListTenant(tenant_id);
  if (!rows.ok()) return rows.status();
  std::vector<PolicyOutput> out;
  out.reserve(rows->size());
  for (const auto& row : *rows) out.push_back(ToOutput(row));
  return out;
}

// ---------------------------------------------------------------- circuit breakers

namespace {

absl::Status BreakersUnavailable() {
  return absl::Status(absl::StatusCode::kUnimplemented, "circuit breakers are not wired");
}

std::string BreakerResource(std::string_view provider_id) {
  return "breaker/" + std::string(provider_id);
}

}  // namespace

absl::StatusOr<core::BreakerTarget> AdminService::ParseBreakerTarget(
    std::string_view target_state) {
  if (target_state.empty() || target_state == "closed") return core::BreakerTarget::kClosed;
  if (target_state == "half_open") return core::BreakerTarget::kHalfOpen;
  if (target_state == "open") return core::BreakerTarget::kOpen;
  return MakeError(absl::StatusCode::kInvalidArgument,
                   "target_state must be one of \"closed\", \"half_open\", \"open\"",
                   tag::kInvalidRequest);
}

BreakerStateOutput AdminService::ToBreakerOutput(core::BreakerEntry entry) const {
  BreakerStateOutput out;
  if (stats_ != nullptr) {
    if (auto raw = stats_->Raw(entry.tenant, entry.provider)) {
      if (raw->latency_ewma_ms) out.observed_latency_ms = std::llround(*raw->latency_ewma_ms);
      if (raw->cost_ewma) out.observed_cost = *raw->cost_ewma;
    }
  }
  out.entry = std::move(entry);
  return out;
}

absl::StatusOr<std::vector<BreakerStateOutput>> AdminService::GetBreakerStates(
    std::string_view tenant_id, std::string_view provider_id) {
  if (breakers_ == nullptr) return BreakersUnavailable();
  std::vector<BreakerStateOutput> out;
  for (core::BreakerEntry& e : breakers_->List(tenant_id, provider_id)) {
    out.push_back(ToBreakerOutput(std::move(e)));
  }
  return out;
}

void AdminService::AuditBreaker(const AdminCaller& caller, std::string_view tenant_id,
                                std::string_view provider_id, std::string_view action,
                                const absl::Status& status) {
  store::AuditRecord rec;
  rec.principal = caller.principal;
  rec.claimed_user = caller.claimed_user;
  rec.tenant_id = std::string(tenant_id);
  rec.action = std::string(action);
  rec.resource = BreakerResource(provider_id);
  rec.result = status.ok() ? std::string(store::audit_result::kOk) : AuditResultFor(status);
  rec.correlation_id = caller.correlation_id;
  rec.client_addr = caller.client_addr;
  (void)store_.AppendAudit(rec);
}

void AdminService::AuditBreakerRejected(const AdminCaller& caller, std::string_view tenant_id,
                                        std::string_view provider_id, std::string_view target_state,
                                        const absl::Status& status) {
  AuditBreaker(caller, tenant_id, provider_id,
               target_state == "open" ? store::audit_action::kBreakerForce
                                      : store::audit_action::kBreakerReset,
               status);
}

absl::StatusOr<BreakerStateOutput> AdminService::ResetBreaker(const AdminCaller& caller,
                                                              std::string_view tenant_id,
                                                              std::string_view provider_id,
                                                              core::BreakerTarget target) {
  if (breakers_ == nullptr) return BreakersUnavailable();
  const std::string_view action = target == core::BreakerTarget::kOpen
                                      ? store::audit_action::kBreakerForce
                                      : store::audit_action::kBreakerReset;
  absl::StatusOr<core::BreakerSnapshot> snapshot = breakers_->Reset(tenant_id, provider_id, target);
  AuditBreaker(caller, tenant_id, provider_id, action, snapshot.status());
  if (!snapshot.ok()) return snapshot.status();
  core::BreakerEntry entry;
  entry.tenant = std::string(tenant_id);
  entry.provider = std::string(provider_id);
  entry.snapshot = *snapshot;
  return ToBreakerOutput(std::move(entry));
}

absl::StatusOr<AssignmentRecord> AdminService::GetAssignment(std::string_view tenant_id,
                                                             std::string_view assignment_id,
                                                             std::string_view request_id) const {
  if (assignments_ == nullptr) {
    return MakeError(absl::StatusCode::kFailedPrecondition,
                     "assignment tracking disabled: NATS is not configured",
                     tag::kAssignmentsDisabled);
  }
  std::optional<AssignmentRecord> found;
  if (!assignment_id.empty()) {
    found = assignments_->Get(tenant_id, assignment_id);
  } else {
    found = assignments_->FindByRequest(tenant_id, request_id);
  }
  if (!found.has_value() && remote_assignments_) {
    found = remote_assignments_(tenant_id, assignment_id, assignment_id.empty() ? request_id : "");
    // A remote answer is trusted only for the caller's tenant.
    if (found.has_value() && found->tenant_id != tenant_id) found.reset();
  }
  if (!found.has_value()) {
    assignments_->CountMiss("admin");
    return MakeError(absl::StatusCode::kNotFound, "assignment not found", tag::kNotFound);
  }
  return *std::move(found);
}

}  // namespace router::service
