#include "service/policy_registry.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "base/errors.h"
#include "base/system_clock.h"
#include "policy/policy_compiler.h"

namespace router::service {
namespace {

std::string StatusText(const absl::Status& s) { return std::string(StdView(s.message())); }

// Stamps the store version onto a compiled policy (compiled policies are immutable once shared,
// so the stamped copy is made before publishing).
policy::CompiledPolicyPtr WithVersion(const policy::CompiledPolicy& compiled, int64_t version) {
  auto copy = std::make_shared<policy::CompiledPolicy>(compiled);
  copy->version = static_cast<uint64_t>(version);
  return copy;
}

}  // namespace

absl::StatusOr<std::vector<FixtureSource>> ReadFixturesDir(const std::string& dir) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) {
    return absl::FailedPreconditionError(AbslView(dir + ": fixtures_dir is not a directory"));
  }
  std::vector<FixtureSource> out;
  for (const auto& tenant_entry : fs::directory_iterator(dir, ec)) {
    if (!tenant_entry.is_directory()) continue;
    for (const auto& file : fs::directory_iterator(tenant_entry.path(), ec)) {
      if (!file.is_regular_file() || file.path().extension() != ".json") continue;
      std::ifstream in(file.path(), std::ios::binary);
      if (!in) {
        return absl::FailedPreconditionError(
            AbslView(file.path().string() + ": cannot read fixture"));
      }
      std::stringstream buffer;
      buffer << in.rdbuf();
      out.push_back(FixtureSource{file.path().string(), tenant_entry.path().filename().string(),
                                  file.path().stem().string(), buffer.str()});
    }
  }
  if (ec) return absl::FailedPreconditionError(AbslView(dir + ": " + ec.message()));
  std::sort(out.begin(), out.end(), [](const FixtureSource& a, const FixtureSource& b) {
    return std::tie(a.tenant_id, a.policy_id) < std::tie(b.tenant_id, b.policy_id);
  });
  return out;
}

static const Clock& SystemClockInstance() {
  static const SystemClock clock;
  return clock;
}

static std::string_view TriggerName(PolicyRegistry::Trigger t) {
  switch (t) {
    case PolicyRegistry::Trigger::kAdmin:
      return "admin";
    case PolicyRegistry::Trigger::kExternal:
      return "external";
    case PolicyRegistry::Trigger::kStartup:
      break;
  }
  return "startup";
}

PolicyRegistry::PolicyRegistry(store::PolicyStore& store, core::SnapshotHolder& snapshots,
                               obs::RouterMetrics* metrics, const Clock* clock)
    : store_(store),
      snapshots_(snapshots),
      metrics_(metrics),
      clock_(clock != nullptr ? *clock : SystemClockInstance()) {}

void PolicyRegistry::CountReload(Trigger trigger, bool ok, MonoTime started) {
  if (metrics_ == nullptr) return;
  metrics_->policy_store_reloads->Get({TriggerName(trigger), ok ? "ok" : "error"}).Inc();
  if (!ok) return;
  metrics_->policy_store_reload_duration->Get().Observe(
      std::chrono::duration<double>(clock_.MonoNow() - started).count());
  metrics_->policy_store_last_reload_timestamp->Get().Set(static_cast<double>(clock_.WallMs()) /
                                                          1000.0);
}

void PolicyRegistry::PublishLocked(core::SnapshotPtr next, Trigger trigger, MonoTime started) {
  snapshots_.Publish(std::move(next));
  CountReload(trigger, true, started);
}

absl::StatusOr<int64_t> PolicyRegistry::LoadFixtures(const std::vector<FixtureSource>& fixtures) {
  absl::MutexLock lock(&write_mu_);
  auto loaded = store_.FixturesLoaded();
  if (!loaded.ok()) return loaded.status();
  if (*loaded) return 0;
  std::vector<store::FixturePolicy> rows;
  rows.reserve(fixtures.size());
  for (const auto& f : fixtures) {
    auto compiled = policy::CompilePolicy(f.json, f.tenant_id, f.policy_id);
    if (!compiled.ok()) {
      absl::Status s =
          MakeError(absl::StatusCode::kInvalidArgument,
                    f.file + ": " + StatusText(compiled.status()), tag::kInvalidPolicy);
      return s;
    }
    rows.push_back(store::FixturePolicy{f.tenant_id, f.policy_id, (*compiled)->canonical_json,
                                        (*compiled)->sha256_hex});
  }
  return store_.InsertFixtures(rows);
}

absl::StatusOr<std::vector<std::string>> PolicyRegistry::ReloadAll(Trigger trigger) {
  const MonoTime started = clock_.MonoNow();
  absl::MutexLock lock(&write_mu_);
  auto rows = store_.ListAll();
  if (!rows.ok()) {
    CountReload(trigger, false, started);
    if (metrics_ != nullptr) metrics_->policy_store_errors->Get({"read"}).Inc();
    return rows.status();
  }
  std::vector<std::string> skipped;
  std::vector<policy::CompiledPolicyPtr> policies;
  policies.reserve(rows->size());
  for (const auto& row : *rows) {
    auto compiled = policy::CompilePolicy(row.document, row.tenant_id, row.policy_id);
    if (!compiled.ok()) {
      load_errors_.fetch_add(1, std::memory_order_relaxed);
      if (metrics_ != nullptr) metrics_->policy_load_errors->Get().Inc();
      skipped.push_back(row.tenant_id + "/" + row.policy_id + ": " + StatusText(compiled.status()));
      continue;
    }
    policies.push_back(WithVersion(**compiled, row.version));
  }
  // Start from the current snapshot so its generation keeps counting (router_policy_store_version
  // is a change counter), then replace its content with the rows just read.
  core::SnapshotPtr current = snapshots_.Load();
  core::SnapshotBuilder builder(current);
  for (const auto& tenant : current->Tenants()) {
    for (const auto& p : current->ListTenant(tenant)) builder.Remove(p->tenant_id, p->policy_id);
  }
  for (auto& p : policies) builder.Upsert(std::move(p));
  PublishLocked(builder.Build(), trigger, started);
  return skipped;
}

absl::StatusOr<store::UpsertResult> PolicyRegistry::Upsert(
    store::UpsertRequest request, const policy::CompiledPolicyPtr& compiled) {
  request.document = compiled->canonical_json;
  request.sha256 = compiled->sha256_hex;
  const MonoTime started = clock_.MonoNow();
  absl::MutexLock lock(&write_mu_);
  auto result = store_.Upsert(request);
  if (!result.ok()) {
    if (metrics_ != nullptr && result.status().code() == absl::StatusCode::kInternal) {
      metrics_->policy_store_errors->Get({"write"}).Inc();
    }
    return result.status();
  }
  if (!result->unchanged) {
    core::SnapshotBuilder builder(snapshots_.Load());
    builder.Upsert(WithVersion(*compiled, result->version));
    PublishLocked(builder.Build(), Trigger::kAdmin, started);
  }
  return result;
}

absl::Status PolicyRegistry::Delete(store::DeleteRequest request) {
  const MonoTime started = clock_.MonoNow();
  absl::MutexLock lock(&write_mu_);
  auto result = store_.Delete(request);
  if (!result.ok()) {
    if (metrics_ != nullptr && result.status().code() == absl::StatusCode::kInternal) {
      metrics_->policy_store_errors->Get({"write"}).Inc();
    }
    return result.status();
  }
  core::SnapshotBuilder builder(snapshots_.Load());
  builder.Remove(request.tenant_id, request.policy_id);
  PublishLocked(builder.Build(), Trigger::kAdmin, started);
  return absl::OkStatus();
}

}  // namespace router::service
