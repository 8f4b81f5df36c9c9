#pragma once
// Label value policy for open labels (observability.md §2.2 rules 2 and 3): sanitising of open
// values and the global tenant budget.
//
// A tenant is either labelled in every family or in none (the budget is one object shared by
// all families of a registry), and a decision once taken is permanent for the process, so cached
// series handles never go stale because of the budget.
//
// SanitizeOpenLabelValue is a pure function. TenantBudget is thread-safe: an absl::Mutex guards
// the admitted set; it is consulted only when a series is resolved, never when recording.

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_set.h"
#include "absl/synchronization/mutex.h"

namespace router::obs {

inline constexpr size_t kMaxOpenLabelValueBytes = 128;

// `metrics.tenant_labels` (configuration.md [metrics]).
enum class TenantLabelMode { kCapped, kAllowlist, kOff };

// True when `value` may label a series verbatim: 1..128 bytes, valid UTF-8 (shortest form, no
// surrogates), no control character (C0, DEL, C1). The empty value is refused too: Prometheus
// treats an empty label value as an absent label.
bool IsValidOpenLabelValue(std::string_view value);

// `value` when valid, else "other" (OBS §2.2 rule 2). The result views `value` or a constant.
std::string_view SanitizeOpenLabelValue(std::string_view value);

class TenantBudget {
 public:
  // `max_values` matters in kCapped mode, `allowlist` in kAllowlist mode.
  TenantBudget(TenantLabelMode mode, size_t max_values, const std::vector<std::string>& allowlist);

  // The label value of an already sanitised tenant id: `tenant` itself or "other". kCapped: the
  // first `max_values` distinct tenants passed with `admit` = true keep their value, every later
  // one becomes "other"; `admit` = false only looks up (used by removals, which must not spend
  // budget). kAllowlist: only listed tenants. kOff: always "other". "other" itself never takes a
  // budget slot. The result views `tenant` or a constant.
  std::string_view Map(std::string_view tenant, bool admit);

  // Tenants admitted so far (kCapped) or the allowlist size.
  size_t LabelledCount() const;

 private:
  const TenantLabelMode mode_;
  const size_t max_values_;
  absl::flat_hash_set<std::string> allowlist_;
  mutable absl::Mutex mu_;
  absl::flat_hash_set<std::string> admitted_ ABSL_GUARDED_BY(mu_);
};

}  // namespace router::obs
