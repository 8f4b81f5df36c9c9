#pragma once
// MetricDef: the declaration of one metric family (observability.md §2.1-§2.4): name, type, help,
// labels with their class, histogram bucket layout, and whether this build exports it (OBS O4).
// The catalogue (catalogue.h) is the one list of them; Registry::Add* accepts any valid def.
//
// Plain values; the bucket tables are immutable. Thread-safe.

#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "absl/status/status.h"

namespace router::obs {

enum class MetricType : uint8_t { kCounter, kGauge, kHistogram };

// How a label's values are bounded (OBS §2.2).
enum class LabelClass : uint8_t {
  kEnum,        // closed set (OBS §2.4); a value outside it -> `other` (assert in debug builds)
  kTenant,      // open `tenant_id`: sanitised, then the global tenant budget (rules 2, 3, 4)
  kOpen,        // open `policy_id`, `provider_id`, `extension_id`: sanitised (rules 2, 4)
  kFamilyName,  // a family name of this registry (router_metrics_series{metric}); bounded
  kInfo,        // a constant chosen at startup (router_build_info); bounded, not sanitised
};

enum class BucketLayout : uint8_t { kNone, kFast, kIo, kProvider, kBytes };

struct LabelDef {
  std::string_view name;
  LabelClass label_class = LabelClass::kEnum;
  std::span<const std::string_view> values;  // kEnum only: the closed set, in catalogue order
};

// Restricts which enum combinations are pre-initialised (e.g. a gRPC method exists only in its
// service); `values` has one entry per label. Other combinations still resolve, lazily.
using PreinitFilter = bool (*)(std::span<const std::string_view> values);

struct MetricDef {
  std::string_view name;
  MetricType type = MetricType::kCounter;
  std::string_view help;
  std::vector<LabelDef> labels;
  BucketLayout buckets = BucketLayout::kNone;  // histograms only
  // False: declared for a later milestone and not registered by RouterMetrics, so the exposition
  // never shows a metric that no code records (OBS O4).
  bool exported = true;
  PreinitFilter preinit_filter = nullptr;
};

// Upper bounds of a layout (OBS §2.3), ascending, +Inf implied. Empty for kNone.
std::span<const double> BucketBounds(BucketLayout layout);

std::string_view MetricTypeName(MetricType type);         // "counter", "gauge", "histogram"
std::string_view BucketLayoutName(BucketLayout layout);   // "fast", "io", "provider", "bytes", ""
std::string_view LabelClassName(LabelClass label_class);  // "enum", "tenant", "open", ...

// True when every label is kEnum (including a family without labels): such families are
// pre-initialised and stored densely (OBS §2.1).
bool AllLabelsEnum(const MetricDef& def);
// True when some label is kTenant or kOpen: such families are subject to the per-family cap.
bool HasOpenLabels(const MetricDef& def);

// Checks the rules of OBS §2.2 rule 5-6 and §3: metric name `[a-zA-Z_:][a-zA-Z0-9_:]*`; label
// names `[a-z_][a-z0-9_]*`, not `le`/`quantile`, no `__` prefix, unique; counters end in `_total`;
// histograms have a layout and enum labels only; an enum label has a non-empty set of distinct
// values. INVALID_ARGUMENT naming the family and the rule otherwise.
absl::Status ValidateMetricDef(const MetricDef& def);

}  // namespace router::obs
