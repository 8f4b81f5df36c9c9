#pragma once
// Family: one metric family of the registry and its series (observability.md §2.1, §2.2).
//
// Two storages, chosen from the labels:
//  - Dense (every label an enum label, or no label): an array with one slot per combination of
//    values (each set plus an `other` slot). Every combination passing the catalogue's preinit
//    filter is created at 0 at construction (OBS §2.1 pre-initialisation). Get() computes the slot
//    index from the values and loads the slot: lock-free, no allocation. Remove() hides a slot
//    and zeroes it; resolving it again shows it again.
//  - Map (some label open, a family name or an info value): series in a hash map under the family
//    mutex. Get() goes through a per-thread cache keyed by (family, raw label values) that holds
//    the resolved handle: a hit costs one hash lookup in thread-local memory and one acquire load
//    of the family epoch, no lock and no allocation. A miss (first use of a series on a thread,
//    or any removal in the family since) resolves under the mutex. Open values are sanitised,
//    tenant ids go through the global budget, and a new series beyond max_series_per_metric is
//    redirected to the family's overflow series (open labels `other`), every recording of which
//    also counts router_metrics_series_overflow_total{metric} (OBS §2.2 rules 2-4).
//
// Removal (OBS §2.1): Remove()/RemoveMatching() drop series from the exposition. Handles already
// held keep working but record into the detached series; re-resolve after a removal. A value
// that maps to `other` never removes anything (the `other` series is shared).
//
// Thread-safety: all methods are thread-safe. Recording never takes the family mutex; resolution
// of a new series and exposition snapshots take it briefly. Callbacks run on the scrape thread
// without the family mutex held.

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "base/clock.h"
#include "obs/metrics/label_policy.h"
#include "obs/metrics/metric_def.h"
#include "obs/metrics/series.h"

namespace router::obs {

struct LabelMatch {
  std::string_view name;
  std::string_view value;
};

namespace detail {

// Registry-wide state shared by its families. Owned by the Registry; outlives its families.
struct RegistryShared {
  TenantBudget* budget = nullptr;
  size_t max_series_per_metric = 5000;
  uint32_t stripes = 1;  // copies per striped series
  const Clock* clock = nullptr;
  // Called (outside any lock) on the first overflow of a family, then at most once per hour.
  std::function<void(std::string_view metric)> on_overflow;
};

}  // namespace detail

class Family {
 public:
  virtual ~Family();
  Family(const Family&) = delete;
  Family& operator=(const Family&) = delete;

  std::string_view name() const { return name_; }
  std::string_view help() const { return help_; }
  // Slots a dense family of `def` needs (product over labels of set size + `other`).
  static size_t DenseSlotCount(const MetricDef& def);
  MetricType type() const { return type_; }
  size_t label_count() const { return labels_.size(); }
  std::string_view label_name(size_t i) const { return labels_[i].name; }
  bool dense() const { return dense_; }
  bool has_open_labels() const { return has_open_; }

  // Series currently in the exposition.
  size_t SeriesCount() const;

  // Removes the series with these label values; returns how many were removed (0 or 1).
  size_t Remove(std::span<const std::string_view> values);
  size_t Remove(std::initializer_list<std::string_view> values) {
    return Remove(std::span<const std::string_view>(values.begin(), values.size()));
  }
  // Removes every series whose labels equal all of `matches` (e.g. {{"tenant_id", "t1"}});
  // returns how many. 0 when a name is not a label of this family.
  size_t RemoveMatching(std::span<const LabelMatch> matches);
  size_t RemoveMatching(std::initializer_list<LabelMatch> matches) {
    return RemoveMatching(std::span<const LabelMatch>(matches.begin(), matches.size()));
  }

  // Makes the series a scrape-time value (counters and gauges; e.g. process_*, or a counter kept
  // elsewhere as an atomic). `callback` runs on the scrape thread; it must be thread-safe, fast
  // and must not call into this registry. An empty function returns to the stored cells.
  void SetCallback(std::span<const std::string_view> values, std::function<double()> callback);
  void SetCallback(std::initializer_list<std::string_view> values,
                   std::function<double()> callback) {
    SetCallback(std::span<const std::string_view>(values.begin(), values.size()),
                std::move(callback));
  }

  // ---- used by Registry
  // Appends HELP, TYPE and the samples of this family (OBS §3).
  void AppendExposition(std::string& out) const;
  // Wires router_metrics_series_overflow_total{metric=<name>}. Call before any resolution.
  void SetOverflowCounter(std::shared_ptr<detail::Series> counter);
  // Reports an overflow seen since the last scrape through RegistryShared::on_overflow.
  void CheckOverflowAtScrape();

 protected:
  struct Resolved {
    std::shared_ptr<detail::Series> series;
    std::shared_ptr<detail::Series> overflow;
  };

  Family(const MetricDef& def, detail::RegistryShared& shared);
  // Creates the pre-initialised slots (dense families). Called by the derived constructor.
  void PreInitialise();

  // Dense families: the slot of `values` (created on first use when not pre-initialised).
  // REQUIRES: dense(), values.size() == label_count().
  const detail::HandleBase& GetDense(std::span<const std::string_view> values);
  // Map families: the series of `values`, created or redirected as needed (takes mu_).
  // REQUIRES: !dense(), values.size() == label_count().
  Resolved ResolveMap(std::span<const std::string_view> values);
  // Map families: per-thread cached lookup (see the file comment).
  template <class H>
  const H& CachedGet(std::span<const std::string_view> values);

