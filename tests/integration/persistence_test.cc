// Durability across a crash (policy-and-decisions.md §10 Persistence/Versions/Audit; grpc-api.md
// §6.4): upsert, SIGKILL the router, restart on the same data dir; policies, versions, deletes and
// audit rows survive, and versions continue from the high-water mark.

#include "audit_db.h"
#include "itest_support.h"

namespace router::itest {
namespace {

TEST(PersistenceTest, PoliciesVersionsAndAuditSurviveSigkill) {
  RouterOptions opts;
  opts.env.push_back(AdminKeyEnv());
  RouterProcess router(opts);
  ASSERT_TRUE(StartReady(router).ok());

  const std::string v2_doc =
      R"({"version":"1.0","providers":[{"name":"openai","weight":0.5},{"name":"anthropic","weight":0.5}]})";
  fv1::AdminPolicy before;
  {
    Clients c(router.grpc_target());
    ASSERT_TRUE(IsOk(c.Upsert("persist_tenant", "p", kP73)));
    ASSERT_TRUE(IsOk(c.Upsert("persist_tenant", "p", v2_doc)));
    ASSERT_TRUE(IsOk(c.Upsert("persist_tenant", "gone", kP73)));
    ASSERT_TRUE(IsOk(c.Delete("persist_tenant", "gone")));
    // A deleted fixture stays deleted (fixtures load once).
    ASSERT_TRUE(IsOk(c.Delete("default_tenant", "rate_limited")));
    ASSERT_TRUE(IsOk(c.Get("persist_tenant", "p", &before)));
    ASSERT_EQ(before.version(), 2);
  }

  router.Kill();  // SIGKILL: no graceful shutdown
  ASSERT_FALSE(router.Running());
  auto restarted = router.Restart();
  ASSERT_TRUE(restarted.ok()) << restarted;
  ASSERT_TRUE(WaitReady(router).ok());

  {
    Clients c(router.grpc_target());
    fv1::AdminPolicy after;
    ASSERT_TRUE(IsOk(c.Get("persist_tenant", "p", &after)));
    EXPECT_EQ(after.version(), 2);
    EXPECT_EQ(after.policy_json(), before.policy_json());
    fv1::RouteDecision d;
    ASSERT_TRUE(IsOk(c.Decide(MakeRequest("persist_tenant", "p"), &d)));
    EXPECT_EQ(d.policy_version(), 2);
    EXPECT_EQ(c.Get("persist_tenant", "gone", nullptr).error_code(), grpc::StatusCode::NOT_FOUND);
    EXPECT_EQ(c.Get("default_tenant", "rate_limited", nullptr).error_code(),
              grpc::StatusCode::NOT_FOUND);
    fv1::AdminPolicy fixture;
    ASSERT_TRUE(IsOk(c.Get("default_tenant", "default", &fixture)));
    EXPECT_EQ(fixture.version(), 1);

    // Versions continue after the restart, also for the deleted key.
    ASSERT_TRUE(IsOk(c.Upsert("persist_tenant", "p", kP73)));
    ASSERT_TRUE(IsOk(c.Get("persist_tenant", "p", &after)));
    EXPECT_EQ(after.version(), 3);
    ASSERT_TRUE(IsOk(c.Upsert("persist_tenant", "gone", kP73)));
    ASSERT_TRUE(IsOk(c.Get("persist_tenant", "gone", &after)));
    EXPECT_EQ(after.version(), 2);

    auto rows = ReadAudit(router.data_dir() + "/policies.db", "persist_tenant");
    ASSERT_TRUE(rows.ok()) << rows.status();
    std::string dump;
    for (const auto& r : *rows) dump += AuditRowString(r) + "\n";
    ASSERT_EQ(rows->size(), 6u) << dump;
    // before -> after per row; -1 = not checked (a re-created key's "before" may be 0 or the
    // deleted version: the spec leaves it open).
    const std::vector<std::pair<int64_t, int64_t>> versions = {{0, 1}, {1, 2}, {0, 1},
                                                               {1, 0}, {2, 3}, {-1, 2}};
    for (size_t i = 0; i < versions.size(); ++i) {
      SCOPED_TRACE("audit row " + std::to_string(i));
      EXPECT_EQ((*rows)[i].principal, "admin");
      if (versions[i].first >= 0) {
        EXPECT_EQ((*rows)[i].before_version, versions[i].first) << dump;
      }
      EXPECT_EQ((*rows)[i].after_version, versions[i].second) << dump;
      EXPECT_EQ((*rows)[i].result, "ok") << dump;
    }
    EXPECT_NE((*rows)[3].action, (*rows)[0].action) << "a delete is not an upsert: " << dump;
  }  // closes the client connection: an idle open connection delays the router's exit by ~5 s

  // Graceful shutdown exits 0 (OBS §7.4).
  auto code = router.Terminate();
  ASSERT_TRUE(code.ok()) << code.status();
  EXPECT_EQ(*code, 0) << router.ReadStderr();
}

}  // namespace
}  // namespace router::itest
