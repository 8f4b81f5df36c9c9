#pragma once
// CompiledPolicy: the immutable, normalized form of a valid policy document (POL §1.6).
// Decisions read nothing else. Built once by CompilePolicy() (policy/policy_compiler.h) and
// shared read-only through snapshots; never mutated after construction, so thread-safe.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "policy/condition.h"

namespace router::policy {

inline constexpr size_t kMaxProviders = 32;
inline constexpr uint32_t kMicroShareScale = 1'000'000;  // weight 1.0 / 100 %

struct ProviderSpec {
  std::string name;
  uint32_t weight_micro = 0;                   // 0..1,000,000 micro-shares (POL §1.1 rule 3)
  std::optional<int64_t> declared_latency_ms;  // providers[].expected_latency_ms
  std::optional<double> declared_cost;         // providers[].cost
};

enum class BackoffStrategy : uint8_t { kExponential, kLinear, kFixed };

struct Backoff {
  BackoffStrategy strategy = BackoffStrategy::kExponential;
  int64_t base_ms = 100;
  int64_t max_ms = 5000;
  bool jitter = true;
};

struct FallbackRule {
  Condition when;         // {} = always
  std::string when_json;  // compact JSON of the `when` object in member order (legacy view render)
  int retry = 1;          // 0..10
  Backoff backoff;
  std::string to;                     // "" = retry-only rule
  bool from_legacy_fallback = false;  // the rule made from legacy `fallback` (always last)
};

struct StickyConfig {
  bool enabled = false;
  std::string session_key = "session_id";
  int64_t ttl_seconds = 3600;
};

struct BreakerConfig {
  bool enabled = false;
  int failure_threshold = 5;
  int success_threshold = 2;
  int64_t timeout_ms = 60'000;
  int half_open_max_calls = 3;
  double error_rate_threshold = 0.5;
  int error_rate_window_seconds = 60;
  int min_requests = 10;
  std::optional<int64_t> latency_threshold_ms;  // absent = latency trigger off
  int64_t probe_timeout_ms = 30'000;
};

struct RateLimitConfig {
  bool enabled = false;
  double requests_per_second = 100;
  int64_t burst = 50;
};

enum class Strategy : uint8_t { kWeighted, kLeastLatency, kLowestCost };

struct SelectionConfig {
  Strategy strategy = Strategy::kWeighted;
  double tie_tolerance = 0.10;
};

// One item of pre / validators / post (POL §9, [later]: validated and kept, not executed yet).
struct ExtensionItem {
  std::string id;
  std::string
      mode;  // pre/post: "required" | "optional"; validators: on_fail "block"|"warn"|"ignore"
  Condition when;
  std::string config_json;  // compact JSON object, "{}" by default
  int64_t timeout_ms = 0;   // 0 = registry default
  int retry = 0;
};

struct CompiledPolicy {
  std::string tenant_id;
  std::string policy_id;
  uint64_t version = 0;  // store version; 0 for an inline DryRun document

  std::vector<ProviderSpec> providers;        // normalized order (POL §1.1/§1.2)
  std::vector<FallbackRule> rules;            // fallbacks[], then the legacy fallback rule
  std::vector<std::string> fallback_targets;  // every rule's `to`, rule order, deduplicated
  StickyConfig sticky;
  BreakerConfig breaker;
  RateLimitConfig rate_limit;
  SelectionConfig selection;
  std::vector<ExtensionItem> pre, validators, post;

  std::string canonical_json;  // POL §10 canonical form of the source document
  std::string sha256_hex;      // of canonical_json

  // Derived: true iff some provider has weight > 0.
  bool has_positive_weight = false;

  // Index of `name` in providers, or -1.
  int ProviderIndex(std::string_view name) const {
    for (size_t i = 0; i < providers.size(); ++i)
      if (providers[i].name == name) return static_cast<int>(i);
    return -1;
  }
  bool IsFallbackTarget(std::string_view name) const {
    for (const auto& t : fallback_targets)
      if (t == name) return true;
    return false;
  }
};

using CompiledPolicyPtr = std::shared_ptr<const CompiledPolicy>;

}  // namespace router::policy
