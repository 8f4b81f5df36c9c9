#pragma once
// Series storage and the recording handles Counter, Gauge and Histogram (observability.md §2.1).
//
// Hot path (OBS O1): recording through a handle is one or two relaxed atomic operations on
// cache-line-aligned cells; no lock, no allocation, no syscall. Counters and histograms of
// enum-only families are striped: each series has N (power of two, <= 8) copies of its cells on
// separate cache lines and a thread adds to copy `ThreadStripe() & (N-1)`; a scrape sums the
// copies. Series of open-label families and gauges have one copy (their contention is spread over
// many series, and a gauge Set cannot be split).
//
// Histogram `_count` is not stored: the scrape derives it from the bucket cells it has just read,
// so `le="+Inf"` equals `_count` in every scrape by construction (OBS §3). `_sum` may lag the
// buckets by the observations in flight during the scrape.
//
// Ownership: series are shared (std::shared_ptr). A handle keeps its series alive, so recording
// through a handle whose series was removed is safe; it just no longer shows in the exposition.
// Handles are cheap to keep but copying one touches a shared reference count: resolve once and
// keep, or use the references that TypedFamily::Get() returns.
//
// Thread-safety: handles are immutable after construction; every method is thread-safe.

#include <atomic>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "obs/metrics/metric_def.h"

namespace router::obs {

class Family;
class Registry;

namespace detail {

inline constexpr size_t kCacheLineBytes = 64;
inline constexpr size_t kWordsPerLine = kCacheLineBytes / sizeof(uint64_t);
inline constexpr uint32_t kMaxStripes = 8;

struct alignas(kCacheLineBytes) CellLine {
  std::atomic<uint64_t> words[kWordsPerLine] = {};
};

// A per-thread number assigned round-robin at the thread's first recording.
uint32_t NextThreadStripe() noexcept;
inline uint32_t ThreadStripe() noexcept {
  thread_local const uint32_t stripe = NextThreadStripe();
  return stripe;
}

// Adds to a double kept as its bit pattern. Relaxed: counters carry no ordering (style 2.6).
inline void AtomicAddDouble(std::atomic<uint64_t>& word, double delta) noexcept {
  uint64_t old = word.load(std::memory_order_relaxed);
  while (!word.compare_exchange_weak(old,
                                     std::bit_cast<uint64_t>(std::bit_cast<double>(old) + delta),
                                     std::memory_order_relaxed, std::memory_order_relaxed)) {
  }
}

// One series: its label values and cells. Created by a family, never copied.
class Series {
 public:
  // `bounds` must outlive the series (the static bucket tables do). `stripes` is a power of two.
  Series(MetricType type, uint32_t stripes, std::span<const double> bounds,
         std::vector<std::string> values);
  Series(const Series&) = delete;
  Series& operator=(const Series&) = delete;

  MetricType type() const { return type_; }
  const std::vector<std::string>& values() const { return values_; }
  std::span<const double> bounds() const { return bounds_; }

  // Cell `word` of copy `stripe` (masked). Word layout per copy: counter [value]; gauge [value
  // bits]; histogram [bucket 0 .. bucket n (+Inf), sum bits].
  std::atomic<uint64_t>& Word(uint32_t stripe, uint32_t word) noexcept {
    const size_t line = size_t(stripe & stripe_mask_) * lines_per_stripe_ + word / kWordsPerLine;
    return lines_[line].words[word % kWordsPerLine];
  }
  const std::atomic<uint64_t>& Word(uint32_t stripe, uint32_t word) const noexcept {
    return const_cast<Series*>(this)->Word(stripe, word);
  }
  uint32_t stripes() const { return stripe_mask_ + 1; }

  // Index of the bucket that counts `v` (first bound >= v; bounds().size() is +Inf, also NaN).
  uint32_t BucketIndex(double v) const noexcept {
    const uint32_t n = static_cast<uint32_t>(bounds_.size());
    uint32_t i = 0;
    while (i < n && !(v <= bounds_[i])) ++i;
    return i;
  }

  // Reads (sums over stripes). Relaxed: a scrape is a snapshot of independent cells.
  uint64_t CounterValue() const noexcept;
  double GaugeValue() const noexcept;
  // `buckets` gets bounds().size()+1 non-cumulative counts; returns the sum of observations.
  double HistogramValues(std::span<uint64_t> buckets) const noexcept;
  // Zeroes every cell (a removed enum series that comes back starts again from 0).
  void Reset() noexcept;

  // Visible in the exposition. Always true for map-stored series; enum series are hidden by
  // Remove() and shown again when resolved.
  std::atomic<bool> present{true};

  // Value computed at scrape (callback gauges and counters such as process_*); null = cells.
  void SetCallback(std::function<double()> callback);
  std::shared_ptr<const std::function<double()>> callback() const;
  bool has_callback() const { return has_callback_.load(std::memory_order_acquire); }

