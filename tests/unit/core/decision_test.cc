// Reason / exclusion wire names and priorities (POL §3.3) and DecideResult copies.
#include "core/decision.h"

#include <gtest/gtest.h>

#include <memory>

namespace router::core {
namespace {

TEST(DecisionTest, ReasonNamesAndPriorities) {
  EXPECT_EQ(ReasonName(Reason::kSticky), "sticky");
  EXPECT_EQ(ReasonName(Reason::kWeighted), "weighted");
  EXPECT_EQ(ReasonName(Reason::kBestScore), "best_score");
  EXPECT_EQ(ReasonName(Reason::kRetry), "retry");
  EXPECT_EQ(ReasonName(Reason::kFallback), "fallback");
  EXPECT_EQ(ReasonName(Reason::kCircuitBreakerFallback), "circuit_breaker_fallback");
  EXPECT_EQ(ReasonPriority(Reason::kSticky), 100);
  EXPECT_EQ(ReasonPriority(Reason::kWeighted), 50);
  EXPECT_EQ(ReasonPriority(Reason::kBestScore), 50);
  EXPECT_EQ(ReasonPriority(Reason::kRetry), 50);
  EXPECT_EQ(ReasonPriority(Reason::kFallback), 25);
  EXPECT_EQ(ReasonPriority(Reason::kCircuitBreakerFallback), 20);
}

TEST(DecisionTest, ExclusionNames) {
  EXPECT_EQ(ExclusionName(Exclusion::kZeroWeight), "zero_weight");
  EXPECT_EQ(ExclusionName(Exclusion::kCircuitOpen), "circuit_open");
  EXPECT_EQ(ExclusionName(Exclusion::kHalfOpenFull), "half_open_full");
  EXPECT_EQ(ExclusionName(Exclusion::kNotInPolicy), "not_in_policy");
  EXPECT_EQ(ExclusionName(Exclusion::kRetriesExhausted), "retries_exhausted");
  EXPECT_EQ(ExclusionName(Exclusion::kPreviousAttemptFailed), "previous_attempt_failed");
  EXPECT_EQ(ExclusionName(Exclusion::kOutsideTieBand), "outside_tie_band");
  EXPECT_EQ(StickyOutcomeName(StickyOutcome::kRepin), "repin");
}

// An excluded pin provider that left the policy lives in the result's own buffer; copies and
// moves must keep pointing at their own copy.
TEST(DecisionTest, CopiesRebindTheForeignName) {
  auto original = std::make_unique<DecideResult>();
  original->SetForeignName("old-provider");
  original->excluded[0] = {original->pinned_foreign_name(), Exclusion::kNotInPolicy};
  original->excluded[1] = {"static", Exclusion::kZeroWeight};
  original->excluded_count = 2;
  DecideResult copy = *original;
  DecideResult moved(std::move(*original));
  original.reset();
  EXPECT_EQ(copy.excluded[0].provider, "old-provider");
  EXPECT_EQ(copy.excluded[0].provider.data(), copy.pinned_foreign_name().data());
  EXPECT_EQ(moved.excluded[0].provider, "old-provider");
  EXPECT_EQ(moved.excluded[1].provider, "static");
  DecideResult assigned;
  assigned = copy;
  EXPECT_EQ(assigned.excluded[0].provider.data(), assigned.pinned_foreign_name().data());
}

}  // namespace
}  // namespace router::core
