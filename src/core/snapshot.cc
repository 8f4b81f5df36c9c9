// Copy-on-write snapshots of compiled policies (POL §10) and effective breaker configs (POL §6).
#include "core/snapshot.h"

#include <algorithm>

#include "base/errors.h"
#include "base/status_macros.h"

namespace router::core {
namespace {

// Recomputes the tenant's effective breaker configurations: std::map iterates by policy_id in
// byte order, so the first policy to name a provider is the lowest one.
template <typename TenantTable>
void RecomputeBreakers(TenantTable& table) {
  table.breakers.clear();
  for (const auto& [id, policy] : table.policies) {
    if (!policy->breaker.enabled) continue;
    for (const policy::ProviderSpec& spec : policy->providers) {
      table.breakers.try_emplace(spec.name, &policy->breaker);
    }
    for (const std::string& target : policy->fallback_targets) {
      table.breakers.try_emplace(target, &policy->breaker);
    }
  }
}

}  // namespace

const Snapshot::TenantTable* Snapshot::FindTenant(std::string_view tenant) const {
  auto it = tenants_.find(AbslView(tenant));
  return it == tenants_.end() ? nullptr : it->second.get();
}

const policy::CompiledPolicyPtr* Snapshot::Find(std::string_view tenant,
                                                std::string_view policy_id) const {
  const TenantTable* table = FindTenant(tenant);
  if (table == nullptr) return nullptr;
  auto it = table->policies.find(policy_id);
  return it == table->policies.end() ? nullptr : &it->second;
}

std::vector<policy::CompiledPolicyPtr> Snapshot::ListTenant(std::string_view tenant) const {
  std::vector<policy::CompiledPolicyPtr> out;
  const TenantTable* table = FindTenant(tenant);
  if (table == nullptr) return out;
  out.reserve(table->policies.size());
  for (const auto& [id, policy] : table->policies) out.push_back(policy);
  return out;
}

size_t Snapshot::TenantPolicyCount(std::string_view tenant) const {
  const TenantTable* table = FindTenant(tenant);
  return table == nullptr ? 0 : table->policies.size();
}

std::vector<std::string> Snapshot::Tenants() const {
  std::vector<std::string> out;
  out.reserve(tenants_.size());
  for (const auto& [tenant, table] : tenants_) out.push_back(tenant);
  std::sort(out.begin(), out.end());
  return out;
}

const policy::BreakerConfig* Snapshot::EffectiveBreakerConfig(std::string_view tenant,
                                                              std::string_view provider) const {
  const TenantTable* table = FindTenant(tenant);
  if (table == nullptr) return nullptr;
  auto it = table->breakers.find(AbslView(provider));
  return it == table->breakers.end() ? nullptr : it->second;
}

SnapshotBuilder::SnapshotBuilder(SnapshotPtr base) : base_(std::move(base)) {}

Snapshot::TenantTable& SnapshotBuilder::MutableTenant(std::string_view tenant) {
  auto it = touched_.find(AbslView(tenant));
  if (it != touched_.end()) return *it->second;
  std::shared_ptr<Snapshot::TenantTable> copy;
  const Snapshot::TenantTable* old = base_ ? base_->FindTenant(tenant) : nullptr;
  copy = old != nullptr ? std::make_shared<Snapshot::TenantTable>(*old)
                        : std::make_shared<Snapshot::TenantTable>();
  auto& slot = touched_[AbslView(tenant)];
  slot = std::move(copy);
  return *slot;
}

void SnapshotBuilder::Upsert(policy::CompiledPolicyPtr policy) {
  ROUTER_CHECK(policy != nullptr);
  Snapshot::TenantTable& table = MutableTenant(policy->tenant_id);
  auto it = table.policies.find(std::string_view(policy->policy_id));
  if (it != table.policies.end()) {
    it->second = std::move(policy);
  } else {
    std::string id = policy->policy_id;
    table.policies.emplace(std::move(id), std::move(policy));
  }
}

bool SnapshotBuilder::Remove(std::string_view tenant, std::string_view policy_id) {
  const bool absent_in_base = touched_.find(AbslView(tenant)) == touched_.end() &&
                              (base_ == nullptr || base_->Find(tenant, policy_id) == nullptr);
  if (absent_in_base) return false;
  Snapshot::TenantTable& table = MutableTenant(tenant);
  auto it = table.policies.find(policy_id);
  if (it == table.policies.end()) return false;
  table.policies.erase(it);
  return true;
}

SnapshotPtr SnapshotBuilder::Build() {
  auto next = std::make_shared<Snapshot>();
  if (base_ != nullptr) {
    next->tenants_ = base_->tenants_;  // shares every untouched tenant table
    next->generation_ = base_->generation_;
  }
  next->generation_ += 1;
  for (auto& [tenant, table] : touched_) {
    if (table->policies.empty()) {
      next->tenants_.erase(AbslView(tenant));
      continue;
    }
    RecomputeBreakers(*table);
    next->tenants_[AbslView(tenant)] = std::move(table);
  }
  touched_.clear();
  size_t size = 0;
  for (const auto& [tenant, table] : next->tenants_) size += table->policies.size();
  next->size_ = size;
  return next;
}

SnapshotPtr WithUpsert(const SnapshotPtr& base, policy::CompiledPolicyPtr policy) {
  SnapshotBuilder builder(base);
  builder.Upsert(std::move(policy));
  return builder.Build();
}

SnapshotPtr WithRemoval(const SnapshotPtr& base, std::string_view tenant,
                        std::string_view policy_id) {
  SnapshotBuilder builder(base);
  builder.Remove(tenant, policy_id);
  return builder.Build();
}

SnapshotHolder::SnapshotHolder() : current_(std::make_shared<const Snapshot>()) {}

SnapshotHolder::SnapshotHolder(SnapshotPtr initial) : current_(std::move(initial)) {}

}  // namespace router::core
