// AdminService policy methods over a real SqlitePolicyStore: quota before validation, the one
// validator, commit then publish, unchanged upserts, legacy conversion and round trip, versions,
// Get/List/Delete and audit of rejected attempts (grpc-api.md §5.2, §5.5, §6.1-6.4; POL §10).
#include "service/admin_service.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <latch>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "base/errors.h"
#include "service_test_util.h"

namespace router::service {
namespace {

constexpr char kDocA[] = R"({"providers":[{"name":"openai","weight":100}]})";
constexpr char kDocB[] = R"({"providers":[{"name":"anthropic","weight":100}]})";
constexpr char kInvalidWeight[] = R"({"providers":[{"name":"a","weight":101}]})";
constexpr char kInvalidWeightMessage[] = "providers[0].weight: must be between 0 and 100";

AdminCaller Caller() {
  AdminCaller c;
  c.principal = "ops";
  c.claimed_user = "alice@example.com";
  c.correlation_id = "corr-1";
  c.client_addr = "ipv4:127.0.0.1:5555";
  return c;
}

PolicyInput Json(std::string policy_id, std::string json, int64_t expected_version = 0) {
  PolicyInput in;
  in.policy_id = std::move(policy_id);
  in.policy_json = std::move(json);
  in.expected_version = expected_version;
  return in;
}

class AdminServiceTest : public testutil::StoreBackedTest {
 protected:
  void SetUp() override {
    StoreBackedTest::SetUp();
    admin_ = std::make_unique<AdminService>(options_, *store_, *registry_);
  }
  void Reopen(int64_t max_policies) {
    options_.max_policies_per_tenant = max_policies;
    admin_ = std::make_unique<AdminService>(options_, *store_, *registry_);
  }

  void ExpectLastAudit(std::string_view tenant, std::string_view resource,
                       std::string_view result) {
    auto records = Audit();
    ASSERT_FALSE(records.empty());
    const auto& rec = records.back();
    EXPECT_EQ(rec.tenant_id, tenant);
    EXPECT_EQ(rec.action, "upsert");
    EXPECT_EQ(rec.resource, resource);
    EXPECT_EQ(rec.result, result);
    EXPECT_EQ(rec.principal, "ops");
    EXPECT_EQ(rec.claimed_user, "alice@example.com");
    EXPECT_EQ(rec.correlation_id, "corr-1");
    EXPECT_EQ(rec.client_addr, "ipv4:127.0.0.1:5555");
  }

