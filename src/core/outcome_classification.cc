#include "core/outcome_classification.h"

#include <array>
#include <cstddef>

namespace router::core {
namespace {

constexpr size_t kMaxCodeBytes = 64;  // longer codes match no table entry

char Normalize(char c) {
  if (c >= 'a' && c <= 'z') return static_cast<char>(c - 'a' + 'A');
  if (c == '-') return '_';
  return c;
}

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (Normalize(a[i]) != Normalize(b[i])) return false;
  }
  return true;
}

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// True when `code` (normalized) is `<d>XX`, `HTTP_<d>XX`, `<d>nn` or `HTTP_<d>nn` (nn = digits).
bool IsHttpClass(std::string_view code, char d) {
  if (code.size() == 8 && code.substr(0, 5) == "HTTP_") code.remove_prefix(5);
  if (code.size() != 3 || code[0] != d) return false;
  if (code[1] == 'X' && code[2] == 'X') return true;
  return IsDigit(code[1]) && IsDigit(code[2]);
}

constexpr std::array<std::string_view, 4> kFailureCodes = {"TIMEOUT", "CONNECTION_ERROR",
                                                           "PROVIDER_UNAVAILABLE", "SERVER_ERROR"};
constexpr std::array<std::string_view, 8> kIgnoredCodes = {
    "VALIDATION_ERROR",    "INVALID_REQUEST", "RATE_LIMIT",   "RATE_LIMITED",
    "RATE_LIMIT_EXCEEDED", "QUOTA_EXCEEDED",  "UNAUTHORIZED", "CONTENT_FILTERED"};

}  // namespace

BreakerInput ClassifyErrorCode(std::string_view code) {
  if (code.empty() || code.size() > kMaxCodeBytes) return BreakerInput::kUnclassified;
  std::array<char, kMaxCodeBytes> buffer{};
  for (size_t i = 0; i < code.size(); ++i) buffer[i] = Normalize(code[i]);
  const std::string_view normalized(buffer.data(), code.size());
  for (std::string_view c : kFailureCodes) {
    if (normalized == c) return BreakerInput::kFailure;
  }
  if (IsHttpClass(normalized, '5')) return BreakerInput::kFailure;
  for (std::string_view c : kIgnoredCodes) {
    if (normalized == c) return BreakerInput::kIgnored;
  }
  if (IsHttpClass(normalized, '4')) return BreakerInput::kIgnored;
  return BreakerInput::kUnclassified;
}

BreakerInput ClassifyOutcome(std::string_view status, std::string_view error_code,
                             std::string_view error_type) {
  if (EqualsIgnoreCase(status, "success")) return BreakerInput::kSuccess;
  if (EqualsIgnoreCase(status, "timeout")) return BreakerInput::kFailure;
  if (EqualsIgnoreCase(status, "cancelled")) return BreakerInput::kIgnored;
  if (EqualsIgnoreCase(status, "error")) {
    return ClassifyErrorCode(!error_code.empty() ? error_code : error_type);
  }
  return BreakerInput::kUnclassified;
}

std::string_view BreakerInputName(BreakerInput input) {
  switch (input) {
    case BreakerInput::kSuccess:
      return "success";
    case BreakerInput::kFailure:
      return "failure";
    case BreakerInput::kIgnored:
      return "ignored";
    case BreakerInput::kUnclassified:
      return "unclassified";
  }
  return "unclassified";
}

}  // namespace router::core