  // Exposition text cached at creation (OBS §3): counter/gauge `name{l="v"} `; histogram
  // `name_bucket{l="v",` (or `name_bucket{`), `name_sum{l="v"} `, `name_count{l="v"} `.
  std::string sample_prefix;
  std::string sum_prefix;
  std::string count_prefix;

 private:
  const MetricType type_;
  const uint32_t stripe_mask_;
  const uint32_t lines_per_stripe_;
  const std::span<const double> bounds_;
  const std::vector<std::string> values_;
  std::unique_ptr<CellLine[]> lines_;
  std::atomic<bool> has_callback_{false};
  mutable absl::Mutex callback_mu_;
  std::shared_ptr<const std::function<double()>> callback_ ABSL_GUARDED_BY(callback_mu_);
};

// Shared data of the three handle types.
class HandleBase {
 public:
  virtual ~HandleBase() = default;
  // False for a default-constructed handle (records nothing).
  bool attached() const { return series_ != nullptr; }
  // True when this series was redirected to the overflow series (OBS §2.2 rule 4); every
  // recording then also counts router_metrics_series_overflow_total{metric}.
  bool redirected() const { return overflow_ != nullptr; }
  // The label values of the series recorded into (after sanitising, budget and overflow).
  const std::vector<std::string>& label_values() const;

 protected:
  HandleBase() = default;
  HandleBase(std::shared_ptr<Series> series, std::shared_ptr<Series> overflow)
      : series_(std::move(series)), overflow_(std::move(overflow)) {}
  HandleBase(const HandleBase&) = default;
  HandleBase& operator=(const HandleBase&) = default;

  void CountOverflow() const noexcept {
    if (overflow_ != nullptr) {
      overflow_->Word(ThreadStripe(), 0).fetch_add(1, std::memory_order_relaxed);
    }
  }

  std::shared_ptr<Series> series_;
  std::shared_ptr<Series> overflow_;  // the family's router_metrics_series_overflow_total series

  friend class ::router::obs::Family;
  friend class ::router::obs::Registry;
};

}  // namespace detail

// A counter series (uint64, monotonic).
class Counter final : public detail::HandleBase {
 public:
  Counter() = default;
  // Adds `n`. Lock-free, allocation-free (OBS O1).
  void Inc(uint64_t n = 1) const noexcept {
    if (series_ == nullptr) return;
    series_->Word(detail::ThreadStripe(), 0).fetch_add(n, std::memory_order_relaxed);
    CountOverflow();
  }
  uint64_t Value() const noexcept { return series_ ? series_->CounterValue() : 0; }

  // For families: a handle on `series`, counting `overflow` (may be null) on every recording.
  Counter(std::shared_ptr<detail::Series> series, std::shared_ptr<detail::Series> overflow)
      : HandleBase(std::move(series), std::move(overflow)) {}
};

// A gauge series (double): Set / Add, or computed at scrape (TypedFamily::SetCallback).
class Gauge final : public detail::HandleBase {
 public:
  Gauge() = default;
  void Set(double v) const noexcept {
    if (series_ == nullptr) return;
    series_->Word(0, 0).store(std::bit_cast<uint64_t>(v), std::memory_order_relaxed);
    CountOverflow();
  }
  void Add(double delta) const noexcept {
    if (series_ == nullptr) return;
    detail::AtomicAddDouble(series_->Word(0, 0), delta);
    CountOverflow();
  }
  void Inc() const noexcept { Add(1); }
  void Dec() const noexcept { Add(-1); }
  double Value() const noexcept { return series_ ? series_->GaugeValue() : 0; }

  // For families: a handle on `series`, counting `overflow` (may be null) on every recording.
  Gauge(std::shared_ptr<detail::Series> series, std::shared_ptr<detail::Series> overflow)
      : HandleBase(std::move(series), std::move(overflow)) {}
};

// A histogram series with the fixed buckets of its family's layout (OBS §2.3).
class Histogram final : public detail::HandleBase {
 public:
  Histogram() = default;
  // Counts `v` (seconds or bytes) in its bucket and adds it to the sum. NaN lands in +Inf.
  void Observe(double v) const noexcept {
    if (series_ == nullptr) return;
    const uint32_t stripe = detail::ThreadStripe();
    const uint32_t bucket = series_->BucketIndex(v);
    series_->Word(stripe, bucket).fetch_add(1, std::memory_order_relaxed);
    detail::AtomicAddDouble(
        series_->Word(stripe, static_cast<uint32_t>(series_->bounds().size()) + 1), v);
    CountOverflow();
  }
  // Observations so far (sum of all buckets).
  uint64_t Count() const noexcept;
  double Sum() const noexcept;

  // For families: a handle on `series`, counting `overflow` (may be null) on every recording.
  Histogram(std::shared_ptr<detail::Series> series, std::shared_ptr<detail::Series> overflow)
      : HandleBase(std::move(series), std::move(overflow)) {}
};

}  // namespace router::obs
