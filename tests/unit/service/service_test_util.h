#pragma once
// Helpers shared by the service unit tests: a std::map-backed RequestContext, a temp directory
// per test, a compile-and-stamp helper for policy documents, and a fixture with a real
// SqlitePolicyStore + PolicyRegistry. Test-only; thread-compatible.

#include <gtest/gtest.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <initializer_list>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/errors.h"
#include "core/snapshot.h"
#include "policy/compiled_policy.h"
#include "policy/policy_compiler.h"
#include "service/policy_registry.h"
#include "service/request_context.h"
#include "store/sqlite_policy_store.h"
#include "support/fake_clock.h"

namespace router::service::testutil {

// RequestContext over a std::map (ForEach in key order, as a proto map iterates is unspecified;
// a sorted map keeps tests deterministic).
class MapRequestContext final : public RequestContext {
 public:
  MapRequestContext() = default;
  MapRequestContext(std::initializer_list<std::pair<const std::string, std::string>> init)
      : entries_(init) {}

  void Set(const std::string& key, std::string value) { entries_[key] = std::move(value); }
  void Erase(const std::string& key) { entries_.erase(key); }

  std::optional<std::string_view> Find(std::string_view key) const override {
    auto it = entries_.find(key);
    if (it == entries_.end()) return std::nullopt;
    return std::string_view(it->second);
  }
  size_t Size() const override { return entries_.size(); }
  void ForEach(const std::function<void(std::string_view, std::string_view)>& fn) const override {
    for (const auto& [k, v] : entries_) fn(k, v);
  }

 private:
  std::map<std::string, std::string, std::less<>> entries_;
};

// A fresh directory under the gtest temp dir, removed on destruction.
class TempDir {
 public:
  TempDir() {
    std::string pattern = (std::filesystem::path(::testing::TempDir()) / "service_test_XXXXXX");
    if (mkdtemp(pattern.data()) == nullptr) ADD_FAILURE() << "mkdtemp failed for " << pattern;
    path_ = pattern;
  }
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::filesystem::path& path() const { return path_; }
  std::string File(const std::string& name) const { return (path_ / name).string(); }

 private:
  std::filesystem::path path_;
};

// Compiles `json` under (tenant, policy_id) and stamps `version` on a copy, as the registry does
// before publishing. Fails the test (and returns nullptr) on an invalid document.
inline policy::CompiledPolicyPtr CompileStamped(std::string_view json, std::string_view tenant,
                                                std::string_view policy_id, uint64_t version) {
  auto compiled = policy::CompilePolicy(json, tenant, policy_id);
  if (!compiled.ok()) {
    ADD_FAILURE() << "policy does not compile: " << StdView(compiled.status().message());
    return nullptr;
  }
  auto copy = std::make_shared<policy::CompiledPolicy>(**compiled);
  copy->version = version;
  return copy;
}

// A real SqlitePolicyStore in a fresh temp dir, an empty snapshot holder and a PolicyRegistry
// over both.
class StoreBackedTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store::SqliteOptions options;
    options.path = dir_.File("policies.db");
    options.clock = &clock_;
    auto opened = store::SqlitePolicyStore::Open(options);
    ASSERT_TRUE(opened.ok()) << opened.status();
    store_ = std::move(opened).value();
    registry_ = std::make_unique<PolicyRegistry>(*store_, snapshots_);
  }

  // The compiled policy published under (tenant, policy), or nullptr.
  const policy::CompiledPolicy* Published(std::string_view tenant, std::string_view policy) {
    snapshot_ = snapshots_.Load();
    const auto* found = snapshot_->Find(tenant, policy);
    return found == nullptr ? nullptr : found->get();
  }

  std::vector<store::AuditRecord> Audit() {
    auto records = store_->ListAudit(store::AuditQuery{});
    EXPECT_TRUE(records.ok()) << records.status();
    return records.ok() ? *records : std::vector<store::AuditRecord>{};
  }

  TempDir dir_;
  router::testing::FakeClock clock_;
  std::unique_ptr<store::SqlitePolicyStore> store_;
  core::SnapshotHolder snapshots_;
  std::unique_ptr<PolicyRegistry> registry_;
  core::SnapshotPtr snapshot_;  // keeps the last Published() result alive
};

}  // namespace router::service::testutil
