// Fixture loading at startup (policy-and-decisions.md §10 Fixtures and §12 scenario 10;
// configuration.md policy_store.fixtures_dir / load_fixtures, exit code 1 for an invalid
// fixture): an invalid fixture aborts startup with `<file>: <path>: <text>`; valid fixtures are
// inserted as version 1 by `system:fixtures` without overwriting an existing key; a second
// start loads nothing.

#include <filesystem>

#include "audit_db.h"
#include "itest_support.h"

namespace router::itest {
namespace {

std::string StripNewline(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) s.pop_back();
  return s;
}

std::string JsonEscaped(const std::string& s) {
  std::string out;
  for (char ch : s) {
    if (ch == '"' || ch == '\\') out.push_back('\\');
    out.push_back(ch);
  }
  return out;
}

// True when `output` holds `<file name>: <message>`, as plain text (stderr) or inside a JSON log
// string (stdout).
bool HasFixtureError(const std::string& output, const std::string& file_name,
                     const std::string& message) {
  const std::string plain = file_name + ": " + message;
  return output.find(plain) != std::string::npos ||
         output.find(JsonEscaped(plain)) != std::string::npos;
}

std::string FixturesConfig(bool load) {
  return std::string("[policy_store]\nfixtures_dir = \"${TMP}/fixtures\"\nload_fixtures = ") +
         (load ? "true" : "false") + "\n";
}

// POL §12.10 (first part) for each examples/invalid file.
TEST(FixturesTest, InvalidFixtureAbortsStartup) {
  int count = 0;
  for (const auto& entry : std::filesystem::directory_iterator(SpecDir() + "/examples/invalid")) {
    if (entry.path().extension() != ".json") continue;
    const std::string name = entry.path().stem().string();
    SCOPED_TRACE(name);
    ++count;
    const std::string expected = StripNewline(router::testing::ReadWholeFile(
        (entry.path().parent_path() / (name + ".expected")).string()));
    RouterOptions opts;
    opts.config_toml = FixturesConfig(true);
    opts.env.push_back(AdminKeyEnv());
    RouterProcess router(opts);
    ASSERT_TRUE(router.WriteFile("fixtures/fx_tenant/good.json", kP73).ok());
    ASSERT_TRUE(router
                    .WriteFile("fixtures/fx_tenant/" + name + ".json",
                               router::testing::ReadWholeFile(entry.path().string()))
                    .ok());
    auto report = router.StartExpectingFailure();
    ASSERT_TRUE(report.ok()) << report.status();
    EXPECT_EQ(report->exit_code, 1) << report->stderr_text;
    EXPECT_TRUE(
        HasFixtureError(report->stdout_text + report->stderr_text, name + ".json", expected))
        << "want `" << name << ".json: " << expected << "`\n--- stdout:\n"
        << report->stdout_text << "\n--- stderr:\n"
        << report->stderr_text;

    // The load is one transaction: with the bad file removed, the next start loads the rest.
    if (count == 1) {
      std::filesystem::remove(router.temp_dir() + "/fixtures/fx_tenant/" + name + ".json");
      ASSERT_TRUE(StartReady(router).ok());
      Clients c(router.grpc_target());
      fv1::AdminPolicy got;
      ASSERT_TRUE(IsOk(c.Get("fx_tenant", "good", &got)));
      EXPECT_EQ(got.version(), 1);
      EXPECT_EQ(c.Get("fx_tenant", name, nullptr).error_code(), grpc::StatusCode::NOT_FOUND);
    }
  }
  EXPECT_EQ(count, 3);
}

// POL §12.10 (second part).
TEST(FixturesTest, ExistingKeyUntouchedAndSecondStartLoadsNothing) {
  const std::string existing_doc =
      R"({"version":"1.0","providers":[{"name":"existing","weight":100}]})";
  const std::string fixture_p1 =
      R"({"version":"1.0","providers":[{"name":"fixture","weight":100}]})";
  const std::string fixture_p2 =
      R"({"version":"1.0","providers":[{"name":"openai","weight":60},{"name":"mistral","weight":40}]})";
  RouterOptions opts;
  opts.config_toml = FixturesConfig(false);
  opts.env.push_back(AdminKeyEnv());
  RouterProcess router(opts);
  ASSERT_TRUE(router.WriteFile("fixtures/fx_tenant/p1.json", fixture_p1).ok());
  ASSERT_TRUE(router.WriteFile("fixtures/fx_tenant/p2.json", fixture_p2).ok());

  // Start 1, fixtures off: create the key that a fixture will also name.
  ASSERT_TRUE(StartReady(router).ok());
  {
    Clients c(router.grpc_target());
    EXPECT_EQ(c.Get("fx_tenant", "p2", nullptr).error_code(), grpc::StatusCode::NOT_FOUND)
        << "load_fixtures=false must load nothing";
    ASSERT_TRUE(IsOk(c.Upsert("fx_tenant", "p1", existing_doc)));
    // No built-in examples either: fixtures_dir replaces them.
    EXPECT_EQ(c.Get("default_tenant", "default", nullptr).error_code(),
              grpc::StatusCode::NOT_FOUND);
  }
  router.Kill();

  // Start 2, fixtures on: p1 untouched, p2 inserted as version 1 by system:fixtures.
  ASSERT_TRUE(router.SetConfigToml(FixturesConfig(true)).ok());
  ASSERT_TRUE(StartReady(router).ok());
  {
    Clients c(router.grpc_target());
    fv1::AdminPolicy p1, p2;
    ASSERT_TRUE(IsOk(c.Get("fx_tenant", "p1", &p1)));
    EXPECT_EQ(p1.version(), 1);
    EXPECT_EQ(p1.policy_json(),
              R"({"providers":[{"name":"existing","weight":100}],"version":"1.0"})");
    ASSERT_TRUE(IsOk(c.Get("fx_tenant", "p2", &p2)));
    EXPECT_EQ(p2.version(), 1);
    EXPECT_EQ(
        p2.policy_json(),
        R"({"providers":[{"name":"openai","weight":60},{"name":"mistral","weight":40}],"version":"1.0"})");
    fv1::RouteDecision d;
    ASSERT_TRUE(IsOk(c.Decide(MakeRequest("fx_tenant", "p1"), &d)));
    EXPECT_EQ(d.provider_id(), "existing");

    auto rows = ReadAudit(router.data_dir() + "/policies.db", "fx_tenant");
    ASSERT_TRUE(rows.ok()) << rows.status();
    bool fixture_row = false;
    std::string dump;
    for (const auto& r : *rows) {
      dump += AuditRowString(r) + "\n";
      if (r.principal == "system:fixtures" && r.resource.find("p2") != std::string::npos &&
          r.after_version == 1) {
        fixture_row = true;
      }
      EXPECT_EQ(r.resource.find("p1") != std::string::npos && r.principal == "system:fixtures",
                false)
          << "p1 must not be touched by the fixture load:\n"
          << dump;
    }
    EXPECT_TRUE(fixture_row) << dump;

    ASSERT_TRUE(IsOk(c.Delete("fx_tenant", "p2")));
  }
  router.Kill();

  // Start 3: a new fixture file and the deleted one are not loaded again.
  ASSERT_TRUE(router.WriteFile("fixtures/fx_tenant/p3.json", fixture_p1).ok());
  ASSERT_TRUE(StartReady(router).ok());
  {
    Clients c(router.grpc_target());
    EXPECT_EQ(c.Get("fx_tenant", "p2", nullptr).error_code(), grpc::StatusCode::NOT_FOUND);
    EXPECT_EQ(c.Get("fx_tenant", "p3", nullptr).error_code(), grpc::StatusCode::NOT_FOUND);
    fv1::AdminPolicy p1;
    ASSERT_TRUE(IsOk(c.Get("fx_tenant", "p1", &p1)));
    EXPECT_EQ(p1.version(), 1);
  }
}

}  // namespace
}  // namespace router::itest
