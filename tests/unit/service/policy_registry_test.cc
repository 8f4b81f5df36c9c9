// PolicyRegistry over a real SqlitePolicyStore: startup reload skipping invalid rows, first-start
// fixtures (all-or-nothing validation, load once, never overwrite), publish discipline, and the
// fixture sources (POL §10 Snapshots, Startup, Fixtures; configuration.md fixtures_dir).
#include "service/policy_registry.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <vector>

#include "base/errors.h"
#include "policy/policy_compiler.h"
#include "service_test_util.h"

namespace router::service {
namespace {

constexpr char kDocA[] = R"({"providers":[{"name":"openai","weight":100}]})";
constexpr char kDocB[] = R"({"providers":[{"name":"anthropic","weight":100}]})";
constexpr char kInvalidWeight[] = R"({"providers":[{"name":"a","weight":101}]})";

store::UpsertRequest RawUpsert(std::string tenant, std::string policy, std::string document) {
  store::UpsertRequest r;
  r.tenant_id = std::move(tenant);
  r.policy_id = std::move(policy);
  r.sha256 = "sha-of-" + document;
  r.document = std::move(document);
  r.audit.principal = "test";
  return r;
}

void WriteFile(const std::filesystem::path& path, const std::string& content) {
  std::filesystem::create_directories(path.parent_path());
  std::ofstream out(path, std::ios::binary);
  out << content;
}

class PolicyRegistryTest : public testutil::StoreBackedTest {};

// ---------------------------------------------------------------- ReloadAll

TEST_F(PolicyRegistryTest, ReloadAllPublishesEveryValidRowWithItsVersion) {
  ASSERT_TRUE(store_->Upsert(RawUpsert("t1", "a", kDocA)).ok());
  ASSERT_TRUE(store_->Upsert(RawUpsert("t1", "a", kDocB)).ok());  // version 2
  ASSERT_TRUE(store_->Upsert(RawUpsert("t2", "c", kDocA)).ok());
  auto skipped = registry_->ReloadAll();
  ASSERT_TRUE(skipped.ok()) << skipped.status();
  EXPECT_TRUE(skipped->empty());
  EXPECT_EQ(registry_->load_errors(), 0u);
  EXPECT_EQ(snapshots_.Load()->size(), 2u);
  const policy::CompiledPolicy* a = Published("t1", "a");
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(a->version, 2u);
  EXPECT_EQ(a->providers[0].name, "anthropic");
  ASSERT_NE(Published("t2", "c"), nullptr);
  EXPECT_EQ(Published("t2", "c")->version, 1u);
}

TEST_F(PolicyRegistryTest, ReloadAllSkipsRowsThatFailValidation) {
  ASSERT_TRUE(store_->Upsert(RawUpsert("t1", "a", kDocA)).ok());
  ASSERT_TRUE(store_->Upsert(RawUpsert("t1", "b", kInvalidWeight)).ok());
  ASSERT_TRUE(store_->Upsert(RawUpsert("t1", "c", "not json")).ok());
  ASSERT_TRUE(store_->Upsert(RawUpsert("t2", "d", kDocB)).ok());
  auto skipped = registry_->ReloadAll();
  ASSERT_TRUE(skipped.ok()) << skipped.status();
  ASSERT_EQ(skipped->size(), 2u);
  EXPECT_EQ((*skipped)[0], "t1/b: providers[0].weight: must be between 0 and 100");
  EXPECT_EQ((*skipped)[1].rfind("t1/c: $: invalid JSON at offset", 0), 0u) << (*skipped)[1];
  EXPECT_EQ(registry_->load_errors(), 2u);
  EXPECT_NE(Published("t1", "a"), nullptr);
  EXPECT_EQ(Published("t1", "b"), nullptr);
  EXPECT_EQ(Published("t1", "c"), nullptr);
  EXPECT_NE(Published("t2", "d"), nullptr);
  EXPECT_EQ(snapshots_.Load()->size(), 2u);
  // Counted on every reload.
  ASSERT_TRUE(registry_->ReloadAll().ok());
  EXPECT_EQ(registry_->load_errors(), 4u);
}

TEST_F(PolicyRegistryTest, ReloadAllValidatesRowsUnderTheirOwnKey) {
  // A stored document naming another key fails validation (POL §1 policy_id / tenant_id).
  ASSERT_TRUE(store_
                  ->Upsert(RawUpsert("t1", "a",
                                     R"({"policy_id":"b","providers":[{"name":"x","weight":1}]})"))
                  .ok());
  auto skipped = registry_->ReloadAll();
  ASSERT_TRUE(skipped.ok());
  EXPECT_EQ(*skipped, (std::vector<std::string>{"t1/a: policy_id: must equal \"a\""}));
}

TEST_F(PolicyRegistryTest, ReloadAllReplacesTheSnapshot) {
  ASSERT_TRUE(store_->Upsert(RawUpsert("t1", "a", kDocA)).ok());
  ASSERT_TRUE(registry_->ReloadAll().ok());
  ASSERT_NE(Published("t1", "a"), nullptr);
  // A key removed behind the registry's back (another process) disappears on reload.
  store::DeleteRequest del;
  del.tenant_id = "t1";
  del.policy_id = "a";
  ASSERT_TRUE(store_->Delete(del).ok());
  ASSERT_TRUE(registry_->ReloadAll().ok());
  EXPECT_EQ(Published("t1", "a"), nullptr);
  EXPECT_EQ(snapshots_.Load()->size(), 0u);
}

// ---------------------------------------------------------------- Upsert / Delete

TEST_F(PolicyRegistryTest, FailedCommitPublishesNothing) {
  auto compiled = policy::CompilePolicy(kDocA, "t1", "p1");
  ASSERT_TRUE(compiled.ok());
  core::SnapshotPtr before = snapshots_.Load();
  store::UpsertRequest req;
  req.tenant_id = "t1";
  req.policy_id = "p1";
  req.expected_version = 3;
  auto result = registry_->Upsert(req, *compiled);
  EXPECT_EQ(result.status().code(), absl::StatusCode::kAborted);
  EXPECT_EQ(snapshots_.Load().get(), before.get());

  store::DeleteRequest del;
  del.tenant_id = "t1";
  del.policy_id = "p1";
  EXPECT_EQ(registry_->Delete(del).code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(snapshots_.Load().get(), before.get());
}

TEST_F(PolicyRegistryTest, UpsertStampsTheCommittedVersionOnACopy) {
  auto compiled = policy::CompilePolicy(kDocA, "t1", "p1");
  ASSERT_TRUE(compiled.ok());
  store::UpsertRequest req;
  req.tenant_id = "t1";
  req.policy_id = "p1";
  auto result = registry_->Upsert(req, *compiled);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->version, 1);
  EXPECT_FALSE(result->unchanged);
  EXPECT_EQ((*compiled)->version, 0u);  // the shared compiled policy is not mutated
  EXPECT_EQ(Published("t1", "p1")->version, 1u);
  auto stored = store_->Get("t1", "p1");
  ASSERT_TRUE(stored.ok());
  EXPECT_EQ(stored->document, (*compiled)->canonical_json);
  EXPECT_EQ(stored->sha256, (*compiled)->sha256_hex);
}

// ---------------------------------------------------------------- LoadFixtures

TEST_F(PolicyRegistryTest, InvalidFixtureInsertsNothing) {
  std::vector<FixtureSource> fixtures = {
      {"fx/t1/a.json", "t1", "a", kDocA},
      {"fx/t1/b.json", "t1", "b", kInvalidWeight},
  };
  auto got = registry_->LoadFixtures(fixtures);
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(StdView(got.status().message()),
            "fx/t1/b.json: providers[0].weight: must be between 0 and 100");
  auto all = store_->ListAll();
  ASSERT_TRUE(all.ok());
  EXPECT_TRUE(all->empty());
  auto loaded = store_->FixturesLoaded();
  ASSERT_TRUE(loaded.ok());
  EXPECT_FALSE(*loaded);
  EXPECT_TRUE(Audit().empty());
}

TEST_F(PolicyRegistryTest, FixtureMustMatchItsKey) {
  std::vector<FixtureSource> fixtures = {
      {"fx/t1/a.json", "t1", "a", R"({"tenant_id":"t2","providers":[{"name":"x","weight":1}]})"}};
  auto got = registry_->LoadFixtures(fixtures);
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(StdView(got.status().message()), "fx/t1/a.json: tenant_id: must equal \"t1\"");
}

TEST_F(PolicyRegistryTest, FixturesLoadOnce) {
  std::vector<FixtureSource> fixtures = {
      {"fx/t1/a.json", "t1", "a", kDocA},
      {"fx/t1/b.json", "t1", "b", R"({ "providers": [ {"name":"anthropic", "weight": 100} ] })"},
  };
  auto first = registry_->LoadFixtures(fixtures);
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ(*first, 2);
  auto loaded = store_->FixturesLoaded();
  ASSERT_TRUE(loaded.ok());
  EXPECT_TRUE(*loaded);

  auto b = store_->Get("t1", "b");
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b->version, 1);
  EXPECT_EQ(b->document, R"({"providers":[{"name":"anthropic","weight":100}]})");  // canonical
  auto audit = Audit();
  ASSERT_EQ(audit.size(), 2u);
  for (const auto& rec : audit) {
    EXPECT_EQ(rec.action, "fixture_load");
    EXPECT_EQ(rec.principal, "system:fixtures");
  }

