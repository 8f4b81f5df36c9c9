#include "obs/metrics/registry.h"

#include <algorithm>
#include <bit>
#include <chrono>
#include <string>
#include <thread>
#include <utility>

#include "base/errors.h"
#include "base/status_macros.h"

namespace router::obs {
namespace {

constexpr size_t kMaxDenseSlots = 65536;

uint32_t DefaultStripes() {
  const uint32_t cpus = std::max(1u, std::thread::hardware_concurrency());
  return std::min(detail::kMaxStripes, std::bit_ceil(cpus));
}

int64_t NowNs(const Clock* clock) {
  if (clock != nullptr) return clock->MonoNow().count();
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

}  // namespace

Registry::Registry(RegistryOptions options)
    : options_(std::move(options)),
      budget_(options_.tenant_labels, options_.max_tenant_label_values,
              options_.tenant_label_allowlist) {
  shared_.budget = &budget_;
  shared_.max_series_per_metric = options_.max_series_per_metric;
  shared_.stripes = options_.stripes == 0
                        ? DefaultStripes()
                        : std::min(detail::kMaxStripes, std::bit_ceil(options_.stripes));
  shared_.clock = options_.clock;
  shared_.on_overflow = options_.on_cardinality_overflow;
}

Registry::~Registry() = default;

template <class F>
absl::StatusOr<F*> Registry::AddTyped(const MetricDef& def, MetricType type) {
  ROUTER_RETURN_IF_ERROR(ValidateMetricDef(def));
  if (def.type != type) {
    return absl::InvalidArgumentError(
        AbslView("metric " + std::string(def.name) + ": registered as another type"));
  }
  if (AllLabelsEnum(def) && Family::DenseSlotCount(def) > kMaxDenseSlots) {
    return absl::InvalidArgumentError(
        AbslView("metric " + std::string(def.name) + ": too many enum combinations"));
  }
  absl::MutexLock lock(&mu_);
  if (families_.contains(def.name)) {
    return absl::AlreadyExistsError(
        AbslView("metric " + std::string(def.name) + ": already registered"));
  }
  auto family = std::make_unique<F>(def, shared_);
  F* raw = family.get();
  families_.emplace(std::string(def.name), std::move(family));
  WireLocked(*raw);
  return raw;
}

absl::StatusOr<CounterFamily*> Registry::AddCounter(const MetricDef& def) {
  return AddTyped<CounterFamily>(def, MetricType::kCounter);
}

absl::StatusOr<GaugeFamily*> Registry::AddGauge(const MetricDef& def) {
  return AddTyped<GaugeFamily>(def, MetricType::kGauge);
}

absl::StatusOr<HistogramFamily*> Registry::AddHistogram(const MetricDef& def) {
  return AddTyped<HistogramFamily>(def, MetricType::kHistogram);
}

absl::StatusOr<Family*> Registry::Add(const MetricDef& def) {
  switch (def.type) {
    case MetricType::kCounter: {
      ROUTER_ASSIGN_OR_RETURN(CounterFamily * family, AddCounter(def));
      return family;
    }
    case MetricType::kGauge: {
      ROUTER_ASSIGN_OR_RETURN(GaugeFamily * family, AddGauge(def));
      return family;
    }
    case MetricType::kHistogram: {
      ROUTER_ASSIGN_OR_RETURN(HistogramFamily * family, AddHistogram(def));
      return family;
    }
  }
  return absl::InvalidArgumentError("unknown metric type");
}

Family* Registry::Find(std::string_view name) const {
  absl::MutexLock lock(&mu_);
  auto it = families_.find(name);
  return it == families_.end() ? nullptr : it->second.get();
}

CounterFamily* Registry::FindCounter(std::string_view name) const {
  return dynamic_cast<CounterFamily*>(Find(name));
}

GaugeFamily* Registry::FindGauge(std::string_view name) const {
  return dynamic_cast<GaugeFamily*>(Find(name));
}

HistogramFamily* Registry::FindHistogram(std::string_view name) const {
  return dynamic_cast<HistogramFamily*>(Find(name));
}

std::vector<std::string> Registry::FamilyNames() const {
  absl::MutexLock lock(&mu_);
  std::vector<std::string> names;
  names.reserve(families_.size());
  for (const auto& [name, family] : families_) names.push_back(name);
  return names;
}

void Registry::WireLocked(Family& family) {
  if (self_.series_overflow != nullptr && family.has_open_labels()) {
    const std::string_view name = family.name();
    family.SetOverflowCounter(self_.series_overflow->Resolve({name}).series_);
  }
  if (self_.series != nullptr) {
    Family* target = &family;
    self_.series->SetCallback({family.name()},
                              [target] { return static_cast<double>(target->SeriesCount()); });
  }
}

void Registry::SetSelfMetrics(const SelfMetrics& self) {
  absl::MutexLock lock(&mu_);
  self_ = self;
  scrape_duration_ =
      self.scrape_duration != nullptr ? self.scrape_duration->Resolve({}) : Histogram();
  for (auto& [name, family] : families_) WireLocked(*family);
}

void Registry::AddCollector(std::function<void()> collector) {
  absl::MutexLock lock(&mu_);
  collectors_.push_back(std::move(collector));
}

size_t Registry::RemoveMatching(std::span<const LabelMatch> matches) {
  std::vector<Family*> families;
  {
    absl::MutexLock lock(&mu_);
    for (auto& [name, family] : families_) families.push_back(family.get());
  }
  size_t removed = 0;
  for (Family* family : families) removed += family->RemoveMatching(matches);
  return removed;
}

void Registry::Render(std::string& out) {
  absl::MutexLock scrape(&scrape_mu_);
  const int64_t start_ns = NowNs(options_.clock);
  std::vector<std::function<void()>> collectors;
  Histogram duration;
  {
    absl::MutexLock lock(&mu_);
    scrape_families_.clear();
    for (auto& [name, family] : families_) scrape_families_.push_back(family.get());
    collectors = collectors_;
    duration = scrape_duration_;
  }
  for (const auto& collector : collectors) collector();
  out.clear();
  for (const Family* family : scrape_families_) family->AppendExposition(out);
  for (Family* family : scrape_families_) family->CheckOverflowAtScrape();
  duration.Observe(static_cast<double>(NowNs(options_.clock) - start_ns) / 1e9);
}

std::string Registry::Render() {
  std::string out;
  Render(out);
  return out;
}

}  // namespace router::obs
