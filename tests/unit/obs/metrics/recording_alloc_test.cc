// OBS O1: recording and the per-thread cached series lookup do not allocate in steady state.
// This binary replaces the global operator new/delete with counting versions; the counter is
// per thread, so only allocations made by the code under test are counted.
#include <gtest/gtest.h>

#include <cstdlib>
#include <memory>
#include <new>
#include <string>
#include <vector>

#include "obs/metrics/router_metrics.h"

namespace {
thread_local int64_t t_allocations = 0;

void* CountedAlloc(std::size_t n) {
  ++t_allocations;
  void* p = std::malloc(n == 0 ? 1 : n);
  if (p == nullptr) std::abort();
  return p;
}
void* CountedAlignedAlloc(std::size_t n, std::align_val_t align) {
  ++t_allocations;
  const std::size_t a = static_cast<std::size_t>(align);
  void* p = std::aligned_alloc(a, (n + a - 1) / a * a);
  if (p == nullptr) std::abort();
  return p;
}
}  // namespace

void* operator new(std::size_t n) { return CountedAlloc(n); }
void* operator new[](std::size_t n) { return CountedAlloc(n); }
void* operator new(std::size_t n, std::align_val_t a) { return CountedAlignedAlloc(n, a); }
void* operator new[](std::size_t n, std::align_val_t a) { return CountedAlignedAlloc(n, a); }
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }
void operator delete(void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete(void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }

namespace router::obs {
namespace {

class RecordingAllocationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto created = RouterMetrics::Create({});
    ASSERT_TRUE(created.ok());
    metrics_ = std::move(*created);
    for (int t = 0; t < 20; ++t) tenants_.push_back("tenant-" + std::to_string(t));
  }

  void RecordOnce(int i) {
    const std::string& tenant = tenants_[static_cast<size_t>(i) % tenants_.size()];
    metrics_->decide_inflight->Get({"grpc"}).Inc();
    metrics_->decide_requests->Get({"grpc", i % 3 == 0 ? "ok" : "no_provider_available"}).Inc();
    metrics_->decisions->Get({tenant, "checkout", "weighted"}).Inc();
    metrics_->provider_selections->Get({tenant, "openai", "weighted"}).Inc();
    metrics_->sticky_misses->Get({tenant}).Inc();
    metrics_->grpc_requests->Get({"Router", "Decide", "OK"}).Inc();
    metrics_->decide_duration->Get({"grpc", "ok"}).Observe(0.0002 * (i % 7));
    metrics_->decide_inflight->Get({"grpc"}).Dec();
  }

  std::unique_ptr<RouterMetrics> metrics_;
  std::vector<std::string> tenants_;
};

TEST_F(RecordingAllocationTest, CounterSeesAllocations) {
  const int64_t before = t_allocations;
  auto v = std::make_unique<std::vector<int>>(100);
  EXPECT_GE(t_allocations - before, 2);
}

TEST_F(RecordingAllocationTest, SteadyStateRecordingDoesNotAllocate) {
  for (int i = 0; i < 1000; ++i) RecordOnce(i);  // warm-up: creates series and cache entries
  const int64_t before = t_allocations;
  for (int i = 0; i < 100'000; ++i) RecordOnce(i);
  EXPECT_EQ(t_allocations - before, 0);
}

TEST_F(RecordingAllocationTest, ResolvedHandlesDoNotAllocate) {
  const Counter counter = metrics_->decisions->Resolve({"t1", "p1", "sticky"});
  const Histogram histogram = metrics_->decide_duration->Resolve({"nats", "internal"});
  const Gauge gauge = metrics_->ready->Resolve({});
  const int64_t before = t_allocations;
  for (int i = 0; i < 10'000; ++i) {
    counter.Inc();
    histogram.Observe(0.01);
    gauge.Set(i);
  }
  EXPECT_EQ(t_allocations - before, 0);
  EXPECT_EQ(counter.Value(), 10'000u);
}

}  // namespace
}  // namespace router::obs