  // Second start: nothing is inserted, even a fixture that was not there before.
  fixtures.push_back({"fx/t1/c.json", "t1", "c", kDocA});
  auto second = registry_->LoadFixtures(fixtures);
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_EQ(*second, 0);
  EXPECT_EQ(store_->Get("t1", "c").status().code(), absl::StatusCode::kNotFound);
  // Not even an invalid one is looked at.
  auto third = registry_->LoadFixtures({{"fx/t1/bad.json", "t1", "bad", "{"}});
  ASSERT_TRUE(third.ok()) << third.status();
  EXPECT_EQ(*third, 0);
}

TEST_F(PolicyRegistryTest, FixturesNeverOverwriteAnExistingKey) {
  ASSERT_TRUE(store_->Upsert(RawUpsert("t1", "a", kDocB)).ok());
  auto got = registry_->LoadFixtures(
      {{"fx/t1/a.json", "t1", "a", kDocA}, {"fx/t1/b.json", "t1", "b", kDocA}});
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(*got, 1);
  auto a = store_->Get("t1", "a");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->document, kDocB);
}

TEST_F(PolicyRegistryTest, BuiltinFixturesLoadAndPublish) {
  auto inserted = registry_->LoadFixtures(BuiltinFixtures());
  ASSERT_TRUE(inserted.ok()) << inserted.status();
  EXPECT_EQ(*inserted, 7);
  auto skipped = registry_->ReloadAll();
  ASSERT_TRUE(skipped.ok());
  EXPECT_TRUE(skipped->empty()) << (*skipped)[0];
  EXPECT_EQ(snapshots_.Load()->size(), 7u);
  const policy::CompiledPolicy* def = Published("default_tenant", "default");
  ASSERT_NE(def, nullptr);
  EXPECT_EQ(def->version, 1u);
}

