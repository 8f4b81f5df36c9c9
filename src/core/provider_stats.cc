#include "core/provider_stats.h"

#include <algorithm>
#include <functional>

#include "absl/hash/hash.h"

namespace router::core {

size_t PairHash::operator()(const PairView& v) const {
  return absl::HashOf(absl::string_view(v.tenant.data(), v.tenant.size()),
                      absl::string_view(v.provider.data(), v.provider.size()));
}

namespace {

size_t RoundShards(size_t n) {
  size_t s = 1;
  while (s < n) s <<= 1;
  return s;
}

}  // namespace

ProviderStats::ProviderStats(const Clock& clock, StatsOptions options)
    : clock_(clock),
      options_([&] {
        options.shards = RoundShards(std::max<size_t>(1, options.shards));
        return options;
      }()),
      per_shard_cap_(std::max<size_t>(1, options_.max_records / options_.shards)),
      shards_(new Shard[options_.shards]) {}

ProviderStats::Shard& ProviderStats::ShardOf(std::string_view tenant,
                                             std::string_view provider) const {
  const size_t h = PairHash()(PairView{tenant, provider});
  // Mix the high bits in: the map uses the low bits of the same hash.
  return shards_[(h >> 32 ^ h >> 7) & (options_.shards - 1)];
}

bool ProviderStats::Usable(int64_t samples, MonoTime at, MonoTime now) const {
  return samples >= options_.min_samples && now - at <= std::chrono::seconds(options_.max_age_s);
}

StatsRecord ProviderStats::ToRecord(const Record& r) {
  StatsRecord out;
  if (r.latency_samples > 0) out.latency_ewma_ms = r.latency;
  if (r.cost_samples > 0) out.cost_ewma = r.cost;
  out.latency_samples = r.latency_samples;
  out.cost_samples = r.cost_samples;
  return out;
}

ProviderStatistics ProviderStats::Get(std::string_view tenant, std::string_view provider) const {
  ProviderStatistics out;
  Shard& shard = ShardOf(tenant, provider);
  absl::ReaderMutexLock lock(&shard.mu);
  auto it = shard.records.find(PairView{tenant, provider});
  if (it == shard.records.end()) return out;  // no record: no clock read (decide hot path)
  const MonoTime now = clock_.MonoNow();
  const Record& r = it->second;
  if (Usable(r.latency_samples, r.latency_at, now)) out.latency_ms = r.latency;
  if (Usable(r.cost_samples, r.cost_at, now)) out.cost = r.cost;
  return out;
}

StatsRecord ProviderStats::RecordSuccess(std::string_view tenant, std::string_view provider,
                                         int64_t latency_ms, std::optional<double> cost) {
  const bool has_latency = latency_ms > 0;
  if (!has_latency && !cost.has_value()) {
    return Raw(tenant, provider).value_or(StatsRecord{});
  }
  Shard& shard = ShardOf(tenant, provider);
  const MonoTime now = clock_.MonoNow();
  const double a = options_.ewma_alpha;
  absl::MutexLock lock(&shard.mu);
  auto it = shard.records.find(PairView{tenant, provider});
  if (it == shard.records.end()) {
    if (shard.records.size() >= per_shard_cap_) {
      // At the cap: the least recently updated record of this shard makes room.
      auto oldest = std::min_element(
          shard.records.begin(), shard.records.end(),
          [](const auto& x, const auto& y) { return x.second.touched < y.second.touched; });
      if (oldest != shard.records.end()) {
        shard.records.erase(oldest);
        count_.fetch_sub(1, std::memory_order_relaxed);
      }
    }
    it = shard.records.emplace(PairKey{std::string(tenant), std::string(provider)}, Record{}).first;
    count_.fetch_add(1, std::memory_order_relaxed);
  }
  Record& r = it->second;
  if (has_latency) {
    const double x = static_cast<double>(latency_ms);
    r.latency = r.latency_samples == 0 ? x : a * x + (1 - a) * r.latency;
    ++r.latency_samples;
    r.latency_at = now;
  }
  if (cost.has_value()) {
    r.cost = r.cost_samples == 0 ? *cost : a * *cost + (1 - a) * r.cost;
    ++r.cost_samples;
    r.cost_at = now;
  }
  r.touched = now;
  return ToRecord(r);
}

std::optional<StatsRecord> ProviderStats::Raw(std::string_view tenant,
                                              std::string_view provider) const {
  Shard& shard = ShardOf(tenant, provider);
  absl::ReaderMutexLock lock(&shard.mu);
  auto it = shard.records.find(PairView{tenant, provider});
  if (it == shard.records.end()) return std::nullopt;
  return ToRecord(it->second);
}

void ProviderStats::Sweep(const std::function<void(const PairKey&)>& on_evict) {
  const MonoTime now = clock_.MonoNow();
  for (size_t i = 0; i < options_.shards; ++i) {
    std::vector<PairKey> evicted;
    {
      Shard& shard = shards_[i];
      absl::MutexLock lock(&shard.mu);
      for (auto it = shard.records.begin(); it != shard.records.end();) {
        if (now - it->second.touched >= options_.idle_evict) {
          if (on_evict) evicted.push_back(it->first);
          shard.records.erase(it++);
          count_.fetch_sub(1, std::memory_order_relaxed);
        } else {
          ++it;
        }
      }
    }
    for (const PairKey& k : evicted) on_evict(k);
  }
}

size_t ProviderStats::size() const { return count_.load(std::memory_order_relaxed); }

}  // namespace router::core
