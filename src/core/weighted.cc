// Weighted draw (POL §4).
#include "core/weighted.h"

#include "core/random.h"

namespace router::core {

size_t IndexForDraw(std::span<const uint32_t> weights, uint64_t r) {
  uint64_t cumulative = 0;
  for (size_t i = 0; i < weights.size(); ++i) {
    cumulative += weights[i];
    if (r < cumulative) return i;
  }
  return weights.size();
}

size_t PickWeighted(std::span<const uint32_t> weights) {
  uint64_t total = 0;
  for (uint32_t w : weights) total += w;
  if (total == 0) return weights.size();
  return IndexForDraw(weights, UniformBelow(total));
}

uint64_t MaskWeightTotal(const policy::CompiledPolicy& policy, uint32_t mask) {
  uint64_t total = 0;
  const size_t n = policy.providers.size();
  for (size_t i = 0; i < n && i < policy::kMaxProviders; ++i) {
    if (mask & (uint32_t{1} << i)) total += policy.providers[i].weight_micro;
  }
  return total;
}

int PickWeightedInMask(const policy::CompiledPolicy& policy, uint32_t mask) {
  const uint64_t total = MaskWeightTotal(policy, mask);
  if (total == 0) return -1;
  const uint64_t r = UniformBelow(total);
  uint64_t cumulative = 0;
  const size_t n = policy.providers.size();
  for (size_t i = 0; i < n && i < policy::kMaxProviders; ++i) {
    if (!(mask & (uint32_t{1} << i))) continue;
    cumulative += policy.providers[i].weight_micro;
    if (r < cumulative) return static_cast<int>(i);
  }
  return -1;  // unreachable: r < total
}

}  // namespace router::core
