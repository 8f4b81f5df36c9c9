#pragma once
// Redactor: the secret scrubbing of OBS §5.3, applied by the logger to `context` (keys and
// every string value, at any depth) and to the message of errors that come from libraries.
// Also usable on its own (span attributes, --print-config).
//
// - Keys (ASCII case-insensitive, '-' read as '_'): the §5.3 list, any key ending in
//   `_password`, `_secret`, `_token` or `_api_key`, and the configured `log.redact_keys`.
//   The whole value, object or array included, becomes "[REDACTED]".
// - Known secrets: every occurrence of a configured secret value of 8 bytes or more becomes
//   "[REDACTED]" (applied first, so a pattern cannot split one).
// - Value patterns, applied in the §5.3 order with regex leftmost/greedy semantics, by
//   hand-written linear scanners (no std::regex, no backtracking blow-up):
//     (?i)\bbearer\s+[A-Za-z0-9._~+/=-]+             -> Bearer [REDACTED]
//     (?i)\bbasic\s+[A-Za-z0-9+/=]{8,}                -> Basic [REDACTED]
//     \beyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*   -> [REDACTED:jwt]
//     \bS[ACNOPUX][A-Z2-7]{56}\b                      -> [REDACTED:nkey]
//     ([a-z][a-z0-9+.-]*://)[^/@\s]+@                 -> $1***@
//     (?i)\b(password|passwd|secret|token|api[_-]?key)\s*[=:]\s*[^\s,;&"']+ -> $1=[REDACTED]
//     [A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}  -> [REDACTED:email]  (the e-mail rule)
//   \b and \s as in ECMAScript/PCRE: word = [A-Za-z0-9_], space = [ \t\n\r\f\v].
//
// Immutable after construction; thread-safe.

#include <string>
#include <string_view>
#include <vector>

#include "obs/logging/log_value.h"

namespace router::obs {

inline constexpr std::string_view kRedacted = "[REDACTED]";

struct RedactionOptions {
  std::vector<std::string> extra_keys;     // `log.redact_keys`
  std::vector<std::string> known_secrets;  // values shorter than 8 bytes are ignored
};

class Redactor {
 public:
  explicit Redactor(RedactionOptions options = {});

  // True when the value under `key` must be replaced as a whole.
  bool IsSecretKey(std::string_view key) const;

  // Applies known secrets and the value patterns to `*value`; true when it changed.
  bool RedactString(std::string* value) const;
  // Applies the known secrets only; true when `*value` changed.
  bool RedactKnownSecrets(std::string* value) const;
  bool HasKnownSecrets() const { return !known_secrets_.empty(); }
  std::string Redacted(std::string_view value) const;

  // Redacts a value tree in place: strings by pattern, fields under secret keys as a whole.
  void RedactValue(LogValue* value) const;
  void RedactFields(std::vector<LogField>* fields) const;

 private:
  std::vector<std::string> extra_keys_;     // normalized
  std::vector<std::string> known_secrets_;  // longest first
};

// The value patterns alone (no known secrets); true when `*value` changed.
bool RedactValuePatterns(std::string* value);

}  // namespace router::obs
