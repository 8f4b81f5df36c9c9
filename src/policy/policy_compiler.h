#pragma once
// The one parser + validator + compiler of the policy DSL (POL §1, §1.5, §1.6, §2, §9 items).
// Fixtures, stored rows, UpsertPolicy and DryRun inline documents all go through CompilePolicy.
// Pure functions; thread-safe.

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "base/errors.h"
#include "policy/compiled_policy.h"

namespace router::policy {

// Parses, validates and compiles `json` stored under (tenant_id, policy_id).
// OK: the compiled policy (version 0; the caller stamps the store version) with
// canonical_json and sha256_hex filled.
// Error: INVALID_ARGUMENT, tag "invalid_policy", message "<path>: <text>" of the FIRST violation
// in walk order (POL §1.5), up to 20 violations attached (SetViolations).
absl::StatusOr<CompiledPolicyPtr> CompilePolicy(std::string_view json, std::string_view tenant_id,
                                                std::string_view policy_id);

// Canonical form (POL §10): members sorted bytewise, no insignificant whitespace, number lexemes
// kept as written, minimal string escaping. REQUIRES: `json` is syntactically valid JSON
// (returns INVALID_ARGUMENT "$: invalid JSON at offset <n>: <detail>" otherwise).
absl::StatusOr<std::string> CanonicalJson(std::string_view json);

// ---- legacy AdminPolicy fields (grpc-api.md §6.2, POL §1.6). Plain structs so the policy
// library does not depend on protobuf; the gRPC adapter maps the proto to and from these.
struct LegacyProvider {
  std::string id;
  double weight = 0;
};
struct LegacyRule {
  std::string match;
  std::vector<std::string> prefer;
  std::string fallback;
};
struct LegacyPolicyView {
  std::vector<LegacyProvider> providers;
  bool sticky = false;
  std::vector<LegacyRule> rules;
};

// Legacy fields -> policy document JSON (then validated with CompilePolicy like any other).
// Errors: INVALID_ARGUMENT tag invalid_policy, `rules[<i>].prefer: unsupported` or
// `rules[<i>].match: <text>`.
absl::StatusOr<std::string> LegacyToDocument(const LegacyPolicyView& legacy);

// Compiled policy -> legacy view (GetPolicy/ListPolicies output).
LegacyPolicyView DocumentToLegacy(const CompiledPolicy& policy);

}  // namespace router::policy
