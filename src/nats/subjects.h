#pragma once
// NATS subject helpers for the transport (nats-contracts.md §1, §3.1 `assignment_subject`,
// §6.1 stream coverage): syntax checks, wildcard matching and the `v<N>` version token.
// Pure functions; thread-safe.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace router::nats_adapter {

// Non-empty tokens separated by '.', no whitespace; with `allow_wildcards`, a token may be
// exactly "*" and the last token exactly ">".
bool IsValidSubject(std::string_view subject, bool allow_wildcards);

// The `assignment_subject` rule of §3.1: a literal subject of at most 256 bytes (no wildcard,
// whitespace or empty token) that is neither `$...` nor `_INBOX...`.
bool IsAllowedAssignmentSubject(std::string_view subject);

// True iff the literal `subject` matches `pattern` (`*` = one token, trailing `>` = one or
// more tokens).
bool SubjectMatches(std::string_view pattern, std::string_view subject);

// True iff some pattern of `patterns` matches the literal `subject`.
bool SubjectCovered(const std::vector<std::string>& patterns, std::string_view subject);

// The digits of the first token of the form v<digits> ("beamline.router.v1.decide" -> "1"),
// or nullopt (§2 `version` rule, third source).
std::optional<std::string_view> SubjectVersionToken(std::string_view subject);

}  // namespace router::nats_adapter