// ---------------------------------------------------------------- fixture sources

TEST(BuiltinFixturesTest, SevenExamplePoliciesThatCompile) {
  std::vector<FixtureSource> fixtures = BuiltinFixtures();
  ASSERT_EQ(fixtures.size(), 7u);
  std::vector<std::string> ids;
  for (const auto& f : fixtures) {
    EXPECT_EQ(f.tenant_id, "default_tenant");
    EXPECT_EQ(f.file, "builtin:default_tenant/" + f.policy_id + ".json");
    auto compiled = policy::CompilePolicy(f.json, f.tenant_id, f.policy_id);
    EXPECT_TRUE(compiled.ok()) << f.file << ": " << compiled.status();
    ids.push_back(f.policy_id);
  }
  EXPECT_EQ(ids, (std::vector<std::string>{"circuit_breaker", "complex_fallbacks", "default",
                                           "extensions", "least_latency", "legacy_format",
                                           "rate_limited"}));
}

TEST(BuiltinFixturesTest, MatchTheSpecExamples) {
  for (const auto& f : BuiltinFixtures()) {
    const std::filesystem::path example =
        std::filesystem::path(ROUTER_SPEC_DIR) / "examples" / (f.policy_id + ".json");
    std::ifstream in(example, std::ios::binary);
    if (!in) GTEST_SKIP() << "spec examples not available at " << example;
    std::string content((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    EXPECT_EQ(f.json, content) << f.policy_id;
  }
}

TEST(ReadFixturesDirTest, ReadsTenantPolicyFilesSorted) {
  testutil::TempDir dir;
  WriteFile(dir.path() / "t2" / "b.json", "B");
  WriteFile(dir.path() / "t1" / "z.json", "Z");
  WriteFile(dir.path() / "t1" / "a.json", std::string("A\n\0x", 4));
  WriteFile(dir.path() / "t1" / "notes.txt", "ignored");
  WriteFile(dir.path() / "t1" / "nested" / "deep.json", "ignored");
  WriteFile(dir.path() / "top.json", "ignored");
  auto got = ReadFixturesDir(dir.path().string());
  ASSERT_TRUE(got.ok()) << got.status();
  ASSERT_EQ(got->size(), 3u);
  EXPECT_EQ((*got)[0].tenant_id, "t1");
  EXPECT_EQ((*got)[0].policy_id, "a");
  EXPECT_EQ((*got)[0].json, std::string("A\n\0x", 4));
  EXPECT_EQ((*got)[0].file, (dir.path() / "t1" / "a.json").string());
  EXPECT_EQ((*got)[1].tenant_id, "t1");
  EXPECT_EQ((*got)[1].policy_id, "z");
  EXPECT_EQ((*got)[1].json, "Z");
  EXPECT_EQ((*got)[2].tenant_id, "t2");
  EXPECT_EQ((*got)[2].policy_id, "b");
}

TEST(ReadFixturesDirTest, EmptyDirectoryHasNoFixtures) {
  testutil::TempDir dir;
  auto got = ReadFixturesDir(dir.path().string());
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_TRUE(got->empty());
}

TEST(ReadFixturesDirTest, MissingDirectoryIsAnError) {
  testutil::TempDir dir;
  const std::string missing = (dir.path() / "nope").string();
  auto got = ReadFixturesDir(missing);
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(StdView(got.status().message()), missing + ": fixtures_dir is not a directory");
  WriteFile(dir.path() / "file", "x");
  EXPECT_FALSE(ReadFixturesDir((dir.path() / "file").string()).ok());
}

TEST_F(PolicyRegistryTest, FixturesDirErrorNamesTheFile) {
  testutil::TempDir fixtures;
  WriteFile(fixtures.path() / "t1" / "a.json", kDocA);
  WriteFile(fixtures.path() / "t1" / "bad.json", kInvalidWeight);
  auto sources = ReadFixturesDir(fixtures.path().string());
  ASSERT_TRUE(sources.ok()) << sources.status();
  auto got = registry_->LoadFixtures(*sources);
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(StdView(got.status().message()),
            (fixtures.path() / "t1" / "bad.json").string() +
                ": providers[0].weight: must be between 0 and 100");
  EXPECT_TRUE(store_->ListAll()->empty());
}

}  // namespace
}  // namespace router::service
