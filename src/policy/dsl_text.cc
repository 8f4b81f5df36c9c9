// Paths, bound formatting, exact lexeme arithmetic and identifier patterns (see dsl_text.h).
#include "policy/dsl_text.h"

#include <charconv>
#include <cstdlib>

#include "policy/json_tree.h"

namespace router::policy {
namespace {

bool IsIdentKey(std::string_view k) {
  if (k.empty()) return false;
  auto alpha = [](char c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_'; };
  if (!alpha(k[0])) return false;
  for (char c : k) {
    if (!alpha(c) && !(c >= '0' && c <= '9')) return false;
  }
  return true;
}

bool IsAlnum(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

}  // namespace

std::string ChildPath(std::string_view parent, std::string_view key) {
  std::string out;
  if (parent != "$") out.assign(parent);
  if (IsIdentKey(key)) {
    if (!out.empty()) out += '.';
    out.append(key);
  } else {
    out += '[';
    AppendJsonString(out, key);
    out += ']';
  }
  return out;
}

std::string IndexPath(std::string_view parent, size_t index) {
  std::string out(parent);
  out += '[';
  out += std::to_string(index);
  out += ']';
  return out;
}

std::string FormatIntBound(int64_t v) { return std::to_string(v); }

std::string FormatFracBound(double v) {
  char buf[400];
  auto [ptr, ec] = std::to_chars(buf, buf + sizeof(buf), v, std::chars_format::fixed);
  std::string out = ec == std::errc() ? std::string(buf, ptr) : std::to_string(v);
  if (out.find('.') == std::string::npos) out += ".0";
  return out;
}

bool LexemeToInt64(std::string_view lexeme, int64_t& out) {
  auto [ptr, ec] = std::from_chars(lexeme.data(), lexeme.data() + lexeme.size(), out);
  return ec == std::errc() && ptr == lexeme.data() + lexeme.size();
}

double LexemeToDouble(std::string_view lexeme) {
  std::string copy(lexeme);
  return std::strtod(copy.c_str(), nullptr);
}

MicroScaled ScaleLexemeByMillion(std::string_view s) {
  MicroScaled r;
  size_t i = 0;
  bool negative = false;
  if (i < s.size() && s[i] == '-') {
    negative = true;
    ++i;
  }
  std::string digits;  // integer part then fraction part
  int64_t exp = 0;     // value = digits * 10^exp
  while (i < s.size() && s[i] >= '0' && s[i] <= '9') digits += s[i++];
  if (i < s.size() && s[i] == '.') {
    ++i;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') {
      digits += s[i++];
      --exp;
    }
  }
  if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    bool exp_negative = false;
    if (i < s.size() && (s[i] == '+' || s[i] == '-')) exp_negative = s[i++] == '-';
    int64_t e = 0;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') {
      if (e < 1'000'000'000) e = e * 10 + (s[i] - '0');
      ++i;
    }
    exp += exp_negative ? -e : e;
  }
  // Strip leading zeros; an all-zero significand is the value 0.
  size_t first = digits.find_first_not_of('0');
  if (first == std::string::npos) return r;  // zero (also "-0", "0.000")
  digits.erase(0, first);
  r.zero = false;
  r.negative = negative;
  const int64_t k = exp + 6;  // |value| * 10^6 = digits * 10^k
  std::string int_part;
  std::string frac_part;
  if (k >= 0) {
    if (static_cast<int64_t>(digits.size()) + k > 18) {
      r.overflow = true;
      return r;
    }
    int_part = digits + std::string(static_cast<size_t>(k), '0');
  } else {
    const int64_t drop = -k;
    if (drop > static_cast<int64_t>(digits.size())) {
      // 0 < |value| * 10^6 < 0.1: the fractional part starts with a zero digit.
      r.fraction = true;
      return r;
    }
    if (drop == static_cast<int64_t>(digits.size())) {
      frac_part = digits;
    } else {
      int_part = digits.substr(0, digits.size() - static_cast<size_t>(drop));
      frac_part = digits.substr(digits.size() - static_cast<size_t>(drop));
    }
    if (int_part.size() > 18) {
      r.overflow = true;
      return r;
    }
  }
  uint64_t v = 0;
  for (char c : int_part) v = v * 10 + static_cast<uint64_t>(c - '0');
  r.integer = v;
  r.fraction = frac_part.find_first_not_of('0') != std::string::npos;
  r.round_up = !frac_part.empty() && frac_part[0] >= '5';
  return r;
}

bool IsProviderName(std::string_view s) {
  if (s.empty() || s.size() > 128) return false;
  for (char c : s) {
    if (!IsAlnum(c) && c != '_' && c != '.' && c != ':' && c != '/' && c != '-') return false;
  }
  return true;
}

bool IsExtensionId(std::string_view s) {
  if (s.empty() || s.size() > 64) return false;
  for (char c : s) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_')) return false;
  }
  return true;
}

bool IsSessionKey(std::string_view s) {
  if (s.empty() || s.size() > 255) return false;
  for (char c : s) {
    if (!IsAlnum(c) && c != '_' && c != '.' && c != '-') return false;
  }
  return true;
}

bool IsContextPath(std::string_view s) {
  int segments = 0;
  size_t start = 0;
  while (true) {
    size_t dot = s.find('.', start);
    std::string_view seg = s.substr(start, dot == std::string_view::npos ? s.npos : dot - start);
    if (seg.empty() || seg.size() > 64) return false;
    for (char c : seg) {
      if (!IsAlnum(c) && c != '_' && c != '-') return false;
    }
    if (++segments > 8) return false;
    if (dot == std::string_view::npos) break;
    start = dot + 1;
  }
  return true;
}

std::string_view DropContextPrefix(std::string_view path) {
  constexpr std::string_view kPrefix = "context.";
  if (path.size() > kPrefix.size() && path.substr(0, kPrefix.size()) == kPrefix) {
    return path.substr(kPrefix.size());
  }
  return path;
}

std::string Quoted(std::string_view s) {
  std::string out;
  AppendJsonString(out, s);
  return out;
}

}  // namespace router::policy