  virtual std::unique_ptr<detail::HandleBase> NewHandle(Resolved resolved) const = 0;

 private:
  struct Label {
    std::string name;
    LabelClass label_class;
    std::vector<std::string> values;  // kEnum: the set
    uint32_t other_ordinal = 0;       // kEnum: slot of `other` (explicit in the set or appended)
    uint32_t radix = 1;               // kEnum: slots of this label
  };
  using SeriesList = std::vector<std::shared_ptr<detail::Series>>;

  // The label value `raw` stands for: itself, or `other` per the label's class (OBS §2.2).
  // `admit` lets a capped tenant budget take a new tenant.
  std::string_view MapValue(size_t label, std::string_view raw, bool admit) const;
  uint32_t EnumOrdinal(size_t label, std::string_view raw) const;
  std::shared_ptr<detail::Series> NewSeries(std::vector<std::string> values) const;
  void NoteOverflow();
  std::vector<std::string> DenseValues(size_t slot) const;
  detail::HandleBase* CreateDenseSlot(size_t slot);
  std::shared_ptr<const SeriesList> SortedSnapshot() const;
  // Erases map entries; REQUIRES mu_ held.
  void EraseLocked(absl::flat_hash_map<std::string, std::shared_ptr<detail::Series>>::iterator it)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const std::string name_;
  const std::string help_;
  const MetricType type_;
  const std::span<const double> bounds_;
  const PreinitFilter preinit_filter_;
  std::vector<Label> labels_;
  bool dense_ = false;
  bool has_open_ = false;
  detail::RegistryShared& shared_;
  std::vector<std::string> le_text_;  // histograms: `le="<bound>"} ` per bucket, +Inf last

  // Dense storage: slots are published once (release) and never replaced.
  size_t dense_size_ = 0;
  std::unique_ptr<std::atomic<detail::HandleBase*>[]> dense_slots_;
  std::vector<uint32_t> dense_order_;  // slot indexes sorted by label values

  const uint64_t uid_;              // distinguishes families in the per-thread caches
  std::atomic<uint64_t> epoch_{0};  // bumped by every map removal; invalidates cached handles

  mutable absl::Mutex mu_;
  std::vector<std::unique_ptr<detail::HandleBase>> dense_owned_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, std::shared_ptr<detail::Series>> map_ ABSL_GUARDED_BY(mu_);
  size_t regular_count_ ABSL_GUARDED_BY(mu_) = 0;  // map series not all-`other` (the cap)
  mutable bool dirty_ ABSL_GUARDED_BY(mu_) = true;
  mutable std::shared_ptr<const SeriesList> sorted_ ABSL_GUARDED_BY(mu_);
  std::shared_ptr<detail::Series> overflow_counter_ ABSL_GUARDED_BY(mu_);

  std::atomic<int64_t> last_overflow_report_ns_;
  uint64_t overflow_seen_at_scrape_ = 0;  // scrape thread only
};

// A family whose handles are H (Counter, Gauge or Histogram).
template <class H>
class TypedFamily final : public Family {
 public:
  TypedFamily(const MetricDef& def, detail::RegistryShared& shared) : Family(def, shared) {
    PreInitialise();
  }

  // Hot path: the handle of the series with these label values, in label order. Dense families:
  // lock-free index computation. Map families: per-thread cache, lock-free on a hit. The
  // reference stays valid until this thread's next Get() on any map family; keep a Resolve()d
  // copy for longer. A wrong number of values is a bug (assert; a detached handle in release).
  const H& Get(std::span<const std::string_view> values) {
    if (values.size() != label_count()) return Detached();
    if (dense()) return static_cast<const H&>(GetDense(values));
    return CachedGet<H>(values);
  }
  const H& Get(std::initializer_list<std::string_view> values) {
    return Get(std::span<const std::string_view>(values.begin(), values.size()));
  }
  const H& Get() { return Get(std::span<const std::string_view>()); }

  // A handle to keep (resolve at startup or when a policy snapshot is compiled, OBS §2.1).
  H Resolve(std::span<const std::string_view> values) {
    if (values.size() != label_count()) return Detached();
    if (dense()) return static_cast<const H&>(GetDense(values));
    Resolved resolved = ResolveMap(values);
    return H(std::move(resolved.series), std::move(resolved.overflow));
  }
  H Resolve(std::initializer_list<std::string_view> values) {
    return Resolve(std::span<const std::string_view>(values.begin(), values.size()));
  }

 private:
  static const H& Detached();
  std::unique_ptr<detail::HandleBase> NewHandle(Resolved resolved) const override {
    return std::make_unique<H>(std::move(resolved.series), std::move(resolved.overflow));
  }
};

using CounterFamily = TypedFamily<Counter>;
using GaugeFamily = TypedFamily<Gauge>;
using HistogramFamily = TypedFamily<Histogram>;

extern template class TypedFamily<Counter>;
extern template class TypedFamily<Gauge>;
extern template class TypedFamily<Histogram>;

}  // namespace router::obs
