// decide_core (reliability-and-performance.md §2.1, targets P1 and P2): one in-process decision
// with the fixture bench/policies/three_providers.json (a/b/c 50/30/20, sticky on session_id
// 10m, breaker on, rate limit at the DSL maximum), stored for tenants bench-0..bench-7; requests
// rotate over the tenants and over 100,000 pre-built session ids.
//
//   BM_DecideCore/<variant>      the policy token bucket (core::RateLimiter::Check, as
//                                DecisionService step 7) + core::Decider::Decide (selection
//                                S1-S6, sticky table, live core::BreakerRegistry with a closed
//                                breaker per (tenant, provider), core::ProviderStats), the
//                                subject of P1/P2
//   BM_DecisionService/<variant> service::DecisionService::Decide (validation, allowlist,
//                                snapshot lookup, decider, decision id, metadata, metrics), the
//                                path both transports call
//
// Counters: items_per_second = decisions/s on one thread; allocs_per_decision = heap
// allocations made by the measuring thread during the measured loop / decisions (counting
// global operator new of tests/support/alloc_counter.h), after a warm-up of 100,000 decisions
// that fills the sticky working set.
//
// The DecisionService benchmark uses the same registry, statistics and sticky table; its token
// buckets are whatever DecisionService itself applies in this build.
//
//   BM_HostMemoryLatency/before|after  the same-run baseline of the machine (spec §1): one
//                                dependent load per iteration, chasing a random cycle through
//                                32 MiB (beyond this VM's share of L3), i.e. the latency of a
//                                cache miss, run before and after the decide benchmarks. A
//                                sticky hit is mostly such misses (100,000 pins do not fit in
//                                L2), so when other tenants of the host load its memory both
//                                figures rise together; bench/check.py reads it as a host check.
#include <benchmark/benchmark.h>

#include <array>
#include <charconv>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "base/system_clock.h"
#include "core/breaker_registry.h"
#include "core/decider.h"
#include "core/provider_stats.h"
#include "core/rate_limiter.h"
#include "core/snapshot.h"
#include "core/sticky_table.h"
#include "obs/metrics/router_metrics.h"
#include "policy/policy_compiler.h"
#include "service/decision_service.h"
#include "service/request_context.h"
#include "support/alloc_counter.h"

ROUTER_DEFINE_COUNTING_ALLOCATOR();

