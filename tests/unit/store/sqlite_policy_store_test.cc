// Tests for SqlitePolicyStore (POL §10; grpc-api.md §5.5, §6; POL §12 scenario 32, store part).

#include "store/sqlite_policy_store.h"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <latch>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "base/errors.h"
#include "support/fake_clock.h"
#include "unit/store/store_test_util.h"

namespace router::store {
namespace {

using ::router::store::testing::MakeDelete;
using ::router::store::testing::MakeFixture;
using ::router::store::testing::MakeUpsert;
using ::router::store::testing::TempDir;

constexpr char kDocA[] = R"({"providers":[{"name":"openai","weight":1.0}],"version":"1.0"})";
constexpr char kDocB[] = R"({"providers":[{"name":"anthropic","weight":1.0}],"version":"1.0"})";
constexpr char kDocC[] =
    R"({"metadata":{"rev":"3"},"providers":[{"name":"x","weight":1.0}],"version":"1.0"})";

std::string Cause(const absl::Status& status) {
  for (const auto& [key, value] : ErrorDetails(status)) {
    if (key == "cause") return value;
  }
  return "";
}

class SqlitePolicyStoreTest : public ::testing::Test {
 protected:
  void SetUp() override { store_ = OpenStore(); }

  SqliteOptions Options() const {
    SqliteOptions options;
    options.path = dir_.File("policies.db");
    options.clock = &clock_;
    return options;
  }

  std::unique_ptr<SqlitePolicyStore> OpenStore() {
    auto store = SqlitePolicyStore::Open(Options());
    EXPECT_TRUE(store.ok()) << store.status();
    return store.ok() ? std::move(store).value() : nullptr;
  }

  std::vector<AuditRecord> Audit(std::optional<std::string> tenant = std::nullopt) {
    AuditQuery query;
    query.tenant_id = std::move(tenant);
    auto records = store_->ListAudit(query);
    EXPECT_TRUE(records.ok()) << records.status();
    return records.ok() ? *records : std::vector<AuditRecord>{};
  }

