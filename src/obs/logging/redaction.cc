#include "obs/logging/redaction.h"

#include <algorithm>
#include <array>
#include <string>
#include <utility>

namespace router::obs {
namespace {

// ---------------------------------------------------------------- character classes

bool IsWord(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
}
bool IsSpace(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}
bool IsAlpha(char c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z'); }
bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsAlnum(char c) { return IsAlpha(c) || IsDigit(c); }
bool IsLowerAlpha(char c) { return c >= 'a' && c <= 'z'; }
char ToLower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

// [A-Za-z0-9._~+/=-]
bool IsBearerChar(char c) {
  return IsAlnum(c) || c == '.' || c == '_' || c == '~' || c == '+' || c == '/' || c == '=' ||
         c == '-';
}
// [A-Za-z0-9+/=]
bool IsBasicChar(char c) { return IsAlnum(c) || c == '+' || c == '/' || c == '='; }
// [A-Za-z0-9_-]
bool IsJwtChar(char c) { return IsAlnum(c) || c == '_' || c == '-'; }
// [A-Z2-7]
bool IsBase32Char(char c) { return (c >= 'A' && c <= 'Z') || (c >= '2' && c <= '7'); }
// [a-z0-9+.-]
bool IsSchemeChar(char c) {
  return IsLowerAlpha(c) || IsDigit(c) || c == '+' || c == '.' || c == '-';
}
// [^/@\s]
bool IsUserinfoChar(char c) { return c != '/' && c != '@' && !IsSpace(c); }
// [^\s,;&"']
bool IsSecretValueChar(char c) {
  return !IsSpace(c) && c != ',' && c != ';' && c != '&' && c != '"' && c != '\'';
}
// e-mail local part [A-Za-z0-9._%+-]
bool IsEmailLocalChar(char c) {
  return IsAlnum(c) || c == '.' || c == '_' || c == '%' || c == '+' || c == '-';
}
// e-mail domain [A-Za-z0-9.-]
bool IsEmailDomainChar(char c) { return IsAlnum(c) || c == '.' || c == '-'; }

// \b before a word character at `i`.
bool WordStart(std::string_view s, size_t i) { return i == 0 || !IsWord(s[i - 1]); }

bool StartsWithIgnoreCase(std::string_view s, size_t i, std::string_view lower_word) {
  if (s.size() - i < lower_word.size()) return false;
  for (size_t k = 0; k < lower_word.size(); ++k) {
    if (ToLower(s[i + k]) != lower_word[k]) return false;
  }
  return true;
}

size_t SkipWhile(std::string_view s, size_t i, bool (*pred)(char)) {
  while (i < s.size() && pred(s[i])) ++i;
  return i;
}

// ---------------------------------------------------------------- pattern scanners
//
// A scanner tries to match at position `i` of `s`. On success it sets `*end` (one past the
// match) and `*replacement`. On failure it may set `*next` beyond i + 1 when every start before
// `*next` is known to fail too (keeps each scan linear).

struct Match {
  size_t end = 0;
  std::string replacement;
};

// (?i)\bbearer\s+[A-Za-z0-9._~+/=-]+
bool ScanBearer(std::string_view s, size_t i, Match* m, size_t* /*next*/) {
  if (ToLower(s[i]) != 'b' || !WordStart(s, i) || !StartsWithIgnoreCase(s, i, "bearer")) {
    return false;
  }
  const size_t after_word = i + 6;
  const size_t token = SkipWhile(s, after_word, IsSpace);
  if (token == after_word) return false;
  const size_t end = SkipWhile(s, token, IsBearerChar);
  if (end == token) return false;
  m->end = end;
  m->replacement = "Bearer [REDACTED]";
  return true;
}

// (?i)\bbasic\s+[A-Za-z0-9+/=]{8,}
bool ScanBasic(std::string_view s, size_t i, Match* m, size_t* /*next*/) {
  if (ToLower(s[i]) != 'b' || !WordStart(s, i) || !StartsWithIgnoreCase(s, i, "basic")) {
    return false;
  }
  const size_t after_word = i + 5;
  const size_t value = SkipWhile(s, after_word, IsSpace);
  if (value == after_word) return false;
  const size_t end = SkipWhile(s, value, IsBasicChar);
  if (end - value < 8) return false;
  m->end = end;
  m->replacement = "Basic [REDACTED]";
  return true;
}

// \beyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*
bool ScanJwt(std::string_view s, size_t i, Match* m, size_t* next) {
  if (s[i] != 'e' || !WordStart(s, i) || s.compare(i, 3, "eyJ") != 0) return false;
  const size_t first = i + 3;
  const size_t first_end = SkipWhile(s, first, IsJwtChar);
  // Any later start inside this run ends the run at the same place: it fails the same way.
  *next = std::max(first_end, i + 1);
  if (first_end - first < 5 || first_end >= s.size() || s[first_end] != '.') return false;
  const size_t second = first_end + 1;
  const size_t second_end = SkipWhile(s, second, IsJwtChar);
  if (second_end - second < 5 || second_end >= s.size() || s[second_end] != '.') return false;
  m->end = SkipWhile(s, second_end + 1, IsJwtChar);
  m->replacement = "[REDACTED:jwt]";
  return true;
}

// \bS[ACNOPUX][A-Z2-7]{56}\b
bool ScanNkeySeed(std::string_view s, size_t i, Match* m, size_t* /*next*/) {
  constexpr size_t kLength = 58;
  if (s[i] != 'S' || !WordStart(s, i) || s.size() - i < kLength) return false;
  if (std::string_view("ACNOPUX").find(s[i + 1]) == std::string_view::npos) return false;
  for (size_t k = i + 2; k < i + kLength; ++k) {
    if (!IsBase32Char(s[k])) return false;
  }
  if (i + kLength < s.size() && IsWord(s[i + kLength])) return false;
  m->end = i + kLength;
  m->replacement = "[REDACTED:nkey]";
  return true;
}

// ([a-z][a-z0-9+.-]*://)[^/@\s]+@
bool ScanUrlUserinfo(std::string_view s, size_t i, Match* m, size_t* next) {
  if (!IsLowerAlpha(s[i])) return false;
  const size_t scheme_end = SkipWhile(s, i + 1, IsSchemeChar);
  // Every start inside the scheme run reaches the same "://" (or lack of it).
  *next = scheme_end;
  if (s.compare(scheme_end, 3, "://") != 0) return false;
  const size_t user = scheme_end + 3;
  const size_t user_end = SkipWhile(s, user, IsUserinfoChar);
  if (user_end == user || user_end >= s.size() || s[user_end] != '@') return false;
  m->end = user_end + 1;
  m->replacement.assign(s.substr(i, user - i));
  m->replacement += "***@";
  return true;
}

// (?i)\b(password|passwd|secret|token|api[_-]?key)\s*[=:]\s*[^\s,;&"']+
bool ScanSecretAssignment(std::string_view s, size_t i, Match* m, size_t* /*next*/) {
  const char c = ToLower(s[i]);
  if ((c != 'p' && c != 's' && c != 't' && c != 'a') || !WordStart(s, i)) return false;
  size_t word_end = 0;
  for (std::string_view word : {"password", "passwd", "secret", "token"}) {
    if (StartsWithIgnoreCase(s, i, word)) {
      word_end = i + word.size();
      break;
    }
  }
  if (word_end == 0 && StartsWithIgnoreCase(s, i, "api")) {
    size_t k = i + 3;
    if (k < s.size() && (s[k] == '_' || s[k] == '-')) ++k;
    if (StartsWithIgnoreCase(s, k, "key")) word_end = k + 3;
  }
  if (word_end == 0) return false;
  size_t k = SkipWhile(s, word_end, IsSpace);
  if (k >= s.size() || (s[k] != '=' && s[k] != ':')) return false;
  const size_t value = SkipWhile(s, k + 1, IsSpace);
  const size_t end = SkipWhile(s, value, IsSecretValueChar);
  if (end == value) return false;
  m->end = end;
  m->replacement.assign(s.substr(i, word_end - i));
  m->replacement += "=[REDACTED]";
  return true;
}

// [A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}
bool ScanEmail(std::string_view s, size_t i, Match* m, size_t* next) {
  if (!IsEmailLocalChar(s[i])) return false;
  const size_t at = SkipWhile(s, i + 1, IsEmailLocalChar);
  *next = at;  // every start inside the local run reaches the same '@' (or lack of it)
  if (at >= s.size() || s[at] != '@') return false;
  *next = at + 1;
  const size_t domain = at + 1;
  const size_t domain_end = SkipWhile(s, domain, IsEmailDomainChar);
  // Greedy: the last '.' (with at least one domain character before it) followed by 2+ letters.
  for (size_t dot = domain_end; dot-- > domain + 1;) {
    if (s[dot] != '.') continue;
    const size_t tld_end = SkipWhile(s, dot + 1, IsAlpha);
    if (tld_end - (dot + 1) >= 2) {
      m->end = tld_end;
      m->replacement = "[REDACTED:email]";
      return true;
    }
  }
  return false;
}

// Replaces every leftmost non-overlapping match of `scan`; true when something changed.
// A template so that each scanner is inlined into its own loop.
template <typename ScanFn>
bool ApplyScanner(std::string* value, ScanFn scan) {
  const std::string_view s(*value);
  std::string out;
  bool changed = false;
  size_t copied = 0;
  size_t i = 0;
  Match m;
  while (i < s.size()) {
    size_t next = i + 1;
    if (scan(s, i, &m, &next)) {
      if (!changed) out.reserve(s.size());
      changed = true;
      out.append(s.substr(copied, i - copied));
      out += m.replacement;
      copied = m.end;
      i = std::max(m.end, i + 1);
    } else {
      i = std::max(next, i + 1);
    }
  }
  if (!changed) return false;
  out.append(s.substr(copied));
  *value = std::move(out);
  return true;
}

// ---------------------------------------------------------------- keys

constexpr std::array<std::string_view, 32> kSecretKeys = {
    "password",    "passwd",       "pwd",           "secret",        "client_secret",
    "token",       "access_token", "refresh_token", "id_token",      "session_token",
    "api_key",     "apikey",       "x_api_key",     "authorization", "proxy_authorization",
    "cookie",      "set_cookie",   "bearer",        "x_auth_token",  "x_authorization",
    "credentials", "creds",        "private_key",   "nkey",          "seed",
    "jwt",         "credit_card",  "card_number",   "cvv",           "ssn",
    "email",       "phone",
};

constexpr std::array<std::string_view, 4> kSecretSuffixes = {"_password", "_secret", "_token",
                                                             "_api_key"};

std::string NormalizeKey(std::string_view key) {
  std::string out(key);
  for (char& c : out) c = (c == '-') ? '_' : ToLower(c);
  return out;
}

bool EndsWith(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

}  // namespace

bool RedactValuePatterns(std::string* value) {
  // In the §5.3 order; each pattern runs on the output of the previous one.
  bool changed = false;
  changed |= ApplyScanner(value, [](auto&&... a) { return ScanBearer(a...); });
  changed |= ApplyScanner(value, [](auto&&... a) { return ScanBasic(a...); });
  changed |= ApplyScanner(value, [](auto&&... a) { return ScanJwt(a...); });
  changed |= ApplyScanner(value, [](auto&&... a) { return ScanNkeySeed(a...); });
  changed |= ApplyScanner(value, [](auto&&... a) { return ScanUrlUserinfo(a...); });
  changed |= ApplyScanner(value, [](auto&&... a) { return ScanSecretAssignment(a...); });
  changed |= ApplyScanner(value, [](auto&&... a) { return ScanEmail(a...); });
  return changed;
}

Redactor::Redactor(RedactionOptions options) {
  for (const std::string& key : options.extra_keys) {
    if (!key.empty()) extra_keys_.push_back(NormalizeKey(key));
  }
  for (std::string& secret : options.known_secrets) {
    if (secret.size() >= 8) known_secrets_.push_back(std::move(secret));
  }
  std::sort(known_secrets_.begin(), known_secrets_.end(),
            [](const std::string& a, const std::string& b) { return a.size() > b.size(); });
  known_secrets_.erase(std::unique(known_secrets_.begin(), known_secrets_.end()),
                       known_secrets_.end());
}

bool Redactor::IsSecretKey(std::string_view key) const {
  const std::string normalized = NormalizeKey(key);
  for (std::string_view k : kSecretKeys) {
    if (normalized == k) return true;
  }
  for (std::string_view suffix : kSecretSuffixes) {
    if (EndsWith(normalized, suffix)) return true;
  }
  for (const std::string& k : extra_keys_) {
    if (normalized == k) return true;
  }
  return false;
}

bool Redactor::RedactString(std::string* value) const {
  bool changed = RedactKnownSecrets(value);
  changed |= RedactValuePatterns(value);
  return changed;
}

bool Redactor::RedactKnownSecrets(std::string* value) const {
  bool changed = false;
  for (const std::string& secret : known_secrets_) {
    size_t pos = value->find(secret);
    while (pos != std::string::npos) {
      value->replace(pos, secret.size(), kRedacted);
      changed = true;
      pos = value->find(secret, pos + kRedacted.size());
    }
  }
  return changed;
}

std::string Redactor::Redacted(std::string_view value) const {
  std::string out(value);
  RedactString(&out);
  return out;
}

void Redactor::RedactValue(LogValue* value) const {
  switch (value->Kind()) {
    case LogValueKind::kString: {
      std::string s = value->StringValue();
      if (RedactString(&s)) *value = LogValue(std::move(s));
      break;
    }
    case LogValueKind::kArray: {
      std::vector<LogValue> items = value->ArrayItems();
      for (LogValue& item : items) RedactValue(&item);
      *value = LogValue::Array(std::move(items));
      break;
    }
    case LogValueKind::kObject: {
      std::vector<LogField> fields = value->ObjectFields();
      RedactFields(&fields);
      *value = LogValue::Object(std::move(fields));
      break;
    }
    default:
      break;
  }
}

void Redactor::RedactFields(std::vector<LogField>* fields) const {
  for (LogField& field : *fields) {
    if (IsSecretKey(field.key)) {
      field.value = LogValue(kRedacted);
    } else {
      RedactValue(&field.value);
    }
  }
}

}  // namespace router::obs
