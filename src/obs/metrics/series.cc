#include "obs/metrics/series.h"

namespace router::obs {
namespace detail {
namespace {

// Words one stripe needs, rounded up to whole cache lines.
uint32_t LinesPerStripe(MetricType type, size_t bounds) {
  const size_t words = type == MetricType::kHistogram ? bounds + 2 : 1;
  return static_cast<uint32_t>((words + kWordsPerLine - 1) / kWordsPerLine);
}

}  // namespace

uint32_t NextThreadStripe() noexcept {
  static std::atomic<uint32_t> next{0};
  return next.fetch_add(1, std::memory_order_relaxed);  // only uniqueness matters
}

Series::Series(MetricType type, uint32_t stripes, std::span<const double> bounds,
               std::vector<std::string> values)
    : type_(type),
      stripe_mask_(stripes - 1),
      lines_per_stripe_(LinesPerStripe(type, bounds.size())),
      bounds_(bounds),
      values_(std::move(values)),
      lines_(std::make_unique<CellLine[]>(size_t(stripes) * lines_per_stripe_)) {}

uint64_t Series::CounterValue() const noexcept {
  uint64_t total = 0;
  for (uint32_t s = 0; s <= stripe_mask_; ++s) total += Word(s, 0).load(std::memory_order_relaxed);
  return total;
}

double Series::GaugeValue() const noexcept {
  return std::bit_cast<double>(Word(0, 0).load(std::memory_order_relaxed));
}

double Series::HistogramValues(std::span<uint64_t> buckets) const noexcept {
  const uint32_t n = static_cast<uint32_t>(bounds_.size()) + 1;
  for (uint32_t b = 0; b < n && b < buckets.size(); ++b) buckets[b] = 0;
  double sum = 0;
  for (uint32_t s = 0; s <= stripe_mask_; ++s) {
    for (uint32_t b = 0; b < n && b < buckets.size(); ++b) {
      buckets[b] += Word(s, b).load(std::memory_order_relaxed);
    }
    sum += std::bit_cast<double>(Word(s, n).load(std::memory_order_relaxed));
  }
  return sum;
}

void Series::Reset() noexcept {
  const size_t lines = size_t(stripe_mask_ + 1) * lines_per_stripe_;
  for (size_t l = 0; l < lines; ++l) {
    for (auto& word : lines_[l].words) word.store(0, std::memory_order_relaxed);
  }
}

void Series::SetCallback(std::function<double()> callback) {
  auto shared =
      callback ? std::make_shared<const std::function<double()>>(std::move(callback)) : nullptr;
  absl::MutexLock lock(&callback_mu_);
  has_callback_.store(shared != nullptr, std::memory_order_release);
  callback_ = std::move(shared);
}

std::shared_ptr<const std::function<double()>> Series::callback() const {
  absl::MutexLock lock(&callback_mu_);
  return callback_;
}

const std::vector<std::string>& HandleBase::label_values() const {
  static const std::vector<std::string> kNone;
  return series_ ? series_->values() : kNone;
}

}  // namespace detail

uint64_t Histogram::Count() const noexcept {
  if (series_ == nullptr) return 0;
  std::vector<uint64_t> buckets(series_->bounds().size() + 1);
  series_->HistogramValues(buckets);
  uint64_t total = 0;
  for (uint64_t b : buckets) total += b;
  return total;
}

double Histogram::Sum() const noexcept {
  if (series_ == nullptr) return 0;
  std::vector<uint64_t> buckets(series_->bounds().size() + 1);
  return series_->HistogramValues(buckets);
}

}  // namespace router::obs