  TempDir dir_;
  router::testing::FakeClock clock_;
  std::unique_ptr<SqlitePolicyStore> store_;
};

// POL §12 scenario 32 (store part), POL §10 Versions and Writes.
TEST_F(SqlitePolicyStoreTest, ScenarioThirtyTwoVersionSequence) {
  auto first = store_->Upsert(MakeUpsert("acme", "default", kDocA));
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ(first->version, 1);
  EXPECT_FALSE(first->unchanged);
  EXPECT_EQ(first->before_version, 0);

  auto same = store_->Upsert(MakeUpsert("acme", "default", kDocA));
  ASSERT_TRUE(same.ok()) << same.status();
  EXPECT_EQ(same->version, 1);
  EXPECT_TRUE(same->unchanged);

  auto changed = store_->Upsert(MakeUpsert("acme", "default", kDocB));
  ASSERT_TRUE(changed.ok()) << changed.status();
  EXPECT_EQ(changed->version, 2);
  EXPECT_FALSE(changed->unchanged);
  EXPECT_EQ(changed->before_version, 1);

  auto conflict = store_->Upsert(MakeUpsert("acme", "default", kDocC, /*expected_version=*/1));
  EXPECT_EQ(conflict.status().code(), absl::StatusCode::kAborted);
  EXPECT_EQ(StdView(conflict.status().message()), "version conflict: current version is 2");
  EXPECT_EQ(ErrorTag(conflict.status()), "version_conflict");

  auto deleted = store_->Delete(MakeDelete("acme", "default"));
  ASSERT_TRUE(deleted.ok()) << deleted.status();
  EXPECT_EQ(deleted->deleted_version, 2);

  auto get = store_->Get("acme", "default");
  EXPECT_EQ(get.status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(StdView(get.status().message()), R"(policy "default" not found for tenant "acme")");
  EXPECT_EQ(ErrorTag(get.status()), "not_found");

  auto recreated = store_->Upsert(MakeUpsert("acme", "default", kDocA));
  ASSERT_TRUE(recreated.ok()) << recreated.status();
  EXPECT_EQ(recreated->version, 3);  // the high-water mark survives the delete
  EXPECT_EQ(recreated->before_version, 0);

  auto stored = store_->Get("acme", "default");
  ASSERT_TRUE(stored.ok()) << stored.status();
  EXPECT_EQ(stored->version, 3);
  EXPECT_EQ(stored->document, kDocA);
}

// grpc-api.md §6.1: a matching precondition applies the change.
TEST_F(SqlitePolicyStoreTest, MatchingExpectedVersionApplies) {
  ASSERT_TRUE(store_->Upsert(MakeUpsert("acme", "p", kDocA)).ok());
  auto result = store_->Upsert(MakeUpsert("acme", "p", kDocB, /*expected_version=*/1));
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->version, 2);
}

// grpc-api.md §6.1: "0 when absent".
TEST_F(SqlitePolicyStoreTest, VersionConflictOnAbsentKeyReportsZero) {
  auto result = store_->Upsert(MakeUpsert("acme", "p", kDocA, /*expected_version=*/4));
  EXPECT_EQ(result.status().code(), absl::StatusCode::kAborted);
  EXPECT_EQ(StdView(result.status().message()), "version conflict: current version is 0");
  EXPECT_EQ(store_->Get("acme", "p").status().code(), absl::StatusCode::kNotFound);
}

// A deleted key is absent for the precondition too, though its high-water mark is kept.
TEST_F(SqlitePolicyStoreTest, VersionConflictOnDeletedKeyReportsZero) {
  ASSERT_TRUE(store_->Upsert(MakeUpsert("acme", "p", kDocA)).ok());
  ASSERT_TRUE(store_->Delete(MakeDelete("acme", "p")).ok());
  auto result = store_->Upsert(MakeUpsert("acme", "p", kDocA, /*expected_version=*/1));
  EXPECT_EQ(StdView(result.status().message()), "version conflict: current version is 0");
}

// grpc-api.md §6.3: unknown and repeated deletes both answer NOT_FOUND with the Get text.
TEST_F(SqlitePolicyStoreTest, DeleteOfUnknownOrDeletedKeyIsNotFound) {
  auto unknown = store_->Delete(MakeDelete("acme", "nope"));
  EXPECT_EQ(unknown.status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(StdView(unknown.status().message()), R"(policy "nope" not found for tenant "acme")");
  EXPECT_EQ(ErrorTag(unknown.status()), "not_found");

  ASSERT_TRUE(store_->Upsert(MakeUpsert("acme", "p", kDocA)).ok());
  ASSERT_TRUE(store_->Delete(MakeDelete("acme", "p")).ok());
  auto again = store_->Delete(MakeDelete("acme", "p"));
  EXPECT_EQ(again.status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(StdView(again.status().message()), R"(policy "p" not found for tenant "acme")");
}

// grpc-api.md §6.3: another tenant's policy is indistinguishable from none.
TEST_F(SqlitePolicyStoreTest, TenantsAreIsolated) {
  ASSERT_TRUE(store_->Upsert(MakeUpsert("acme", "p", kDocA)).ok());
  auto other = store_->Get("globex", "p");
  EXPECT_EQ(StdView(other.status().message()), R"(policy "p" not found for tenant "globex")");
  auto created = store_->Upsert(MakeUpsert("globex", "p", kDocB));
  ASSERT_TRUE(created.ok());
  EXPECT_EQ(created->version, 1);
  auto listed = store_->ListTenant("globex");
  ASSERT_TRUE(listed.ok());
  ASSERT_EQ(listed->size(), 1u);
  EXPECT_EQ((*listed)[0].document, kDocB);
}

// grpc-api.md §6.3: sorted by policy_id ascending (bytes); deleted keys are not listed.
TEST_F(SqlitePolicyStoreTest, ListTenantIsSortedBytewise) {
  for (const char* id : {"b", "a_1", "B", "a.1", "a-1", "Z9", "a", "9", "gone"}) {
    ASSERT_TRUE(store_->Upsert(MakeUpsert("acme", id, kDocA)).ok()) << id;
  }
  ASSERT_TRUE(store_->Delete(MakeDelete("acme", "gone")).ok());
  ASSERT_TRUE(store_->Upsert(MakeUpsert("zeta", "x", kDocA)).ok());
  auto listed = store_->ListTenant("acme");
  ASSERT_TRUE(listed.ok()) << listed.status();
  std::vector<std::string> ids;
  for (const StoredPolicy& policy : *listed) ids.push_back(policy.policy_id);
  EXPECT_EQ(ids, (std::vector<std::string>{"9", "B", "Z9", "a", "a-1", "a.1", "a_1", "b"}));

  auto empty = store_->ListTenant("nobody");
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty->empty());
}

// POL §10 Startup: every live row, for the first snapshot.
TEST_F(SqlitePolicyStoreTest, ListAllReturnsLiveRowsSortedByTenantThenPolicy) {
  ASSERT_TRUE(store_->Upsert(MakeUpsert("t2", "a", kDocA)).ok());
  ASSERT_TRUE(store_->Upsert(MakeUpsert("t1", "b", kDocB)).ok());
  ASSERT_TRUE(store_->Upsert(MakeUpsert("t1", "a", kDocC)).ok());
  ASSERT_TRUE(store_->Upsert(MakeUpsert("t1", "dead", kDocC)).ok());
  ASSERT_TRUE(store_->Delete(MakeDelete("t1", "dead")).ok());
  auto all = store_->ListAll();
  ASSERT_TRUE(all.ok()) << all.status();
  ASSERT_EQ(all->size(), 3u);
  EXPECT_EQ((*all)[0].tenant_id, "t1");
  EXPECT_EQ((*all)[0].policy_id, "a");
  EXPECT_EQ((*all)[0].document, kDocC);
  EXPECT_EQ((*all)[0].sha256, testing::FakeSha(kDocC));
  EXPECT_EQ((*all)[1].policy_id, "b");
  EXPECT_EQ((*all)[2].tenant_id, "t2");
}

TEST_F(SqlitePolicyStoreTest, UpdatedAtComesFromTheClockAndMovesOnlyOnChange) {
  clock_.SetWallMs(1'000);
  ASSERT_TRUE(store_->Upsert(MakeUpsert("acme", "p", kDocA)).ok());
  clock_.SetWallMs(2'000);
  ASSERT_TRUE(store_->Upsert(MakeUpsert("acme", "p", kDocA)).ok());  // unchanged
  auto got = store_->Get("acme", "p");
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->updated_at_ms, 1'000);
  clock_.SetWallMs(3'000);
  ASSERT_TRUE(store_->Upsert(MakeUpsert("acme", "p", kDocB)).ok());
  got = store_->Get("acme", "p");
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->updated_at_ms, 3'000);
}

// The store keeps documents byte for byte (GetPolicy returns the stored canonical document).
TEST_F(SqlitePolicyStoreTest, DocumentBytesRoundTrip) {
  const std::string document =
      "{\"metadata\":{\"note\":\"caf\xC3\xA9 \\u0000 \\\"q\\\" "
      "\xF0\x9F\x9A\x80\"},\"version\":\"1.0\"}";
  ASSERT_TRUE(store_->Upsert(MakeUpsert("acme", "utf8", document)).ok());
  auto got = store_->Get("acme", "utf8");
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->document, document);
}

// grpc-api.md §6.1: quota applies only to new keys; deleted keys do not count.
TEST_F(SqlitePolicyStoreTest, QuotaAppliesOnlyToNewKeys) {
  auto with_max = [](std::string policy, const char* doc) {
    UpsertRequest request = MakeUpsert("acme", policy, doc);
    request.max_policies_per_tenant = 2;
    return request;
  };
  ASSERT_TRUE(store_->Upsert(with_max("a", kDocA)).ok());
  ASSERT_TRUE(store_->Upsert(with_max("b", kDocA)).ok());
  auto over = store_->Upsert(with_max("c", kDocA));
  EXPECT_EQ(over.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(StdView(over.status().message()),
            R"(policy quota exceeded: tenant "acme" has 2 policies (max 2))");
  EXPECT_EQ(ErrorTag(over.status()), "quota_exceeded");
  EXPECT_EQ(store_->Get("acme", "c").status().code(), absl::StatusCode::kNotFound);

  auto update = store_->Upsert(with_max("a", kDocB));  // existing key: no quota
  ASSERT_TRUE(update.ok()) << update.status();
  EXPECT_EQ(update->version, 2);

  ASSERT_TRUE(store_->Delete(MakeDelete("acme", "b")).ok());
  auto after_delete = store_->Upsert(with_max("c", kDocA));
  ASSERT_TRUE(after_delete.ok()) << after_delete.status();

  // Recreating a deleted key is a new key for the quota.
  auto recreate = store_->Upsert(with_max("b", kDocA));
  EXPECT_EQ(recreate.status().code(), absl::StatusCode::kResourceExhausted);

  UpsertRequest other_tenant = MakeUpsert("globex", "a", kDocA);
  other_tenant.max_policies_per_tenant = 2;
  EXPECT_TRUE(store_->Upsert(other_tenant).ok());
}

// grpc-api.md §5.2: quota (check 4) is answered before the version precondition (execute).
TEST_F(SqlitePolicyStoreTest, QuotaIsCheckedBeforeVersionConflict) {
  UpsertRequest first = MakeUpsert("acme", "a", kDocA);
  first.max_policies_per_tenant = 1;
  ASSERT_TRUE(store_->Upsert(first).ok());
  UpsertRequest second = MakeUpsert("acme", "b", kDocA, /*expected_version=*/7);
  second.max_policies_per_tenant = 1;
  EXPECT_EQ(store_->Upsert(second).status().code(), absl::StatusCode::kResourceExhausted);
}

TEST_F(SqlitePolicyStoreTest, NonPositiveQuotaMeansNoLimit) {
  for (int i = 0; i < 3; ++i) {
    UpsertRequest request = MakeUpsert("acme", "p" + std::to_string(i), kDocA);
    request.max_policies_per_tenant = 0;
    EXPECT_TRUE(store_->Upsert(request).ok());
  }
}

TEST_F(SqlitePolicyStoreTest, CheckQuotaAnswersLikeUpsertWithoutAuditing) {
  UpsertRequest request = MakeUpsert("acme", "a", kDocA);
  request.max_policies_per_tenant = 1;
  ASSERT_TRUE(store_->Upsert(request).ok());
  const size_t audit_rows = Audit().size();

  EXPECT_TRUE(store_->CheckQuota("acme", "a", 1).ok());  // existing key
  absl::Status full = store_->CheckQuota("acme", "b", 1);
  EXPECT_EQ(full.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(StdView(full.message()),
            R"(policy quota exceeded: tenant "acme" has 1 policies (max 1))");
  EXPECT_TRUE(store_->CheckQuota("acme", "b", 2).ok());
  EXPECT_TRUE(store_->CheckQuota("acme", "b", 0).ok());
  EXPECT_EQ(Audit().size(), audit_rows);
}

// POL §10 Audit, grpc-api.md §5.5: one record per mutation, unchanged and rejected ones too.
TEST_F(SqlitePolicyStoreTest, EveryMutationOutcomeIsAudited) {
  clock_.SetWallMs(5'000);
  ASSERT_TRUE(store_->Upsert(MakeUpsert("acme", "p", kDocA)).ok());      // ok v1
  ASSERT_TRUE(store_->Upsert(MakeUpsert("acme", "p", kDocA)).ok());      // unchanged
  ASSERT_TRUE(store_->Upsert(MakeUpsert("acme", "p", kDocB)).ok());      // ok v2
  EXPECT_FALSE(store_->Upsert(MakeUpsert("acme", "p", kDocC, 1)).ok());  // conflict
  UpsertRequest over = MakeUpsert("acme", "q", kDocA);
  over.max_policies_per_tenant = 1;
  EXPECT_FALSE(store_->Upsert(over).ok());                     // quota
  ASSERT_TRUE(store_->Delete(MakeDelete("acme", "p")).ok());   // delete ok
  EXPECT_FALSE(store_->Delete(MakeDelete("acme", "p")).ok());  // not found

  std::vector<AuditRecord> records = Audit();
  ASSERT_EQ(records.size(), 7u);
  struct Expected {
    const char* action;
    const char* resource;
    int64_t before;
    int64_t after;
    const char* result;
    std::string sha;
  };
  const std::vector<Expected> expected = {
      {"upsert", "policy/p", 0, 1, "ok", testing::FakeSha(kDocA)},
      {"upsert", "policy/p", 1, 1, "unchanged", testing::FakeSha(kDocA)},
      {"upsert", "policy/p", 1, 2, "ok", testing::FakeSha(kDocB)},
      {"upsert", "policy/p", 2, 0, "version_conflict", testing::FakeSha(kDocC)},
      {"upsert", "policy/q", 0, 0, "quota_exceeded", testing::FakeSha(kDocA)},
      {"delete", "policy/p", 2, 0, "ok", testing::FakeSha(kDocB)},
      {"delete", "policy/p", 0, 0, "not_found", ""},
  };
  for (size_t i = 0; i < records.size(); ++i) {
    SCOPED_TRACE(i);
    const AuditRecord& record = records[i];
    if (i > 0) {
      EXPECT_GT(record.id, records[i - 1].id);
    }
    EXPECT_EQ(record.ts_ms, 5'000);
    EXPECT_EQ(record.tenant_id, "acme");
    EXPECT_EQ(record.principal, "ops");
    EXPECT_EQ(record.action, expected[i].action);
    EXPECT_EQ(record.resource, expected[i].resource);
    EXPECT_EQ(record.before_version, expected[i].before);
    EXPECT_EQ(record.after_version, expected[i].after);
    EXPECT_EQ(record.result, expected[i].result);
    EXPECT_EQ(record.document_sha256, expected[i].sha);
  }
  EXPECT_EQ(records[0].claimed_user, "alice@example.com");
  EXPECT_EQ(records[0].correlation_id, "corr-1");
  EXPECT_EQ(records[0].client_addr, "ipv4:127.0.0.1:5555");
  EXPECT_EQ(records[5].correlation_id, "corr-del");
}

// Reads are not audited (grpc-api.md §5.5).
TEST_F(SqlitePolicyStoreTest, ReadsAreNotAudited) {
  ASSERT_TRUE(store_->Upsert(MakeUpsert("acme", "p", kDocA)).ok());
  EXPECT_TRUE(store_->Get("acme", "p").ok());
  EXPECT_FALSE(store_->Get("acme", "zz").ok());
  EXPECT_TRUE(store_->ListTenant("acme").ok());
  EXPECT_TRUE(store_->ListAll().ok());
  EXPECT_EQ(Audit().size(), 1u);
}

// Rejections decided by the service are appended with AppendAudit (grpc-api.md §5.5).
TEST_F(SqlitePolicyStoreTest, AppendAuditAssignsIdAndDefaultsTimestamp) {
  clock_.SetWallMs(42'000);
  AuditRecord denied;
  denied.principal = "viewer1";
  denied.tenant_id = "acme";
  denied.action = std::string(audit_action::kUpsert);
  denied.resource = PolicyResource("p");
  denied.result = std::string(audit_result::kPermissionDenied);
  auto first = store_->AppendAudit(denied);
  ASSERT_TRUE(first.ok()) << first.status();
  denied.ts_ms = 7;
  denied.result = std::string(audit_result::kInvalidArgument);
  auto second = store_->AppendAudit(denied);
  ASSERT_TRUE(second.ok());
  EXPECT_GT(*second, *first);

  std::vector<AuditRecord> records = Audit();
  ASSERT_EQ(records.size(), 2u);
  EXPECT_EQ(records[0].id, *first);
  EXPECT_EQ(records[0].ts_ms, 42'000);
  EXPECT_EQ(records[0].principal, "viewer1");
  EXPECT_EQ(records[0].result, "permission_denied");
  EXPECT_EQ(records[0].resource, "policy/p");
  EXPECT_EQ(records[1].ts_ms, 7);
  EXPECT_EQ(records[1].result, "invalid_argument");
}

TEST_F(SqlitePolicyStoreTest, ListAuditFiltersByTenantAfterIdAndLimit) {
  for (const char* tenant : {"a", "b", "a", "b", "a"}) {
    ASSERT_TRUE(
        store_
            ->Upsert(MakeUpsert(tenant, std::string("p") + std::to_string(clock_.WallMs()), kDocA))
            .ok());
    clock_.Advance(std::chrono::milliseconds(1));
  }
  std::vector<AuditRecord> only_a = Audit("a");
  ASSERT_EQ(only_a.size(), 3u);
  for (const AuditRecord& record : only_a) EXPECT_EQ(record.tenant_id, "a");

  AuditQuery page;
  page.after_id = only_a[0].id;
  page.limit = 2;
  auto records = store_->ListAudit(page);
  ASSERT_TRUE(records.ok());
  ASSERT_EQ(records->size(), 2u);
  EXPECT_EQ((*records)[0].id, only_a[0].id + 1);
  EXPECT_EQ((*records)[0].tenant_id, "b");
  EXPECT_EQ((*records)[1].tenant_id, "a");
}

// configuration.md [admin] audit_retention_days.
TEST_F(SqlitePolicyStoreTest, PurgeAuditRemovesOnlyOlderRecords) {
  clock_.SetWallMs(1'000);
  ASSERT_TRUE(store_->Upsert(MakeUpsert("acme", "p", kDocA)).ok());
  clock_.SetWallMs(2'000);
  ASSERT_TRUE(store_->Upsert(MakeUpsert("acme", "p", kDocB)).ok());
  clock_.SetWallMs(3'000);
  ASSERT_TRUE(store_->Upsert(MakeUpsert("acme", "p", kDocC)).ok());

  auto removed = store_->PurgeAuditOlderThan(2'000);
  ASSERT_TRUE(removed.ok()) << removed.status();
  EXPECT_EQ(*removed, 1);
  std::vector<AuditRecord> records = Audit();
  ASSERT_EQ(records.size(), 2u);
  EXPECT_EQ(records[0].ts_ms, 2'000);
  const int64_t last_id = records[1].id;

  ASSERT_TRUE(store_->PurgeAuditOlderThan(10'000).ok());
  EXPECT_TRUE(Audit().empty());
  // Ids are never reused after a purge.
  ASSERT_TRUE(store_->Upsert(MakeUpsert("acme", "p", kDocA)).ok());
  records = Audit();
  ASSERT_EQ(records.size(), 1u);
  EXPECT_GT(records[0].id, last_id);
  // Policies are untouched by the purge.
  auto got = store_->Get("acme", "p");
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->version, 4);
}

// POL §10 Fixtures: version 1 by system:fixtures, one transaction, never overwrite.
TEST_F(SqlitePolicyStoreTest, FixturesAreInsertedOnceAndNeverOverwrite) {
  ASSERT_TRUE(store_->Upsert(MakeUpsert("acme", "existing", kDocA)).ok());
  ASSERT_TRUE(store_->Upsert(MakeUpsert("acme", "existing", kDocB)).ok());  // v2
  ASSERT_FALSE(*store_->FixturesLoaded());

  clock_.SetWallMs(9'000);
  auto inserted = store_->InsertFixtures({MakeFixture("acme", "existing", kDocC),
                                          MakeFixture("acme", "fresh", kDocC),
                                          MakeFixture("globex", "default", kDocA)});
  ASSERT_TRUE(inserted.ok()) << inserted.status();
  EXPECT_EQ(*inserted, 2);
  EXPECT_TRUE(*store_->FixturesLoaded());

  auto existing = store_->Get("acme", "existing");
  ASSERT_TRUE(existing.ok());
  EXPECT_EQ(existing->version, 2);
  EXPECT_EQ(existing->document, kDocB);
  auto fresh = store_->Get("acme", "fresh");
  ASSERT_TRUE(fresh.ok());
  EXPECT_EQ(fresh->version, 1);
  EXPECT_EQ(fresh->document, kDocC);
  EXPECT_EQ(fresh->updated_at_ms, 9'000);

  std::vector<AuditRecord> records = Audit();
  ASSERT_EQ(records.size(), 4u);  // two upserts, two fixture loads
  EXPECT_EQ(records[2].action, "fixture_load");
  EXPECT_EQ(records[2].principal, "system:fixtures");
  EXPECT_EQ(records[2].tenant_id, "acme");
  EXPECT_EQ(records[2].resource, "policy/fresh");
  EXPECT_EQ(records[2].before_version, 0);
  EXPECT_EQ(records[2].after_version, 1);
  EXPECT_EQ(records[2].result, "ok");
  EXPECT_EQ(records[2].document_sha256, testing::FakeSha(kDocC));
  EXPECT_EQ(records[3].tenant_id, "globex");
}

// grpc-api.md §6.3: fixtures load once, so deleted ones stay deleted.
TEST_F(SqlitePolicyStoreTest, SecondInsertFixturesInsertsNothing) {
  auto first = store_->InsertFixtures({MakeFixture("acme", "default", kDocA)});
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(*first, 1);
  ASSERT_TRUE(store_->Delete(MakeDelete("acme", "default")).ok());
  auto second = store_->InsertFixtures(
      {MakeFixture("acme", "default", kDocA), MakeFixture("acme", "other", kDocB)});
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(*second, 0);
  EXPECT_EQ(store_->Get("acme", "default").status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(store_->Get("acme", "other").status().code(), absl::StatusCode::kNotFound);
}

TEST_F(SqlitePolicyStoreTest, EmptyFixtureSetStillMarksLoaded) {
  auto inserted = store_->InsertFixtures({});
  ASSERT_TRUE(inserted.ok());
  EXPECT_EQ(*inserted, 0);
  EXPECT_TRUE(*store_->FixturesLoaded());
}

// A deleted key counts as existing, so fixture version 1 is never issued twice for a key.
TEST_F(SqlitePolicyStoreTest, FixturesLeaveDeletedKeysAlone) {
  ASSERT_TRUE(store_->Upsert(MakeUpsert("acme", "p", kDocA)).ok());
  ASSERT_TRUE(store_->Delete(MakeDelete("acme", "p")).ok());
  auto inserted = store_->InsertFixtures({MakeFixture("acme", "p", kDocB)});
  ASSERT_TRUE(inserted.ok());
  EXPECT_EQ(*inserted, 0);
  auto recreated = store_->Upsert(MakeUpsert("acme", "p", kDocB));
  ASSERT_TRUE(recreated.ok());
  EXPECT_EQ(recreated->version, 2);
}

// POL §10 Persistence: everything survives a close and reopen.
TEST_F(SqlitePolicyStoreTest, ReopenPersistsEverything) {
  ASSERT_TRUE(store_->InsertFixtures({MakeFixture("acme", "fx", kDocA)}).ok());
  ASSERT_TRUE(store_->Upsert(MakeUpsert("acme", "p", kDocA)).ok());
  ASSERT_TRUE(store_->Upsert(MakeUpsert("acme", "p", kDocB)).ok());
  ASSERT_TRUE(store_->Upsert(MakeUpsert("acme", "gone", kDocA)).ok());
  ASSERT_TRUE(store_->Upsert(MakeUpsert("acme", "gone", kDocB)).ok());
  ASSERT_TRUE(store_->Delete(MakeDelete("acme", "gone")).ok());
  const size_t audit_rows = Audit().size();
  store_.reset();

  store_ = OpenStore();
  ASSERT_NE(store_, nullptr);
  EXPECT_TRUE(*store_->FixturesLoaded());
  auto p = store_->Get("acme", "p");
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->version, 2);
  EXPECT_EQ(p->document, kDocB);
  auto all = store_->ListAll();
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(all->size(), 2u);
  EXPECT_EQ(Audit().size(), audit_rows);
  auto recreated = store_->Upsert(MakeUpsert("acme", "gone", kDocA));
  ASSERT_TRUE(recreated.ok());
  EXPECT_EQ(recreated->version, 3);  // high-water mark persisted
  EXPECT_EQ(*store_->InsertFixtures({MakeFixture("acme", "new", kDocA)}), 0);
}

// configuration.md poll_interval_ms: another process's write changes data_version; ours don't.
TEST_F(SqlitePolicyStoreTest, DataVersionChangesOnlyOnOtherConnectionsWrites) {
  auto before = store_->DataVersion();
  ASSERT_TRUE(before.ok()) << before.status();
  ASSERT_TRUE(store_->Upsert(MakeUpsert("acme", "own", kDocA)).ok());
  auto after_own = store_->DataVersion();
  ASSERT_TRUE(after_own.ok());
  EXPECT_EQ(*after_own, *before);

  auto other = OpenStore();
  ASSERT_NE(other, nullptr);
  ASSERT_TRUE(other->Upsert(MakeUpsert("acme", "theirs", kDocB)).ok());
  auto after_other = store_->DataVersion();
  ASSERT_TRUE(after_other.ok());
  EXPECT_NE(*after_other, *before);
  auto seen = store_->Get("acme", "theirs");
  ASSERT_TRUE(seen.ok());
  EXPECT_EQ(seen->version, 1);
}

// R13 shape: a failed commit is INTERNAL `internal error`, applies nothing, and the store
// recovers once the obstacle is gone. Another connection holding the write lock with a zero
// busy timeout makes the failure deterministic.
TEST_F(SqlitePolicyStoreTest, WriteFailureIsInternalAndAppliesNothing) {
  ASSERT_TRUE(store_->Upsert(MakeUpsert("acme", "p", kDocA)).ok());
  store_.reset();
  SqliteOptions options = Options();
  options.busy_timeout_ms = 0;
  auto opened = SqlitePolicyStore::Open(options);
  ASSERT_TRUE(opened.ok()) << opened.status();
  store_ = std::move(opened).value();

  sqlite3* raw = nullptr;
  ASSERT_EQ(sqlite3_open(Options().path.c_str(), &raw), SQLITE_OK);
  SqliteDbPtr locker(raw);
  ASSERT_EQ(sqlite3_exec(locker.get(), "BEGIN IMMEDIATE", nullptr, nullptr, nullptr), SQLITE_OK);

  auto failed = store_->Upsert(MakeUpsert("acme", "p", kDocB));
  EXPECT_EQ(failed.status().code(), absl::StatusCode::kInternal);
  EXPECT_EQ(StdView(failed.status().message()), "internal error");
  EXPECT_EQ(ErrorTag(failed.status()), "internal");
  EXPECT_NE(Cause(failed.status()).find("locked"), std::string::npos) << Cause(failed.status());
  EXPECT_EQ(store_->Delete(MakeDelete("acme", "p")).status().code(), absl::StatusCode::kInternal);
  EXPECT_EQ(store_->AppendAudit(AuditRecord{}).status().code(), absl::StatusCode::kInternal);

  ASSERT_EQ(sqlite3_exec(locker.get(), "ROLLBACK", nullptr, nullptr, nullptr), SQLITE_OK);
  auto got = store_->Get("acme", "p");
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->version, 1);
  EXPECT_EQ(got->document, kDocA);
  EXPECT_EQ(Audit().size(), 1u);

  auto retried = store_->Upsert(MakeUpsert("acme", "p", kDocB));
  ASSERT_TRUE(retried.ok()) << retried.status();
  EXPECT_EQ(retried->version, 2);
}

// Writes are serialized: 4 threads x 100 upserts on distinct keys all persist.
TEST_F(SqlitePolicyStoreTest, ConcurrentUpsertsOnDistinctKeysAllPersist) {
  constexpr int kThreads = 4;
  constexpr int kPerThread = 100;
  std::latch start(kThreads);
  std::vector<std::thread> threads;
  std::vector<int> failures(kThreads, 0);
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      start.arrive_and_wait();
      for (int i = 0; i < kPerThread; ++i) {
        UpsertRequest request =
            MakeUpsert("acme", "t" + std::to_string(t) + "-" + std::to_string(i), kDocA);
        request.max_policies_per_tenant = 0;
        if (!store_->Upsert(request).ok()) ++failures[t];
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  for (int t = 0; t < kThreads; ++t) EXPECT_EQ(failures[t], 0) << "thread " << t;

  store_.reset();
  store_ = OpenStore();
  ASSERT_NE(store_, nullptr);
  auto listed = store_->ListTenant("acme");
  ASSERT_TRUE(listed.ok());
  ASSERT_EQ(listed->size(), static_cast<size_t>(kThreads * kPerThread));
  for (const StoredPolicy& policy : *listed) EXPECT_EQ(policy.version, 1) << policy.policy_id;
  EXPECT_EQ(Audit().size(), static_cast<size_t>(kThreads * kPerThread));
}

// grpc-api.md §6.1: the quota is enforced atomically with the insert, so concurrent creators
// cannot exceed it, even through two connections (two replicas or processes sharing the file).
TEST_F(SqlitePolicyStoreTest, QuotaIsNeverExceededByConcurrentCreators) {
  constexpr int kThreads = 8;
  constexpr int kPerThread = 5;
  constexpr int64_t kMax = 13;
  auto second = OpenStore();
  ASSERT_NE(second, nullptr);
  std::latch start(kThreads);
  std::vector<std::thread> threads;
  std::vector<int> created(kThreads, 0);
  std::vector<int> rejected(kThreads, 0);
  std::vector<int> other(kThreads, 0);
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      PolicyStore& store = (t % 2 == 0) ? static_cast<PolicyStore&>(*store_) : *second;
      start.arrive_and_wait();
      for (int i = 0; i < kPerThread; ++i) {
        UpsertRequest request =
            MakeUpsert("acme", "c" + std::to_string(t) + "-" + std::to_string(i), kDocA);
        request.max_policies_per_tenant = kMax;
        auto result = store.Upsert(request);
        if (result.ok()) {
          ++created[t];
        } else if (result.status().code() == absl::StatusCode::kResourceExhausted) {
          ++rejected[t];
        } else {
          ++other[t];
        }
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  int total_created = 0;
  int total_rejected = 0;
  for (int t = 0; t < kThreads; ++t) {
    total_created += created[t];
    total_rejected += rejected[t];
    EXPECT_EQ(other[t], 0) << "thread " << t;
  }
  EXPECT_EQ(total_created, kMax);
  EXPECT_EQ(total_rejected, kThreads * kPerThread - kMax);
  auto listed = store_->ListTenant("acme");
  ASSERT_TRUE(listed.ok());
  EXPECT_EQ(listed->size(), static_cast<size_t>(kMax));
  int quota_audits = 0;
  for (const AuditRecord& record : Audit()) quota_audits += record.result == "quota_exceeded";
  EXPECT_EQ(quota_audits, total_rejected);
}

}  // namespace
}  // namespace router::store
