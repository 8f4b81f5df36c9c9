// Weighted choice (POL §4 acceptance: shares, chi-square, zero weight, 4 threads pooled).
#include "core/weighted.h"

#include <gtest/gtest.h>

#include <array>
#include <cmath>
#include <latch>
#include <thread>
#include <vector>

#include "core/random.h"
#include "core_test_util.h"

namespace router::core {
namespace {

using testutil::MakePolicy;
using testutil::Provider;

class WeightedTest : public ::testing::Test {
 protected:
  void TearDown() override { SetGlobalSeed(0); }

  // Checks every share within ±1 pp of w_i/T and chi-square p >= 0.001 over positive weights.
  static void ExpectShares(const std::vector<uint32_t>& weights, const std::vector<int>& counts) {
    uint64_t total_w = 0;
    int positive = 0;
    for (uint32_t w : weights) {
      total_w += w;
      positive += w > 0;
    }
    int64_t n = 0;
    for (int c : counts) n += c;
    double chi = 0;
    for (size_t i = 0; i < weights.size(); ++i) {
      const double p = static_cast<double>(weights[i]) / total_w;
      const double share = static_cast<double>(counts[i]) / n;
      EXPECT_NEAR(share, p, 0.01) << "provider " << i;
      if (weights[i] == 0) {
        EXPECT_EQ(counts[i], 0) << "zero weight chosen";
        continue;
      }
      const double expected = p * n;
      chi += (counts[i] - expected) * (counts[i] - expected) / expected;
    }
    EXPECT_LT(chi, testutil::ChiSquareCritical001(positive - 1));
  }
};

TEST_F(WeightedTest, IndexForDrawTakesFirstCumulativeAbove) {
  const std::array<uint32_t, 4> w = {3, 0, 2, 5};
  EXPECT_EQ(IndexForDraw(w, 0), 0u);
  EXPECT_EQ(IndexForDraw(w, 2), 0u);
  EXPECT_EQ(IndexForDraw(w, 3), 2u);  // zero weight skipped
  EXPECT_EQ(IndexForDraw(w, 4), 2u);
  EXPECT_EQ(IndexForDraw(w, 5), 3u);
  EXPECT_EQ(IndexForDraw(w, 9), 3u);
  EXPECT_EQ(IndexForDraw(w, 10), 4u);  // out of range
  const std::array<uint32_t, 2> zeros = {0, 0};
  EXPECT_EQ(PickWeighted(zeros), 2u);
}

// POL §4 acceptance: seeds 1, 2, 3 × 100,000 draws, ±1 pp, chi-square, zero never chosen.
TEST_F(WeightedTest, SharesForSeedsOneTwoThree) {
  const std::vector<uint32_t> weights = {700000, 200000, 0, 100000};
  for (uint64_t seed : {1, 2, 3}) {
    SCOPED_TRACE(seed);
    SetGlobalSeed(seed);
    std::vector<int> counts(weights.size());
    for (int i = 0; i < 100'000; ++i) ++counts[PickWeighted(weights)];
    ExpectShares(weights, counts);
  }
}

TEST_F(WeightedTest, MaskSelectsCandidatesOnly) {
  auto p =
      MakePolicy("t", "p", {Provider("a", 500000), Provider("b", 300000), Provider("c", 200000)});
  EXPECT_EQ(MaskWeightTotal(*p, 0b101), 700000u);
  ReseedThisThreadForTest(9);
  std::vector<int> counts(3);
  for (int i = 0; i < 100'000; ++i) ++counts[PickWeightedInMask(*p, 0b101)];
  EXPECT_EQ(counts[1], 0);
  ExpectShares({500000, 0, 200000}, counts);
  EXPECT_EQ(PickWeightedInMask(*p, 0), -1);
}

// POL §4 acceptance: 4 threads × 25,000 draws, pooled shares meet the same bound.
TEST_F(WeightedTest, FourThreadsPooledShares) {
  const std::vector<uint32_t> weights = {700000, 200000, 100000, 0};
  for (uint64_t seed : {1, 2, 3}) {
    SCOPED_TRACE(seed);
    SetGlobalSeed(seed);
    std::vector<std::vector<int>> per_thread(4, std::vector<int>(weights.size()));
    std::latch start(4);
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t) {
      threads.emplace_back([&, t] {
        start.arrive_and_wait();
        for (int i = 0; i < 25'000; ++i) ++per_thread[t][PickWeighted(weights)];
      });
    }
    for (auto& th : threads) th.join();
    std::vector<int> pooled(weights.size());
    for (const auto& c : per_thread) {
      for (size_t i = 0; i < c.size(); ++i) pooled[i] += c[i];
    }
    ExpectShares(weights, pooled);
  }
}

}  // namespace
}  // namespace router::core
