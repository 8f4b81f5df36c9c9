#pragma once
// Helpers shared by the store unit tests: a temp directory per test and request builders.
// Test-only; thread-compatible.

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <string>

#include "store/policy_store.h"
#include "store/sqlite_policy_store.h"

namespace router::store::testing {

// A fresh directory under the gtest temp dir, removed on destruction.
class TempDir {
 public:
  TempDir() {
    std::string pattern = (std::filesystem::path(::testing::TempDir()) / "store_test_XXXXXX");
    if (mkdtemp(pattern.data()) == nullptr) {
      ADD_FAILURE() << "mkdtemp failed for " << pattern;
    }
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

// The store derives nothing from the hash; tests only need a distinct, recognisable value.
inline std::string FakeSha(const std::string& document) {
  return std::string("sha-") + std::to_string(std::hash<std::string>{}(document));
}

inline UpsertRequest MakeUpsert(const std::string& tenant, const std::string& policy,
                                const std::string& document, int64_t expected_version = 0) {
  UpsertRequest request;
  request.tenant_id = tenant;
  request.policy_id = policy;
  request.document = document;
  request.sha256 = FakeSha(document);
  request.expected_version = expected_version;
  request.audit.principal = "ops";
  request.audit.claimed_user = "alice@example.com";
  request.audit.correlation_id = "corr-1";
  request.audit.client_addr = "ipv4:127.0.0.1:5555";
  return request;
}

inline DeleteRequest MakeDelete(const std::string& tenant, const std::string& policy) {
  DeleteRequest request;
  request.tenant_id = tenant;
  request.policy_id = policy;
  request.audit.principal = "ops";
  request.audit.correlation_id = "corr-del";
  return request;
}

inline FixturePolicy MakeFixture(const std::string& tenant, const std::string& policy,
                                 const std::string& document) {
  return FixturePolicy{tenant, policy, document, FakeSha(document)};
}

}  // namespace router::store::testing
