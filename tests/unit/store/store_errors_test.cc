// Exact texts and tags of the store's errors (POL §10 Writes; grpc-api.md §6.1, §6.3).

#include "store/store_errors.h"

#include <gtest/gtest.h>

#include "base/errors.h"
#include "store/policy_store.h"

namespace router::store {
namespace {

TEST(StoreErrorsTest, VersionConflict) {
  absl::Status status = VersionConflictError(0);
  EXPECT_EQ(status.code(), absl::StatusCode::kAborted);
  EXPECT_EQ(StdView(status.message()), "version conflict: current version is 0");
  EXPECT_EQ(ErrorTag(status), "version_conflict");
}

TEST(StoreErrorsTest, QuotaExceeded) {
  absl::Status status = QuotaExceededError("acme", 1000, 1000);
  EXPECT_EQ(status.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(StdView(status.message()),
            R"(policy quota exceeded: tenant "acme" has 1000 policies (max 1000))");
  EXPECT_EQ(ErrorTag(status), "quota_exceeded");
}

TEST(StoreErrorsTest, PolicyNotFound) {
  absl::Status status = PolicyNotFoundError("acme", "default");
  EXPECT_EQ(status.code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(StdView(status.message()), R"(policy "default" not found for tenant "acme")");
  EXPECT_EQ(ErrorTag(status), "not_found");
}

TEST(StoreErrorsTest, InternalKeepsCauseOutOfTheMessage) {
  absl::Status status = StoreInternalError("step: disk I/O error (10)");
  EXPECT_EQ(status.code(), absl::StatusCode::kInternal);
  EXPECT_EQ(StdView(status.message()), "internal error");
  EXPECT_EQ(ErrorTag(status), "internal");
  ASSERT_EQ(ErrorDetails(status).size(), 1u);
  EXPECT_EQ(ErrorDetails(status)[0].first, "cause");
  EXPECT_EQ(ErrorDetails(status)[0].second, "step: disk I/O error (10)");
}

TEST(StoreErrorsTest, PolicyResourceNamesThePolicy) {
  EXPECT_EQ(PolicyResource("default"), "policy/default");
}

}  // namespace
}  // namespace router::store
