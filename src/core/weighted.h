#pragma once
// Weighted choice over candidates by integer micro-share weights (POL §4). No floating point:
// r is drawn uniformly from [0, T) with UniformBelow (core/random.h) and the first i with
// r < cumulative_i wins, so a zero weight never wins and no rounding can run past the end.
// Pure functions over the calling thread's PRNG; thread-safe; never allocate.

#include <cstddef>
#include <cstdint>
#include <span>

#include "policy/compiled_policy.h"

namespace router::core {

// The first index i with r < w_0 + ... + w_i, or weights.size() when r >= the total.
size_t IndexForDraw(std::span<const uint32_t> weights, uint64_t r);

// Draws over `weights`; returns weights.size() when the total is 0.
size_t PickWeighted(std::span<const uint32_t> weights);

// Bit i of `mask` selects providers[i]. The sum of the selected weights.
uint64_t MaskWeightTotal(const policy::CompiledPolicy& policy, uint32_t mask);

// Draws among the providers selected by `mask` (in normalized order) by their weight_micro;
// -1 when the selected weights sum to 0.
int PickWeightedInMask(const policy::CompiledPolicy& policy, uint32_t mask);

}  // namespace router::core
