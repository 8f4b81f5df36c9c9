// The spec's example policies (POL §1.5 "Reporting"): every examples/*.json compiles, and every
// examples/invalid/<name>.json fails with exactly the text of <name>.expected.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "base/errors.h"
#include "policy/policy_compiler.h"

namespace router::policy {
namespace {

namespace fs = std::filesystem;

std::string ReadFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::vector<std::string> JsonFilesIn(const fs::path& dir) {
  std::vector<std::string> names;
  if (!fs::exists(dir)) return names;
  for (const auto& entry : fs::directory_iterator(dir)) {
    if (entry.is_regular_file() && entry.path().extension() == ".json") {
      names.push_back(entry.path().stem().string());
    }
  }
  std::sort(names.begin(), names.end());
  return names;
}

const fs::path kExamples = fs::path(ROUTER_SPEC_DIR) / "examples";

class ValidExampleTest : public ::testing::TestWithParam<std::string> {};

TEST_P(ValidExampleTest, Compiles) {
  const std::string json = ReadFile(kExamples / (GetParam() + ".json"));
  ASSERT_FALSE(json.empty());
  auto compiled = CompilePolicy(json, "acme", GetParam());
  ASSERT_TRUE(compiled.ok()) << compiled.status();
  EXPECT_FALSE((*compiled)->providers.empty());
  EXPECT_EQ((*compiled)->sha256_hex.size(), 64u);
  // The canonical form is itself a valid document with the same canonical form (POL §10).
  auto again = CompilePolicy((*compiled)->canonical_json, "acme", GetParam());
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ((*again)->canonical_json, (*compiled)->canonical_json);
}

INSTANTIATE_TEST_SUITE_P(Examples, ValidExampleTest, ::testing::ValuesIn(JsonFilesIn(kExamples)));

class InvalidExampleTest : public ::testing::TestWithParam<std::string> {};

TEST_P(InvalidExampleTest, FailsWithExpectedText) {
  const fs::path dir = kExamples / "invalid";
  const std::string json = ReadFile(dir / (GetParam() + ".json"));
  const std::string expected = ReadFile(dir / (GetParam() + ".expected"));
  ASSERT_FALSE(expected.empty());
  auto compiled = CompilePolicy(json, "acme", GetParam());
  ASSERT_FALSE(compiled.ok());
  EXPECT_EQ(compiled.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ErrorTag(compiled.status()), "invalid_policy");
  EXPECT_EQ(std::string(StdView(compiled.status().message())) + "\n", expected);
}

INSTANTIATE_TEST_SUITE_P(Examples, InvalidExampleTest,
                         ::testing::ValuesIn(JsonFilesIn(kExamples / "invalid")));

TEST(ExampleFilesTest, Present) {
  EXPECT_GE(JsonFilesIn(kExamples).size(), 7u);
  EXPECT_GE(JsonFilesIn(kExamples / "invalid").size(), 3u);
}

// Spot checks of what the examples compile to (POL §1.4/§1.6 defaults and normalization).
TEST(ExampleContentTest, LegacyFormat) {
  auto compiled = CompilePolicy(ReadFile(kExamples / "legacy_format.json"), "acme", "legacy");
  ASSERT_TRUE(compiled.ok()) << compiled.status();
  const CompiledPolicy& p = **compiled;
  ASSERT_EQ(p.providers.size(), 2u);
  EXPECT_EQ(p.providers[0].name, "mistral");  // byte-wise ascending for legacy weights
  EXPECT_EQ(p.providers[0].weight_micro, 350000u);
  EXPECT_EQ(p.providers[1].name, "openai");
  EXPECT_EQ(p.providers[1].weight_micro, 650000u);
  EXPECT_TRUE(p.sticky.enabled);
  EXPECT_EQ(p.sticky.ttl_seconds, 1800);
  ASSERT_EQ(p.rules.size(), 1u);
  EXPECT_EQ(p.rules[0].to, "local_llm");
  EXPECT_TRUE(p.rules[0].from_legacy_fallback);
  EXPECT_EQ(p.rules[0].when_json, R"({"status":["all_providers_failed","timeout"]})");
  EXPECT_EQ(p.fallback_targets, std::vector<std::string>{"local_llm"});
}

TEST(ExampleContentTest, CircuitBreakerAndDefaults) {
  auto compiled = CompilePolicy(ReadFile(kExamples / "circuit_breaker.json"), "acme", "cb");
  ASSERT_TRUE(compiled.ok()) << compiled.status();
  const CompiledPolicy& p = **compiled;
  EXPECT_TRUE(p.breaker.enabled);
  EXPECT_EQ(p.breaker.timeout_ms, 30000);
  EXPECT_EQ(p.breaker.half_open_max_calls, 2);
  EXPECT_DOUBLE_EQ(p.breaker.error_rate_threshold, 0.4);
  EXPECT_EQ(p.breaker.min_requests, 20);
  EXPECT_EQ(p.breaker.latency_threshold_ms, 8000);
  EXPECT_EQ(p.breaker.probe_timeout_ms, 15000);
  EXPECT_EQ(p.providers[2].weight_micro, 0u);
  EXPECT_EQ(p.providers[0].declared_latency_ms, 900);
  EXPECT_DOUBLE_EQ(*p.providers[0].declared_cost, 0.011);
  EXPECT_TRUE(p.has_positive_weight);
  EXPECT_EQ(p.fallback_targets, (std::vector<std::string>{"anthropic", "local_llm"}));
  EXPECT_FALSE(p.sticky.enabled);
  EXPECT_FALSE(p.rate_limit.enabled);
  EXPECT_EQ(p.selection.strategy, Strategy::kWeighted);
}

TEST(ExampleContentTest, ComplexFallbacks) {
  auto compiled = CompilePolicy(ReadFile(kExamples / "complex_fallbacks.json"), "acme", "cf");
  ASSERT_TRUE(compiled.ok()) << compiled.status();
  const CompiledPolicy& p = **compiled;
  ASSERT_EQ(p.rules.size(), 6u);
  EXPECT_EQ(p.rules[1].retry, 2);
  EXPECT_EQ(p.rules[1].backoff.strategy, BackoffStrategy::kLinear);
  EXPECT_EQ(p.rules[1].backoff.base_ms, 150);
  EXPECT_EQ(p.rules[1].backoff.max_ms, 1000);
  EXPECT_TRUE(p.rules[1].backoff.jitter);
  EXPECT_EQ(p.rules[2].backoff.strategy, BackoffStrategy::kFixed);
  EXPECT_FALSE(p.rules[2].backoff.jitter);
  EXPECT_EQ(p.rules[2].backoff.max_ms, 5000);
  EXPECT_EQ(p.rules[0].when.entries().size(), 2u);
  EXPECT_EQ(p.rules[0].when_json,
            R"({"status":["timeout","5xx"],">":[{"var":"input_tokens"},100000]})");
  EXPECT_EQ(p.fallback_targets, (std::vector<std::string>{"anthropic", "mistral", "local_llm"}));
}

TEST(ExampleContentTest, ExtensionsAndSelection) {
  auto ext = CompilePolicy(ReadFile(kExamples / "extensions.json"), "acme", "ext");
  ASSERT_TRUE(ext.ok()) << ext.status();
  ASSERT_EQ((*ext)->pre.size(), 2u);
  EXPECT_EQ((*ext)->pre[0].id, "trim_prompt");
  EXPECT_EQ((*ext)->pre[0].mode, "required");
  EXPECT_EQ((*ext)->pre[0].timeout_ms, 80);
  EXPECT_EQ((*ext)->pre[0].config_json, R"({"collapse_whitespace":true,"max_chars":200000})");
  EXPECT_EQ((*ext)->pre[1].mode, "optional");
  EXPECT_EQ((*ext)->pre[1].config_json, "{}");
  EXPECT_EQ((*ext)->pre[1].retry, 1);
  EXPECT_FALSE((*ext)->pre[1].when.AlwaysTrue());
  ASSERT_EQ((*ext)->validators.size(), 2u);
  EXPECT_EQ((*ext)->validators[0].mode, "block");
  EXPECT_EQ((*ext)->validators[1].mode, "warn");
  ASSERT_EQ((*ext)->post.size(), 1u);

  auto ll = CompilePolicy(ReadFile(kExamples / "least_latency.json"), "acme", "ll");
  ASSERT_TRUE(ll.ok()) << ll.status();
  EXPECT_EQ((*ll)->selection.strategy, Strategy::kLeastLatency);
  EXPECT_DOUBLE_EQ((*ll)->selection.tie_tolerance, 0.15);
  EXPECT_EQ((*ll)->sticky.session_key, "conversation_id");
  EXPECT_EQ((*ll)->sticky.ttl_seconds, 900);
  EXPECT_TRUE((*ll)->breaker.enabled);
  EXPECT_EQ((*ll)->breaker.failure_threshold, 5);

  auto rl = CompilePolicy(ReadFile(kExamples / "rate_limited.json"), "acme", "rl");
  ASSERT_TRUE(rl.ok()) << rl.status();
  EXPECT_TRUE((*rl)->rate_limit.enabled);
  EXPECT_DOUBLE_EQ((*rl)->rate_limit.requests_per_second, 25);
  EXPECT_EQ((*rl)->rate_limit.burst, 50);
  EXPECT_EQ((*rl)->providers[0].weight_micro, 750000u);
}

}  // namespace
}  // namespace router::policy
