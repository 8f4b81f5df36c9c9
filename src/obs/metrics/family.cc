#include "obs/metrics/family.h"

#include <algorithm>
#include <cassert>
#include <chrono>
#include <cstring>
#include <limits>
#include <numeric>

#include "base/errors.h"
#include "obs/metrics/exposition.h"
#include "obs/metrics/label_values.h"

namespace router::obs {
namespace {

std::atomic<uint64_t> g_next_family_uid{1};

constexpr int64_t kNeverReported = std::numeric_limits<int64_t>::min();
constexpr int64_t kOverflowReportIntervalNs = int64_t{3600} * 1'000'000'000;  // OBS §2.2 rule 4
// A thread's cache of map-family handles is cleared when it reaches this many entries (a thread
// touching more distinct series than this in steady state would fall back to the mutex path).
constexpr size_t kMaxThreadCacheEntries = 8192;
// Families with more labels than this skip the per-thread cache (none in the catalogue has).
constexpr size_t kMaxCachedLabels = 8;

bool IsOpenClass(LabelClass c) { return c == LabelClass::kTenant || c == LabelClass::kOpen; }

// Length-prefixed, so no value can masquerade as a separator.
void AppendKeyPart(std::string& key, std::string_view value) {
  const auto n = static_cast<uint32_t>(value.size());
  key.append(reinterpret_cast<const char*>(&n), sizeof(n));
  key.append(value);
}

bool ValuesLess(const std::vector<std::string>& a, const std::vector<std::string>& b) {
  return std::lexicographical_compare(a.begin(), a.end(), b.begin(), b.end());
}

// Per-thread cache of resolved handles of map families, one per handle type.
template <class H>
struct ThreadCache {
  struct Entry {
    uint64_t epoch;
    H handle;
  };
  absl::flat_hash_map<std::string, Entry> entries;
  std::string key;  // reused key buffer: no allocation once warm
};

template <class H>
ThreadCache<H>& ThreadCacheOf() {
  thread_local ThreadCache<H> cache;
  return cache;
}

}  // namespace

Family::Family(const MetricDef& def, detail::RegistryShared& shared)
    : name_(def.name),
      help_(def.help),
      type_(def.type),
      bounds_(BucketBounds(def.buckets)),
      preinit_filter_(def.preinit_filter),
      dense_(AllLabelsEnum(def)),
      has_open_(HasOpenLabels(def)),
      shared_(shared),
      uid_(g_next_family_uid.fetch_add(1, std::memory_order_relaxed)),
      last_overflow_report_ns_(kNeverReported) {
  for (const LabelDef& def_label : def.labels) {
    Label label;
    label.name = std::string(def_label.name);
    label.label_class = def_label.label_class;
    label.values.assign(def_label.values.begin(), def_label.values.end());
    if (label.label_class == LabelClass::kEnum) {
      auto other = std::find(label.values.begin(), label.values.end(), values::kOther);
      label.other_ordinal = static_cast<uint32_t>(other - label.values.begin());
      label.radix =
          static_cast<uint32_t>(label.values.size()) + (other == label.values.end() ? 1 : 0);
    }
    labels_.push_back(std::move(label));
  }
  if (type_ == MetricType::kHistogram) le_text_ = LeTexts(bounds_);
  if (dense_) {
    dense_size_ = 1;
    for (const Label& label : labels_) dense_size_ *= label.radix;
    dense_slots_ = std::make_unique<std::atomic<detail::HandleBase*>[]>(dense_size_);
    std::vector<std::vector<std::string>> slot_values(dense_size_);
    for (size_t slot = 0; slot < dense_size_; ++slot) slot_values[slot] = DenseValues(slot);
    dense_order_.resize(dense_size_);
    std::iota(dense_order_.begin(), dense_order_.end(), 0);
    std::sort(dense_order_.begin(), dense_order_.end(),
              [&](uint32_t a, uint32_t b) { return ValuesLess(slot_values[a], slot_values[b]); });
  }
}

Family::~Family() = default;

size_t Family::DenseSlotCount(const MetricDef& def) {
  size_t slots = 1;
  for (const LabelDef& label : def.labels) {
    const bool explicit_other =
        std::find(label.values.begin(), label.values.end(), values::kOther) != label.values.end();
    slots *= label.values.size() + (explicit_other ? 0 : 1);
  }
  return slots;
}

void Family::PreInitialise() {
  if (!dense_) return;
  std::vector<std::string_view> views(labels_.size());
  for (size_t slot = 0; slot < dense_size_; ++slot) {
    std::vector<std::string> slot_values = DenseValues(slot);
    bool implicit_other = false;
    size_t rest = slot;
    for (size_t i = labels_.size(); i-- > 0;) {
      const uint32_t ordinal = static_cast<uint32_t>(rest % labels_[i].radix);
      rest /= labels_[i].radix;
      if (ordinal == labels_[i].values.size()) implicit_other = true;
      views[i] = slot_values[i];
    }
    if (implicit_other) continue;
    if (preinit_filter_ != nullptr && !preinit_filter_(views)) continue;
    CreateDenseSlot(slot);
  }
}

std::vector<std::string> Family::DenseValues(size_t slot) const {
  std::vector<std::string> out(labels_.size());
  for (size_t i = labels_.size(); i-- > 0;) {
    const uint32_t ordinal = static_cast<uint32_t>(slot % labels_[i].radix);
    slot /= labels_[i].radix;
    out[i] = ordinal < labels_[i].values.size() ? labels_[i].values[ordinal]
                                                : std::string(values::kOther);
  }
  return out;
}

uint32_t Family::EnumOrdinal(size_t label, std::string_view raw) const {
  const Label& l = labels_[label];
  for (size_t i = 0; i < l.values.size(); ++i) {
    if (l.values[i] == raw) return static_cast<uint32_t>(i);
  }
  // A value outside the set is a bug (OBS §2.2): assert in debug builds, `other` in release.
  assert(raw == values::kOther && "metric label value outside its enum set");
  return l.other_ordinal;
}

std::string_view Family::MapValue(size_t label, std::string_view raw, bool admit) const {
  const Label& l = labels_[label];
  switch (l.label_class) {
    case LabelClass::kEnum: {
      const uint32_t ordinal = EnumOrdinal(label, raw);
      return ordinal < l.values.size() ? std::string_view(l.values[ordinal]) : values::kOther;
    }
    case LabelClass::kTenant: {
      const std::string_view tenant = SanitizeOpenLabelValue(raw);
      if (tenant == values::kOther || shared_.budget == nullptr) return tenant;
      return shared_.budget->Map(tenant, admit);
    }
    case LabelClass::kOpen:
      return SanitizeOpenLabelValue(raw);
    case LabelClass::kFamilyName:
    case LabelClass::kInfo:
      break;
  }
  return raw;
}

std::shared_ptr<detail::Series> Family::NewSeries(std::vector<std::string> values) const {
  const uint32_t stripes = dense_ && type_ != MetricType::kGauge ? shared_.stripes : 1;
  std::vector<std::string_view> names;
  names.reserve(labels_.size());
  for (const Label& label : labels_) names.push_back(label.name);
  const std::string text = LabelText(names, values);
  auto series = std::make_shared<detail::Series>(type_, stripes, bounds_, std::move(values));
  const std::string braced = text.empty() ? std::string() : "{" + text + "}";
  if (type_ == MetricType::kHistogram) {
    series->sample_prefix = name_ + "_bucket{" + text + (text.empty() ? "" : ",");
    series->sum_prefix = name_ + "_sum" + braced + " ";
    series->count_prefix = name_ + "_count" + braced + " ";
  } else {
    series->sample_prefix = name_ + braced + " ";
  }
  return series;
}

detail::HandleBase* Family::CreateDenseSlot(size_t slot) {
  absl::MutexLock lock(&mu_);
  detail::HandleBase* existing = dense_slots_[slot].load(std::memory_order_acquire);
  if (existing != nullptr) return existing;
  std::unique_ptr<detail::HandleBase> handle = NewHandle({NewSeries(DenseValues(slot)), nullptr});
  detail::HandleBase* raw = handle.get();
  dense_owned_.push_back(std::move(handle));
  // Release: a reader that sees the pointer sees the constructed handle and series.
  dense_slots_[slot].store(raw, std::memory_order_release);
  return raw;
}

const detail::HandleBase& Family::GetDense(std::span<const std::string_view> values) {
  size_t slot = 0;
  for (size_t i = 0; i < labels_.size(); ++i) {
    slot = slot * labels_[i].radix + EnumOrdinal(i, values[i]);
  }
  detail::HandleBase* handle = dense_slots_[slot].load(std::memory_order_acquire);
  if (handle == nullptr) return *CreateDenseSlot(slot);
  std::atomic<bool>& present = handle->series_->present;
  if (!present.load(std::memory_order_relaxed)) present.store(true, std::memory_order_relaxed);
  return *handle;
}

Family::Resolved Family::ResolveMap(std::span<const std::string_view> values) {
  const size_t n = labels_.size();
  std::vector<std::string_view> mapped(n);
  bool all_open_other = true;
  for (size_t i = 0; i < n; ++i) {
    mapped[i] = MapValue(i, values[i], /*admit=*/true);
    if (IsOpenClass(labels_[i].label_class) && mapped[i] != values::kOther) all_open_other = false;
  }
  std::string key;
  for (std::string_view v : mapped) AppendKeyPart(key, v);

  Resolved out;
  bool overflowed = false;
  {
    absl::MutexLock lock(&mu_);
    auto it = map_.find(key);
    if (it != map_.end()) {
      out.series = it->second;
      return out;
    }
    bool regular = has_open_ && !all_open_other;
    if (regular && regular_count_ >= shared_.max_series_per_metric) {
      // OBS §2.2 rule 4: the overflow series (open labels `other`) is always admitted.
      key.clear();
      for (size_t i = 0; i < n; ++i) {
        if (IsOpenClass(labels_[i].label_class)) mapped[i] = values::kOther;
        AppendKeyPart(key, mapped[i]);
      }
      regular = false;
      overflowed = true;
      out.overflow = overflow_counter_;
      it = map_.find(key);
      if (it != map_.end()) out.series = it->second;
    }
    if (out.series == nullptr) {
      out.series = NewSeries(std::vector<std::string>(mapped.begin(), mapped.end()));
      map_.emplace(std::move(key), out.series);
      if (regular) ++regular_count_;
      dirty_ = true;
    }
  }
  if (overflowed) NoteOverflow();
  return out;
}

template <class H>
const H& Family::CachedGet(std::span<const std::string_view> values) {
  ThreadCache<H>& cache = ThreadCacheOf<H>();
  // Key = family uid + length-prefixed raw values, written in place into the reused buffer
  // (one resize, then memcpy: no per-part capacity checks). Any over-long bounded-class value
  // maps to `other`, so it is keyed as `other` and the key stays short.
  std::string_view parts[kMaxCachedLabels];
  if (values.size() > kMaxCachedLabels) {
    Resolved resolved = ResolveMap(values);  // never in the catalogue; correct, just slower
    static thread_local H spill;
    spill = H(std::move(resolved.series), std::move(resolved.overflow));
    return spill;
  }
  size_t size = sizeof(uid_);
  for (size_t i = 0; i < values.size(); ++i) {
    std::string_view v = values[i];
    const LabelClass c = labels_[i].label_class;
    if ((IsOpenClass(c) || c == LabelClass::kEnum) && v.size() > kMaxOpenLabelValueBytes) {
      v = values::kOther;
    }
    parts[i] = v;
    size += sizeof(uint32_t) + v.size();
  }
  std::string& key = cache.key;
  key.resize(size);
  char* out = key.data();
  std::memcpy(out, &uid_, sizeof(uid_));
  out += sizeof(uid_);
  for (size_t i = 0; i < values.size(); ++i) {
    const auto n = static_cast<uint32_t>(parts[i].size());
    std::memcpy(out, &n, sizeof(n));
    std::memcpy(out + sizeof(n), parts[i].data(), n);
    out += sizeof(n) + n;
  }
  // Acquire pairs with the release increment in EraseLocked: an entry cached before a removal
  // is not used after this thread has seen the removal.
  const uint64_t epoch = epoch_.load(std::memory_order_acquire);
  auto it = cache.entries.find(AbslView(key));
  if (it != cache.entries.end() && it->second.epoch == epoch) return it->second.handle;

  Resolved resolved = ResolveMap(values);
  H handle(std::move(resolved.series), std::move(resolved.overflow));
  if (it != cache.entries.end()) {
    it->second = {epoch, std::move(handle)};
    return it->second.handle;
  }
  if (cache.entries.size() >= kMaxThreadCacheEntries) cache.entries.clear();
  auto inserted =
      cache.entries.emplace(key, typename ThreadCache<H>::Entry{epoch, std::move(handle)});
  return inserted.first->second.handle;
}

template const Counter& Family::CachedGet<Counter>(std::span<const std::string_view>);
template const Gauge& Family::CachedGet<Gauge>(std::span<const std::string_view>);
template const Histogram& Family::CachedGet<Histogram>(std::span<const std::string_view>);

void Family::EraseLocked(
    absl::flat_hash_map<std::string, std::shared_ptr<detail::Series>>::iterator it) {
  bool regular = false;
  for (size_t i = 0; i < labels_.size(); ++i) {
    if (IsOpenClass(labels_[i].label_class) && it->second->values()[i] != values::kOther) {
      regular = true;
    }
  }
  if (regular) --regular_count_;
  map_.erase(it);
  dirty_ = true;
  epoch_.fetch_add(1, std::memory_order_release);
}

size_t Family::Remove(std::span<const std::string_view> values) {
  if (values.size() != labels_.size()) return 0;
  if (dense_) {
    size_t slot = 0;
    for (size_t i = 0; i < labels_.size(); ++i) {
      slot = slot * labels_[i].radix + EnumOrdinal(i, values[i]);
    }
    detail::HandleBase* handle = dense_slots_[slot].load(std::memory_order_acquire);
    if (handle == nullptr || !handle->series_->present.load(std::memory_order_relaxed)) return 0;
    handle->series_->present.store(false, std::memory_order_relaxed);
    handle->series_->Reset();
    return 1;
  }
  std::string key;
  for (size_t i = 0; i < labels_.size(); ++i) {
    const std::string_view v = MapValue(i, values[i], /*admit=*/false);
    if (IsOpenClass(labels_[i].label_class) && v == values::kOther) return 0;
    AppendKeyPart(key, v);
  }
  absl::MutexLock lock(&mu_);
  auto it = map_.find(key);
  if (it == map_.end()) return 0;
  EraseLocked(it);
  return 1;
}

size_t Family::RemoveMatching(std::span<const LabelMatch> matches) {
  std::vector<std::pair<size_t, std::string_view>> wanted;
  for (const LabelMatch& match : matches) {
    size_t index = labels_.size();
    for (size_t i = 0; i < labels_.size(); ++i) {
      if (labels_[i].name == match.name) index = i;
    }
    if (index == labels_.size()) return 0;
    const std::string_view v = MapValue(index, match.value, /*admit=*/false);
    if (IsOpenClass(labels_[index].label_class) && v == values::kOther) return 0;
    wanted.emplace_back(index, v);
  }
  auto matches_all = [&](const detail::Series& series) {
    for (const auto& [index, value] : wanted) {
      if (series.values()[index] != value) return false;
    }
    return true;
  };
  size_t removed = 0;
  if (dense_) {
    for (size_t slot = 0; slot < dense_size_; ++slot) {
      detail::HandleBase* handle = dense_slots_[slot].load(std::memory_order_acquire);
      if (handle == nullptr || !handle->series_->present.load(std::memory_order_relaxed)) continue;
      if (!matches_all(*handle->series_)) continue;
      handle->series_->present.store(false, std::memory_order_relaxed);
      handle->series_->Reset();
      ++removed;
    }
    return removed;
  }
  absl::MutexLock lock(&mu_);
  for (auto it = map_.begin(); it != map_.end();) {
    if (matches_all(*it->second)) {
      EraseLocked(it++);  // absl: erasing leaves the other iterators valid
      ++removed;
    } else {
      ++it;
    }
  }
  return removed;
}

size_t Family::SeriesCount() const {
  if (dense_) {
    size_t count = 0;
    for (size_t slot = 0; slot < dense_size_; ++slot) {
      const detail::HandleBase* handle = dense_slots_[slot].load(std::memory_order_acquire);
      if (handle != nullptr && handle->series_->present.load(std::memory_order_relaxed)) ++count;
    }
    return count;
  }
  absl::MutexLock lock(&mu_);
  return map_.size();
}

void Family::SetCallback(std::span<const std::string_view> values,
                         std::function<double()> callback) {
  if (values.size() != labels_.size() || type_ == MetricType::kHistogram) return;
  if (dense_) {
    GetDense(values).series_->SetCallback(std::move(callback));
  } else {
    ResolveMap(values).series->SetCallback(std::move(callback));
  }
}

std::shared_ptr<const Family::SeriesList> Family::SortedSnapshot() const {
  absl::MutexLock lock(&mu_);
  if (dirty_ || sorted_ == nullptr) {
    auto list = std::make_shared<SeriesList>();
    list->reserve(map_.size());
    for (const auto& [key, series] : map_) list->push_back(series);
    std::sort(list->begin(), list->end(),
              [](const auto& a, const auto& b) { return ValuesLess(a->values(), b->values()); });
    sorted_ = std::move(list);
    dirty_ = false;
  }
  return sorted_;
}

void Family::AppendExposition(std::string& out) const {
  out.append("# HELP ");
  out.append(name_);
  out.push_back(' ');
  AppendEscapedHelp(out, help_);
  out.append("\n# TYPE ");
  out.append(name_);
  out.push_back(' ');
  out.append(MetricTypeName(type_));
  out.push_back('\n');
  if (dense_) {
    for (uint32_t slot : dense_order_) {
      const detail::HandleBase* handle = dense_slots_[slot].load(std::memory_order_acquire);
      if (handle == nullptr || !handle->series_->present.load(std::memory_order_relaxed)) continue;
      AppendSeriesSamples(out, *handle->series_, le_text_);
    }
    return;
  }
  // Rendered from a snapshot without the mutex held: resolutions are never blocked by a scrape.
  const std::shared_ptr<const SeriesList> snapshot = SortedSnapshot();
  for (const auto& series : *snapshot) AppendSeriesSamples(out, *series, le_text_);
}

void Family::SetOverflowCounter(std::shared_ptr<detail::Series> counter) {
  absl::MutexLock lock(&mu_);
  overflow_counter_ = std::move(counter);
}

void Family::NoteOverflow() {
  if (!shared_.on_overflow) return;
  const int64_t now = shared_.clock != nullptr
                          ? shared_.clock->MonoNow().count()
                          : std::chrono::duration_cast<std::chrono::nanoseconds>(
                                std::chrono::steady_clock::now().time_since_epoch())
                                .count();
  int64_t last = last_overflow_report_ns_.load(std::memory_order_relaxed);
  if (last != kNeverReported && now - last < kOverflowReportIntervalNs) return;
  if (!last_overflow_report_ns_.compare_exchange_strong(last, now, std::memory_order_relaxed)) {
    return;  // another thread reports this one
  }
  shared_.on_overflow(name_);
}

void Family::CheckOverflowAtScrape() {
  std::shared_ptr<detail::Series> counter;
  {
    absl::MutexLock lock(&mu_);
    counter = overflow_counter_;
  }
  if (counter == nullptr) return;
  const uint64_t seen = counter->CounterValue();
  if (seen > overflow_seen_at_scrape_) {
    overflow_seen_at_scrape_ = seen;
    NoteOverflow();
  }
}

template <class H>
const H& TypedFamily<H>::Detached() {
  assert(false && "metric label count does not match the family");
  static const H kDetached;
  return kDetached;
}

template class TypedFamily<Counter>;
template class TypedFamily<Gauge>;
template class TypedFamily<Histogram>;

}  // namespace router::obs
