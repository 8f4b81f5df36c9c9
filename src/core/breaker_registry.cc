#include "core/breaker_registry.h"

#include <algorithm>

#include "base/errors.h"

namespace router::core {
namespace {

size_t RoundShards(size_t n) {
  size_t s = 1;
  while (s < n) s <<= 1;
  return s;
}

}  // namespace

BreakerRegistry::BreakerRegistry(const Clock& clock, const SnapshotHolder& snapshots,
                                 BreakerRegistryOptions options)
    : clock_(clock),
      snapshots_(snapshots),
      options_([&] {
        options.shards = RoundShards(std::max<size_t>(1, options.shards));
        return options;
      }()),
      per_shard_cap_(std::max<size_t>(1, options_.max_entries / options_.shards)),
      shards_(new Shard[options_.shards]) {}

BreakerRegistry::~BreakerRegistry() = default;

BreakerRegistry::Shard& BreakerRegistry::ShardOf(std::string_view tenant,
                                                 std::string_view provider) const {
  const size_t h = PairHash()(PairView{tenant, provider});
  return shards_[(h >> 32 ^ h >> 7) & (options_.shards - 1)];
}

std::shared_ptr<CircuitBreaker> BreakerRegistry::Find(std::string_view tenant,
                                                      std::string_view provider) const {
  Shard& shard = ShardOf(tenant, provider);
  absl::ReaderMutexLock lock(&shard.mu);
  auto it = shard.breakers.find(PairView{tenant, provider});
  return it == shard.breakers.end() ? nullptr : it->second;
}

void BreakerRegistry::Report(std::string_view tenant, std::string_view provider,
                             const BreakerEffects& effects) {
  if (listener_ == nullptr) return;
  for (const BreakerTransition& t : effects.transitions) {
    listener_->OnTransition(tenant, provider, t, clock_.WallMs());
  }
  if (effects.probes_expired > 0) {
    listener_->OnEvent(tenant, provider, "probe_expired", effects.probes_expired);
  }
}

BreakerView BreakerRegistry::View(std::string_view tenant, std::string_view provider,
                                  const policy::BreakerConfig& config) {
  (void)config;  // the breaker runs on the pair's effective configuration (POL §6)
  BreakerView view;
  BreakerEffects effects;
  {
    Shard& shard = ShardOf(tenant, provider);
    absl::ReaderMutexLock lock(&shard.mu);
    auto it = shard.breakers.find(PairView{tenant, provider});
    if (it == shard.breakers.end()) return view;  // no breaker: closed
    CircuitBreaker& breaker = *it->second;
    if (breaker.state() == BreakerState::kClosed) return view;  // one atomic load
    view = breaker.View(clock_.MonoNow(), clock_.WallMs(), &effects);
  }
  Report(tenant, provider, effects);
  if (view.state == BreakerState::kOpen && listener_ != nullptr) {
    listener_->OnEvent(tenant, provider, "fail_fast", 1);
  }
  return view;
}

bool BreakerRegistry::TryAcquireProbe(std::string_view tenant, std::string_view provider) {
  BreakerEffects effects;
  bool taken = false;
  {
    Shard& shard = ShardOf(tenant, provider);
    absl::ReaderMutexLock lock(&shard.mu);
    auto it = shard.breakers.find(PairView{tenant, provider});
    if (it == shard.breakers.end()) return false;
    taken = it->second->TryAcquireProbe(clock_.MonoNow(), clock_.WallMs(), &effects);
  }
  Report(tenant, provider, effects);
  if (taken && listener_ != nullptr) listener_->OnEvent(tenant, provider, "probe_admitted", 1);
  return taken;
}

void BreakerRegistry::ReleaseProbe(std::string_view tenant, std::string_view provider) {
  Shard& shard = ShardOf(tenant, provider);
  absl::ReaderMutexLock lock(&shard.mu);
  auto it = shard.breakers.find(PairView{tenant, provider});
  if (it != shard.breakers.end()) it->second->ReleaseProbe();
}

void BreakerRegistry::RefreshConfigs(bool remove_unconfigured) {
  const SnapshotPtr snapshot = snapshots_.Load();
  const uint64_t generation = snapshot->generation();
  if (!remove_unconfigured && config_generation_.load(std::memory_order_acquire) == generation) {
    return;
  }
  absl::MutexLock refresh(&refresh_mu_);
  std::vector<PairKey> removed;
  for (size_t i = 0; i < options_.shards; ++i) {
    Shard& shard = shards_[i];
    absl::MutexLock lock(&shard.mu);
    for (auto it = shard.breakers.begin(); it != shard.breakers.end();) {
      const policy::BreakerConfig* config =
          snapshot->EffectiveBreakerConfig(it->first.tenant, it->first.provider);
      if (config == nullptr) {
        if (remove_unconfigured) {
          removed.push_back(it->first);
          shard.breakers.erase(it++);
          count_.fetch_sub(1, std::memory_order_relaxed);
          continue;
        }
      } else {
        it->second->UpdateConfig(*config);
      }
      ++it;
    }
  }
  config_generation_.store(generation, std::memory_order_release);
  if (listener_ != nullptr) {
    for (const PairKey& k : removed) listener_->OnRemoved(k.tenant, k.provider);
  }
}

std::shared_ptr<CircuitBreaker> BreakerRegistry::FindOrCreate(std::string_view tenant,
                                                              std::string_view provider) {
  RefreshConfigs(/*remove_unconfigured=*/false);
  const SnapshotPtr snapshot = snapshots_.Load();
  const policy::BreakerConfig* config = snapshot->EffectiveBreakerConfig(tenant, provider);
  if (config == nullptr) return nullptr;
  if (std::shared_ptr<CircuitBreaker> found = Find(tenant, provider)) return found;
  std::shared_ptr<CircuitBreaker> created;
  std::optional<PairKey> evicted;
  {
    Shard& shard = ShardOf(tenant, provider);
    absl::MutexLock lock(&shard.mu);
    auto it = shard.breakers.find(PairView{tenant, provider});
    if (it != shard.breakers.end()) return it->second;
    if (shard.breakers.size() >= per_shard_cap_) {
      // At the cap: the least recently used closed breaker makes room (open and half-open
      // breakers are never evicted).
      auto victim = shard.breakers.end();
      for (auto c = shard.breakers.begin(); c != shard.breakers.end(); ++c) {
        if (c->second->state() != BreakerState::kClosed) continue;
        if (victim == shard.breakers.end() ||
            c->second->last_used() < victim->second->last_used()) {
          victim = c;
        }
      }
      if (victim != shard.breakers.end()) {
        evicted = victim->first;
        shard.breakers.erase(victim);
        count_.fetch_sub(1, std::memory_order_relaxed);
      }
    }
    created = std::make_shared<CircuitBreaker>(*config, clock_.WallMs());
    shard.breakers.emplace(PairKey{std::string(tenant), std::string(provider)}, created);
    count_.fetch_add(1, std::memory_order_relaxed);
  }
  if (listener_ != nullptr) {
    if (evicted.has_value()) listener_->OnRemoved(evicted->tenant, evicted->provider);
    listener_->OnCreated(tenant, provider);
  }
  return created;
}

std::optional<BreakerState> BreakerRegistry::Record(std::string_view tenant,
                                                    std::string_view provider, BreakerInput input,
                                                    int64_t latency_ms) {
  std::shared_ptr<CircuitBreaker> breaker = FindOrCreate(tenant, provider);
  if (breaker == nullptr) return std::nullopt;
  BreakerEffects effects;
  const MonoTime now = clock_.MonoNow();
  const BreakerState state = breaker->Record(input, latency_ms, now, clock_.WallMs(), &effects);
  if (listener_ != nullptr) {
    listener_->OnEvent(tenant, provider, BreakerInputName(input), 1);
    Report(tenant, provider, effects);
    listener_->OnGauges(tenant, provider, breaker->Read(now, clock_.WallMs(), nullptr));
  }
  return state;
}

std::vector<BreakerEntry> BreakerRegistry::List(std::string_view tenant,
                                                std::string_view provider) {
  RefreshConfigs(/*remove_unconfigured=*/false);
  std::vector<std::pair<PairKey, std::shared_ptr<CircuitBreaker>>> found;
  if (!provider.empty()) {
    if (auto b = Find(tenant, provider)) {
      found.push_back({PairKey{std::string(tenant), std::string(provider)}, b});
    }
  } else {
    for (size_t i = 0; i < options_.shards; ++i) {
      Shard& shard = shards_[i];
      absl::ReaderMutexLock lock(&shard.mu);
      for (const auto& [key, breaker] : shard.breakers) {
        if (key.tenant == tenant) found.push_back({key, breaker});
      }
    }
  }
  std::sort(found.begin(), found.end(),
            [](const auto& a, const auto& b) { return a.first.provider < b.first.provider; });
  std::vector<BreakerEntry> out;
  out.reserve(found.size());
  const MonoTime now = clock_.MonoNow();
  for (auto& [key, breaker] : found) {
    BreakerEffects effects;
    BreakerEntry entry;
    entry.snapshot = breaker->Read(now, clock_.WallMs(), &effects);
    Report(key.tenant, key.provider, effects);
    entry.tenant = std::move(key.tenant);
    entry.provider = std::move(key.provider);
    out.push_back(std::move(entry));
  }
  return out;
}

absl::StatusOr<BreakerSnapshot> BreakerRegistry::Reset(std::string_view tenant,
                                                       std::string_view provider,
                                                       BreakerTarget target) {
  std::shared_ptr<CircuitBreaker> breaker = FindOrCreate(tenant, provider);
  if (breaker == nullptr) breaker = Find(tenant, provider);
  if (breaker == nullptr) {
    return MakeError(absl::StatusCode::kNotFound,
                     "no circuit breaker for provider \"" + std::string(provider) +
                         "\" of tenant \"" + std::string(tenant) + "\"",
                     tag::kNotFound);
  }
  BreakerEffects effects;
  const MonoTime now = clock_.MonoNow();
  breaker->Reset(target, now, clock_.WallMs(), &effects);
  const BreakerSnapshot snapshot = breaker->Read(now, clock_.WallMs(), nullptr);
  if (listener_ != nullptr) {
    Report(tenant, provider, effects);
    listener_->OnManual(tenant, provider, target);
    listener_->OnGauges(tenant, provider, snapshot);
  }
  return snapshot;
}

void BreakerRegistry::Sweep() {
  RefreshConfigs(/*remove_unconfigured=*/true);
  const MonoTime now = clock_.MonoNow();
  const int64_t wall = clock_.WallMs();
  int64_t counts[3] = {0, 0, 0};
  std::vector<PairKey> evicted;
  for (size_t i = 0; i < options_.shards; ++i) {
    struct Item {
      PairKey key;
      BreakerEffects effects;
      BreakerSnapshot snapshot;
    };
    std::vector<Item> items;
    {
      Shard& shard = shards_[i];
      absl::MutexLock lock(&shard.mu);
      for (auto it = shard.breakers.begin(); it != shard.breakers.end();) {
        CircuitBreaker& b = *it->second;
        if (b.state() == BreakerState::kClosed && now - b.last_used() >= options_.idle_evict) {
          evicted.push_back(it->first);
          shard.breakers.erase(it++);
          count_.fetch_sub(1, std::memory_order_relaxed);
          continue;
        }
        Item item{it->first, {}, {}};
        b.Sweep(now, wall, &item.effects);
        item.snapshot = b.Read(now, wall, &item.effects);
        ++counts[static_cast<int>(item.snapshot.state)];
        items.push_back(std::move(item));
        ++it;
      }
    }
    if (listener_ == nullptr) continue;
    for (const Item& item : items) {
      Report(item.key.tenant, item.key.provider, item.effects);
      listener_->OnGauges(item.key.tenant, item.key.provider, item.snapshot);
    }
  }
  if (listener_ == nullptr) return;
  for (const PairKey& k : evicted) listener_->OnRemoved(k.tenant, k.provider);
  listener_->OnStateCounts(counts[static_cast<int>(BreakerState::kClosed)],
                           counts[static_cast<int>(BreakerState::kOpen)],
                           counts[static_cast<int>(BreakerState::kHalfOpen)]);
}

}  // namespace router::core
