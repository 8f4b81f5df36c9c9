// Legacy AdminPolicy fields <-> document (grpc-api.md §6.2, POL §1.6).
#include <gtest/gtest.h>

#include <string>

#include "base/errors.h"
#include "policy/legacy_match.h"
#include "policy/policy_compiler.h"

namespace router::policy {
namespace {

LegacyRule Rule(std::string match, std::string fallback, std::vector<std::string> prefer = {}) {
  LegacyRule r;
  r.match = std::move(match);
  r.fallback = std::move(fallback);
  r.prefer = std::move(prefer);
  return r;
}

TEST(LegacyPolicyTest, DocumentShape) {
  LegacyPolicyView legacy;
  legacy.providers = {{"openai", 0.7}, {"anthropic", 0.3}, {"local", 1}, {"off", 0}};
  legacy.sticky = true;
  legacy.rules = {Rule("status:timeout|5xx", "anthropic"), Rule("", "")};
  auto doc = LegacyToDocument(legacy);
  ASSERT_TRUE(doc.ok()) << doc.status();
  EXPECT_EQ(*doc,
            R"({"version":"1.0","providers":[{"name":"openai","weight":0.7},)"
            R"({"name":"anthropic","weight":0.3},{"name":"local","weight":1.0},)"
            R"({"name":"off","weight":0.0}],"sticky":{"enabled":true},)"
            R"("fallbacks":[{"when":{"status":["timeout","5xx"]},"to":"anthropic"},{"when":{}}]})");
  auto compiled = CompilePolicy(*doc, "t", "p");
  ASSERT_TRUE(compiled.ok()) << compiled.status();
  EXPECT_EQ((*compiled)->providers[2].weight_micro, 1000000u);  // weight 1 means 1.0
  EXPECT_EQ((*compiled)->rules[1].retry, 1);                    // retry-only rule
  EXPECT_EQ((*compiled)->rules[1].to, "");
  EXPECT_EQ((*compiled)->sticky.ttl_seconds, 3600);

  LegacyPolicyView plain;
  plain.providers = {{"a", 0.25}};
  auto doc2 = LegacyToDocument(plain);
  ASSERT_TRUE(doc2.ok());
  EXPECT_EQ(*doc2, R"({"version":"1.0","providers":[{"name":"a","weight":0.25}]})");
}

TEST(LegacyPolicyTest, RoundTrip) {
  LegacyPolicyView legacy;
  legacy.providers = {{"openai", 0.6}, {"anthropic", 0.4}, {"mistral", 0.123456}};
  legacy.sticky = true;
  legacy.rules = {Rule("status:timeout|5xx", "anthropic"), Rule("tier:gold;region:eu", ""),
                  Rule(R"({"status":"timeout"})", "mistral"),
                  Rule(R"({">":[{"var":"n"},5]})", "mistral"), Rule("", "openai")};
  auto doc = LegacyToDocument(legacy);
  ASSERT_TRUE(doc.ok()) << doc.status();
  auto compiled = CompilePolicy(*doc, "t", "p");
  ASSERT_TRUE(compiled.ok()) << compiled.status();
  LegacyPolicyView out = DocumentToLegacy(**compiled);
  ASSERT_EQ(out.providers.size(), 3u);
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(out.providers[i].id, legacy.providers[i].id);
    EXPECT_DOUBLE_EQ(out.providers[i].weight, legacy.providers[i].weight);
  }
  EXPECT_TRUE(out.sticky);
  ASSERT_EQ(out.rules.size(), 5u);
  EXPECT_EQ(out.rules[0].match, "status:timeout|5xx");
  EXPECT_EQ(out.rules[0].fallback, "anthropic");
  EXPECT_EQ(out.rules[1].match, "tier:gold;region:eu");
  EXPECT_EQ(out.rules[1].fallback, "");
  EXPECT_EQ(out.rules[2].match, "status:timeout");
  EXPECT_EQ(out.rules[3].match, R"({">":[{"var":"n"},5]})");
  EXPECT_EQ(out.rules[4].match, "");
  for (const LegacyRule& r : out.rules) EXPECT_TRUE(r.prefer.empty());

