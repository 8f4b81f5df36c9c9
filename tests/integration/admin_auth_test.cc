// RouterAdmin authentication, RBAC and the key-only status methods over gRPC: grpc-api.md §13
// scenarios 20, 24 and 29 (GetCheckpointStatus / GetValidatorsHealth part); §5.3 effective
// tenant.

#include <algorithm>

#include "itest_support.h"

namespace router::itest {
namespace {

constexpr char kUnauthenticated[] = "missing or invalid API key";

class AdminAuthTest : public SharedRouterTest {
 protected:
  // GetPolicy with arbitrary headers (no x-api-key added).
  grpc::Status GetWithHeaders(const std::vector<std::pair<std::string, std::string>>& headers,
                              const std::string& tenant = "test_tenant",
                              const std::string& policy_id = "anything") {
    grpc::ClientContext ctx;
    SetDeadline(ctx);
    for (const auto& [k, v] : headers) ctx.AddMetadata(k, v);
    fv1::GetPolicyRequest req;
    req.set_tenant_id(tenant);
    req.set_policy_id(policy_id);
    fv1::GetPolicyResponse resp;
    return c().admin->GetPolicy(&ctx, req, &resp);
  }
};

// §13.20: every malformed credential is UNAUTHENTICATED, even with an undecodable body.
TEST_F(AdminAuthTest, Scenario20BadCredentials) {
  const std::vector<std::vector<std::pair<std::string, std::string>>> cases = {
      {},
      {{"x-api-key", "wrong-key"}},
      {{"x-api-key", ""}},
      {{"authorization", "Bearer"}},
      {{"authorization", "Bearer "}},
      {{"authorization", "Bearer  "}},
      {{"authorization", kAdminKey}},                          // bare key
      {{"authorization", std::string("Basic ") + kAdminKey}},  // other scheme
      {{"x-api-key", "short"}},                                // < 8 bytes
      // x-api-key wins whenever present (even empty), so a valid bearer does not help.
      {{"x-api-key", ""}, {"authorization", std::string("Bearer ") + kAdminKey}},
      // Repeated credentials fail.
      {{"x-api-key", kAdminKey}, {"x-api-key", kAdminKey}},
  };
  for (size_t i = 0; i < cases.size(); ++i) {
    SCOPED_TRACE("case " + std::to_string(i));
    EXPECT_TRUE(IsError(GetWithHeaders(cases[i]), grpc::StatusCode::UNAUTHENTICATED,
                        kUnauthenticated, "unauthenticated"));
    // Authentication runs before decoding.
    RawResult raw = RawUnary(channel(), "/beamline.flow.v1.RouterAdmin/UpsertPolicy",
                             std::string(12, '\xff'), cases[i]);
    EXPECT_TRUE(IsError(raw.status, grpc::StatusCode::UNAUTHENTICATED, kUnauthenticated,
                        "unauthenticated"));
  }
  // `Bearer\t` cannot be sent from this client: gRPC core aborts the process on a tab in a
  // metadata value (validate_metadata "Illegal header value", GRPC_CALL_ERROR_INVALID_METADATA),
  // so that case belongs to the unit tests of the credential parser.

  // Valid credentials in both forms; the scheme is case-insensitive.
  EXPECT_EQ(GetWithHeaders({{"x-api-key", kAdminKey}}).error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(GetWithHeaders({{"authorization", std::string("Bearer ") + kAdminKey}}).error_code(),
            grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(GetWithHeaders({{"authorization", std::string("bearer   ") + kAdminKey}}).error_code(),
            grpc::StatusCode::NOT_FOUND);
  // With a valid key an undecodable body is INVALID_ARGUMENT `invalid <RequestName>`.
  RawResult raw = RawUnary(channel(), "/beamline.flow.v1.RouterAdmin/UpsertPolicy",
                           std::string(12, '\xff'), {{"x-api-key", kAdminKey}});
  EXPECT_TRUE(IsError(raw.status, grpc::StatusCode::INVALID_ARGUMENT, "invalid UpsertPolicyRequest",
                      "invalid_request"));
}

// §13.24: RBAC on test_tenant.
TEST_F(AdminAuthTest, Scenario24Rbac) {
  const std::string t = "test_tenant";
  // admin upserts / gets / lists / deletes.
  ASSERT_TRUE(IsOk(c().Upsert(t, "rbac_admin", kP73, kAdminKey)));
  EXPECT_TRUE(IsOk(c().Get(t, "rbac_admin", nullptr, kAdminKey)));
  EXPECT_TRUE(IsOk(c().List(t, nullptr, kAdminKey)));
  EXPECT_TRUE(IsOk(c().Delete(t, "rbac_admin", kAdminKey)));

  // operator upserts (and reads); delete is denied.
  ASSERT_TRUE(IsOk(c().Upsert(t, "rbac_operator", kP73, kOperatorKey)));
  EXPECT_TRUE(IsOk(c().Get(t, "rbac_operator", nullptr, kOperatorKey)));
  EXPECT_TRUE(
      IsError(c().Delete(t, "rbac_operator", kOperatorKey), grpc::StatusCode::PERMISSION_DENIED,
              "permission denied: delete on tenant \"test_tenant\" required", "permission_denied"));

  // viewer gets / lists / dry-runs; upsert and delete are denied.
  fv1::AdminPolicy got;
  EXPECT_TRUE(IsOk(c().Get(t, "rbac_operator", &got, kViewerKey)));
  EXPECT_EQ(got.policy_id(), "rbac_operator");
  std::vector<fv1::AdminPolicy> list;
  EXPECT_TRUE(IsOk(c().List(t, &list, kViewerKey)));
  EXPECT_FALSE(list.empty());
  fv1::DryRunResponse dry;
  EXPECT_TRUE(IsOk(c().DryRun(MakeRequest(t, "rbac_operator"), &dry, kViewerKey)));
  EXPECT_EQ(dry.status_code(), 0) << dry.status_message();
  EXPECT_TRUE(
      IsError(c().Upsert(t, "rbac_viewer", kP73, kViewerKey), grpc::StatusCode::PERMISSION_DENIED,
              "permission denied: write on tenant \"test_tenant\" required", "permission_denied"));
  EXPECT_TRUE(
      IsError(c().Delete(t, "rbac_operator", kViewerKey), grpc::StatusCode::PERMISSION_DENIED,
              "permission denied: delete on tenant \"test_tenant\" required", "permission_denied"));

  // No role on the tenant, or admin only on other_tenant.
  const std::string read_denied = "permission denied: read on tenant \"test_tenant\" required";
  EXPECT_TRUE(IsError(c().Get(t, "rbac_operator", nullptr, kNoRoleKey),
                      grpc::StatusCode::PERMISSION_DENIED, read_denied, "permission_denied"));
  EXPECT_TRUE(IsError(c().List(t, nullptr, kNoRoleKey), grpc::StatusCode::PERMISSION_DENIED,
                      read_denied, "permission_denied"));
  EXPECT_TRUE(IsError(c().DryRun(MakeRequest(t, "rbac_operator"), &dry, kNoRoleKey),
                      grpc::StatusCode::PERMISSION_DENIED, read_denied, "permission_denied"));
  EXPECT_TRUE(IsError(
      c().Upsert(t, "rbac_other", kP73, kOtherAdminKey), grpc::StatusCode::PERMISSION_DENIED,
      "permission denied: write on tenant \"test_tenant\" required", "permission_denied"));
  EXPECT_TRUE(IsOk(c().Upsert("other_tenant", "rbac_other", kP73, kOtherAdminKey)));

  // x-user-id grants nothing.
  {
    auto ctx = Ctx(kViewerKey);
    ctx->AddMetadata("x-user-id", "admin");
    fv1::UpsertPolicyRequest req;
    req.set_tenant_id(t);
    req.mutable_policy()->set_policy_id("rbac_claimed");
    req.mutable_policy()->set_policy_json(kP73);
    fv1::UpsertPolicyResponse resp;
    EXPECT_TRUE(IsError(
        c().admin->UpsertPolicy(ctx.get(), req, &resp), grpc::StatusCode::PERMISSION_DENIED,
        "permission denied: write on tenant \"test_tenant\" required", "permission_denied"));
  }
  {
    auto ctx = Ctx(kAdminKey);
    ctx->AddMetadata("x-user-id", "someone.else@example.com");
    fv1::DeletePolicyRequest req;
    req.set_tenant_id(t);
    req.set_policy_id("rbac_operator");
    fv1::DeletePolicyResponse resp;
    EXPECT_TRUE(IsOk(c().admin->DeletePolicy(ctx.get(), req, &resp)));
    EXPECT_TRUE(resp.ok());
  }
}

// §5.3: effective tenant (body wins, header fallback, conflicts rejected).
TEST_F(AdminAuthTest, EffectiveTenant) {
  ASSERT_TRUE(IsOk(c().Upsert("eff_tenant", "p", kP73)));
  EXPECT_TRUE(
      IsOk(GetWithHeaders({{"x-api-key", kAdminKey}, {"x-tenant-id", "eff_tenant"}}, "", "p")));
  EXPECT_TRUE(IsOk(GetWithHeaders({{"x-api-key", kAdminKey}, {"x-tenant-id", "eff_tenant"}},
                                  "eff_tenant", "p")));
  EXPECT_TRUE(IsError(
      GetWithHeaders({{"x-api-key", kAdminKey}, {"x-tenant-id", "other"}}, "eff_tenant", "p"),
      grpc::StatusCode::INVALID_ARGUMENT,
      "tenant_id mismatch between request and x-tenant-id header", "invalid_request"));
  EXPECT_TRUE(IsError(GetWithHeaders({{"x-api-key", kAdminKey}}, "", "p"),
                      grpc::StatusCode::INVALID_ARGUMENT, "tenant_id cannot be empty",
                      "invalid_request"));
  EXPECT_TRUE(IsError(GetWithHeaders({{"x-api-key", kAdminKey}}, "*", "p"),
                      grpc::StatusCode::INVALID_ARGUMENT,
                      "tenant_id must match ^[A-Za-z0-9_.-]{1,255}$", "invalid_request"));
  EXPECT_TRUE(IsError(GetWithHeaders({{"x-api-key", kAdminKey}}, "eff_tenant", ""),
                      grpc::StatusCode::INVALID_ARGUMENT,
                      "invalid GetPolicyRequest: policy_id is required", "invalid_request"));
  EXPECT_TRUE(IsError(c().Delete("eff_tenant", ""), grpc::StatusCode::INVALID_ARGUMENT,
                      "invalid DeletePolicyRequest: policy_id is required", "invalid_request"));
  EXPECT_TRUE(IsError(c().List("", nullptr), grpc::StatusCode::INVALID_ARGUMENT,
                      "tenant_id cannot be empty", "invalid_request"));
  // Authentication comes before the tenant checks.
  EXPECT_TRUE(IsError(GetWithHeaders({{"x-api-key", "wrong-key"}}, "", ""),
                      grpc::StatusCode::UNAUTHENTICATED, kUnauthenticated, "unauthenticated"));
}

// §13.29 (status methods) / §10.
TEST_F(AdminAuthTest, Scenario29CheckpointAndValidators) {
  for (const char* key : {kAdminKey, kViewerKey, kNoRoleKey}) {
    SCOPED_TRACE(key);
    fv1::GetCheckpointStatusResponse cp;
    auto ctx = Ctx(key);
    ASSERT_TRUE(IsOk(c().admin->GetCheckpointStatus(ctx.get(), {}, &cp)));
    EXPECT_EQ(cp.status().current_cp(), "CP2-baseline");
    EXPECT_TRUE(cp.status().cp2_plus_allowed());
    EXPECT_GT(cp.status().updated_at_ms(), 1'600'000'000'000);

    fv1::GetValidatorsHealthResponse vh;
    auto ctx2 = Ctx(key);
    ASSERT_TRUE(IsOk(c().admin->GetValidatorsHealth(ctx2.get(), {}, &vh)));
    ASSERT_GE(vh.validators_size(), 1);
    EXPECT_EQ(vh.validators(0).name(), "grpc_health");
    EXPECT_EQ(vh.validators(0).status(), "serving");
    std::vector<std::string> names;
    for (const auto& v : vh.validators()) {
      names.push_back(v.name());
      EXPECT_EQ(v.status(), "serving") << v.name() << ": " << v.details();
      EXPECT_GT(v.timestamp_ms(), 1'600'000'000'000);
    }
    // OBS §7.2 order without NATS (a trailing `shutdown` entry is tolerated).
    ASSERT_GE(names.size(), 4u);
    EXPECT_EQ(std::vector<std::string>(names.begin(), names.begin() + 4),
              (std::vector<std::string>{"grpc_health", "config", "store", "grpc"}));
    EXPECT_EQ(std::count(names.begin(), names.end(), "nats"), 0);
  }
  // updated_at_ms is stable (process start / config load), not "now".
  fv1::GetCheckpointStatusResponse a, b;
  auto ca = Ctx(kAdminKey);
  auto cb = Ctx(kAdminKey);
  ASSERT_TRUE(IsOk(c().admin->GetCheckpointStatus(ca.get(), {}, &a)));
  ASSERT_TRUE(IsOk(c().admin->GetCheckpointStatus(cb.get(), {}, &b)));
  EXPECT_EQ(a.status().updated_at_ms(), b.status().updated_at_ms());

  fv1::GetCheckpointStatusResponse cp;
  auto no_key = Ctx();
  EXPECT_TRUE(IsError(c().admin->GetCheckpointStatus(no_key.get(), {}, &cp),
                      grpc::StatusCode::UNAUTHENTICATED, kUnauthenticated, "unauthenticated"));
  fv1::GetValidatorsHealthResponse vh;
  auto no_key2 = Ctx();
  EXPECT_TRUE(IsError(c().admin->GetValidatorsHealth(no_key2.get(), {}, &vh),
                      grpc::StatusCode::UNAUTHENTICATED, kUnauthenticated, "unauthenticated"));
}

// §13.20 (last part): no principal configured -> admin API disabled, before anything else.
TEST(AdminDisabledTest, Scenario20NoKeyConfigured) {
  RouterProcess router(RouterOptions{});
  ASSERT_TRUE(StartReady(router).ok());
  Clients cl(router.grpc_target());
  const std::string disabled = "admin API disabled: no admin key configured";
  for (const std::string& key : {std::string(""), std::string(kAdminKey)}) {
    EXPECT_TRUE(IsError(cl.Get("default_tenant", "default", nullptr, key),
                        grpc::StatusCode::UNAUTHENTICATED, disabled, "admin_disabled"));
    fv1::GetCheckpointStatusResponse cp;
    auto ctx = Ctx(key);
    EXPECT_TRUE(IsError(cl.admin->GetCheckpointStatus(ctx.get(), {}, &cp),
                        grpc::StatusCode::UNAUTHENTICATED, disabled, "admin_disabled"));
  }
  RawResult raw = RawUnary(cl.channel.get(), "/beamline.flow.v1.RouterAdmin/UpsertPolicy",
                           std::string(12, '\xff'));
  EXPECT_TRUE(IsError(raw.status, grpc::StatusCode::UNAUTHENTICATED, disabled, "admin_disabled"));
  // The data plane is unaffected.
  fv1::RouteDecision d;
  EXPECT_TRUE(IsOk(cl.Decide(MakeRequest("default_tenant", "default"), &d)));
}

}  // namespace
}  // namespace router::itest
