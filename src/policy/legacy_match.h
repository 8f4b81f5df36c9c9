#pragma once
// The legacy AdminRule.match grammar (grpc-api.md §6.2, POL §1.6): parsing a match into a `when`
// condition and rendering a `when` back into a match. Used by LegacyToDocument /
// DocumentToLegacy (policy/policy_compiler.h). Pure functions; thread-safe.

#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace router::policy {

// "" -> "{}"; text starting with '{' -> that text verbatim (after checking it is JSON);
// "k:v1|v2;k2:v3" -> {"k":["v1","v2"],"k2":["v3"]} (always lists, clause order kept).
// Error: INVALID_ARGUMENT, tag invalid_policy, message = the bare <text> (no path prefix).
absl::StatusOr<std::string> MatchToWhenJson(std::string_view match);

// render(when): {} -> ""; only shorthand entries whose values are non-empty strings or lists of
// them, free of ';' and '|' -> "k:v1|v2;k2:v3" in member order; anything else -> compact JSON.
// `when_json` is the compact JSON of a valid `when` object (FallbackRule::when_json).
std::string RenderMatch(std::string_view when_json);

}  // namespace router::policy
