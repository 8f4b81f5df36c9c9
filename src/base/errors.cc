#include "base/errors.h"

#include <charconv>
#include <cstdio>
#include <cstdlib>

#include "absl/strings/cord.h"
#include "absl/types/optional.h"
#include "base/status_macros.h"

namespace router {
namespace {

constexpr std::string_view kTagUrl = "type.beamline.router/tag";
constexpr std::string_view kDetailsUrl = "type.beamline.router/details";
constexpr std::string_view kViolationsUrl = "type.beamline.router/violations";
constexpr size_t kMaxViolations = 20;

// Length-prefixed list of strings: "<len>:<bytes>" repeated. Values may hold any byte.
void AppendField(std::string& out, std::string_view value) {
  out += std::to_string(value.size());
  out += ':';
  out.append(value);
}

std::vector<std::string> SplitFields(std::string_view in) {
  std::vector<std::string> out;
  while (!in.empty()) {
    size_t colon = in.find(':');
    if (colon == std::string_view::npos) break;
    size_t len = 0;
    auto [ptr, ec] = std::from_chars(in.data(), in.data() + colon, len);
    if (ec != std::errc() || colon + 1 + len > in.size()) break;
    out.emplace_back(in.substr(colon + 1, len));
    in.remove_prefix(colon + 1 + len);
  }
  return out;
}

std::string EncodePairs(const std::vector<std::pair<std::string, std::string>>& pairs) {
  std::string out;
  for (const auto& [k, v] : pairs) {
    AppendField(out, k);
    AppendField(out, v);
  }
  return out;
}

std::vector<std::pair<std::string, std::string>> DecodePairs(const absl::optional<absl::Cord>& c) {
  std::vector<std::pair<std::string, std::string>> out;
  if (!c) return out;
  auto fields = SplitFields(std::string(*c));
  for (size_t i = 0; i + 1 < fields.size(); i += 2) out.emplace_back(fields[i], fields[i + 1]);
  return out;
}

}  // namespace

void CheckFailed(const char* file, int line, const char* expr) {
  std::fprintf(stderr, "ROUTER_CHECK failed at %s:%d: %s\n", file, line, expr);
  std::abort();
}

absl::Status MakeError(absl::StatusCode code, std::string_view message, std::string_view tag) {
  absl::Status status(code, AbslView(message));
  status.SetPayload(AbslView(kTagUrl), absl::Cord(AbslView(tag)));
  return status;
}

void AddErrorDetail(absl::Status& status, std::string_view key, std::string_view value) {
  if (status.ok()) return;
  auto pairs = DecodePairs(status.GetPayload(AbslView(kDetailsUrl)));
  bool replaced = false;
  for (auto& [k, v] : pairs) {
    if (k == key) {
      v = std::string(value);
      replaced = true;
    }
  }
  if (!replaced) pairs.emplace_back(std::string(key), std::string(value));
  status.SetPayload(AbslView(kDetailsUrl), absl::Cord(EncodePairs(pairs)));
}

void SetViolations(absl::Status& status, const std::vector<FieldViolation>& violations) {
  if (status.ok()) return;
  std::vector<std::pair<std::string, std::string>> pairs;
  for (size_t i = 0; i < violations.size() && i < kMaxViolations; ++i) {
    pairs.emplace_back(violations[i].field, violations[i].description);
  }
  status.SetPayload(AbslView(kViolationsUrl), absl::Cord(EncodePairs(pairs)));
}

std::string ErrorTag(const absl::Status& status) {
  if (status.ok()) return "";
  auto payload = status.GetPayload(AbslView(kTagUrl));
  if (!payload) return std::string(tag::kInternal);
  return std::string(*payload);
}

ErrorDetailList ErrorDetails(const absl::Status& status) {
  return DecodePairs(status.GetPayload(AbslView(kDetailsUrl)));
}

std::vector<FieldViolation> ErrorViolations(const absl::Status& status) {
  std::vector<FieldViolation> out;
  for (auto& [f, d] : DecodePairs(status.GetPayload(AbslView(kViolationsUrl)))) {
    out.push_back(FieldViolation{f, d});
  }
  return out;
}

int64_t RetryAfterMs(const absl::Status& status) {
  for (const auto& [k, v] : ErrorDetails(status)) {
    if (k == "retry_after_ms") {
      int64_t n = 0;
      std::from_chars(v.data(), v.data() + v.size(), n);
      return n;
    }
  }
  return 0;
}

}  // namespace router
