// A router with a tenant allowlist and a policy quota of 2 (configuration.md [tenants],
// [policy_store]): grpc-api.md §13 scenarios 6 (allowlist) and 27 (quota and its audit trail).

#include "audit_db.h"
#include "itest_support.h"

namespace router::itest {
namespace {

class RestrictedRouterTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    RouterOptions opts;
    opts.config_toml = std::string("[admin]\n") + kStandardAdminKeysToml + R"toml(
[tenants]
allowlist = ["t1", "quota_tenant"]

[policy_store]
max_policies_per_tenant = 2
load_fixtures = false
)toml";
    opts.env.push_back(AdminKeyEnv());
    router_ = new RouterProcess(opts);
    *start_status_ = StartReady(*router_);
  }
  static void TearDownTestSuite() {
    delete router_;
    router_ = nullptr;
  }
  void SetUp() override {
    ASSERT_TRUE(start_status_->ok()) << *start_status_;
    clients_ = std::make_unique<Clients>(router_->grpc_target());
  }
  Clients& c() { return *clients_; }

  static RouterProcess* router_;
  static absl::Status* start_status_;
  std::unique_ptr<Clients> clients_;
};
RouterProcess* RestrictedRouterTest::router_ = nullptr;
absl::Status* RestrictedRouterTest::start_status_ = new absl::Status();

// §13.6: allowlist without t2 -> PERMISSION_DENIED for Decide and ReportOutcome.
TEST_F(RestrictedRouterTest, Scenario06TenantAllowlist) {
  fv1::RouteDecision d;
  EXPECT_TRUE(IsError(c().Decide(MakeRequest("t2", "p"), &d), grpc::StatusCode::PERMISSION_DENIED,
                      "tenant not allowed", "tenant_not_allowed"));
  EXPECT_TRUE(IsError(c().Report("t2", "openai", "success"), grpc::StatusCode::PERMISSION_DENIED,
                      "tenant not allowed", "tenant_not_allowed"));
  // Step 1 validation comes before the allowlist.
  EXPECT_TRUE(IsError(c().Decide(MakeRequest("t2", "a b"), &d), grpc::StatusCode::INVALID_ARGUMENT,
                      "policy_id must match ^[A-Za-z0-9_.-]{1,255}$", "invalid_request"));
  EXPECT_TRUE(IsError(c().Report("t2", "openai", "weird"), grpc::StatusCode::INVALID_ARGUMENT,
                      "status must be one of \"success\", \"error\", \"timeout\", \"cancelled\"",
                      "invalid_request"));
  // An allowed tenant passes the gate (and then meets the lookup).
  EXPECT_TRUE(IsError(c().Decide(MakeRequest("t1", "p"), &d), grpc::StatusCode::NOT_FOUND,
                      "policy \"p\" not found for tenant \"t1\"", "policy_not_found"));
  EXPECT_TRUE(IsOk(c().Report("t1", "openai", "success")));
  ASSERT_TRUE(IsOk(c().Upsert("t1", "p", kP73)));
  EXPECT_TRUE(IsOk(c().Decide(MakeRequest("t1", "p"), &d)));
  // DryRun reports the denial in-band (§7).
  fv1::DryRunResponse dry;
  ASSERT_TRUE(IsOk(c().DryRun(MakeRequest("t2", "p"), &dry)));
  EXPECT_EQ(dry.status_code(), 7);
  EXPECT_EQ(dry.status_message(), "tenant not allowed");
}