  // Re-upserting the reply gives the same canonical document for clause-form rules
  // (grpc-api.md §6.2 round trip (b)); render(parse(match)) is stable.
  auto doc2 = LegacyToDocument(out);
  ASSERT_TRUE(doc2.ok());
  auto compiled2 = CompilePolicy(*doc2, "t", "p");
  ASSERT_TRUE(compiled2.ok()) << compiled2.status();
  LegacyPolicyView out2 = DocumentToLegacy(**compiled2);
  ASSERT_EQ(out2.rules.size(), out.rules.size());
  for (size_t i = 0; i < out.rules.size(); ++i) EXPECT_EQ(out2.rules[i].match, out.rules[i].match);
  LegacyPolicyView out3 = DocumentToLegacy(**CompilePolicy(*LegacyToDocument(out2), "t", "p"));
  EXPECT_EQ(*LegacyToDocument(out3), *LegacyToDocument(out2));
}

TEST(LegacyPolicyTest, ViewOfDslDocument) {
  auto compiled =
      CompilePolicy(R"({"weights":{"openai":0.7,"mistral":0.3},"sticky":{"enabled":false},)"
                    R"("fallbacks":[{"when":{"n":5},"to":"x"},{"when":{"s":"a;b"},"to":"x"},)"
                    R"({"when":{"s":""},"retry":2},{"when":{"==":[{"var":"a"},"b"]},"to":"y"}],)"
                    R"("fallback":"local_llm"})",
                    "t", "p");
  ASSERT_TRUE(compiled.ok()) << compiled.status();
  LegacyPolicyView v = DocumentToLegacy(**compiled);
  ASSERT_EQ(v.providers.size(), 2u);
  EXPECT_EQ(v.providers[0].id, "mistral");
  EXPECT_DOUBLE_EQ(v.providers[0].weight, 0.3);
  EXPECT_FALSE(v.sticky);
  ASSERT_EQ(v.rules.size(), 5u);
  EXPECT_EQ(v.rules[0].match, R"({"n":5})");
  EXPECT_EQ(v.rules[1].match, R"({"s":"a;b"})");
  EXPECT_EQ(v.rules[2].match, R"({"s":""})");
  EXPECT_EQ(v.rules[2].fallback, "");
  EXPECT_EQ(v.rules[3].match, R"({"==":[{"var":"a"},"b"]})");
  EXPECT_EQ(v.rules[4].match, "status:all_providers_failed");
  EXPECT_EQ(v.rules[4].fallback, "local_llm");
}

TEST(LegacyPolicyTest, Errors) {
  LegacyPolicyView legacy;
  legacy.providers = {{"a", 1.0}};
  legacy.rules = {Rule("status:x", "a"), Rule("status:y", "a", {"b"})};
  auto doc = LegacyToDocument(legacy);
  ASSERT_FALSE(doc.ok());
  EXPECT_EQ(doc.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ErrorTag(doc.status()), "invalid_policy");
  EXPECT_EQ(StdView(doc.status().message()), "rules[1].prefer: unsupported");
  ASSERT_EQ(ErrorViolations(doc.status()).size(), 1u);
  EXPECT_EQ(ErrorViolations(doc.status())[0].field, "rules[1].prefer");

  for (const char* bad : {"status", "status:", "status:a||b", ";", "status:a;", "bad key:x",
                          "a:x;a:y", "{\"a\":", ":x"}) {
    legacy.rules = {Rule(bad, "a")};
    auto d = LegacyToDocument(legacy);
    ASSERT_FALSE(d.ok()) << bad;
    EXPECT_EQ(StdView(d.status().message()).rfind("rules[0].match: ", 0), 0u) << d.status();
  }
  legacy.rules = {Rule("{\"a\":", "a")};
  EXPECT_EQ(StdView(LegacyToDocument(legacy).status().message())
                .rfind("rules[0].match: invalid JSON at offset ", 0),
            0u);

  // Errors of the generated document are reported on its paths (grpc-api.md §6.1).
  LegacyPolicyView empty;
  auto e = LegacyToDocument(empty);
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(StdView(CompilePolicy(*e, "t", "p").status().message()),
            "providers: must not be empty");
  LegacyPolicyView heavy;
  heavy.providers = {{"a", 1.5}};
  EXPECT_EQ(StdView(CompilePolicy(*LegacyToDocument(heavy), "t", "p").status().message()),
            "providers[0].weight: must be between 0.0 and 1.0");
  heavy.providers = {{"a", std::nan("")}};
  EXPECT_EQ(StdView(CompilePolicy(*LegacyToDocument(heavy), "t", "p").status().message()),
            "providers[0].weight: must be a number");
  LegacyPolicyView bad_when;
  bad_when.providers = {{"a", 1.0}};
  bad_when.rules = {Rule(R"({"x":null})", "a")};
  EXPECT_EQ(StdView(CompilePolicy(*LegacyToDocument(bad_when), "t", "p").status().message()),
            "fallbacks[0].when.x: must be a string, number or boolean");
}

TEST(LegacyMatchTest, ParseAndRender) {
  EXPECT_EQ(*MatchToWhenJson(""), "{}");
  EXPECT_EQ(*MatchToWhenJson("k:v1|v2;k2:v3"), R"({"k":["v1","v2"],"k2":["v3"]})");
  EXPECT_EQ(*MatchToWhenJson("model:openai:gpt-4"), R"({"model":["openai:gpt-4"]})");
  EXPECT_EQ(*MatchToWhenJson(R"({"a": 1})"), R"({"a": 1})");
  EXPECT_EQ(RenderMatch("{}"), "");
  EXPECT_EQ(RenderMatch(R"({"k":["v1","v2"],"k2":"v3"})"), "k:v1|v2;k2:v3");
  EXPECT_EQ(RenderMatch(R"({"k":["v1",2]})"), R"({"k":["v1",2]})");
  EXPECT_EQ(RenderMatch(R"({"k":true})"), R"({"k":true})");
  EXPECT_EQ(RenderMatch(R"({"k":"a|b"})"), R"({"k":"a|b"})");
  EXPECT_EQ(RenderMatch(R"({"k":"v","in":[{"var":"a"},["b"]]})"),
            R"({"k":"v","in":[{"var":"a"},["b"]]})");
}

}  // namespace
}  // namespace router::policy