namespace router::bench {
namespace {

constexpr int kTenants = 8;
constexpr int kSessions = 100'000;
constexpr int kWarmup = 100'000;

enum class Variant { kStickyHit, kStickyMiss, kWeightedNoSticky, kFallbackRetry };

[[noreturn]] void Die(std::string_view what) {
  std::fprintf(stderr, "decide_core_bench: %.*s\n", static_cast<int>(what.size()), what.data());
  std::abort();
}

std::string ReadFixture() {
  // bench/ is this file's directory (CMake passes absolute source paths).
  const std::string path =
      std::filesystem::path(__FILE__).parent_path() / "policies" / "three_providers.json";
  std::ifstream in(path);
  if (!in) Die("cannot read bench/policies/three_providers.json");
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

// The fixture without the sticky block (variant weighted_no_sticky).
std::string WithoutSticky(std::string json) {
  const size_t begin = json.find("\"sticky\"");
  const size_t end = json.find("},", begin);
  if (begin == std::string::npos || end == std::string::npos) Die("fixture has no sticky block");
  json.erase(begin, end + 2 - begin);
  return json;
}

// A small context of views (no allocation on lookup): up to 4 entries.
class BenchContext final : public service::RequestContext {
 public:
  void Set(std::string_view key, std::string_view value) {
    for (size_t i = 0; i < size_; ++i) {
      if (keys_[i] == key) {
        values_[i] = value;
        return;
      }
    }
    keys_[size_] = key;
    values_[size_] = value;
    ++size_;
  }
  std::optional<std::string_view> Find(std::string_view key) const override {
    for (size_t i = 0; i < size_; ++i) {
      if (keys_[i] == key) return values_[i];
    }
    return std::nullopt;
  }
  size_t Size() const override { return size_; }
  void ForEach(const std::function<void(std::string_view, std::string_view)>& fn) const override {
    for (size_t i = 0; i < size_; ++i) fn(keys_[i], values_[i]);
  }

 private:
  std::array<std::string_view, 4> keys_{};
  std::array<std::string_view, 4> values_{};
  size_t size_ = 0;
};

// Everything one variant needs; built once per process (function-local statics) so a smoke run
// starts fast.
struct Fixture {
  SystemClock clock;
  core::SnapshotHolder snapshots;
  core::BreakerRegistry breakers{clock, snapshots};
  core::ProviderStats stats{clock};
  core::RateLimiter rate_limiter{clock};
  core::StickyTable sticky;
  core::Decider decider{clock, breakers, stats, sticky};
  std::unique_ptr<obs::RouterMetrics> metrics;
  std::unique_ptr<service::DecisionService> service;
  std::vector<std::string> tenants;
  std::vector<policy::CompiledPolicyPtr> policies;  // one per tenant
  std::vector<std::string> sessions;
  std::string policy_id = "three_providers";
  Variant variant;

  explicit Fixture(Variant v) : variant(v) {
    std::string json = ReadFixture();
    if (v == Variant::kWeightedNoSticky) json = WithoutSticky(std::move(json));
    core::SnapshotBuilder builder;
    for (int t = 0; t < kTenants; ++t) {
      tenants.push_back("bench-" + std::to_string(t));
      auto compiled = policy::CompilePolicy(json, tenants.back(), policy_id);
      if (!compiled.ok()) Die(std::string(compiled.status().message()));
      policies.push_back(*compiled);
      builder.Upsert(*compiled);
    }
    snapshots.Publish(builder.Build());
    // One live (closed) breaker per (tenant, provider): the decide path then reads real breaker
    // state, not the "no breaker yet" shortcut.
    for (const auto& tenant : tenants) {
      for (const char* provider : {"a", "b", "c"}) {
        breakers.Record(tenant, provider, core::BreakerInput::kSuccess, 200);
      }
    }
    auto created = obs::RouterMetrics::Create({});
    if (!created.ok()) Die("metrics");
    metrics = std::move(*created);
    service::Observability o;
    o.metrics = metrics.get();
    service = std::make_unique<service::DecisionService>(service::DecisionServiceOptions{}, clock,
                                                         snapshots, decider, o);
    sessions.reserve(kSessions);
    for (int i = 0; i < kSessions; ++i) sessions.push_back("session-" + std::to_string(i));
  }
};

Fixture& GetFixture(Variant v) {
  // Each fixture is built the first time a benchmark asks for it.
  switch (v) {
    case Variant::kStickyMiss: {
      static Fixture miss(Variant::kStickyMiss);
      return miss;
    }
    case Variant::kWeightedNoSticky: {
      static Fixture weighted(Variant::kWeightedNoSticky);
      return weighted;
    }
    case Variant::kFallbackRetry: {
      static Fixture retry(Variant::kFallbackRetry);
      return retry;
    }
    case Variant::kStickyHit:
      break;
  }
  static Fixture hit(Variant::kStickyHit);
  return hit;
}

// Per-thread request state: the context of decision `i`.
class RequestRotor {
 public:
  RequestRotor(const Fixture& f, int thread) : f_(f), i_(thread * 7919) {
    if (f.variant == Variant::kFallbackRetry) {
      ctx_.Set("status", "error");
      ctx_.Set("previous_provider", "a");
      ctx_.Set("attempt", "1");
    }
    miss_prefix_ = "miss-t" + std::to_string(thread) + "-";
  }

  // Advances to the next request; returns its tenant index.
  size_t Next() {
    ++i_;
    const size_t tenant = static_cast<size_t>(i_) % kTenants;
    if (f_.variant == Variant::kStickyHit || f_.variant == Variant::kWeightedNoSticky) {
      ctx_.Set("session_id", f_.sessions[static_cast<size_t>(i_) % kSessions]);
    } else if (f_.variant == Variant::kStickyMiss) {
      // A session never seen before, formatted into a fixed buffer (no allocation).
      char* p = std::copy(miss_prefix_.begin(), miss_prefix_.end(), miss_buf_.data());
      auto [end, ec] = std::to_chars(p, miss_buf_.data() + miss_buf_.size(), ++miss_counter_);
      (void)ec;
      ctx_.Set("session_id", std::string_view(miss_buf_.data(), end - miss_buf_.data()));
    }
    return tenant;
  }
  const BenchContext& context() const { return ctx_; }

 private:
  const Fixture& f_;
  int64_t i_;
  BenchContext ctx_;
  std::string miss_prefix_;
  std::array<char, 64> miss_buf_{};
  uint64_t miss_counter_ = 0;
};

// Overlay of tenant_id / policy_id / message_type as the service builds it.
class CoreContext final : public policy::ContextView {
 public:
  CoreContext(const BenchContext& base, const std::string& tenant, std::string_view policy_id)
      : base_(base), tenant_(tenant), policy_id_(policy_id) {}
  std::optional<std::string_view> Find(std::string_view key) const override {
    if (key == "tenant_id") return std::string_view(tenant_);
    if (key == "policy_id") return policy_id_;
    if (key == "message_type") return std::string_view("chat");
    return base_.Find(key);
  }
  void set_tenant(const std::string& tenant) { tenant_ = tenant; }

 private:
  const BenchContext& base_;
  std::string_view tenant_;
  std::string_view policy_id_;
};

void SetCounters(benchmark::State& state, int64_t allocations, int64_t failures) {
  const double n = static_cast<double>(state.iterations());
  state.SetItemsProcessed(state.iterations());
  state.counters["allocs_per_decision"] = benchmark::Counter(
      n > 0 ? static_cast<double>(allocations) / n : 0, benchmark::Counter::kAvgThreads);
  state.counters["failures"] = benchmark::Counter(static_cast<double>(failures));
  if (failures > 0) state.SkipWithError("decisions failed");
}

void BM_DecideCore(benchmark::State& state, Variant variant) {
  Fixture& f = GetFixture(variant);
  RequestRotor rotor(f, state.thread_index());
  CoreContext ctx(rotor.context(), f.tenants[0], f.policy_id);
  core::DecideRequest req;
  req.context = &ctx;
  int64_t failures = 0;
  auto one = [&] {
    const size_t t = rotor.Next();
    ctx.set_tenant(f.tenants[t]);
    const policy::CompiledPolicy* p = f.policies[t].get();
    req.policy = p;
    core::RateDecision rate = f.rate_limiter.Check(
        core::RateKey{core::RateScope::kPolicy, f.tenants[t], f.policy_id},
        core::RateLimitParams{p->rate_limit.requests_per_second, p->rate_limit.burst});
    if (!rate.allowed) {
      ++failures;
      return;
    }
    core::DecideResult r = f.decider.Decide(req);
    failures += !r.status.ok();
    benchmark::DoNotOptimize(r.provider);
  };
  for (int i = 0; i < kWarmup; ++i) one();
  failures = 0;
  const int64_t before = testing::ThreadAllocations();
  for (auto _ : state) one();
  SetCounters(state, testing::ThreadAllocations() - before, failures);
}

void BM_DecisionService(benchmark::State& state, Variant variant) {
  Fixture& f = GetFixture(variant);
  RequestRotor rotor(f, state.thread_index());
  service::DecideCall call;
  call.message_type = "chat";
  call.policy_id = f.policy_id;
  call.context = &rotor.context();
  int64_t failures = 0;
  auto one = [&] {
    call.tenant_id = f.tenants[rotor.Next()];
    service::DecideOutput out = f.service->Decide(call);
    failures += !out.status.ok();
    benchmark::DoNotOptimize(out.provider_id);
  };
  for (int i = 0; i < kWarmup / 4; ++i) one();
  failures = 0;
  const int64_t before = testing::ThreadAllocations();
  for (auto _ : state) one();
  SetCounters(state, testing::ThreadAllocations() - before, failures);
}

// A random cyclic permutation of 64-byte lines: each load depends on the previous one.
void BM_HostMemoryLatency(benchmark::State& state) {
  constexpr size_t kLines = (32u << 20) / 64;
  struct alignas(64) Line {
    uint32_t next;
  };
  static const std::vector<Line>* const lines = [] {
    std::vector<uint32_t> order(kLines);
    for (size_t i = 0; i < kLines; ++i) order[i] = static_cast<uint32_t>(i);
    uint64_t x = 0x9e3779b97f4a7c15u;
    for (size_t i = kLines - 1; i > 0; --i) {  // Fisher-Yates with xorshift
      x ^= x << 13;
      x ^= x >> 7;
      x ^= x << 17;
      std::swap(order[i], order[x % (i + 1)]);
    }
    auto* v = new std::vector<Line>(kLines);
    for (size_t i = 0; i < kLines; ++i) (*v)[order[i]].next = order[(i + 1) % kLines];
    return v;
  }();
  uint32_t at = 0;
  for (int i = 0; i < 100'000; ++i) at = (*lines)[at].next;  // warm the TLB and the path
  for (auto _ : state) {
    at = (*lines)[at].next;
    benchmark::DoNotOptimize(at);
  }
}

BENCHMARK(BM_HostMemoryLatency)->Name("BM_HostMemoryLatency/before");
BENCHMARK_CAPTURE(BM_DecideCore, sticky_hit, Variant::kStickyHit);
BENCHMARK_CAPTURE(BM_DecideCore, sticky_miss, Variant::kStickyMiss);
BENCHMARK_CAPTURE(BM_DecideCore, weighted_no_sticky, Variant::kWeightedNoSticky);
BENCHMARK_CAPTURE(BM_DecideCore, fallback_retry, Variant::kFallbackRetry);
BENCHMARK_CAPTURE(BM_DecideCore, sticky_hit, Variant::kStickyHit)->Threads(2)->UseRealTime();
BENCHMARK_CAPTURE(BM_DecisionService, sticky_hit, Variant::kStickyHit);
BENCHMARK_CAPTURE(BM_DecisionService, weighted_no_sticky, Variant::kWeightedNoSticky);
BENCHMARK(BM_HostMemoryLatency)->Name("BM_HostMemoryLatency/after");

}  // namespace
}  // namespace router::bench

int main(int argc, char** argv) {
  if (std::getenv("BENCH_ABSL_DEADLOCK_DETECTION") == nullptr) {
    // Debian's absl is built without NDEBUG, so absl::Mutex runs its deadlock detector (a
    // global graph of lock ids) on every lock unless told otherwise; the router turns it off at
    // startup the same way. BENCH_ABSL_DEADLOCK_DETECTION=1 keeps it (for comparison).
    absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  }
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