// §13.27: quota 2; updates of existing keys are not limited; every attempt is audited.
TEST_F(RestrictedRouterTest, Scenario27QuotaAndAudit) {
  const std::string t = "quota_tenant";
  auto upsert_as = [&](const std::string& key, const std::string& policy_id,
                       const std::string& json) {
    fv1::UpsertPolicyRequest req;
    req.set_tenant_id(t);
    req.mutable_policy()->set_policy_id(policy_id);
    req.mutable_policy()->set_policy_json(json);
    fv1::UpsertPolicyResponse resp;
    auto ctx = Ctx(key);
    ctx->AddMetadata("x-user-id", "alice");
    return c().admin->UpsertPolicy(ctx.get(), req, &resp);
  };
  const std::string v2_doc =
      R"({"version":"1.0","providers":[{"name":"openai","weight":0.5},{"name":"anthropic","weight":0.5}]})";
  ASSERT_TRUE(IsOk(upsert_as(kAdminKey, "q1", kP73)));
  ASSERT_TRUE(IsOk(upsert_as(kAdminKey, "q2", kP73)));
  EXPECT_TRUE(IsError(upsert_as(kAdminKey, "q3", kP73), grpc::StatusCode::RESOURCE_EXHAUSTED,
                      "policy quota exceeded: tenant \"quota_tenant\" has 2 policies (max 2)",
                      "quota_exceeded"));
  EXPECT_TRUE(IsOk(upsert_as(kAdminKey, "q1", v2_doc)));
  EXPECT_TRUE(
      IsError(upsert_as(kAdminKey, "q1",
                        R"({"version":"1.0","providers":[{"name":"openai","weight":150}]})"),
              grpc::StatusCode::INVALID_ARGUMENT, "providers[0].weight: must be between 0 and 100",
              "invalid_policy"));
  EXPECT_TRUE(IsError(upsert_as(kViewerKey, "q1", kP73), grpc::StatusCode::PERMISSION_DENIED,
                      "permission denied: write on tenant \"quota_tenant\" required",
                      "permission_denied"));

  fv1::AdminPolicy got;
  ASSERT_TRUE(IsOk(c().Get(t, "q1", &got)));
  EXPECT_EQ(got.version(), 2);
  EXPECT_EQ(c().Get(t, "q3", nullptr).error_code(), grpc::StatusCode::NOT_FOUND);
  std::vector<fv1::AdminPolicy> list;
  ASSERT_TRUE(IsOk(c().List(t, &list)));
  EXPECT_EQ(list.size(), 2u);

  auto rows = ReadAudit(router_->data_dir() + "/policies.db", t);
  ASSERT_TRUE(rows.ok()) << rows.status();
  std::string dump;
  for (const auto& r : *rows) dump += AuditRowString(r) + "\n";
  ASSERT_EQ(rows->size(), 6u) << dump;
  const auto& a = *rows;
  for (size_t i = 0; i < 5; ++i) {
    EXPECT_EQ(a[i].principal, "admin") << dump;
    EXPECT_EQ(a[i].claimed_user, "alice") << dump;
    EXPECT_EQ(a[i].tenant_id, t);
  }
  EXPECT_EQ(a[5].principal, "viewer1") << dump;
  EXPECT_EQ(a[5].claimed_user, "alice") << dump;
  // q1 created, q2 created, q3 refused by the quota, q1 updated, q1 invalid.
  EXPECT_EQ(a[0].before_version, 0);
  EXPECT_EQ(a[0].after_version, 1);
  EXPECT_EQ(a[0].result, "ok");
  EXPECT_NE(a[0].resource.find("q1"), std::string::npos) << dump;
  EXPECT_EQ(a[1].before_version, 0);
  EXPECT_EQ(a[1].after_version, 1);
  EXPECT_NE(a[1].resource.find("q2"), std::string::npos) << dump;
  EXPECT_NE(a[2].result, "ok");
  EXPECT_EQ(a[2].before_version, 0);
  EXPECT_EQ(a[2].after_version, 0);
  EXPECT_NE(a[2].resource.find("q3"), std::string::npos) << dump;
  EXPECT_EQ(a[3].before_version, 1);
  EXPECT_EQ(a[3].after_version, 2);
  EXPECT_EQ(a[3].result, "ok");
  EXPECT_NE(a[4].result, "ok");
  EXPECT_NE(a[5].result, "ok");
  for (const auto& r : a) EXPECT_EQ(r.action, a[0].action) << dump;

  // Deleting frees a slot.
  ASSERT_TRUE(IsOk(c().Delete(t, "q2")));
  EXPECT_TRUE(IsOk(upsert_as(kAdminKey, "q3", kP73)));
}

}  // namespace
}  // namespace router::itest
