#include "obs/metrics/label_policy.h"

#include <cstdint>

#include "base/errors.h"
#include "obs/metrics/label_values.h"

namespace router::obs {

bool IsValidOpenLabelValue(std::string_view value) {
  if (value.empty() || value.size() > kMaxOpenLabelValueBytes) return false;
  const auto* p = reinterpret_cast<const unsigned char*>(value.data());
  const size_t n = value.size();
  size_t i = 0;
  while (i < n) {
    const unsigned char c = p[i];
    if (c < 0x80) {
      if (c < 0x20 || c == 0x7f) return false;  // C0 controls and DEL
      ++i;
      continue;
    }
    uint32_t cp = 0;
    size_t len = 0;
    uint32_t min = 0;
    if ((c & 0xe0) == 0xc0) {
      cp = c & 0x1f;
      len = 2;
      min = 0x80;
    } else if ((c & 0xf0) == 0xe0) {
      cp = c & 0x0f;
      len = 3;
      min = 0x800;
    } else if ((c & 0xf8) == 0xf0) {
      cp = c & 0x07;
      len = 4;
      min = 0x10000;
    } else {
      return false;  // stray continuation byte or 0xf8..0xff
    }
    if (i + len > n) return false;
    for (size_t k = 1; k < len; ++k) {
      if ((p[i + k] & 0xc0) != 0x80) return false;
      cp = (cp << 6) | (p[i + k] & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return false;
    if (cp >= 0x80 && cp <= 0x9f) return false;  // C1 controls
    i += len;
  }
  return true;
}

std::string_view SanitizeOpenLabelValue(std::string_view value) {
  return IsValidOpenLabelValue(value) ? value : values::kOther;
}

TenantBudget::TenantBudget(TenantLabelMode mode, size_t max_values,
                           const std::vector<std::string>& allowlist)
    : mode_(mode), max_values_(max_values), allowlist_(allowlist.begin(), allowlist.end()) {}

std::string_view TenantBudget::Map(std::string_view tenant, bool admit) {
  if (tenant == values::kOther) return values::kOther;
  switch (mode_) {
    case TenantLabelMode::kOff:
      return values::kOther;
    case TenantLabelMode::kAllowlist:
      return allowlist_.contains(AbslView(tenant)) ? tenant : values::kOther;
    case TenantLabelMode::kCapped:
      break;
  }
  absl::MutexLock lock(&mu_);
  if (admitted_.contains(AbslView(tenant))) return tenant;
  if (!admit || admitted_.size() >= max_values_) return values::kOther;
  admitted_.emplace(tenant);
  return tenant;
}

size_t TenantBudget::LabelledCount() const {
  if (mode_ == TenantLabelMode::kAllowlist) return allowlist_.size();
  absl::MutexLock lock(&mu_);
  return admitted_.size();
}

}  // namespace router::obs
