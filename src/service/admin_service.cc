#include "service/admin_service.h"

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

}  // namespace router::service
