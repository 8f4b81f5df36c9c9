// Tests for head sampling (OBS §6.3): parent-based, then the trace id's low 56 bits against
// sample_ratio x 2^56.
#include "obs/tracing/sampler.h"

#include <gtest/gtest.h>

namespace router::obs {
namespace {

TraceContext Root(TraceId id) {
  TraceContext c;
  c.trace_id = id;
  return c;
}

TraceContext RemoteParent(bool sampled) {
  TraceContext c;
  c.trace_id = NewTraceId();
  c.span_id = NewSpanId();
  c.flags = sampled ? kSampledFlag : 0;
  c.has_flags = true;
  c.remote = true;
  return c;
}

int CountSampled(const Sampler& sampler, int n) {
  int sampled = 0;
  for (int i = 0; i < n; ++i) sampled += sampler.ShouldSample(Root(NewTraceId())) ? 1 : 0;
  return sampled;
}

TEST(SamplerTest, RatioZeroSamplesNothing) {
  Sampler sampler(0.0, true);
  EXPECT_EQ(CountSampled(sampler, 10000), 0);
  EXPECT_FALSE(sampler.RatioSampled(TraceId{0, 0}));
}

TEST(SamplerTest, RatioOneSamplesEverything) {
  Sampler sampler(1.0, true);
  EXPECT_EQ(CountSampled(sampler, 10000), 10000);
  EXPECT_TRUE(sampler.RatioSampled(TraceId{~0ULL, ~0ULL}));
}

TEST(SamplerTest, RatioHalfSamplesAboutHalf) {
  // Binomial(10000, 0.5): sd = 50; 4500..5500 is 10 sd wide.
  Sampler sampler(0.5, true);
  int sampled = CountSampled(sampler, 10000);
  EXPECT_GT(sampled, 4500);
  EXPECT_LT(sampled, 5500);
}

TEST(SamplerTest, DecisionUsesOnlyTheLow56BitsAndIsDeterministic) {
  Sampler a(0.25, true);
  Sampler b(0.25, false);
  const uint64_t threshold = Sampler::ThresholdFor(0.25);
  EXPECT_EQ(threshold, uint64_t{1} << 54);
  EXPECT_TRUE(a.RatioSampled(TraceId{0, threshold - 1}));
  EXPECT_FALSE(a.RatioSampled(TraceId{0, threshold}));
  // The top byte of the low half and the whole high half do not matter.
  EXPECT_TRUE(a.RatioSampled(TraceId{~0ULL, (0xffULL << 56) | (threshold - 1)}));
  EXPECT_FALSE(a.RatioSampled(TraceId{0, (0xffULL << 56) | threshold}));
  // Every replica agrees: the same id gives the same answer whatever the instance.
  for (int i = 0; i < 1000; ++i) {
    TraceId id = NewTraceId();
    ASSERT_EQ(a.RatioSampled(id), b.RatioSampled(id));
  }
}

TEST(SamplerTest, ParentBasedFollowsTheParentsFlag) {
  Sampler never(0.0, true);
  Sampler always(1.0, true);
  EXPECT_TRUE(never.ShouldSample(RemoteParent(true)));
  EXPECT_FALSE(always.ShouldSample(RemoteParent(false)));
}

TEST(SamplerTest, WithoutParentBasedARemoteParentUsesTheRatio) {
  Sampler never(0.0, false);
  Sampler always(1.0, false);
  EXPECT_FALSE(never.ShouldSample(RemoteParent(true)));
  EXPECT_TRUE(always.ShouldSample(RemoteParent(false)));
}

TEST(SamplerTest, ParentWithoutFlagsUsesTheRatio) {
  // A context trace_id + span_id carries no trace-flags (OBS §6.2).
  TraceContext parent = RemoteParent(true);
  parent.has_flags = false;
  EXPECT_FALSE(Sampler(0.0, true).ShouldSample(parent));
  EXPECT_TRUE(Sampler(1.0, true).ShouldSample(parent));
}

TEST(SamplerTest, LocalParentIsAlwaysFollowed) {
  TraceContext local = RemoteParent(true);
  local.remote = false;
  EXPECT_TRUE(Sampler(0.0, false).ShouldSample(local));
  local.flags = 0;
  EXPECT_FALSE(Sampler(1.0, false).ShouldSample(local));
}

TEST(SamplerTest, SetRatioAppliesAtOnce) {
  // configuration §5: tracing.sample_ratio applies on SIGHUP without a restart.
  Sampler sampler(0.0, true);
  EXPECT_EQ(CountSampled(sampler, 100), 0);
  sampler.SetRatio(1.0);
  EXPECT_EQ(CountSampled(sampler, 100), 100);
}

TEST(SamplerTest, ThresholdBounds) {
  EXPECT_EQ(Sampler::ThresholdFor(0.0), 0u);
  EXPECT_EQ(Sampler::ThresholdFor(-1.0), 0u);
  EXPECT_EQ(Sampler::ThresholdFor(1.0), uint64_t{1} << 56);
  EXPECT_EQ(Sampler::ThresholdFor(2.0), uint64_t{1} << 56);
  EXPECT_EQ(Sampler::ThresholdFor(0.5), uint64_t{1} << 55);
}

}  // namespace
}  // namespace router::obs
