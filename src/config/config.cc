#include "config/config.h"

#include <algorithm>

#include "config/config_internal.h"

namespace router::config {
namespace internal {

template <>
const std::vector<std::pair<LogLevel, const char*>>& EnumValues<LogLevel>() {
  static const std::vector<std::pair<LogLevel, const char*>> v{{LogLevel::kError, "error"},
                                                               {LogLevel::kWarn, "warn"},
                                                               {LogLevel::kInfo, "info"},
                                                               {LogLevel::kDebug, "debug"}};
  return v;
}

template <>
const std::vector<std::pair<LogOutput, const char*>>& EnumValues<LogOutput>() {
  static const std::vector<std::pair<LogOutput, const char*>> v{
      {LogOutput::kStdout, "stdout"}, {LogOutput::kStderr, "stderr"}, {LogOutput::kFile, "file"}};
  return v;
}

template <>
const std::vector<std::pair<TenantLabels, const char*>>& EnumValues<TenantLabels>() {
  static const std::vector<std::pair<TenantLabels, const char*>> v{
      {TenantLabels::kCapped, "capped"},
      {TenantLabels::kAllowlist, "allowlist"},
      {TenantLabels::kOff, "off"}};
  return v;
}

template <>
const std::vector<std::pair<OtlpCompression, const char*>>& EnumValues<OtlpCompression>() {
  static const std::vector<std::pair<OtlpCompression, const char*>> v{
      {OtlpCompression::kNone, "none"}, {OtlpCompression::kGzip, "gzip"}};
  return v;
}

template <>
const std::vector<std::pair<StoreBackend, const char*>>& EnumValues<StoreBackend>() {
  static const std::vector<std::pair<StoreBackend, const char*>> v{
      {StoreBackend::kSqlite, "sqlite"}, {StoreBackend::kPostgres, "postgres"}};
  return v;
}

template <>
const std::vector<std::pair<IntegrityCheck, const char*>>& EnumValues<IntegrityCheck>() {
  static const std::vector<std::pair<IntegrityCheck, const char*>> v{
      {IntegrityCheck::kQuick, "quick"},
      {IntegrityCheck::kFull, "full"},
      {IntegrityCheck::kOff, "off"}};
  return v;
}

template <>
const std::vector<std::pair<IdempotencyScope, const char*>>& EnumValues<IdempotencyScope>() {
  static const std::vector<std::pair<IdempotencyScope, const char*>> v{
      {IdempotencyScope::kReplica, "replica"}, {IdempotencyScope::kCluster, "cluster"}};
  return v;
}

template <>
const std::vector<std::pair<ReplyMode, const char*>>& EnumValues<ReplyMode>() {
  static const std::vector<std::pair<ReplyMode, const char*>> v{
      {ReplyMode::kAfterPublish, "after_publish"}, {ReplyMode::kImmediate, "immediate"}};
  return v;
}

template <>
const std::vector<std::pair<ExtensionType, const char*>>& EnumValues<ExtensionType>() {
  static const std::vector<std::pair<ExtensionType, const char*>> v{
      {ExtensionType::kPre, "pre"},
      {ExtensionType::kValidator, "validator"},
      {ExtensionType::kPost, "post"}};
  return v;
}

template <>
const std::vector<std::pair<AdminRole, const char*>>& EnumValues<AdminRole>() {
  static const std::vector<std::pair<AdminRole, const char*>> v{{AdminRole::kAdmin, "admin"},
                                                                {AdminRole::kOperator, "operator"},
                                                                {AdminRole::kViewer, "viewer"}};
  return v;
}

template <typename E>
const char* Name(E value) {
  for (const auto& [v, name] : EnumValues<E>()) {
    if (v == value) return name;
  }
  return "";
}

size_t EditDistance(std::string_view a, std::string_view b) {
  std::vector<size_t> prev(b.size() + 1);
  std::vector<size_t> cur(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t substitute = prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1);
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, substitute});
    }
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

std::string ClosestMatch(std::string_view word, const std::vector<std::string>& candidates) {
  std::string best;
  size_t best_distance = 3;  // hints only within edit distance 2
  for (const std::string& c : candidates) {
    size_t d = EditDistance(word, c);
    if (d < best_distance) {
      best_distance = d;
      best = c;
    }
  }
  return best;
}

std::string JoinPath(std::string_view parent, std::string_view key) {
  bool bare = !key.empty();
  for (char c : key) {
    bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '-';
    if (!ok) bare = false;
  }
  std::string out(parent);
  if (!out.empty()) out += '.';
  if (bare) {
    out.append(key);
  } else {
    out += '"';
    for (char c : key) {
      if (c == '"' || c == '\\') out += '\\';
      out += c;
    }
    out += '"';
  }
  return out;
}

}  // namespace internal

const char* ToString(LogLevel v) { return internal::Name(v); }
const char* ToString(LogOutput v) { return internal::Name(v); }
const char* ToString(TenantLabels v) { return internal::Name(v); }
const char* ToString(OtlpCompression v) { return internal::Name(v); }
const char* ToString(StoreBackend v) { return internal::Name(v); }
const char* ToString(IntegrityCheck v) { return internal::Name(v); }
const char* ToString(IdempotencyScope v) { return internal::Name(v); }
const char* ToString(ReplyMode v) { return internal::Name(v); }
const char* ToString(ExtensionType v) { return internal::Name(v); }
const char* ToString(AdminRole v) { return internal::Name(v); }

}  // namespace router::config
