#include "nats/subjects.h"

namespace router::nats_adapter {
namespace {

bool IsSpace(char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' || c == '\v';
}

// Splits off the next token; `more` tells whether another token follows.
void NextToken(std::string_view& rest, std::string_view& token, bool& more) {
  size_t dot = rest.find('.');
  if (dot == std::string_view::npos) {
    token = rest;
    rest = {};
    more = false;
  } else {
    token = rest.substr(0, dot);
    rest = rest.substr(dot + 1);
    more = true;
  }
}

}  // namespace

bool IsValidSubject(std::string_view subject, bool allow_wildcards) {
  if (subject.empty()) return false;
  std::string_view rest = subject;
  std::string_view token;
  bool more = true;
  while (more) {
    NextToken(rest, token, more);
    if (token.empty()) return false;
    for (char c : token) {
      if (IsSpace(c)) return false;
    }
    const bool wildcard_char =
        token.find('*') != std::string_view::npos || token.find('>') != std::string_view::npos;
    if (!wildcard_char) continue;
    if (!allow_wildcards) return false;
    if (token == "*") continue;
    if (token == ">" && !more) continue;
    return false;
  }
  return true;
}

bool IsAllowedAssignmentSubject(std::string_view subject) {
  if (subject.size() > 256) return false;
  if (!IsValidSubject(subject, /*allow_wildcards=*/false)) return false;
  if (subject.front() == '$') return false;
  if (subject.substr(0, 6) == "_INBOX") return false;
  return true;
}

bool SubjectMatches(std::string_view pattern, std::string_view subject) {
  std::string_view p = pattern;
  std::string_view s = subject;
  std::string_view pt, st;
  bool p_more = true, s_more = true;
  while (true) {
    NextToken(p, pt, p_more);
    NextToken(s, st, s_more);
    if (pt == ">") return !p_more;  // matches this token and any that follow
    if (pt != "*" && pt != st) return false;
    if (!p_more || !s_more) return p_more == s_more;
  }
}

bool SubjectCovered(const std::vector<std::string>& patterns, std::string_view subject) {
  for (const auto& p : patterns) {
    if (SubjectMatches(p, subject)) return true;
  }
  return false;
}

std::optional<std::string_view> SubjectVersionToken(std::string_view subject) {
  std::string_view rest = subject;
  std::string_view token;
  bool more = true;
  while (more) {
    NextToken(rest, token, more);
    if (token.size() < 2 || token[0] != 'v') continue;
    bool digits = true;
    for (char c : token.substr(1)) digits = digits && c >= '0' && c <= '9';
    if (digits) return token.substr(1);
  }
  return std::nullopt;
}

}  // namespace router::nats_adapter
