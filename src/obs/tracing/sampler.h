#pragma once
// Sampler: head sampling at the root of each trace (OBS §6.3). With a parent that carries
// trace-flags and parent_based = true the parent's sampled flag is followed; otherwise a trace is
// sampled when the low 56 bits of its trace id are below sample_ratio x 2^56. The rule depends on
// the trace id alone, so every replica decides the same way for the same trace.
//
// Thread-safe: the threshold is one relaxed atomic, so SetRatio (SIGHUP reload of
// tracing.sample_ratio, configuration §5) may run while request threads call ShouldSample.
// ShouldSample takes no lock and does not allocate.

#include <atomic>
#include <cstdint>

#include "obs/tracing/trace_context.h"

namespace router::obs {

class Sampler {
 public:
  // ratio is clamped to [0, 1].
  Sampler(double ratio, bool parent_based);

  // The sampling decision for a new span whose parent context is `parent` (trace id valid).
  // A local parent (remote = false, e.g. the decide span for its children) is always followed:
  // a trace is sampled as a whole.
  bool ShouldSample(const TraceContext& parent) const;

  // The ratio rule alone: low 56 bits of trace_id.lo < threshold.
  bool RatioSampled(TraceId trace_id) const;

  void SetRatio(double ratio);
  bool parent_based() const { return parent_based_; }

  // ratio x 2^56, with 1.0 -> 2^56 (everything) and 0.0 -> 0 (nothing).
  static uint64_t ThresholdFor(double ratio);

 private:
  const bool parent_based_;
  // Relaxed: an independent value; a request seeing the old ratio a moment longer is fine.
  std::atomic<uint64_t> threshold_;
};

}  // namespace router::obs
