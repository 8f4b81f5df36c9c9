#include "nats/worker_metrics.h"

#include <span>

#include "obs/metrics/router_metrics.h"

namespace router::nats_adapter {

std::string WorkerMetrics::Key(std::string_view name,
                               std::initializer_list<std::string_view> labels) {
  std::string key(name);
  for (std::string_view l : labels) {
    key += '|';
    key += l;
  }
  return key;
}

void WorkerMetrics::Inc(std::string_view name, std::initializer_list<std::string_view> labels) {
  {
    absl::MutexLock lock(&mu_);
    ++totals_[Key(name, labels)];
  }
  if (metrics_ == nullptr || metrics_->registry == nullptr) return;
  if (obs::CounterFamily* f = metrics_->registry->FindCounter(name); f != nullptr) {
    f->Get(std::span<const std::string_view>(labels.begin(), labels.size())).Inc();
  }
}

void WorkerMetrics::SetGauge(std::string_view name, std::initializer_list<std::string_view> labels,
                             double value) {
  if (metrics_ == nullptr || metrics_->registry == nullptr) return;
  if (obs::GaugeFamily* f = metrics_->registry->FindGauge(name); f != nullptr) {
    f->Get(std::span<const std::string_view>(labels.begin(), labels.size())).Set(value);
  }
}

void WorkerMetrics::Observe(std::string_view name, std::initializer_list<std::string_view> labels,
                            double value) {
  if (metrics_ == nullptr || metrics_->registry == nullptr) return;
  if (obs::HistogramFamily* f = metrics_->registry->FindHistogram(name); f != nullptr) {
    f->Get(std::span<const std::string_view>(labels.begin(), labels.size())).Observe(value);
  }
}

uint64_t WorkerMetrics::Get(std::string_view name,
                            std::initializer_list<std::string_view> labels) const {
  absl::MutexLock lock(&mu_);
  auto it = totals_.find(Key(name, labels));
  return it == totals_.end() ? 0 : it->second;
}

}  // namespace router::nats_adapter
