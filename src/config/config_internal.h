#pragma once
// Internals shared by the config loader, validator and printer (configuration.md §2-§5). Not
// for use outside src/config/ and its tests. Pure functions; thread-safe.

#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "config/config.h"

namespace router::config::internal {

// ---------------------------------------------------------------- enum spellings
template <typename E>
const std::vector<std::pair<E, const char*>>& EnumValues();
template <>
const std::vector<std::pair<LogLevel, const char*>>& EnumValues<LogLevel>();
template <>
const std::vector<std::pair<LogOutput, const char*>>& EnumValues<LogOutput>();
template <>
const std::vector<std::pair<TenantLabels, const char*>>& EnumValues<TenantLabels>();
template <>
const std::vector<std::pair<OtlpCompression, const char*>>& EnumValues<OtlpCompression>();
template <>
const std::vector<std::pair<StoreBackend, const char*>>& EnumValues<StoreBackend>();
template <>
const std::vector<std::pair<IntegrityCheck, const char*>>& EnumValues<IntegrityCheck>();
template <>
const std::vector<std::pair<IdempotencyScope, const char*>>& EnumValues<IdempotencyScope>();
template <>
const std::vector<std::pair<ReplyMode, const char*>>& EnumValues<ReplyMode>();
template <>
const std::vector<std::pair<ExtensionType, const char*>>& EnumValues<ExtensionType>();
template <>
const std::vector<std::pair<AdminRole, const char*>>& EnumValues<AdminRole>();

template <typename E>
bool ParseEnum(std::string_view s, E* out) {
  for (const auto& [value, name] : EnumValues<E>()) {
    if (s == name) {
      *out = value;
      return true;
    }
  }
  return false;
}

// `must be one of "a", "b", "c" (got "x")`.
template <typename E>
std::string EnumProblem(std::string_view got) {
  std::string out = "must be one of ";
  bool first = true;
  for (const auto& [value, name] : EnumValues<E>()) {
    if (!first) out += ", ";
    first = false;
    out += '"';
    out += name;
    out += '"';
  }
  out += " (got \"";
  out.append(got.substr(0, 64));
  out += "\")";
  return out;
}

// ---------------------------------------------------------------- hints and paths
size_t EditDistance(std::string_view a, std::string_view b);
// The first of `candidates` within edit distance 2 of `word` (closest wins), or "".
std::string ClosestMatch(std::string_view word, const std::vector<std::string>& candidates);
// Appends `key` to a dotted path, quoting keys that are not bare TOML keys.
std::string JoinPath(std::string_view parent, std::string_view key);

// ---------------------------------------------------------------- syntax checks
// Returns "" when `value` is a valid host:port (IPv6 in brackets), else the problem text.
// On success `host` (brackets removed) and `port` are filled when non-null.
std::string CheckHostPort(std::string_view value, std::string* host = nullptr, int* port = nullptr);
// NATS subject syntax: dot-separated non-empty tokens without whitespace; `*` and `>` only as
// whole tokens, `>` only last; wildcards only when `allow_wildcards`.
bool IsValidSubject(std::string_view subject, bool allow_wildcards);
bool SubjectHasWildcard(std::string_view subject);
// Some concrete subject matches both patterns.
bool SubjectsOverlap(std::string_view a, std::string_view b);
// Every subject matching `subject` (a pattern) also matches `pattern`.
bool SubjectCovers(std::string_view pattern, std::string_view subject);
// JetStream stream / durable names: non-empty, <= 255 bytes, no whitespace, `.`, `*`, `>`, `/`,
// `\`.
bool IsValidStreamName(std::string_view name);

// exactly-once bound (nats-contracts.md §6.2): Σ retry delays at +20 % + attempts x ack timeout.
int64_t RetryHorizonMs(const JetStreamPublishConfig& publish);
// Results consumer's whole redelivery span: max_deliver x ack_wait + Σ NAK delays at +10 %.
int64_t RedeliverySpanMs(const ConsumerConfig& consumer);

// ---------------------------------------------------------------- validation (§5 rules 2-11)
struct ValidationContext {
  bool testing_hooks_enabled = false;
  bool check_files = true;
  // Keys present in [testing] (rule 11 without --enable-testing-hooks).
  std::vector<std::string> testing_keys_present;
  // Path -> where an override came from, e.g. "server.grpc_listen" ->
  // "BEAMLINE_ROUTER_GRPC_LISTEN".
  std::map<std::string, std::string> sources;
  // Index in config.admin.keys of the BEAMLINE_ROUTER_ADMIN_API_KEY principal, or -1.
  int env_admin_index = -1;
};

// Appends one `<path>: <problem>` line per problem of `config` to `errors`.
void Validate(const Config& config, const ValidationContext& context,
              std::vector<std::string>* errors);

}  // namespace router::config::internal