  AdminServiceOptions options_;
  std::unique_ptr<AdminService> admin_;
};

TEST_F(AdminServiceTest, ValidatePolicyIdMessage) {
  EXPECT_TRUE(AdminService::ValidatePolicyId("p-1.x_Y").ok());
  for (std::string bad : {std::string(""), std::string("."), std::string(".."), std::string("a b"),
                          std::string(256, 'p')}) {
    absl::Status s = AdminService::ValidatePolicyId(bad);
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
    EXPECT_EQ(StdView(s.message()), "policy_id: must match ^[A-Za-z0-9_.-]{1,255}$");
    EXPECT_EQ(ErrorTag(s), "invalid_request");
  }
}

TEST_F(AdminServiceTest, UpsertPublishesBeforeReturning) {
  auto v1 = admin_->Upsert(Caller(), "t1", Json("p1", kDocA));
  ASSERT_TRUE(v1.ok()) << v1.status();
  EXPECT_EQ(*v1, 1);
  const policy::CompiledPolicy* p = Published("t1", "p1");
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(p->version, 1u);
  EXPECT_EQ(p->providers[0].name, "openai");

  auto v2 = admin_->Upsert(Caller(), "t1", Json("p1", kDocB));
  ASSERT_TRUE(v2.ok()) << v2.status();
  EXPECT_EQ(*v2, 2);
  p = Published("t1", "p1");
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(p->version, 2u);
  EXPECT_EQ(p->providers[0].name, "anthropic");
  ExpectLastAudit("t1", "policy/p1", "ok");
}

TEST_F(AdminServiceTest, UnchangedUpsertKeepsVersionAndSnapshot) {
  ASSERT_TRUE(admin_->Upsert(Caller(), "t1", Json("p1", kDocA)).ok());
  core::SnapshotPtr before = snapshots_.Load();
  // Same canonical document, different whitespace.
  auto again = admin_->Upsert(
      Caller(), "t1", Json("p1", R"({ "providers" : [ {"weight":100, "name":"openai"} ] })"));
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(*again, 1);
  EXPECT_EQ(snapshots_.Load().get(), before.get());
  ExpectLastAudit("t1", "policy/p1", "unchanged");
}

TEST_F(AdminServiceTest, QuotaIsCheckedBeforeValidation) {
  Reopen(1);
  ASSERT_TRUE(admin_->Upsert(Caller(), "t1", Json("p1", kDocA)).ok());
  // A new key over quota with an invalid document: the quota answers (check 4 before 5).
  auto over = admin_->Upsert(Caller(), "t1", Json("p2", "{"));
  ASSERT_FALSE(over.ok());
  EXPECT_EQ(over.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(StdView(over.status().message()),
            "policy quota exceeded: tenant \"t1\" has 1 policies (max 1)");
  EXPECT_EQ(ErrorTag(over.status()), "quota_exceeded");
  ExpectLastAudit("t1", "policy/p2", "quota_exceeded");
  EXPECT_EQ(Published("t1", "p2"), nullptr);

  // The quota applies to new keys only, and per tenant.
  auto update = admin_->Upsert(Caller(), "t1", Json("p1", kDocB));
  ASSERT_TRUE(update.ok()) << update.status();
  EXPECT_EQ(*update, 2);
  EXPECT_TRUE(admin_->Upsert(Caller(), "t2", Json("p2", kDocA)).ok());
  // An invalid document for an existing key is a validation error, not a quota error.
  auto invalid_existing = admin_->Upsert(Caller(), "t1", Json("p1", kInvalidWeight));
  EXPECT_EQ(invalid_existing.status().code(), absl::StatusCode::kInvalidArgument);
  // Deleting frees the slot.
  ASSERT_TRUE(admin_->Delete(Caller(), "t1", "p1").ok());
  EXPECT_TRUE(admin_->Upsert(Caller(), "t1", Json("p2", kDocA)).ok());
}

TEST_F(AdminServiceTest, InvalidDocumentIsRejectedAndAudited) {
  auto got = admin_->Upsert(Caller(), "t1", Json("p1", kInvalidWeight));
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(StdView(got.status().message()), kInvalidWeightMessage);
  EXPECT_EQ(ErrorTag(got.status()), "invalid_policy");
  auto violations = ErrorViolations(got.status());
  ASSERT_FALSE(violations.empty());
  EXPECT_EQ(violations[0].field, "providers[0].weight");
  ExpectLastAudit("t1", "policy/p1", "invalid_argument");
  EXPECT_EQ(Published("t1", "p1"), nullptr);
  EXPECT_EQ(store_->Get("t1", "p1").status().code(), absl::StatusCode::kNotFound);
}

TEST_F(AdminServiceTest, InvalidUpdateKeepsThePublishedVersion) {
  ASSERT_TRUE(admin_->Upsert(Caller(), "t1", Json("p1", kDocA)).ok());
  core::SnapshotPtr before = snapshots_.Load();
  auto got = admin_->Upsert(Caller(), "t1", Json("p1", "{\"providers\":"));
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(StdView(got.status().message()).rfind("$: invalid JSON at offset", 0), 0u)
      << got.status().message();
  EXPECT_EQ(snapshots_.Load().get(), before.get());
  EXPECT_EQ(Published("t1", "p1")->version, 1u);
}

TEST_F(AdminServiceTest, PolicyJsonWinsOverLegacyFields) {
  PolicyInput in = Json("p1", kDocA);
  in.legacy.providers = {{"ignored", 1.0}};
  in.legacy.sticky = true;
  ASSERT_TRUE(admin_->Upsert(Caller(), "t1", in).ok());
  const policy::CompiledPolicy* p = Published("t1", "p1");
  ASSERT_NE(p, nullptr);
  ASSERT_EQ(p->providers.size(), 1u);
  EXPECT_EQ(p->providers[0].name, "openai");
  EXPECT_FALSE(p->sticky.enabled);
}

TEST_F(AdminServiceTest, LegacyInputIsConvertedAndRoundTrips) {
  PolicyInput in;
  in.policy_id = "legacy";
  in.legacy.providers = {{"openai", 0.7}, {"anthropic", 0.3}};
  in.legacy.sticky = true;
  in.legacy.rules = {policy::LegacyRule{"status:timeout|5xx", {}, "anthropic"},
                     policy::LegacyRule{"", {}, ""}};
  auto v = admin_->Upsert(Caller(), "t1", in);
  ASSERT_TRUE(v.ok()) << v.status();
  EXPECT_EQ(*v, 1);

  const policy::CompiledPolicy* p = Published("t1", "legacy");
  ASSERT_NE(p, nullptr);
  ASSERT_EQ(p->providers.size(), 2u);
  EXPECT_EQ(p->providers[0].name, "openai");
  EXPECT_EQ(p->providers[0].weight_micro, 700'000u);
  EXPECT_EQ(p->providers[1].name, "anthropic");
  EXPECT_EQ(p->providers[1].weight_micro, 300'000u);
  EXPECT_TRUE(p->sticky.enabled);
  ASSERT_EQ(p->rules.size(), 2u);
  EXPECT_EQ(p->rules[0].to, "anthropic");
  EXPECT_EQ(p->rules[1].to, "");
  EXPECT_EQ(p->rules[1].retry, 1);

  auto got = admin_->Get("t1", "legacy");
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(got->policy_id, "legacy");
  EXPECT_EQ(got->version, 1);
  EXPECT_EQ(got->policy_json, p->canonical_json);
  ASSERT_EQ(got->legacy.providers.size(), 2u);
  EXPECT_EQ(got->legacy.providers[0].id, "openai");
  EXPECT_DOUBLE_EQ(got->legacy.providers[0].weight, 0.7);
  EXPECT_EQ(got->legacy.providers[1].id, "anthropic");
  EXPECT_DOUBLE_EQ(got->legacy.providers[1].weight, 0.3);
  EXPECT_TRUE(got->legacy.sticky);
  ASSERT_EQ(got->legacy.rules.size(), 2u);
  EXPECT_EQ(got->legacy.rules[0].match, "status:timeout|5xx");
  EXPECT_EQ(got->legacy.rules[0].fallback, "anthropic");
  EXPECT_TRUE(got->legacy.rules[0].prefer.empty());
  EXPECT_EQ(got->legacy.rules[1].match, "");
  EXPECT_EQ(got->legacy.rules[1].fallback, "");

  // §6.2 round trip (b): re-upserting the reply is unchanged, as JSON and as legacy fields.
  auto same_json = admin_->Upsert(Caller(), "t1", Json("legacy", got->policy_json));
  ASSERT_TRUE(same_json.ok()) << same_json.status();
  EXPECT_EQ(*same_json, 1);
  PolicyInput legacy_again;
  legacy_again.policy_id = "legacy";
  legacy_again.legacy = got->legacy;
  auto same_legacy = admin_->Upsert(Caller(), "t1", legacy_again);
  ASSERT_TRUE(same_legacy.ok()) << same_legacy.status();
  EXPECT_EQ(*same_legacy, 1);
  ExpectLastAudit("t1", "policy/legacy", "unchanged");
}

TEST_F(AdminServiceTest, LegacyPreferIsRejectedAndAudited) {
  PolicyInput in;
  in.policy_id = "p1";
  in.legacy.providers = {{"openai", 1.0}};
  in.legacy.rules = {policy::LegacyRule{"", {"openai"}, "openai"}};
  auto got = admin_->Upsert(Caller(), "t1", in);
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(StdView(got.status().message()), "rules[0].prefer: unsupported");
  ExpectLastAudit("t1", "policy/p1", "invalid_argument");
  EXPECT_EQ(Published("t1", "p1"), nullptr);
}

TEST_F(AdminServiceTest, LegacyErrorsUseGeneratedDocumentPaths) {
  PolicyInput in;
  in.policy_id = "p1";
  in.legacy.providers = {{"openai", 1.5}};
  auto got = admin_->Upsert(Caller(), "t1", in);
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(StdView(got.status().message()), "providers[0].weight: must be between 0.0 and 1.0");
}

TEST_F(AdminServiceTest, VersionPrecondition) {
  auto absent = admin_->Upsert(Caller(), "t1", Json("p1", kDocA, 5));
  ASSERT_FALSE(absent.ok());
  EXPECT_EQ(absent.status().code(), absl::StatusCode::kAborted);
  EXPECT_EQ(StdView(absent.status().message()), "version conflict: current version is 0");
  EXPECT_EQ(ErrorTag(absent.status()), "version_conflict");
  EXPECT_EQ(Published("t1", "p1"), nullptr);

  ASSERT_TRUE(admin_->Upsert(Caller(), "t1", Json("p1", kDocA)).ok());
  auto v2 = admin_->Upsert(Caller(), "t1", Json("p1", kDocB, 1));
  ASSERT_TRUE(v2.ok()) << v2.status();
  EXPECT_EQ(*v2, 2);
  core::SnapshotPtr before = snapshots_.Load();
  auto stale = admin_->Upsert(Caller(), "t1", Json("p1", kDocA, 1));
  EXPECT_EQ(StdView(stale.status().message()), "version conflict: current version is 2");
  EXPECT_EQ(snapshots_.Load().get(), before.get());
  EXPECT_EQ(Published("t1", "p1")->providers[0].name, "anthropic");
}

TEST_F(AdminServiceTest, DeleteRemovesFromSnapshot) {
  ASSERT_TRUE(admin_->Upsert(Caller(), "t1", Json("p1", kDocA)).ok());
  ASSERT_TRUE(admin_->Upsert(Caller(), "t1", Json("p2", kDocA)).ok());
  ASSERT_TRUE(admin_->Delete(Caller(), "t1", "p1").ok());
  EXPECT_EQ(Published("t1", "p1"), nullptr);
  EXPECT_NE(Published("t1", "p2"), nullptr);

  auto get = admin_->Get("t1", "p1");
  EXPECT_EQ(get.status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(StdView(get.status().message()), "policy \"p1\" not found for tenant \"t1\"");
  absl::Status again = admin_->Delete(Caller(), "t1", "p1");
  EXPECT_EQ(again.code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(StdView(again.message()), "policy \"p1\" not found for tenant \"t1\"");

  // Versions are never reused (POL §10).
  auto recreated = admin_->Upsert(Caller(), "t1", Json("p1", kDocA));
  ASSERT_TRUE(recreated.ok());
  EXPECT_EQ(*recreated, 2);
  EXPECT_EQ(Published("t1", "p1")->version, 2u);
}

TEST_F(AdminServiceTest, DeleteOfUnknownKeyLeavesSnapshot) {
  ASSERT_TRUE(admin_->Upsert(Caller(), "t1", Json("p1", kDocA)).ok());
  core::SnapshotPtr before = snapshots_.Load();
  EXPECT_EQ(admin_->Delete(Caller(), "t1", "nope").code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(admin_->Delete(Caller(), "t2", "p1").code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(snapshots_.Load().get(), before.get());
}

TEST_F(AdminServiceTest, GetAndListAreScopedToTheTenant) {
  ASSERT_TRUE(admin_->Upsert(Caller(), "t1", Json("zeta", kDocA)).ok());
  ASSERT_TRUE(admin_->Upsert(Caller(), "t1", Json("Alpha", kDocB)).ok());
  ASSERT_TRUE(admin_->Upsert(Caller(), "t1", Json("alpha", kDocA)).ok());
  ASSERT_TRUE(admin_->Upsert(Caller(), "t2", Json("other", kDocA)).ok());

  auto list = admin_->List("t1");
  ASSERT_TRUE(list.ok()) << list.status();
  std::vector<std::string> ids;
  for (const auto& p : *list) ids.push_back(p.policy_id);
  EXPECT_EQ(ids, (std::vector<std::string>{"Alpha", "alpha", "zeta"}));  // bytewise
  EXPECT_EQ((*list)[0].legacy.providers.at(0).id, "anthropic");
  EXPECT_DOUBLE_EQ((*list)[0].legacy.providers.at(0).weight, 1.0);

  auto none = admin_->List("t3");
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());
  EXPECT_EQ(admin_->Get("t2", "zeta").status().code(), absl::StatusCode::kNotFound);
  auto got = admin_->Get("t2", "other");
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->policy_json, R"({"providers":[{"name":"openai","weight":100}]})");
}

TEST_F(AdminServiceTest, AuditRejectedRecordsTheCode) {
  AdminCaller caller = Caller();
  admin_->AuditRejected(
      caller, "t1", "delete", "p1",
      MakeError(absl::StatusCode::kPermissionDenied,
                "permission denied: delete on tenant \"t1\" required", tag::kPermissionDenied));
  admin_->AuditRejected(caller, "t1", "upsert", "p2",
                        MakeError(absl::StatusCode::kInvalidArgument, "invalid UpsertPolicyRequest",
                                  tag::kInvalidRequest));
  auto records = Audit();
  ASSERT_EQ(records.size(), 2u);
  EXPECT_EQ(records[0].action, "delete");
  EXPECT_EQ(records[0].resource, "policy/p1");
  EXPECT_EQ(records[0].result, "permission_denied");
  EXPECT_EQ(records[0].principal, "ops");
  EXPECT_EQ(records[0].ts_ms, clock_.WallMs());
  EXPECT_EQ(records[1].result, "invalid_argument");
}

TEST_F(AdminServiceTest, ConcurrentUpsertsPublishInCommitOrder) {
  constexpr int kThreads = 4;
  std::latch start(kThreads);
  std::vector<std::thread> threads;
  std::vector<int64_t> versions(kThreads, 0);
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&, i] {
      const std::string doc =
          R"({"providers":[{"name":"p)" + std::to_string(i) + R"(","weight":100}]})";
      start.arrive_and_wait();
      auto v = admin_->Upsert(Caller(), "t1", Json("shared", doc));
      versions[i] = v.ok() ? *v : -1;
    });
  }
  for (auto& t : threads) t.join();
  std::set<int64_t> distinct(versions.begin(), versions.end());
  EXPECT_EQ(distinct, (std::set<int64_t>{1, 2, 3, 4}));
  // The snapshot holds the last committed document with its version.
  auto stored = store_->Get("t1", "shared");
  ASSERT_TRUE(stored.ok());
  EXPECT_EQ(stored->version, 4);
  const policy::CompiledPolicy* p = Published("t1", "shared");
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(p->version, 4u);
  EXPECT_EQ(p->canonical_json, stored->document);
}

}  // namespace
}  // namespace router::service
