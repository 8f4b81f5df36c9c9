#include "service/policy_registry.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "base/errors.h"
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

PolicyRegistry::PolicyRegistry(store::PolicyStore& store, core::SnapshotHolder& snapshots)
    : store_(store), snapshots_(snapshots) {}

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
      absl::Status s = MakeError(absl::StatusCode::kInvalidArgument,
                                 f.file + ": " + StatusText(compiled.status()),
                                 tag::kInvalidPolicy);
      return s;
    }
    rows.push_back(store::FixturePolicy{f.tenant_id, f.policy_id, (*compiled)->canonical_json,
                                        (*compiled)->sha256_hex});
  }
  return store_.InsertFixtures(rows);
}

absl::StatusOr<std::vector<std::string>> PolicyRegistry::ReloadAll() {
  absl::MutexLock lock(&write_mu_);
  auto rows = store_.ListAll();
  if (!rows.ok()) return rows.status();
  std::vector<std::string> skipped;
  std::vector<policy::CompiledPolicyPtr> policies;
  policies.reserve(rows->size());
  for (const auto& row : *rows) {
    auto compiled = policy::CompilePolicy(row.document, row.tenant_id, row.policy_id);
    if (!compiled.ok()) {
      load_errors_.fetch_add(1, std::memory_order_relaxed);
      skipped.push_back(row.tenant_id + "/" + row.policy_id + ": " +
                        StatusText(compiled.status()));
      continue;
    }
    policies.push_back(WithVersion(**compiled, row.version));
  }
  core::SnapshotBuilder builder;
  for (auto& p : policies) builder.Upsert(std::move(p));
  snapshots_.Publish(builder.Build());
  return skipped;
}

absl::StatusOr<store::UpsertResult> PolicyRegistry::Upsert(
    store::UpsertRequest request, const policy::CompiledPolicyPtr& compiled) {
  request.document = compiled->canonical_json;
  request.sha256 = compiled->sha256_hex;
  absl::MutexLock lock(&write_mu_);
  auto result = store_.Upsert(request);
  if (!result.ok()) return result.status();
  if (!result->unchanged) {
    core::SnapshotBuilder builder(snapshots_.Load());
    builder.Upsert(WithVersion(*compiled, result->version));
    snapshots_.Publish(builder.Build());
  }
  return result;
}

absl::Status PolicyRegistry::Delete(store::DeleteRequest request) {
  absl::MutexLock lock(&write_mu_);
  auto result = store_.Delete(request);
  if (!result.ok()) return result.status();
  core::SnapshotBuilder builder(snapshots_.Load());
  builder.Remove(request.tenant_id, request.policy_id);
  snapshots_.Publish(builder.Build());
  return absl::OkStatus();
}

}  // namespace router::service
