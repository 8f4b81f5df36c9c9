// RouterAdmin policy methods over gRPC against a running router: grpc-api.md §13 scenarios 19,
// 21, 22, 25, 26, 28; policy-and-decisions.md §12.32 (store versions through gRPC); every
// examples/*.json upserts, every examples/invalid/*.json is rejected with its .expected text.

#include <atomic>
#include <filesystem>
#include <latch>
#include <thread>

#include "itest_support.h"

namespace router::itest {
namespace {

class AdminPolicyTest : public SharedRouterTest {
 protected:
  // Upsert through the legacy AdminPolicy fields (policy_json empty).
  grpc::Status UpsertLegacy(const std::string& tenant, const fv1::AdminPolicy& policy) {
    fv1::UpsertPolicyRequest req;
    req.set_tenant_id(tenant);
    *req.mutable_policy() = policy;
    fv1::UpsertPolicyResponse resp;
    auto ctx = Ctx(kAdminKey);
    grpc::Status s = c().admin->UpsertPolicy(ctx.get(), req, &resp);
    if (s.ok()) {
      EXPECT_TRUE(resp.ok());
    }
    return s;
  }
};

std::string StripNewline(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) s.pop_back();
  return s;
}

// §13.19: the predecessor's case with a model-style provider id.
TEST_F(AdminPolicyTest, Scenario19ModelStyleProviderId) {
  fv1::AdminPolicy p;
  p.set_policy_id("test_policy_1");
  auto* prov = p.add_providers();
  prov->set_id("openai:gpt-4");
  prov->set_weight(1.0);
  ASSERT_TRUE(IsOk(UpsertLegacy("s19_tenant", p)));

  fv1::AdminPolicy got;
  ASSERT_TRUE(IsOk(c().Get("s19_tenant", "test_policy_1", &got)));
  EXPECT_EQ(got.policy_id(), "test_policy_1");
  EXPECT_EQ(got.version(), 1);
  EXPECT_NE(got.policy_json().find(R"("name":"openai:gpt-4")"), std::string::npos)
      << got.policy_json();
  EXPECT_NE(got.policy_json().find(R"("weight":1.0)"), std::string::npos) << got.policy_json();
  ASSERT_EQ(got.providers_size(), 1);
  EXPECT_EQ(got.providers(0).id(), "openai:gpt-4");
  EXPECT_DOUBLE_EQ(got.providers(0).weight(), 1.0);

  for (const std::string& bad_id : {std::string("open ai"), std::string(129, 'a')}) {
    fv1::AdminPolicy bad;
    bad.set_policy_id("test_policy_bad");
    auto* b = bad.add_providers();
    b->set_id(bad_id);
    b->set_weight(1.0);
    grpc::Status s = UpsertLegacy("s19_tenant", bad);
    EXPECT_TRUE(IsError(s, grpc::StatusCode::INVALID_ARGUMENT,
                        "providers[0].name: must match ^[A-Za-z0-9_.:/-]{1,128}$",
                        "invalid_policy"));
    auto br = BadRequestOf(s);
    ASSERT_TRUE(br.has_value()) << "no google.rpc.BadRequest";
    ASSERT_GE(br->field_violations_size(), 1);
    EXPECT_EQ(br->field_violations(0).field(), "providers[0].name");
  }
  // 128 bytes is still valid.
  fv1::AdminPolicy max_len;
  max_len.set_policy_id("test_policy_128");
  auto* m = max_len.add_providers();
  m->set_id(std::string(128, 'a'));
  m->set_weight(1.0);
  EXPECT_TRUE(IsOk(UpsertLegacy("s19_tenant", max_len)));
}

// §13.21: validation messages and BadRequest.
TEST_F(AdminPolicyTest, Scenario21ValidationErrors) {
  fv1::AdminPolicy heavy;
  heavy.set_policy_id("heavy");
  auto* h = heavy.add_providers();
  h->set_id("openai");
  h->set_weight(1.5);
  EXPECT_TRUE(IsError(UpsertLegacy("s21_tenant", heavy), grpc::StatusCode::INVALID_ARGUMENT,
                      "providers[0].weight: must be between 0.0 and 1.0", "invalid_policy"));

  fv1::AdminPolicy prefer;
  prefer.set_policy_id("prefer");
  auto* pp = prefer.add_providers();
  pp->set_id("openai");
  pp->set_weight(1.0);
  auto* rule = prefer.add_rules();
  rule->set_match("status:timeout");
  rule->add_prefer("anthropic");
  rule->set_fallback("anthropic");
  EXPECT_TRUE(IsError(UpsertLegacy("s21_tenant", prefer), grpc::StatusCode::INVALID_ARGUMENT,
                      "rules[0].prefer: unsupported", "invalid_policy"));

  grpc::Status s =
      c().Upsert("s21_tenant", "unknown_key",
                 R"({"version":"1.0","providers":[{"name":"a","weight":100}],"bogus":1})");
  EXPECT_TRUE(
      IsError(s, grpc::StatusCode::INVALID_ARGUMENT, "bogus: unknown key", "invalid_policy"));
  auto br = BadRequestOf(s);
  ASSERT_TRUE(br.has_value()) << "no google.rpc.BadRequest";
  ASSERT_GE(br->field_violations_size(), 1);
  EXPECT_EQ(br->field_violations(0).field(), "bogus");
  EXPECT_EQ(br->field_violations(0).description(), "unknown key");

  // Several violations: the first is the message, all (up to 20) are in BadRequest.
  s = c().Upsert(
      "s21_tenant", "many",
      R"({"version":"1.0","providers":[{"name":"a","weight":150},{"name":"b","weight":200}],"x":1})");
  EXPECT_TRUE(IsError(s, grpc::StatusCode::INVALID_ARGUMENT,
                      "providers[0].weight: must be between 0 and 100", "invalid_policy"));
  br = BadRequestOf(s);
  ASSERT_TRUE(br.has_value());
  ASSERT_EQ(br->field_violations_size(), 3) << br->ShortDebugString();
  EXPECT_EQ(br->field_violations(1).field(), "providers[1].weight");
  EXPECT_EQ(br->field_violations(2).field(), "x");

  // policy_id pattern (§6.1) and a missing policy.
  EXPECT_TRUE(IsError(c().Upsert("s21_tenant", "", kP73), grpc::StatusCode::INVALID_ARGUMENT,
                      "policy_id: must match ^[A-Za-z0-9_.-]{1,255}$"));
  fv1::UpsertPolicyRequest no_policy;
  no_policy.set_tenant_id("s21_tenant");
  fv1::UpsertPolicyResponse resp;
  auto ctx = Ctx(kAdminKey);
  EXPECT_TRUE(IsError(c().admin->UpsertPolicy(ctx.get(), no_policy, &resp),
                      grpc::StatusCode::INVALID_ARGUMENT,
                      "invalid UpsertPolicyRequest: policy is required", "invalid_request"));
  // Nothing was stored.
  std::vector<fv1::AdminPolicy> list;
  ASSERT_TRUE(IsOk(c().List("s21_tenant", &list)));
  EXPECT_TRUE(list.empty());
}

// §13.22: list, get/delete of unknown policies.
TEST_F(AdminPolicyTest, Scenario22ListGetDelete) {
  // Inserted out of order; the listing is sorted by policy_id.
  for (const char* id : {"test_policy_3", "test_policy_1", "test_policy_2"}) {
    ASSERT_TRUE(IsOk(c().Upsert("s22_tenant", id, kP73)));
  }
  std::vector<fv1::AdminPolicy> list;
  ASSERT_TRUE(IsOk(c().List("s22_tenant", &list)));
  ASSERT_EQ(list.size(), 3u);
  EXPECT_EQ(list[0].policy_id(), "test_policy_1");
  EXPECT_EQ(list[1].policy_id(), "test_policy_2");
  EXPECT_EQ(list[2].policy_id(), "test_policy_3");
  for (const auto& p : list) {
    EXPECT_EQ(p.version(), 1);
    EXPECT_FALSE(p.policy_json().empty());
    EXPECT_EQ(p.providers_size(), 2);
  }

  const std::string missing = "policy \"non_existent_policy\" not found for tenant \"s22_tenant\"";
  EXPECT_TRUE(IsError(c().Get("s22_tenant", "non_existent_policy", nullptr),
                      grpc::StatusCode::NOT_FOUND, missing, "not_found"));
  EXPECT_TRUE(IsError(c().Delete("s22_tenant", "non_existent_policy"), grpc::StatusCode::NOT_FOUND,
                      missing, "not_found"));
  ASSERT_TRUE(IsOk(c().Delete("s22_tenant", "test_policy_1")));
  EXPECT_TRUE(IsError(c().Delete("s22_tenant", "test_policy_1"), grpc::StatusCode::NOT_FOUND,
                      "policy \"test_policy_1\" not found for tenant \"s22_tenant\"", "not_found"));
  ASSERT_TRUE(IsOk(c().List("s22_tenant", &list)));
  EXPECT_EQ(list.size(), 2u);
  // Another tenant's policy is indistinguishable from none; an empty tenant lists nothing.
  EXPECT_TRUE(IsError(c().Get("s22_other", "test_policy_2", nullptr), grpc::StatusCode::NOT_FOUND,
                      "policy \"test_policy_2\" not found for tenant \"s22_other\"", "not_found"));
  ASSERT_TRUE(IsOk(c().List("s22_other", &list)));
  EXPECT_TRUE(list.empty());
}

// §13.25 / §6.2: legacy round trip and canonical form.
TEST_F(AdminPolicyTest, Scenario25LegacyRoundTripAndCanonicalForm) {
  fv1::AdminPolicy legacy;
  legacy.set_policy_id("legacy");
  auto* a = legacy.add_providers();
  a->set_id("openai");
  a->set_weight(0.7);
  auto* b = legacy.add_providers();
  b->set_id("anthropic");
  b->set_weight(0.3);
  legacy.set_sticky(true);
  auto* rule = legacy.add_rules();
  rule->set_match("status:timeout|5xx");
  rule->set_fallback("anthropic");
  ASSERT_TRUE(IsOk(UpsertLegacy("s25_tenant", legacy)));

  fv1::AdminPolicy got;
  ASSERT_TRUE(IsOk(c().Get("s25_tenant", "legacy", &got)));
  EXPECT_EQ(got.version(), 1);
  ASSERT_EQ(got.providers_size(), 2);
  EXPECT_EQ(got.providers(0).id(), "openai");
  EXPECT_DOUBLE_EQ(got.providers(0).weight(), 0.7);
  EXPECT_EQ(got.providers(1).id(), "anthropic");
  EXPECT_DOUBLE_EQ(got.providers(1).weight(), 0.3);
  EXPECT_TRUE(got.sticky());
  ASSERT_EQ(got.rules_size(), 1);
  EXPECT_EQ(got.rules(0).match(), "status:timeout|5xx");
  EXPECT_EQ(got.rules(0).fallback(), "anthropic");
  EXPECT_EQ(got.rules(0).prefer_size(), 0);

  // Re-upserting the reply is `unchanged` (policy_json wins and equals the stored document).
  fv1::AdminPolicy again = got;
  again.set_version(0);
  ASSERT_TRUE(IsOk(UpsertLegacy("s25_tenant", again)));
  // The legacy fields alone, re-upserted, are unchanged too.
  fv1::AdminPolicy legacy_view = got;
  legacy_view.clear_policy_json();
  legacy_view.set_version(0);
  ASSERT_TRUE(IsOk(UpsertLegacy("s25_tenant", legacy_view)));
  ASSERT_TRUE(IsOk(c().Get("s25_tenant", "legacy", &got)));
  EXPECT_EQ(got.version(), 1);

  // policy_json with spaces and unsorted keys -> canonical form; upserting that is unchanged.
  ASSERT_TRUE(
      IsOk(c().Upsert("s25_tenant", "canonical",
                      "{ \"providers\" : [ { \"weight\" : 70, \"name\" : \"openai\" },\n"
                      "  {\"name\":\"anthropic\",   \"weight\":30} ],\n  \"version\": \"1.0\" }")));
  ASSERT_TRUE(IsOk(c().Get("s25_tenant", "canonical", &got)));
  EXPECT_EQ(
      got.policy_json(),
      R"({"providers":[{"name":"openai","weight":70},{"name":"anthropic","weight":30}],"version":"1.0"})");
  EXPECT_EQ(got.version(), 1);
  ASSERT_TRUE(IsOk(c().Upsert("s25_tenant", "canonical", got.policy_json())));
  ASSERT_TRUE(IsOk(c().Get("s25_tenant", "canonical", &got)));
  EXPECT_EQ(got.version(), 1);
}

// §13.26 and POL §12.32: store versions through gRPC.
TEST_F(AdminPolicyTest, Scenario26Versions) {
  const std::string v1_doc = kP73;
  const std::string v2_doc =
      R"({"version":"1.0","providers":[{"name":"openai","weight":0.5},{"name":"anthropic","weight":0.5}]})";
  fv1::AdminPolicy got;
  ASSERT_TRUE(IsOk(c().Upsert("s26_tenant", "versioned", v1_doc)));
  ASSERT_TRUE(IsOk(c().Get("s26_tenant", "versioned", &got)));
  EXPECT_EQ(got.version(), 1);
  ASSERT_TRUE(IsOk(c().Upsert("s26_tenant", "versioned", v1_doc)));
  ASSERT_TRUE(IsOk(c().Get("s26_tenant", "versioned", &got)));
  EXPECT_EQ(got.version(), 1) << "an identical upsert keeps the version";
  ASSERT_TRUE(IsOk(c().Upsert("s26_tenant", "versioned", v2_doc)));
  ASSERT_TRUE(IsOk(c().Get("s26_tenant", "versioned", &got)));
  EXPECT_EQ(got.version(), 2);

  EXPECT_TRUE(IsError(c().Upsert("s26_tenant", "versioned", v1_doc, kAdminKey, /*version=*/1),
                      grpc::StatusCode::ABORTED, "version conflict: current version is 2",
                      "version_conflict"));
  EXPECT_TRUE(IsError(c().Upsert("s26_tenant", "absent", v1_doc, kAdminKey, /*version=*/3),
                      grpc::StatusCode::ABORTED, "version conflict: current version is 0",
                      "version_conflict"));
  ASSERT_TRUE(IsOk(c().Get("s26_tenant", "versioned", &got)));
  EXPECT_EQ(got.version(), 2);

  ASSERT_TRUE(IsOk(c().Delete("s26_tenant", "versioned")));
  EXPECT_TRUE(IsError(c().Get("s26_tenant", "versioned", nullptr), grpc::StatusCode::NOT_FOUND,
                      "policy \"versioned\" not found for tenant \"s26_tenant\"", "not_found"));
  ASSERT_TRUE(IsOk(c().Upsert("s26_tenant", "versioned", v1_doc)));
  ASSERT_TRUE(IsOk(c().Get("s26_tenant", "versioned", &got)));
  EXPECT_EQ(got.version(), 3) << "versions are never reused after a delete";

  fv1::RouteDecision d;
  ASSERT_TRUE(IsOk(c().Decide(MakeRequest("s26_tenant", "versioned"), &d)));
  EXPECT_EQ(d.policy_version(), 3);
  EXPECT_EQ(Meta(d, "policy_version"), "3");

  // A matching precondition succeeds.
  ASSERT_TRUE(IsOk(c().Upsert("s26_tenant", "versioned", v2_doc, kAdminKey, /*version=*/3)));
  ASSERT_TRUE(IsOk(c().Get("s26_tenant", "versioned", &got)));
  EXPECT_EQ(got.version(), 4);
}

// §13.28: parallel admin calls.
TEST_F(AdminPolicyTest, Scenario28ParallelAdminCalls) {
  const std::string target = SharedRouter().process->grpc_target();
  auto run_parallel = [&](int n, const std::function<grpc::Status(Clients&, int)>& fn) {
    std::vector<grpc::Status> results(n);
    std::latch start(n);
    std::vector<std::thread> threads;
    for (int i = 0; i < n; ++i) {
      threads.emplace_back([&, i] {
        Clients local(target);
        start.arrive_and_wait();
        results[i] = fn(local, i);
      });
    }
    for (auto& t : threads) t.join();
    return results;
  };
  // 10 across tenants and 10 in one tenant, all at once.
  auto upserts = run_parallel(20, [](Clients& cl, int i) {
    if (i < 10) return cl.Upsert("s28_t" + std::to_string(i), "p", kP73);
    return cl.Upsert("s28_one", "p" + std::to_string(i - 10), kP73);
  });
  for (int i = 0; i < 20; ++i) EXPECT_TRUE(IsOk(upserts[i])) << "upsert " << i;
  for (int i = 0; i < 10; ++i) {
    fv1::AdminPolicy got;
    EXPECT_TRUE(IsOk(c().Get("s28_t" + std::to_string(i), "p", &got)));
    EXPECT_EQ(got.version(), 1);
    EXPECT_TRUE(IsOk(c().Get("s28_one", "p" + std::to_string(i), &got)));
    EXPECT_EQ(got.version(), 1);
  }
  std::vector<size_t> sizes(5);
  auto lists = run_parallel(5, [&](Clients& cl, int i) {
    std::vector<fv1::AdminPolicy> out;
    grpc::Status s = cl.List("s28_one", &out);
    sizes[i] = out.size();
    return s;
  });
  for (int i = 0; i < 5; ++i) {
    EXPECT_TRUE(IsOk(lists[i]));
    EXPECT_EQ(sizes[i], 10u);
  }
  auto deletes = run_parallel(20, [](Clients& cl, int i) {
    if (i < 10) return cl.Delete("s28_t" + std::to_string(i), "p");
    return cl.Delete("s28_one", "p" + std::to_string(i - 10));
  });
  for (int i = 0; i < 20; ++i) EXPECT_TRUE(IsOk(deletes[i])) << "delete " << i;
  for (int i = 0; i < 10; ++i) {
    EXPECT_EQ(c().Get("s28_t" + std::to_string(i), "p", nullptr).error_code(),
              grpc::StatusCode::NOT_FOUND);
    EXPECT_EQ(c().Get("s28_one", "p" + std::to_string(i), nullptr).error_code(),
              grpc::StatusCode::NOT_FOUND);
  }
}

// POL §1.5: every example policy validates and is stored as version 1.
TEST_F(AdminPolicyTest, AllExamplesUpsert) {
  int count = 0;
  for (const auto& entry : std::filesystem::directory_iterator(SpecDir() + "/examples")) {
    if (entry.path().extension() != ".json") continue;
    const std::string id = entry.path().stem().string();
    SCOPED_TRACE(id);
    ++count;
    ASSERT_TRUE(IsOk(
        c().Upsert("examples_tenant", id, router::testing::ReadWholeFile(entry.path().string()))));
    fv1::AdminPolicy got;
    ASSERT_TRUE(IsOk(c().Get("examples_tenant", id, &got)));
    EXPECT_EQ(got.version(), 1);
    // The built-in fixture of the same name holds the same document.
    fv1::AdminPolicy fixture;
    ASSERT_TRUE(IsOk(c().Get("default_tenant", id, &fixture)));
    EXPECT_EQ(fixture.policy_json(), got.policy_json());
    EXPECT_EQ(fixture.version(), 1);
  }
  EXPECT_EQ(count, 7);
}

// POL §1.5: each examples/invalid/<name>.json fails with exactly <name>.expected.
TEST_F(AdminPolicyTest, InvalidExamplesRejectedWithExpectedText) {
  int count = 0;
  for (const auto& entry : std::filesystem::directory_iterator(SpecDir() + "/examples/invalid")) {
    if (entry.path().extension() != ".json") continue;
    const std::string name = entry.path().stem().string();
    SCOPED_TRACE(name);
    ++count;
    std::string expected = StripNewline(router::testing::ReadWholeFile(
        (entry.path().parent_path() / (name + ".expected")).string()));
    ASSERT_FALSE(expected.empty());
    grpc::Status s = c().Upsert("invalid_examples_tenant", name,
                                router::testing::ReadWholeFile(entry.path().string()));
    EXPECT_TRUE(IsError(s, grpc::StatusCode::INVALID_ARGUMENT, expected, "invalid_policy"));
    auto br = BadRequestOf(s);
    ASSERT_TRUE(br.has_value()) << "no google.rpc.BadRequest";
    ASSERT_GE(br->field_violations_size(), 1);
    EXPECT_EQ(br->field_violations(0).field() + ": " + br->field_violations(0).description(),
              expected);
    EXPECT_EQ(c().Get("invalid_examples_tenant", name, nullptr).error_code(),
              grpc::StatusCode::NOT_FOUND);
  }
  EXPECT_EQ(count, 3);
}

// §6.2 document -> legacy view: `weights` providers in byte order, the legacy `fallback` as the
// last rule with its conditions rendered in clause form.
TEST_F(AdminPolicyTest, LegacyViewOfLegacyFixture) {
  fv1::AdminPolicy got;
  ASSERT_TRUE(IsOk(c().Get("default_tenant", "legacy_format", &got)));
  ASSERT_EQ(got.providers_size(), 2);
  EXPECT_EQ(got.providers(0).id(), "mistral");
  EXPECT_DOUBLE_EQ(got.providers(0).weight(), 0.35);
  EXPECT_EQ(got.providers(1).id(), "openai");
  EXPECT_DOUBLE_EQ(got.providers(1).weight(), 0.65);
  EXPECT_TRUE(got.sticky());
  ASSERT_EQ(got.rules_size(), 1);
  EXPECT_EQ(got.rules(0).match(), "status:all_providers_failed|timeout");
  EXPECT_EQ(got.rules(0).fallback(), "local_llm");
  // Legacy members are kept as written in the canonical document.
  EXPECT_NE(got.policy_json().find(R"("weights":{"mistral":0.35,"openai":0.65})"),
            std::string::npos)
      << got.policy_json();
}

// Built-in fixtures (configuration.md policy_store.fixtures_dir empty).
TEST_F(AdminPolicyTest, BuiltinFixturesListed) {
  std::vector<fv1::AdminPolicy> list;
  ASSERT_TRUE(IsOk(c().List("default_tenant", &list)));
  std::vector<std::string> ids;
  for (const auto& p : list) ids.push_back(p.policy_id());
  EXPECT_EQ(ids, (std::vector<std::string>{"circuit_breaker", "complex_fallbacks", "default",
                                           "extensions", "least_latency", "legacy_format",
                                           "rate_limited"}));
}

}  // namespace
}  // namespace router::itest
