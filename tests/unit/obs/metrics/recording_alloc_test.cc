// OBS O1: recording and the per-thread cached series lookup do not allocate in steady state.
// This binary replaces the global operator new/delete with the counting versions of
// tests/support/alloc_counter.h; the counter is per thread, so only allocations made by the code
// under test are counted.
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "obs/metrics/router_metrics.h"
#include "support/alloc_counter.h"

ROUTER_DEFINE_COUNTING_ALLOCATOR();

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
  const int64_t before = router::testing::ThreadAllocations();
  auto v = std::make_unique<std::vector<int>>(100);
  EXPECT_GE(router::testing::ThreadAllocations() - before, 2);
}

TEST_F(RecordingAllocationTest, SteadyStateRecordingDoesNotAllocate) {
  for (int i = 0; i < 1000; ++i) RecordOnce(i);  // warm-up: creates series and cache entries
  const int64_t before = router::testing::ThreadAllocations();
  for (int i = 0; i < 100'000; ++i) RecordOnce(i);
  EXPECT_EQ(router::testing::ThreadAllocations() - before, 0);
}

TEST_F(RecordingAllocationTest, ResolvedHandlesDoNotAllocate) {
  const Counter counter = metrics_->decisions->Resolve({"t1", "p1", "sticky"});
  const Histogram histogram = metrics_->decide_duration->Resolve({"nats", "internal"});
  const Gauge gauge = metrics_->ready->Resolve({});
  const int64_t before = router::testing::ThreadAllocations();
  for (int i = 0; i < 10'000; ++i) {
    counter.Inc();
    histogram.Observe(0.01);
    gauge.Set(i);
  }
  EXPECT_EQ(router::testing::ThreadAllocations() - before, 0);
  EXPECT_EQ(counter.Value(), 10'000u);
}

}  // namespace
}  // namespace router::obs
