#include "obs/metrics/metric_def.h"

#include <string>

#include "base/errors.h"

namespace router::obs {
namespace {

constexpr double kFast[] = {0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001,
                            0.0025,  0.005,    0.01,    0.025,  0.05,    0.1,    0.25,
                            0.5,     1,        2.5,     5,      10};
constexpr double kIo[] = {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                          0.1,    0.25,    0.5,    1,     2.5,    5,     10,   30,    60};
constexpr double kProvider[] = {0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1,  2.5,
                                5,    10,    20,   30,  60,   120, 300};
constexpr double kBytes[] = {64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304};

bool IsMetricNameChar(char c, bool first) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':') return true;
  return !first && c >= '0' && c <= '9';
}

bool IsLabelNameChar(char c, bool first) {
  if ((c >= 'a' && c <= 'z') || c == '_') return true;
  return !first && c >= '0' && c <= '9';
}

absl::Status Invalid(const MetricDef& def, std::string_view rule) {
  std::string message = "metric ";
  message.append(def.name);
  message.append(": ");
  message.append(rule);
  return absl::InvalidArgumentError(AbslView(message));
}

}  // namespace

std::span<const double> BucketBounds(BucketLayout layout) {
  switch (layout) {
    case BucketLayout::kFast:
      return kFast;
    case BucketLayout::kIo:
      return kIo;
    case BucketLayout::kProvider:
      return kProvider;
    case BucketLayout::kBytes:
      return kBytes;
    case BucketLayout::kNone:
      break;
  }
  return {};
}

std::string_view MetricTypeName(MetricType type) {
  switch (type) {
    case MetricType::kCounter:
      return "counter";
    case MetricType::kGauge:
      return "gauge";
    case MetricType::kHistogram:
      return "histogram";
  }
  return "untyped";
}

std::string_view BucketLayoutName(BucketLayout layout) {
  switch (layout) {
    case BucketLayout::kFast:
      return "fast";
    case BucketLayout::kIo:
      return "io";
    case BucketLayout::kProvider:
      return "provider";
    case BucketLayout::kBytes:
      return "bytes";
    case BucketLayout::kNone:
      break;
  }
  return "";
}

std::string_view LabelClassName(LabelClass label_class) {
  switch (label_class) {
    case LabelClass::kEnum:
      return "enum";
    case LabelClass::kTenant:
      return "tenant";
    case LabelClass::kOpen:
      return "open";
    case LabelClass::kFamilyName:
      return "metric";
    case LabelClass::kInfo:
      return "info";
  }
  return "";
}

bool AllLabelsEnum(const MetricDef& def) {
  for (const LabelDef& label : def.labels) {
    if (label.label_class != LabelClass::kEnum) return false;
  }
  return true;
}

bool HasOpenLabels(const MetricDef& def) {
  for (const LabelDef& label : def.labels) {
    if (label.label_class == LabelClass::kTenant || label.label_class == LabelClass::kOpen) {
      return true;
    }
  }
  return false;
}

absl::Status ValidateMetricDef(const MetricDef& def) {
  if (def.name.empty()) return Invalid(def, "empty name");
  for (size_t i = 0; i < def.name.size(); ++i) {
    if (!IsMetricNameChar(def.name[i], i == 0)) return Invalid(def, "invalid name");
  }
  if (def.help.empty()) return Invalid(def, "missing help");
  if (def.type == MetricType::kCounter && !def.name.ends_with("_total")) {
    return Invalid(def, "counter name must end in _total");
  }
  if (def.type != MetricType::kCounter && def.name.ends_with("_total")) {
    return Invalid(def, "only counters end in _total");
  }
  if (def.type == MetricType::kHistogram) {
    if (def.buckets == BucketLayout::kNone) return Invalid(def, "histogram without bucket layout");
    if (!AllLabelsEnum(def)) return Invalid(def, "histograms carry enum labels only");
  } else if (def.buckets != BucketLayout::kNone) {
    return Invalid(def, "bucket layout on a non-histogram");
  }
  for (size_t i = 0; i < def.labels.size(); ++i) {
    const LabelDef& label = def.labels[i];
    if (label.name.empty()) return Invalid(def, "empty label name");
    for (size_t j = 0; j < label.name.size(); ++j) {
      if (!IsLabelNameChar(label.name[j], j == 0)) return Invalid(def, "invalid label name");
    }
    if (label.name == "le" || label.name == "quantile" || label.name.starts_with("__")) {
      return Invalid(def, "reserved label name");
    }
    for (size_t j = 0; j < i; ++j) {
      if (def.labels[j].name == label.name) return Invalid(def, "duplicate label name");
    }
    if (label.label_class == LabelClass::kEnum) {
      if (label.values.empty()) return Invalid(def, "enum label without values");
      for (size_t a = 0; a < label.values.size(); ++a) {
        if (label.values[a].empty()) return Invalid(def, "empty enum value");
        for (size_t b = 0; b < a; ++b) {
          if (label.values[a] == label.values[b]) return Invalid(def, "duplicate enum value");
        }
      }
    } else if (!label.values.empty()) {
      return Invalid(def, "values given for a non-enum label");
    }
  }
  return absl::OkStatus();
}

}  // namespace router::obs
