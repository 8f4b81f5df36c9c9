// Validator + compiler (POL §1.1-§1.6, §2 grammar, §9 items; POL §12 scenarios 3-9).
#include "policy/policy_compiler.h"

#include <gtest/gtest.h>

#include <string>

#include "base/errors.h"

namespace router::policy {
namespace {

// The status message of compiling `json` under acme/p1, or "OK".
std::string Err(const std::string& json) {
  auto compiled = CompilePolicy(json, "acme", "p1");
  if (compiled.ok()) return "OK";
  EXPECT_EQ(compiled.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ErrorTag(compiled.status()), "invalid_policy");
  return std::string(StdView(compiled.status().message()));
}

CompiledPolicyPtr Ok(const std::string& json) {
  auto compiled = CompilePolicy(json, "acme", "p1");
  EXPECT_TRUE(compiled.ok()) << compiled.status() << "\n" << json;
  return compiled.ok() ? *compiled : nullptr;
}

// A valid document with `extra` members appended at the root.
std::string Doc(const std::string& extra) {
  return R"({"providers":[{"name":"openai","weight":100}])" + extra + "}";
}

// POL §12 scenario 3: the three weight forms hold the same micro-shares.
TEST(PolicyCompilerTest, Scenario3ScaleEquivalence) {
  for (const char* json : {R"({"providers":[{"name":"a","weight":70},{"name":"b","weight":30}]})",
                           R"({"providers":[{"name":"a","weight":0.7},{"name":"b","weight":0.3}]})",
                           R"({"weights":{"b":0.3,"a":0.7}})"}) {
    auto p = Ok(json);
    ASSERT_NE(p, nullptr);
    ASSERT_EQ(p->providers.size(), 2u) << json;
    EXPECT_EQ(p->providers[0].name, "a");
    EXPECT_EQ(p->providers[0].weight_micro, 700000u) << json;
    EXPECT_EQ(p->providers[1].name, "b");
    EXPECT_EQ(p->providers[1].weight_micro, 300000u) << json;
  }
}

// POL §1.1 rule 1: the token type decides the scale.
TEST(PolicyCompilerTest, TokenTypeDecidesScale) {
  auto p = Ok(R"({"providers":[{"name":"a","weight":1.0},{"name":"b","weight":7e-1},)"
              R"({"name":"c","weight":0.0},{"name":"d","weight":1E0}]})");
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(p->providers[0].weight_micro, 1000000u);
  EXPECT_EQ(p->providers[1].weight_micro, 700000u);
  EXPECT_EQ(p->providers[2].weight_micro, 0u);
  EXPECT_EQ(p->providers[3].weight_micro, 1000000u);
  // `0` is an integer token: it fixes the integer scale, so 0.5 then mixes.
  EXPECT_EQ(
      Err(R"({"providers":[{"name":"a","weight":0},{"name":"b","weight":0.5}]})"),
      "providers[1].weight: mixes integer (0-100) and fractional (0-1) weights; use one scale");
  auto q = Ok(R"({"providers":[{"name":"a","weight":100},{"name":"b","weight":0}]})");
  ASSERT_NE(q, nullptr);
  EXPECT_EQ(q->providers[0].weight_micro, 1000000u);
  EXPECT_TRUE(q->has_positive_weight);
}

// POL §1.1 rule 3: rounding half away from zero, exact decimal arithmetic.
TEST(PolicyCompilerTest, FractionRounding) {
  auto p = Ok(R"({"providers":[{"name":"a","weight":0.0000015},{"name":"b","weight":0.0000014},)"
              R"({"name":"c","weight":0.000001},{"name":"d","weight":0.1234565},)"
              R"({"name":"e","weight":1.0000000},{"name":"f","weight":0.00000199999}]})");
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(p->providers[0].weight_micro, 2u);
  EXPECT_EQ(p->providers[1].weight_micro, 1u);
  EXPECT_EQ(p->providers[2].weight_micro, 1u);
  EXPECT_EQ(p->providers[3].weight_micro, 123457u);
  EXPECT_EQ(p->providers[4].weight_micro, 1000000u);
  EXPECT_EQ(p->providers[5].weight_micro, 2u);
  EXPECT_EQ(Err(R"({"providers":[{"name":"a","weight":0.0000009}]})"),
            "providers[0].weight: must be 0 or at least 0.000001");
  EXPECT_EQ(Err(R"({"providers":[{"name":"a","weight":1e-300}]})"),
            "providers[0].weight: must be 0 or at least 0.000001");
  EXPECT_EQ(Err(R"({"providers":[{"name":"a","weight":1.0000001}]})"),
            "providers[0].weight: must be between 0.0 and 1.0");
  EXPECT_EQ(Err(R"({"providers":[{"name":"a","weight":0.0}]})"), "OK");
  EXPECT_EQ(Err(R"({"providers":[{"name":"a","weight":-0.0}]})"), "OK");
}

// POL §12 scenario 4.
TEST(PolicyCompilerTest, Scenario4WeightRanges) {
  auto with = [](const std::string& w) {
    return R"({"providers":[{"name":"a","weight":)" +
           std::string(w.find('.') == w.npos && w[0] != '"' ? "50" : "0.5") +
           R"(},{"name":"b","weight":)" + w + "}]}";
  };
  EXPECT_EQ(Err(with("150")), "providers[1].weight: must be between 0 and 100");
  EXPECT_EQ(Err(with("1.5")), "providers[1].weight: must be between 0.0 and 1.0");
  EXPECT_EQ(Err(with("-0.1")), "providers[1].weight: must be between 0.0 and 1.0");
  EXPECT_EQ(Err(with("\"70\"")), "providers[1].weight: must be a number");
  EXPECT_EQ(Err(with("-5")), "providers[1].weight: must be between 0 and 100");
  EXPECT_EQ(Err(with("100000000000000000000000")),
            "providers[1].weight: must be between 0 and 100");
  EXPECT_EQ(Err(R"({"weights":{"openai":1.5}})"), "weights.openai: must be between 0.0 and 1.0");
}

// POL §1.2: legacy weights are fractional whatever the token type; `1` means 1.0.
TEST(PolicyCompilerTest, LegacyWeights) {
  auto p = Ok(R"({"weights":{"openai":1,"anthropic":0,"gpt-4o":0.25}})");
  ASSERT_NE(p, nullptr);
  ASSERT_EQ(p->providers.size(), 3u);
  EXPECT_EQ(p->providers[0].name, "anthropic");
  EXPECT_EQ(p->providers[0].weight_micro, 0u);
  EXPECT_EQ(p->providers[1].name, "gpt-4o");
  EXPECT_EQ(p->providers[1].weight_micro, 250000u);
  EXPECT_EQ(p->providers[2].name, "openai");
  EXPECT_EQ(p->providers[2].weight_micro, 1000000u);
  EXPECT_EQ(Err(R"({"weights":{"openai":70}})"), "weights.openai: must be between 0.0 and 1.0");
  EXPECT_EQ(Err(R"({"weights":{"gpt-4o":"x"}})"), R"(weights["gpt-4o"]: must be a number)");
  EXPECT_EQ(Err(R"({"weights":{"bad name":0.5}})"),
            R"(weights["bad name"]: must match ^[A-Za-z0-9_.:/-]{1,128}$)");
  EXPECT_EQ(Err(R"({"weights":{}})"), "weights: must not be empty");
  EXPECT_EQ(Err(R"({"weights":[]})"), "weights: must be an object");
  EXPECT_EQ(Err(R"({"weights":{"a":0.5,"a":0.5}})"), "weights.a: duplicate key");
  EXPECT_EQ(Err(R"({"providers":[{"name":"a","weight":1}],"weights":{"a":0.5}})"),
            "weights: cannot be combined with providers");
}

// POL §12 scenario 5.
TEST(PolicyCompilerTest, Scenario5ScaleMix) {
  EXPECT_EQ(
      Err(R"({"providers":[{"name":"a","weight":70},{"name":"b","weight":0.3}]})"),
      "providers[1].weight: mixes integer (0-100) and fractional (0-1) weights; use one scale");
  // The scale mix is part of the type check: reported before a range error of the same weight.
  EXPECT_EQ(
      Err(R"({"providers":[{"name":"a","weight":0.5},{"name":"b","weight":150}]})"),
      "providers[1].weight: mixes integer (0-100) and fractional (0-1) weights; use one scale");
}

// POL §12 scenario 6 (compile-level parts).
TEST(PolicyCompilerTest, Scenario6StructureErrors) {
  EXPECT_EQ(Err(R"({"version":"1.0"})"), R"(providers: required (or legacy "weights"))");
  EXPECT_EQ(Err(R"({"providers":[]})"), "providers: must not be empty");
  EXPECT_EQ(Err(Doc(R"(,"sticky":{"ttl":"10m"})")), "sticky.enabled: required");
  EXPECT_EQ(Err(Doc(R"(,"sticky":{"enabled":"yes"})")), "sticky.enabled: must be a boolean");
  EXPECT_EQ(Err(Doc(R"(,"fallback":{"provider":123})")), "fallback.provider: must be a string");
  EXPECT_EQ(Err(R"({"providers":[{"name":"openai","weight":50},{"name":"b","weight":50},)"
                R"({"name":"openai","weight":0}]})"),
            R"(providers[2].name: duplicate provider "openai" (first at providers[0]))");
  EXPECT_EQ(Err(R"({"providers":[{"weight":50}]})"), "providers[0].name: required");
  EXPECT_EQ(Err(R"({"providers":[{"name":"a"}]})"), "providers[0].weight: required");
  EXPECT_EQ(Err(R"({"providers":[5]})"), "providers[0]: must be an object");
  EXPECT_EQ(Err(R"({"providers":{}})"), "providers: must be an array");
  EXPECT_EQ(Err(R"([1,2])"), "$: must be an object");
}

// POL §12 scenario 7 and the hints table of POL §1.5.
TEST(PolicyCompilerTest, Scenario7UnknownKeys) {
  EXPECT_EQ(
      Err(Doc(R"(,"circuit_breaker":{"enabled":true,"half_open_max_attempts":3})")),
      R"(circuit_breaker.half_open_max_attempts: unknown key (did you mean "half_open_max_calls"?))");
  EXPECT_EQ(Err(Doc(R"(,"defaults":{})")),
            "defaults: deprecated key is not supported; move it under metadata");
  EXPECT_EQ(Err(Doc(R"(,"escalate_on":[])")),
            "escalate_on: deprecated key is not supported; move it under metadata");
  EXPECT_EQ(Err(Doc(R"(,"sticky":{"enabled":true,"enabled":false})")),
            "sticky.enabled: duplicate key");
  EXPECT_EQ(Err(Doc(R"(,"priority":1)")), "priority: unknown key");
  EXPECT_EQ(Err(Doc(R"(,"extensions":{})")), "extensions: unknown key");
  EXPECT_EQ(Err(R"({"providers":[{"id":"a","weight":1}]})"),
            R"(providers[0].id: unknown key (did you mean "name"?))");
  EXPECT_EQ(Err(Doc(R"(,"sticky":{"enabled":true,"key":"u"})")),
            R"(sticky.key: unknown key (did you mean "session_key"?))");
  EXPECT_EQ(Err(Doc(R"(,"sticky":{"enabled":true,"ttl_sec":5})")),
            R"(sticky.ttl_sec: unknown key (did you mean "ttl_seconds"?))");
  EXPECT_EQ(Err(Doc(R"(,"circuit_breaker":{"enabled":true,"open_timeout_ms":5})")),
            R"(circuit_breaker.open_timeout_ms: unknown key (did you mean "timeout_ms"?))");
  EXPECT_EQ(Err(Doc(R"(,"rate_limit":{"enabled":true,"rps":5})")),
            R"(rate_limit.rps: unknown key (did you mean "requests_per_second"?))");
  EXPECT_EQ(Err(Doc(R"(,"fallbacks":[{"conditions":["x"],"to":"a"}])")),
            R"(fallbacks[0].conditions: unknown key (did you mean "when"?))");
  // Duplicate key is checked before unknown key; the root too.
  EXPECT_EQ(Err(R"({"providers":[{"name":"a","weight":1}],"providers":[]})"),
            "providers: duplicate key");
}

// POL §12 scenario 8.
TEST(PolicyCompilerTest, Scenario8TtlForms) {
  auto ttl = [](const std::string& sticky) -> std::string {
    auto compiled = CompilePolicy(Doc(R"(,"sticky":{"enabled":true)" + sticky + "}"), "t", "p");
    if (!compiled.ok()) return std::string(StdView(compiled.status().message()));
    return std::to_string((*compiled)->sticky.ttl_seconds);
  };
  EXPECT_EQ(ttl(R"(,"ttl":"10m")"), "600");
  EXPECT_EQ(ttl(R"(,"ttl_seconds":900)"), "900");
  EXPECT_EQ(ttl(R"(,"ttl":"10m","ttl_seconds":600)"), "600");
  EXPECT_EQ(ttl(R"(,"ttl":"10m","ttl_seconds":601)"),
            "sticky.ttl_seconds: conflicts with sticky.ttl");
  EXPECT_EQ(ttl(R"(,"ttl_seconds":601,"ttl":"10m")"),
            "sticky.ttl_seconds: conflicts with sticky.ttl");
  EXPECT_EQ(ttl(R"(,"ttl":"10x")"),
            R"(sticky.ttl: invalid duration "10x": expected digits followed by s, m or h)");
  EXPECT_EQ(ttl(""), "3600");
  EXPECT_EQ(ttl(R"(,"ttl":"24h")"), "86400");
  EXPECT_EQ(ttl(R"(,"ttl":"1s")"), "1");
  EXPECT_EQ(ttl(R"(,"ttl":"25h")"), "sticky.ttl: must be between 1s and 24h");
  EXPECT_EQ(ttl(R"(,"ttl":"86401s")"), "sticky.ttl: must be between 1s and 24h");
  EXPECT_EQ(ttl(R"(,"ttl":"0s")"),
            R"(sticky.ttl: invalid duration "0s": expected digits followed by s, m or h)");
  EXPECT_EQ(ttl(R"(,"ttl":"1234567s")"),
            R"(sticky.ttl: invalid duration "1234567s": expected digits followed by s, m or h)");
  EXPECT_EQ(ttl(R"(,"ttl":600)"), "sticky.ttl: must be a string");
  EXPECT_EQ(ttl(R"(,"ttl_seconds":0)"), "sticky.ttl_seconds: must be between 1 and 86400");
  EXPECT_EQ(ttl(R"(,"ttl_seconds":60.0)"), "sticky.ttl_seconds: must be an integer");
}

// POL §12 scenario 9.
TEST(PolicyCompilerTest, Scenario9LegacyFallback) {
  auto p =
      Ok(R"({"weights":{"openai":0.7,"anthropic":0.3},)"
         R"("fallback":{"provider":"local_llm","conditions":["all_providers_failed","timeout"]},)"
         R"("fallbacks":[{"when":{"status":"5xx"},"to":"anthropic"}]})");
  ASSERT_NE(p, nullptr);
  ASSERT_EQ(p->rules.size(), 2u);
  const FallbackRule& last = p->rules.back();
  EXPECT_TRUE(last.from_legacy_fallback);
  EXPECT_FALSE(p->rules[0].from_legacy_fallback);
  EXPECT_EQ(last.to, "local_llm");
  EXPECT_EQ(last.retry, 1);
  EXPECT_EQ(last.when_json, R"({"status":["all_providers_failed","timeout"]})");
  ASSERT_EQ(last.when.entries().size(), 1u);
  EXPECT_EQ(last.when.entries()[0].op, ConditionOp::kIn);
  EXPECT_EQ(last.when.entries()[0].lhs.var_path, "status");
  ASSERT_EQ(last.when.entries()[0].rhs.list.size(), 2u);
  EXPECT_EQ(p->fallback_targets, (std::vector<std::string>{"anthropic", "local_llm"}));

  auto bare = Ok(R"({"weights":{"openai":1},"fallback":"local_llm"})");
  ASSERT_NE(bare, nullptr);
  ASSERT_EQ(bare->rules.size(), 1u);
  EXPECT_EQ(bare->rules[0].when_json, R"({"status":["all_providers_failed"]})");
  auto empty = Ok(R"({"weights":{"openai":1},"fallback":{"provider":"x","conditions":[]}})");
  ASSERT_NE(empty, nullptr);
  EXPECT_EQ(empty->rules[0].when_json, R"({"status":["all_providers_failed"]})");

  EXPECT_EQ(Err(Doc(R"(,"fallback":{"conditions":["x"]})")), "fallback.provider: required");
  EXPECT_EQ(Err(Doc(R"(,"fallback":5)")), "fallback: must be an object");
  EXPECT_EQ(Err(Doc(R"(,"fallback":{"provider":"x","conditions":[""]})")),
            "fallback.conditions[0]: must match ^.{1,64}$");
  EXPECT_EQ(Err(Doc(R"(,"fallback":{"provider":"x","conditions":[1]})")),
            "fallback.conditions[0]: must be a string");
  EXPECT_EQ(Err(Doc(R"(,"fallback":{"provider":"x","conditions":)"
                    R"(["a","a","a","a","a","a","a","a","a","a","a","a","a","a","a","a","a"]})")),
            "fallback.conditions: at most 16 entries");
}

// POL §1.5 paths.
TEST(PolicyCompilerTest, PathFormatting) {
  EXPECT_EQ(Err(Doc(R"(,"fallbacks":[{"when":{"==":[{"var":"a"},null]},"to":"x"}])")),
            R"(fallbacks[0].when["=="][1]: must be a string, number or boolean)");
  EXPECT_EQ(Err(Doc(R"(,"my-key":1)")), R"(["my-key"]: unknown key)");
  EXPECT_EQ(Err(Doc(R"(,"a\"b\\c\n":1)")), R"(["a\"b\\c\n"]: unknown key)");
  EXPECT_EQ(Err(Doc(R"(,"_ok9":1)")), "_ok9: unknown key");
  EXPECT_EQ(Err(Doc(R"(,"9x":1)")), R"(["9x"]: unknown key)");
  EXPECT_EQ(Err(Doc(R"(,"":1)")), R"([""]: unknown key)");
  EXPECT_EQ(Err(Doc(R"(,"sticky":{"enabled":true,"é":1})")), "sticky[\"\xC3\xA9\"]: unknown key");
}

// POL §1.5 walk order: members in document order; first violation wins; up to 20 attached.
TEST(PolicyCompilerTest, WalkOrderAndViolations) {
  auto compiled = CompilePolicy(
      R"({"sticky":{"enabled":1},"providers":[{"name":"a","weight":150}],"zzz":1})", "t", "p");
  ASSERT_FALSE(compiled.ok());
  EXPECT_EQ(StdView(compiled.status().message()), "sticky.enabled: must be a boolean");
  auto v = ErrorViolations(compiled.status());
  ASSERT_EQ(v.size(), 3u);
  EXPECT_EQ(v[1].field, "providers[0].weight");
  EXPECT_EQ(v[1].description, "must be between 0 and 100");
  EXPECT_EQ(v[2].field, "zzz");
  EXPECT_EQ(v[2].description, "unknown key");

  std::string many = R"({"providers":[{"name":"a","weight":1}])";
  for (int i = 0; i < 30; ++i) many += ",\"k" + std::to_string(i) + "\":1";
  many += "}";
  auto m = CompilePolicy(many, "t", "p");
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(StdView(m.status().message()), "k0: unknown key");
  EXPECT_EQ(ErrorViolations(m.status()).size(), 20u);

  // Required keys are checked when leaving the object, after its members.
  EXPECT_EQ(Err(Doc(R"(,"sticky":{"ttl":"x"})")),
            R"(sticky.ttl: invalid duration "x": expected digits followed by s, m or h)");
  // Root: required, then providers/weights conflict, extension total, id equality.
  EXPECT_EQ(Err(R"({"policy_id":"other"})"), R"(providers: required (or legacy "weights"))");
}

// POL §1.5: integer fields need integer tokens; number fields accept both.
TEST(PolicyCompilerTest, IntegerAndNumberFields) {
  EXPECT_EQ(Err(Doc(R"(,"fallbacks":[{"retry":1.0}])")), "fallbacks[0].retry: must be an integer");
  EXPECT_EQ(Err(Doc(R"(,"fallbacks":[{"retry":1e0}])")), "fallbacks[0].retry: must be an integer");
  EXPECT_EQ(Err(Doc(R"(,"fallbacks":[{"retry":"1"}])")), "fallbacks[0].retry: must be an integer");
  EXPECT_EQ(Err(Doc(R"(,"fallbacks":[{"retry":11}])")),
            "fallbacks[0].retry: must be between 0 and 10");
  EXPECT_EQ(Err(Doc(R"(,"circuit_breaker":{"enabled":true,"error_rate_threshold":1})")), "OK");
  EXPECT_EQ(Err(Doc(R"(,"circuit_breaker":{"enabled":true,"error_rate_threshold":2.0})")),
            "circuit_breaker.error_rate_threshold: must be between 0.01 and 1.0");
  EXPECT_EQ(Err(Doc(R"(,"circuit_breaker":{"enabled":true,"failure_threshold":1001})")),
            "circuit_breaker.failure_threshold: must be between 1 and 1000");
  EXPECT_EQ(Err(Doc(R"(,"circuit_breaker":{"enabled":true,"timeout_ms":99})")),
            "circuit_breaker.timeout_ms: must be between 100 and 3600000");
  EXPECT_EQ(Err(Doc(R"(,"circuit_breaker":{"enabled":true,"latency_threshold_ms":0})")),
            "circuit_breaker.latency_threshold_ms: must be between 1 and 600000");
  EXPECT_EQ(Err(Doc(R"(,"circuit_breaker":{})")), "circuit_breaker.enabled: required");
  EXPECT_EQ(Err(Doc(R"(,"rate_limit":{"enabled":true,"requests_per_second":0.001})")),
            "rate_limit.requests_per_second: must be between 0.01 and 1000000.0");
  EXPECT_EQ(Err(Doc(R"(,"rate_limit":{"enabled":true,"burst":0})")),
            "rate_limit.burst: must be between 1 and 1000000");
  EXPECT_EQ(Err(R"({"providers":[{"name":"a","weight":1,"cost":-1}]})"),
            "providers[0].cost: must be between 0.0 and 1000000.0");
  EXPECT_EQ(Err(R"({"providers":[{"name":"a","weight":1,"expected_latency_ms":1.5}]})"),
            "providers[0].expected_latency_ms: must be an integer");
  EXPECT_EQ(Err(Doc(R"(,"selection":{"strategy":"weighted","tie_tolerance":1.5})")),
            "selection.tie_tolerance: must be between 0.0 and 1.0");
  EXPECT_EQ(Err(Doc(R"(,"selection":{"strategy":"fastest"})")),
            R"(selection.strategy: must be one of "weighted", "least_latency", "lowest_cost")");
  EXPECT_EQ(Err(Doc(R"(,"selection":{})")), "selection.strategy: required");
  auto p = Ok(Doc(R"(,"rate_limit":{"enabled":true,"requests_per_second":2})"));
  ASSERT_NE(p, nullptr);
  EXPECT_DOUBLE_EQ(p->rate_limit.requests_per_second, 2.0);
  EXPECT_EQ(p->rate_limit.burst, 50);
}

TEST(PolicyCompilerTest, RulesAndBackoff) {
  EXPECT_EQ(Err(Doc(R"(,"fallbacks":[{"retry":0}])")),
            R"(fallbacks[0]: must have "to" or "retry" greater than 0)");
  EXPECT_EQ(Err(Doc(R"(,"fallbacks":[{}])")), "OK");  // retry defaults to 1
  EXPECT_EQ(Err(Doc(R"(,"fallbacks":[{"to":"a","backoff":{"base_ms":500,"max_ms":100}}])")),
            "fallbacks[0].backoff.max_ms: must be greater than or equal to base_ms (500)");
  EXPECT_EQ(Err(Doc(R"(,"fallbacks":[{"to":"a","backoff":{"strategy":"random"}}])")),
            R"(fallbacks[0].backoff.strategy: must be one of "exponential", "linear", "fixed")");
  EXPECT_EQ(Err(Doc(R"(,"fallbacks":[{"to":"a","backoff":{"base_ms":0}}])")),
            "fallbacks[0].backoff.base_ms: must be between 1 and 10000");
  EXPECT_EQ(Err(Doc(R"(,"fallbacks":[{"to":"a","backoff":{"max_ms":60001}}])")),
            "fallbacks[0].backoff.max_ms: must be between 1 and 60000");
  EXPECT_EQ(Err(Doc(R"(,"fallbacks":[{"to":"a","backoff":{"jitter":"no"}}])")),
            "fallbacks[0].backoff.jitter: must be a boolean");
  EXPECT_EQ(Err(Doc(R"(,"fallbacks":[{"to":"bad name"}])")),
            "fallbacks[0].to: must match ^[A-Za-z0-9_.:/-]{1,128}$");
  std::string many = ",\"fallbacks\":[";
  for (int i = 0; i < 33; ++i) many += std::string(i ? "," : "") + R"({"to":"a"})";
  EXPECT_EQ(Err(Doc(many + "]")), "fallbacks: at most 32 entries");
  auto p =
      Ok(Doc(R"(,"fallbacks":[{"to":"model:gpt-4/x","retry":0},{"retry":3},{"to":"openai"}])"));
  ASSERT_NE(p, nullptr);
  ASSERT_EQ(p->rules.size(), 3u);
  EXPECT_EQ(p->rules[1].to, "");
  EXPECT_EQ(p->rules[1].when_json, "{}");
  EXPECT_TRUE(p->rules[1].when.AlwaysTrue());
  EXPECT_EQ(p->rules[2].retry, 1);
  EXPECT_EQ(p->rules[2].backoff.base_ms, 100);
  EXPECT_EQ(p->rules[2].backoff.max_ms, 5000);
  EXPECT_TRUE(p->rules[2].backoff.jitter);
  EXPECT_EQ(p->fallback_targets, (std::vector<std::string>{"model:gpt-4/x", "openai"}));
}

// POL §2 grammar.
TEST(PolicyCompilerTest, WhenValidation) {
  auto when = [](const std::string& w) {
    return Err(Doc(R"(,"fallbacks":[{"to":"a","when":)" + w + "}]"));
  };
  EXPECT_EQ(when(R"({"status":["timeout","5xx"],"in":[{"var":"tier"},["gold"]]})"), "OK");
  EXPECT_EQ(when(R"({">=":[{"var":"context.n"},1.5],"<":[1,2],"!=":[true,"x"]})"), "OK");
  EXPECT_EQ(when(R"({"in":[{"var":"tier"},{"var":"tiers"}]})"), "OK");
  EXPECT_EQ(when(R"({"a.b.c.d.e.f.g.h":1})"), "OK");
  EXPECT_EQ(when(R"({"a.b.c.d.e.f.g.h.i":1})"),
            R"(fallbacks[0].when["a.b.c.d.e.f.g.h.i"]: must be an operator or a context path)");
  EXPECT_EQ(when(R"({"==":[1]})"),
            R"(fallbacks[0].when["=="]: must be an array of exactly 2 operands)");
  EXPECT_EQ(when(R"({"==":{"a":1}})"),
            R"(fallbacks[0].when["=="]: must be an array of exactly 2 operands)");
  EXPECT_EQ(when(R"({"bad key":1})"),
            R"(fallbacks[0].when["bad key"]: must be an operator or a context path)");
  EXPECT_EQ(when(R"({"==":[["a"],"a"]})"),
            R"(fallbacks[0].when["=="][0]: must be a string, number or boolean)");
  EXPECT_EQ(when(R"({"==":[{"var":"a"},["a"]]})"),
            R"(fallbacks[0].when["=="][1]: must be a string, number or boolean)");
  EXPECT_EQ(when(R"({"in":[{"var":"a"},[]]})"), "fallbacks[0].when.in[1]: must not be empty");
  EXPECT_EQ(when(R"({"in":[{"var":"a"},[[1]]]})"),
            "fallbacks[0].when.in[1][0]: must be a string, number or boolean");
  EXPECT_EQ(when(R"({"s":[]})"), "fallbacks[0].when.s: must not be empty");
  EXPECT_EQ(when(R"({"s":null})"), "fallbacks[0].when.s: must be a string, number or boolean");
  EXPECT_EQ(when(R"({"s":{"var":"x"}})"),
            "fallbacks[0].when.s: must be a string, number or boolean");
  EXPECT_EQ(when(R"({"==":[{"var":"a","x":1},1]})"),
            R"(fallbacks[0].when["=="][0].x: unknown key)");
  EXPECT_EQ(when(R"({"==":[{},1]})"), R"(fallbacks[0].when["=="][0].var: required)");
  EXPECT_EQ(when(R"({"==":[{"var":1},1]})"), R"(fallbacks[0].when["=="][0].var: must be a string)");
  EXPECT_EQ(
      when(R"({"==":[{"var":"a b"},1]})"),
      R"(fallbacks[0].when["=="][0].var: must match ^[A-Za-z0-9_-]{1,64}(\.[A-Za-z0-9_-]{1,64}){0,7}$)");
  EXPECT_EQ(when(R"({"s":"x","s":"y"})"), "fallbacks[0].when.s: duplicate key");
  EXPECT_EQ(when(R"("status")"), "fallbacks[0].when: must be an object");
  EXPECT_EQ(when("{\"s\":\"" + std::string(257, 'x') + "\"}"),
            "fallbacks[0].when.s: exceeds 256 bytes");
  EXPECT_EQ(when("{\"s\":\"" + std::string(256, 'x') + "\"}"), "OK");
  std::string big = "{";
  for (int i = 0; i < 17; ++i)
    big += std::string(i ? "," : "") + "\"k" + std::to_string(i) + "\":1";
  EXPECT_EQ(when(big + "}"), "fallbacks[0].when: at most 16 entries");
  std::string list = "[";
  for (int i = 0; i < 65; ++i) list += std::string(i ? "," : "") + std::to_string(i);
  EXPECT_EQ(when(R"({"s":)" + list + "]}"), "fallbacks[0].when.s: at most 64 entries");
}

TEST(PolicyCompilerTest, WhenCompiles) {
  auto p = Ok(Doc(R"(,"fallbacks":[{"to":"a","when":{"context.tier":"gold","n":[1,2],)"
                  R"(">":[{"var":"context.x"},5],"context":true}}])"));
  ASSERT_NE(p, nullptr);
  const auto& e = p->rules[0].when.entries();
  ASSERT_EQ(e.size(), 4u);
  EXPECT_EQ(e[0].op, ConditionOp::kEq);
  EXPECT_EQ(e[0].lhs.var_path, "tier");
  EXPECT_EQ(e[0].rhs.literal.str, "gold");
  EXPECT_EQ(e[1].op, ConditionOp::kIn);
  EXPECT_EQ(e[1].rhs.list.size(), 2u);
  EXPECT_EQ(e[1].rhs.list[1].num, 2.0);
  EXPECT_EQ(e[2].op, ConditionOp::kGt);
  EXPECT_EQ(e[2].lhs.var_path, "x");
  EXPECT_EQ(e[2].rhs.literal.kind, Literal::Kind::kNumber);
  EXPECT_EQ(e[3].lhs.var_path, "context");
  EXPECT_EQ(e[3].rhs.literal.kind, Literal::Kind::kBool);
}

// POL §9 items.
TEST(PolicyCompilerTest, Extensions) {
  EXPECT_EQ(Err(Doc(R"(,"pre":[{"id":"a"},{"id":"a"}])")),
            R"(pre[1].id: duplicate extension "a" in pre)");
  EXPECT_EQ(Err(Doc(R"(,"validators":[{"id":"a","on_fail":"block"},{"id":"a"}])")),
            R"(validators[1].id: duplicate extension "a" in validators)");
  EXPECT_EQ(Err(Doc(R"(,"pre":[{"id":"a"}],"post":[{"id":"a"}])")), "OK");
  EXPECT_EQ(Err(Doc(R"(,"pre":[{"id":"A"}])")), "pre[0].id: must match ^[a-z0-9_]{1,64}$");
  EXPECT_EQ(Err(Doc(R"(,"pre":[{}])")), "pre[0].id: required");
  EXPECT_EQ(Err(Doc(R"(,"pre":[{"id":"a","mode":"mandatory"}])")),
            R"(pre[0].mode: must be one of "required", "optional")");
  EXPECT_EQ(Err(Doc(R"(,"pre":[{"id":"a","mandatory":true}])")), "pre[0].mandatory: unknown key");
  EXPECT_EQ(Err(Doc(R"(,"validators":[{"id":"a","mode":"required"}])")),
            "validators[0].mode: unknown key");
  EXPECT_EQ(Err(Doc(R"(,"post":[{"id":"a","on_fail":"warn"}])")), "post[0].on_fail: unknown key");
  EXPECT_EQ(Err(Doc(R"(,"validators":[{"id":"a","on_fail":"stop"}])")),
            R"(validators[0].on_fail: must be one of "block", "warn", "ignore")");
  EXPECT_EQ(Err(Doc(R"(,"pre":[{"id":"a","timeout_ms":5}])")),
            "pre[0].timeout_ms: must be between 10 and 5000");
  EXPECT_EQ(Err(Doc(R"(,"pre":[{"id":"a","retry":4}])")), "pre[0].retry: must be between 0 and 3");
  EXPECT_EQ(Err(Doc(R"(,"pre":[{"id":"a","config":[]}])")), "pre[0].config: must be an object");
  EXPECT_EQ(Err(Doc(R"(,"pre":[{"id":"a","config":{"x":")" + std::string(16400, 'y') + R"("}}])")),
            "pre[0].config: exceeds 16384 bytes");
  EXPECT_EQ(Err(Doc(R"(,"pre":[{"id":"a","when":{"x":null}}])")),
            "pre[0].when.x: must be a string, number or boolean");
  auto stage = [](int n) {
    std::string s = "[";
    for (int i = 0; i < n; ++i)
      s += std::string(i ? "," : "") + "{\"id\":\"e" + std::to_string(i) + "\"}";
    return s + "]";
  };
  EXPECT_EQ(Err(Doc(",\"pre\":" + stage(6))), "pre: at most 5 entries");
  EXPECT_EQ(Err(Doc(",\"pre\":" + stage(5) + ",\"post\":" + stage(5))), "OK");
  EXPECT_EQ(
      Err(Doc(",\"pre\":" + stage(5) + ",\"validators\":" + stage(5) + ",\"post\":" + stage(1))),
      "$: at most 10 extensions in total (got 11)");
  // Free-form config may hold anything, including keys the DSL would reject.
  auto p = Ok(Doc(R"(,"post":[{"id":"a","config":{"b":[1,{"c":null}],"a":"x"}}])"));
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(p->post[0].config_json, R"({"b":[1,{"c":null}],"a":"x"})");
}

TEST(PolicyCompilerTest, VersionKeysAndMetadata) {
  EXPECT_EQ(Err(Doc(R"(,"version":"2.0")")),
            R"(version: unsupported DSL version "2.0"; supported: "1.0")");
  EXPECT_EQ(Err(Doc(R"(,"version":1.0)")), "version: must be a string");
  EXPECT_EQ(Err(Doc(R"(,"policy_id":"p1","tenant_id":"acme")")), "OK");
  EXPECT_EQ(Err(Doc(R"(,"policy_id":"p2")")), R"(policy_id: must equal "p1")");
  EXPECT_EQ(Err(Doc(R"(,"tenant_id":"other")")), R"(tenant_id: must equal "acme")");
  EXPECT_EQ(Err(Doc(R"(,"tenant_id":7)")), "tenant_id: must be a string");
  EXPECT_EQ(Err(Doc(R"(,"metadata":[])")), "metadata: must be an object");
  EXPECT_EQ(Err(Doc(R"(,"metadata":{"defaults":{"x":1},"k":[null,true]})")), "OK");
  std::string members = "{";
  for (int i = 0; i < 65; ++i)
    members += std::string(i ? "," : "") + "\"k" + std::to_string(i) + "\":1";
  EXPECT_EQ(Err(Doc(R"(,"metadata":)" + members + "}")), "metadata: at most 64 entries");
  EXPECT_EQ(Err(Doc(R"(,"metadata":{"d":")" + std::string(8200, 'x') + "\"}")),
            "metadata: exceeds 8192 bytes");
  EXPECT_EQ(Err(Doc(R"(,"metadata":{"d":")" + std::string(8184, 'x') + "\"}")), "OK");
}

TEST(PolicyCompilerTest, ProviderFields) {
  EXPECT_EQ(Err(R"({"providers":[{"name":"openai:gpt-4","weight":1}]})"), "OK");
  EXPECT_EQ(Err(R"({"providers":[{"name":"","weight":1}]})"),
            "providers[0].name: must match ^[A-Za-z0-9_.:/-]{1,128}$");
  EXPECT_EQ(Err("{\"providers\":[{\"name\":\"" + std::string(129, 'a') + "\",\"weight\":1}]}"),
            "providers[0].name: must match ^[A-Za-z0-9_.:/-]{1,128}$");
  std::string many = "{\"providers\":[";
  for (int i = 0; i < 33; ++i)
    many += std::string(i ? "," : "") + "{\"name\":\"p" + std::to_string(i) + "\",\"weight\":1}";
  EXPECT_EQ(Err(many + "]}"), "providers: at most 32 entries");
  auto p = Ok(R"({"providers":[{"name":"a","weight":0}]})");
  ASSERT_NE(p, nullptr);
  EXPECT_FALSE(p->has_positive_weight);
  EXPECT_FALSE(p->providers[0].declared_latency_ms.has_value());
  EXPECT_FALSE(p->providers[0].declared_cost.has_value());
  EXPECT_EQ(p->ProviderIndex("a"), 0);
  EXPECT_EQ(p->ProviderIndex("b"), -1);
}

// POL §1 limits and the one parser (POL §1.5 size/syntax messages).
TEST(PolicyCompilerTest, ParserLimits) {
  std::string deep = R"({"providers":[{"name":"a","weight":1}],"metadata":{"x":)";
  std::string open, close;
  for (int i = 0; i < 30; ++i) {  // root (1) + metadata (2) + 30 arrays = 32 levels
    open += "[";
    close += "]";
  }
  EXPECT_EQ(Err(deep + open + close + "}}"), "OK");
  EXPECT_EQ(Err(deep + open + "[" + "]" + close + "}}"), "$: nesting deeper than 32 levels");
  std::string big = Doc(R"(,"metadata":{"x":")" + std::string(70000, 'x') + "\"}");
  EXPECT_EQ(Err(big), "$: document exceeds 65536 bytes");
  EXPECT_EQ(Err("{\"providers\":"), Err("{\"providers\":"));
  EXPECT_EQ(Err("{\"providers\":").rfind("$: invalid JSON at offset ", 0), 0u);
  EXPECT_EQ(Err("").rfind("$: invalid JSON at offset 0: ", 0), 0u);
  EXPECT_EQ(Err("{} {}").rfind("$: invalid JSON at offset ", 0), 0u);
  EXPECT_EQ(Err(std::string("{}\0{}", 5)).rfind("$: invalid JSON at offset ", 0), 0u);
  EXPECT_EQ(Err("{\"a\":NaN}").rfind("$: invalid JSON at offset ", 0), 0u);
  EXPECT_EQ(Err("{\"a\":1,}").rfind("$: invalid JSON at offset ", 0), 0u);
  // Invalid UTF-8 is a clean syntax error, never a crash.
  for (std::string bad :
       {std::string("{\"a\":\"\xFF\"}"), std::string("{\"\xC0\xAF\":1}"),
        std::string("{\"a\":\"\xED\xA0\x80\"}"), std::string("{\"a\":\"\\udc00\"}"),
        std::string("{\"a\":\"\xE2\x82\"}"), std::string("\xEF\xBB\xBF{}")}) {
    EXPECT_EQ(Err(bad).rfind("$: invalid JSON at offset ", 0), 0u) << Err(bad);
  }
  auto bad = CompilePolicy("{", "t", "p");
  ASSERT_FALSE(bad.ok());
  auto v = ErrorViolations(bad.status());
  ASSERT_EQ(v.size(), 1u);
  EXPECT_EQ(v[0].field, "$");
}

TEST(PolicyCompilerTest, CanonicalAndDigest) {
  auto a = Ok(R"({ "providers" : [ {"weight": 1.50e-1, "name": "x"} ], "version": "1.0" })");
  auto b = Ok(R"({"version":"1.0","providers":[{"name":"x","weight":1.50e-1}]})");
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  EXPECT_EQ(a->canonical_json, R"({"providers":[{"name":"x","weight":1.50e-1}],"version":"1.0"})");
  EXPECT_EQ(a->canonical_json, b->canonical_json);
  EXPECT_EQ(a->sha256_hex, b->sha256_hex);
  EXPECT_EQ(a->version, 0u);
  EXPECT_EQ(a->tenant_id, "acme");
  EXPECT_EQ(a->policy_id, "p1");
  auto c = Ok(R"({"version":"1.0","providers":[{"name":"x","weight":0.15}]})");
  ASSERT_NE(c, nullptr);
  EXPECT_NE(c->sha256_hex, a->sha256_hex);  // lexemes are kept as written
}

}  // namespace
}  // namespace router::policy
