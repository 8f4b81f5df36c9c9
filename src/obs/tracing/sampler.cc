#include "obs/tracing/sampler.h"

#include <cmath>

namespace router::obs {
namespace {

constexpr uint64_t kTwoPow56 = uint64_t{1} << 56;
constexpr uint64_t kLow56Mask = kTwoPow56 - 1;

}  // namespace

Sampler::Sampler(double ratio, bool parent_based)
    : parent_based_(parent_based), threshold_(ThresholdFor(ratio)) {}

uint64_t Sampler::ThresholdFor(double ratio) {
  if (!(ratio > 0.0)) return 0;  // also NaN
  if (ratio >= 1.0) return kTwoPow56;
  // 2^56 * ratio is exact enough in a double (53-bit mantissa; the error is below 2^-53 relative).
  return static_cast<uint64_t>(std::ldexp(ratio, 56));
}

bool Sampler::RatioSampled(TraceId trace_id) const {
  return (trace_id.lo & kLow56Mask) < threshold_.load(std::memory_order_relaxed);
}

bool Sampler::ShouldSample(const TraceContext& parent) const {
  if (parent.has_flags && (!parent.remote || parent_based_)) return parent.sampled();
  return RatioSampled(parent.trace_id);
}

void Sampler::SetRatio(double ratio) {
  threshold_.store(ThresholdFor(ratio), std::memory_order_relaxed);
}

}  // namespace router::obs
