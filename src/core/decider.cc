// Selection S1-S6 (POL §3.2), explanation texts (POL §3.3), S6 errors and DryRun (POL §3.4).
#include "core/decider.h"

#include <algorithm>
#include <bit>
#include <charconv>
#include <cmath>
#include <concepts>
#include <optional>

#include "base/errors.h"
#include "core/backoff.h"
#include "core/weighted.h"

namespace router::core {
namespace {

using policy::CompiledPolicy;
using policy::kMaxProviders;

constexpr std::string_view kAttemptMessage = "context.attempt: must be a non-negative integer";
constexpr int kMaxAttempt = 1000;

// ---- explanation text building (only runs when an explanation is requested)

void AppendPiece(std::string& s, std::string_view v) { s.append(v); }
void AppendPiece(std::string& s, const char* v) { s.append(v); }
void AppendPiece(std::string& s, const std::string& v) { s.append(v); }
template <std::integral T>
requires(!std::same_as<T, bool> && !std::same_as<T, char>) void AppendPiece(std::string& s, T v) {
  char buf[24];
  auto r = std::to_chars(buf, buf + sizeof(buf), v);
  s.append(buf, r.ptr);
}

template <typename... Args>
std::string Cat(const Args&... args) {
  std::string s;
  (AppendPiece(s, args), ...);
  return s;
}

// Shortest round-trip form of a double ("0.5", "456", "1e-07").
std::string FormatDouble(double v) {
  char buf[32];
  auto r = std::to_chars(buf, buf + sizeof(buf), v);
  return std::string(buf, r.ptr);
}

std::string_view BreakerStateName(BreakerState s) {
  switch (s) {
    case BreakerState::kClosed:
      return "closed";
    case BreakerState::kOpen:
      return "open";
    case BreakerState::kHalfOpen:
      return "half_open";
  }
  return "closed";
}

// `attempt`: a decimal integer 0..1000 (POL §3.1). Digits only; leading zeros are accepted.
std::optional<int> ParseAttempt(std::string_view v) {
  if (v.empty()) return std::nullopt;
  int value = 0;
  for (char c : v) {
    if (c < '0' || c > '9') return std::nullopt;
    value = value * 10 + (c - '0');
    if (value > kMaxAttempt) return std::nullopt;
  }
  return value;
}

// The context seen by S5: `status` replaced by the synthetic value.
class StatusOverride final : public policy::ContextView {
 public:
  StatusOverride(const policy::ContextView& base, std::string_view status)
      : base_(base), status_(status) {}
  std::optional<std::string_view> Find(std::string_view key) const override {
    if (key == "status") return status_;
    return base_.Find(key);
  }

 private:
  const policy::ContextView& base_;
  std::string_view status_;
};

inline uint32_t Bit(int i) { return uint32_t{1} << i; }

}  // namespace

std::string_view StrategyName(policy::Strategy strategy) {
  switch (strategy) {
    case policy::Strategy::kWeighted:
      return "weighted";
    case policy::Strategy::kLeastLatency:
      return "least_latency";
    case policy::Strategy::kLowestCost:
      return "lowest_cost";
  }
  return "weighted";
}

std::string FormatMicroShares(uint64_t micro) {
  std::string s = Cat(micro / policy::kMicroShareScale, ".");
  char frac[7];
  uint64_t f = micro % policy::kMicroShareScale;
  for (int i = 5; i >= 0; --i) {
    frac[i] = static_cast<char>('0' + f % 10);
    f /= 10;
  }
  int len = 6;
  while (len > 1 && frac[len - 1] == '0') --len;
  s.append(frac, static_cast<size_t>(len));
  return s;
}

// One decision's working state. Lives on the stack of Decide(); fixed-size arrays only.
class DecisionRun {
 public:
  DecisionRun(const Decider& d, const DecideRequest& req, DecideResult& out)
      : d_(d),
        p_(*req.policy),
        ctx_(*req.context),
        out_(out),
        tenant_(req.policy->tenant_id),
        n_(static_cast<int>(std::min(req.policy->providers.size(), kMaxProviders))),
        n_targets_(static_cast<int>(std::min(req.policy->fallback_targets.size(), kMaxProviders))),
        breaker_enabled_(req.policy->breaker.enabled),
        dry_run_(req.dry_run),
        explain_(req.explain != ExplainLevel::kNone || req.dry_run),
        verbose_(req.explain == ExplainLevel::kVerbose) {}

  void Run();

 private:
  // A name resolved against the policy: provider index, else fallback-target index, else
  // foreign. `name` views the policy's own string when the name is in the policy.
  struct NameRef {
    int provider = -1;
    int target = -1;
    std::string_view name;
    bool in_policy() const { return provider >= 0 || target >= 0; }
  };
  // Cached breaker view of one name. Trivial on purpose: the slot arrays are left uninitialized
  // (a valid bit in known_ says which slots hold data), so a decision pays no memset for them.
  struct BreakerSlot {
    BreakerState state;
    bool probe_free;
    bool has_remaining;
    bool excluded;
    Exclusion exclusion;  // valid when `excluded`
    int64_t remaining_ms;
  };
  struct Metric {  // trivial, like BreakerSlot
    bool known;
    double value;
  };

  template <typename... Args>
  void Step(const Args&... args) {
    if (explain_) out_.steps.push_back(Cat(args...));
  }

  NameRef Resolve(std::string_view name) const;
  static int SlotOf(const NameRef& ref);
  bool IsHalfOpen(const NameRef& ref) const;
  std::optional<Exclusion> BreakerExclusion(const NameRef& ref);
  bool TakeProbe(const NameRef& ref);
  void Exclude(std::string_view name, Exclusion reason);
  std::optional<Exclusion> ExcludedReason(std::string_view name) const;
  void RemoveExcluded(std::string_view name);
  void Decide(const NameRef& chosen, Reason reason);

  void Candidates();        // S1
  void ExplainProviders();  // verbose provider lines
  void FailurePath();       // S2
  void Sticky();            // S3
  void Choose();            // S4
  void FallbackChain();     // S5
  void NoProvider();        // S6
  Metric MetricOf(int i) const;

  const Decider& d_;
  const CompiledPolicy& p_;
  const policy::ContextView& ctx_;
  DecideResult& out_;
  const std::string_view tenant_;
  const int n_;
  const int n_targets_;
  const bool breaker_enabled_;
  const bool dry_run_;
  const bool explain_;
  const bool verbose_;

  bool decided_ = false;
  bool any_positive_ = false;
  uint32_t candidates_ = 0;
  // Slot i: provider i; slot kMaxProviders + t: fallback target t; the last: a foreign name.
  static constexpr int kForeignSlot = 2 * kMaxProviders;
  BreakerSlot slots_[2 * kMaxProviders + 1];
  uint64_t known_ = 0;  // bit s: slots_[s] holds a view (the foreign slot is never cached)

  // S2
  NameRef previous_{};  // P; name empty when unset
  int attempt_ = 0;

  // S3 / side effects
  bool session_usable_ = false;
  std::string_view session_;
  bool pending_renew_ = false;
  bool pending_put_ = false;
  MonoTime now_{};
};

DecisionRun::NameRef DecisionRun::Resolve(std::string_view name) const {
  NameRef ref;
  ref.name = name;
  for (int i = 0; i < n_; ++i) {
    if (p_.providers[i].name == name) {
      ref.provider = i;
      ref.name = p_.providers[i].name;
      return ref;
    }
  }
  for (int t = 0; t < n_targets_; ++t) {
    if (p_.fallback_targets[t] == name) {
      ref.target = t;
      ref.name = p_.fallback_targets[t];
      return ref;
    }
  }
  return ref;
}

int DecisionRun::SlotOf(const NameRef& ref) {
  if (ref.provider >= 0) return ref.provider;
  if (ref.target >= 0) return static_cast<int>(kMaxProviders) + ref.target;
  return kForeignSlot;
}

// The S1 breaker test. Everything is allowed when the policy's breaker is disabled.
std::optional<Exclusion> DecisionRun::BreakerExclusion(const NameRef& ref) {
  if (!breaker_enabled_) return std::nullopt;
  const int index = SlotOf(ref);
  BreakerSlot& slot = slots_[index];
  if (index == kForeignSlot || !(known_ & (uint64_t{1} << index))) {
    const BreakerView view = d_.health_.View(tenant_, ref.name, p_.breaker);
    slot.state = view.state;
    slot.probe_free = view.probe_slot_free;
    slot.has_remaining = view.open_remaining_ms.has_value();
    slot.remaining_ms = view.open_remaining_ms.value_or(0);
    slot.excluded = false;
    if (view.state == BreakerState::kOpen) {
      slot.excluded = true;
      slot.exclusion = Exclusion::kCircuitOpen;
    } else if (view.state == BreakerState::kHalfOpen && !view.probe_slot_free) {
      slot.excluded = true;
      slot.exclusion = Exclusion::kHalfOpenFull;
    }
    if (index != kForeignSlot) known_ |= uint64_t{1} << index;
  }
  if (!slot.excluded) return std::nullopt;
  return slot.exclusion;
}

bool DecisionRun::IsHalfOpen(const NameRef& ref) const {
  const int index = SlotOf(ref);
  if (!breaker_enabled_ || index == kForeignSlot || !(known_ & (uint64_t{1} << index))) {
    return false;
  }
  return slots_[index].state == BreakerState::kHalfOpen;
}

// Takes a probe slot for an allowed provider that is about to be chosen (POL §3.2 S1). DryRun
// never takes one. A lost race excludes the provider as half_open_full.
bool DecisionRun::TakeProbe(const NameRef& ref) {
  if (dry_run_ || !IsHalfOpen(ref)) return true;
  if (d_.health_.TryAcquireProbe(tenant_, ref.name)) {
    out_.probe_taken = true;
    return true;
  }
  BreakerSlot& slot = slots_[SlotOf(ref)];
  slot.excluded = true;
  slot.exclusion = Exclusion::kHalfOpenFull;
  Exclude(ref.name, Exclusion::kHalfOpenFull);
  if (ref.provider >= 0) candidates_ &= ~Bit(ref.provider);
  return false;
}

void DecisionRun::Exclude(std::string_view name, Exclusion reason) {
  if (ExcludedReason(name).has_value()) return;  // first reason wins
  if (out_.excluded_count >= out_.excluded.size()) return;
  out_.excluded[out_.excluded_count++] = ExcludedProvider{name, reason};
}

std::optional<Exclusion> DecisionRun::ExcludedReason(std::string_view name) const {
  for (size_t i = 0; i < out_.excluded_count; ++i) {
    if (out_.excluded[i].provider == name) return out_.excluded[i].reason;
  }
  return std::nullopt;
}

// The chosen provider is never listed as excluded (e.g. P excluded by one rule and retried by a
// later one).
void DecisionRun::RemoveExcluded(std::string_view name) {
  for (size_t i = 0; i < out_.excluded_count; ++i) {
    if (out_.excluded[i].provider != name) continue;
    for (size_t j = i + 1; j < out_.excluded_count; ++j) out_.excluded[j - 1] = out_.excluded[j];
    --out_.excluded_count;
    return;
  }
}

void DecisionRun::Decide(const NameRef& chosen, Reason reason) {
  decided_ = true;
  out_.provider = chosen.name;
  out_.reason = reason;
  RemoveExcluded(chosen.name);
  // Expected values: usable statistics, else declared, else 0 (POL §3.3, §8).
  const ProviderStatistics stats = d_.stats_.Get(tenant_, chosen.name);
  const policy::ProviderSpec* spec =
      chosen.provider >= 0 ? &p_.providers[chosen.provider] : nullptr;
  if (stats.latency_ms.has_value()) {
    out_.expected_latency_ms = std::llround(*stats.latency_ms);
  } else if (spec != nullptr && spec->declared_latency_ms.has_value()) {
    out_.expected_latency_ms = *spec->declared_latency_ms;
  }
  if (stats.cost.has_value()) {
    out_.expected_cost = *stats.cost;
  } else if (spec != nullptr && spec->declared_cost.has_value()) {
    out_.expected_cost = *spec->declared_cost;
  }
}

void DecisionRun::Candidates() {
  for (int i = 0; i < n_; ++i) {
    const policy::ProviderSpec& spec = p_.providers[i];
    if (spec.weight_micro == 0) {
      Exclude(spec.name, Exclusion::kZeroWeight);
      continue;
    }
    any_positive_ = true;
    NameRef ref;
    ref.provider = i;
    ref.name = spec.name;
    if (std::optional<Exclusion> e = BreakerExclusion(ref)) {
      Exclude(spec.name, *e);
      continue;
    }
    candidates_ |= Bit(i);
  }
}

void DecisionRun::ExplainProviders() {
  for (int i = 0; i < n_; ++i) {
    const policy::ProviderSpec& spec = p_.providers[i];
    NameRef ref;
    ref.provider = i;
    ref.name = spec.name;
    std::string_view breaker = "disabled";
    if (breaker_enabled_) {
      BreakerExclusion(ref);
      breaker = BreakerStateName(slots_[i].state);
    }
    const ProviderStatistics stats = d_.stats_.Get(tenant_, spec.name);
    int64_t latency = 0;
    std::string_view latency_source = "none";
    if (stats.latency_ms.has_value()) {
      latency = std::llround(*stats.latency_ms);
      latency_source = "observed";
    } else if (spec.declared_latency_ms.has_value()) {
      latency = *spec.declared_latency_ms;
      latency_source = "declared";
    }
    double cost = 0;
    std::string_view cost_source = "none";
    if (stats.cost.has_value()) {
      cost = *stats.cost;
      cost_source = "observed";
    } else if (spec.declared_cost.has_value()) {
      cost = *spec.declared_cost;
      cost_source = "declared";
    }
    Step("provider: ", spec.name, " weight ", FormatMicroShares(spec.weight_micro), " breaker ",
         breaker, " latency ", latency, " ms (", latency_source, ") cost ", FormatDouble(cost),
         " (", cost_source, ")");
  }
}

// S2: runs only for a reported failure (status present, non-empty, not success/ok).
void DecisionRun::FailurePath() {
  std::optional<std::string_view> status = ctx_.Find("status");
  if (!status.has_value() || status->empty() || *status == "success" || *status == "ok") return;

  std::optional<std::string_view> prev = ctx_.Find("previous_provider");
  if (!prev.has_value() || prev->empty()) prev = ctx_.Find("current_provider");
  const bool has_prev = prev.has_value() && !prev->empty();
  if (has_prev) previous_ = Resolve(*prev);

  Step("failure_path: status=", *status, " previous_provider=", has_prev ? *prev : "-",
       " attempt=", attempt_);

  for (size_t i = 0; i < p_.rules.size(); ++i) {
    const policy::FallbackRule& rule = p_.rules[i];
    const int rule_index = static_cast<int>(i);
    if (!rule.when.Evaluate(ctx_)) {
      if (verbose_) Step("failure_path: rule ", rule_index, " not matched");
      continue;
    }
    if (has_prev) {
      if (attempt_ < rule.retry) {
        // (a) retry P if it is in the policy and allowed.
        if (!previous_.in_policy()) {
          Exclude(previous_.name, Exclusion::kNotInPolicy);
        } else if (std::optional<Exclusion> e = BreakerExclusion(previous_)) {
          Exclude(previous_.name, *e);
        } else if (TakeProbe(previous_)) {
          out_.from_failure_path = true;
          out_.retry_attempt = attempt_ + 1;
          out_.retry_max = rule.retry;
          // Callers echo retry_attempt back as `attempt`, so retry n = a + 1 (POL §3.2 S2a).
          out_.backoff_ms = BackoffMs(rule.backoff, attempt_ + 1);
          out_.fallback_rule = rule_index;
          Step("failure_path: rule ", rule_index, " -> retry ", attempt_ + 1, "/", rule.retry,
               " on ", previous_.name, ", backoff ", out_.backoff_ms, " ms");
          Decide(previous_, Reason::kRetry);
          return;
        }
      } else {
        // (b)
        Exclude(previous_.name, Exclusion::kRetriesExhausted);
      }
    }
    // (c)
    if (!rule.to.empty()) {
      NameRef target = Resolve(rule.to);
      if (has_prev && target.name == previous_.name) {
        Exclude(target.name, Exclusion::kPreviousAttemptFailed);
      } else if (std::optional<Exclusion> e = BreakerExclusion(target)) {
        Exclude(target.name, *e);
      } else if (TakeProbe(target)) {
        out_.from_failure_path = true;
        out_.fallback_rule = rule_index;
        Step("failure_path: rule ", rule_index, " -> fallback to ", target.name);
        Decide(target, Reason::kFallback);
        return;
      }
    }
    // (d) next matching rule
  }

  Step("failure_path: no rule yielded a provider");
  if (has_prev) {
    // The provider that just failed is never chosen again except by an explicit retry.
    Exclude(previous_.name, Exclusion::kPreviousAttemptFailed);
    if (previous_.provider >= 0) candidates_ &= ~Bit(previous_.provider);
  }
}

// S3: a live pin whose provider is a candidate decides (reason sticky) and is renewed.
void DecisionRun::Sticky() {
  const std::string_view key_name = p_.sticky.session_key;
  std::optional<std::string_view> value = ctx_.Find(key_name);
  if (!value.has_value() || value->empty() || value->size() > kMaxSessionValueBytes) {
    out_.sticky = StickyOutcome::kOff;
    Step("sticky: no usable value for ", key_name);
    return;
  }
  session_usable_ = true;
  session_ = *value;
  const PinKey key{tenant_, p_.policy_id, session_};
  const std::chrono::seconds ttl(p_.sticky.ttl_seconds);

  // A pin whose provider is a candidate needing no probe is certain to decide, so its TTL slides
  // in the same shard visit; a half-open one is renewed after its probe is taken.
  auto usable_now = [&](std::string_view provider) {
    for (int i = 0; i < n_; ++i) {
      if (p_.providers[i].name != provider) continue;
      if (!(candidates_ & Bit(i))) return false;
      NameRef candidate;
      candidate.provider = i;
      return !IsHalfOpen(candidate);
    }
    return false;
  };
  std::optional<PinnedProvider> pin =
      dry_run_ ? d_.sticky_.Peek(key, now_) : d_.sticky_.LookupAndRenew(key, now_, ttl, usable_now);
  if (!pin.has_value()) {
    out_.sticky = StickyOutcome::kMiss;
    Step("sticky: miss on ", key_name);
    return;
  }
  NameRef ref = Resolve(pin->name());
  if (ref.provider >= 0 && (candidates_ & Bit(ref.provider))) {
    const bool needs_probe = IsHalfOpen(ref);
    if (TakeProbe(ref)) {
      out_.sticky = StickyOutcome::kHit;
      pending_renew_ = needs_probe && !dry_run_;
      Step("sticky: hit on ", key_name, " -> ", ref.name);
      Decide(ref, Reason::kSticky);
      return;
    }
    // Lost the probe race: TakeProbe excluded it as half_open_full.
  }
  std::optional<Exclusion> reason;
  if (ref.provider >= 0) reason = ExcludedReason(ref.name);
  if (!reason.has_value()) reason = Exclusion::kNotInPolicy;
  if (!ref.in_policy()) {
    out_.SetForeignName(ref.name);
    ref.name = out_.pinned_foreign_name();
  }
  Exclude(ref.name, *reason);
  out_.sticky = StickyOutcome::kRepin;
  out_.repin_reason = *reason;
  Step("sticky: pin ", ref.name, " not usable (", ExclusionName(*reason), "); re-pinning");
}

DecisionRun::Metric DecisionRun::MetricOf(int i) const {
  const policy::ProviderSpec& spec = p_.providers[i];
  const ProviderStatistics stats = d_.stats_.Get(tenant_, spec.name);
  Metric m{false, 0};
  if (p_.selection.strategy == policy::Strategy::kLeastLatency) {
    if (stats.latency_ms.has_value()) {
      m = {true, *stats.latency_ms};
    } else if (spec.declared_latency_ms.has_value()) {
      m = {true, static_cast<double>(*spec.declared_latency_ms)};
    }
  } else {
    if (stats.cost.has_value()) {
      m = {true, *stats.cost};
    } else if (spec.declared_cost.has_value()) {
      m = {true, *spec.declared_cost};
    }
  }
  return m;
}

// S4: weighted draw among the candidates, or the strategy's tie band (POL §4, §8).
void DecisionRun::Choose() {
  const bool weighted = p_.selection.strategy == policy::Strategy::kWeighted;
  Metric metrics[kMaxProviders];  // read only for candidates, all set below
  if (!weighted) {
    for (int i = 0; i < n_; ++i) {
      if (candidates_ & Bit(i)) metrics[i] = MetricOf(i);
    }
  }
  while (candidates_ != 0) {
    uint32_t band = candidates_;
    int best = -1;
    if (!weighted) {
      for (int i = 0; i < n_; ++i) {
        if ((candidates_ & Bit(i)) && metrics[i].known &&
            (best < 0 || metrics[i].value < metrics[best].value)) {
          best = i;
        }
      }
      if (best >= 0) {
        const double bound = metrics[best].value * (1.0 + p_.selection.tie_tolerance);
        band = 0;
        for (int i = 0; i < n_; ++i) {
          if ((candidates_ & Bit(i)) && (!metrics[i].known || metrics[i].value <= bound)) {
            band |= Bit(i);
          }
        }
      }
    }
    const int chosen = PickWeightedInMask(p_, band);
    if (chosen < 0) return;  // unreachable: candidates have positive weights
    NameRef ref;
    ref.provider = chosen;
    ref.name = p_.providers[chosen].name;
    if (!TakeProbe(ref)) continue;  // lost the race: repeat without it

    if (weighted) {
      Step("weighted: ", std::popcount(candidates_), " of ", n_,
           " providers eligible, total weight ",
           FormatMicroShares(MaskWeightTotal(p_, candidates_)), " -> ", ref.name);
      Decide(ref, Reason::kWeighted);
    } else {
      for (int i = 0; i < n_; ++i) {
        if ((candidates_ & Bit(i)) && !(band & Bit(i))) {
          Exclude(p_.providers[i].name, Exclusion::kOutsideTieBand);
        }
      }
      if (explain_) {
        std::string best_text = "- (unknown)";
        if (best >= 0) {
          const double v = metrics[best].value;
          best_text = p_.selection.strategy == policy::Strategy::kLeastLatency
                          ? Cat(p_.providers[best].name, " (", std::llround(v), " ms)")
                          : Cat(p_.providers[best].name, " (", FormatDouble(v), ")");
        }
        Step("best_score: ", StrategyName(p_.selection.strategy), " best ", best_text, ", ",
             std::popcount(band), " within tolerance -> ", ref.name);
      }
      Decide(ref, Reason::kBestScore);
    }
    pending_put_ = session_usable_ && !dry_run_;
    return;
  }
}

// S5: no candidate left. Synthetic status, matching rules' targets first, then every other one.
void DecisionRun::FallbackChain() {
  const std::string_view synthetic = any_positive_ ? std::string_view("circuit_breaker_open")
                                                   : std::string_view("no_weighted_provider");
  const StatusOverride synthetic_ctx(ctx_, synthetic);
  uint64_t tried = 0;

  auto try_target = [&](int t) {
    if (tried & (uint64_t{1} << t)) return false;
    tried |= uint64_t{1} << t;
    NameRef ref = Resolve(p_.fallback_targets[t]);
    if (!previous_.name.empty() && ref.name == previous_.name) {
      Exclude(ref.name, Exclusion::kPreviousAttemptFailed);
      return false;
    }
    if (std::optional<Exclusion> e = BreakerExclusion(ref)) {
      Exclude(ref.name, *e);
      return false;
    }
    if (!TakeProbe(ref)) return false;
    Step("fallback_chain: status=", synthetic, " -> ", ref.name);
    Decide(ref, any_positive_ ? Reason::kCircuitBreakerFallback : Reason::kFallback);
    return true;
  };

  for (const policy::FallbackRule& rule : p_.rules) {
    if (rule.to.empty() || !rule.when.Evaluate(synthetic_ctx)) continue;
    for (int t = 0; t < n_targets_; ++t) {
      if (p_.fallback_targets[t] == rule.to) {
        if (try_target(t)) return;
        break;
      }
    }
  }
  for (int t = 0; t < n_targets_; ++t) {
    if (try_target(t)) return;
  }
  Step("fallback_chain: no target available");
}

// S6.
void DecisionRun::NoProvider() {
  if (!any_positive_ && p_.fallback_targets.empty()) {
    out_.status = MakeError(absl::StatusCode::kFailedPrecondition,
                            Cat("policy \"", p_.policy_id,
                                "\" can never yield a provider (no positive weight and no "
                                "fallback target)"),
                            tag::kNoProviderConfigured);
    return;
  }
  out_.status =
      MakeError(absl::StatusCode::kUnavailable,
                Cat("no provider available: all ", out_.excluded_count, " providers excluded"),
                tag::kNoProviderAvailable);
  std::string excluded;
  std::optional<int64_t> retry_after;
  for (size_t i = 0; i < out_.excluded_count; ++i) {
    const ExcludedProvider& e = out_.excluded[i];
    if (i > 0) excluded.push_back(',');
    excluded.append(e.provider).push_back('=');
    excluded.append(ExclusionName(e.reason));
    if (e.reason != Exclusion::kCircuitOpen) continue;
    // Time until this breaker reaches half-open, when it is time-bound (not forced open).
    NameRef ref = Resolve(e.provider);
    if (!ref.in_policy()) continue;
    const int index = SlotOf(ref);
    if (!(known_ & (uint64_t{1} << index))) continue;
    const BreakerSlot& slot = slots_[index];
    if (slot.state == BreakerState::kOpen && slot.has_remaining) {
      const int64_t ms = std::max<int64_t>(1, slot.remaining_ms);
      if (!retry_after.has_value() || ms < *retry_after) retry_after = ms;
    }
  }
  AddErrorDetail(out_.status, "excluded", excluded);
  if (retry_after.has_value()) AddErrorDetail(out_.status, "retry_after_ms", Cat(*retry_after));
}

void DecisionRun::Run() {
  if (std::optional<std::string_view> a = ctx_.Find("attempt")) {
    std::optional<int> parsed = ParseAttempt(*a);
    if (!parsed.has_value()) {
      out_.status =
          MakeError(absl::StatusCode::kInvalidArgument, kAttemptMessage, tag::kInvalidRequest);
      return;
    }
    attempt_ = *parsed;
  }
  if (p_.sticky.enabled) now_ = d_.clock_.MonoNow();

  Step("policy: ", tenant_, "/", p_.policy_id, " v", p_.version, ", strategy ",
       StrategyName(p_.selection.strategy));
  Candidates();
  if (verbose_) ExplainProviders();
  FailurePath();
  if (!decided_ && p_.sticky.enabled) Sticky();
  if (!decided_ && candidates_ != 0) Choose();
  if (!decided_) FallbackChain();
  if (!decided_) {
    NoProvider();
    return;
  }

  // Side effects of a successful decision (POL §3.1 step 12; never for DryRun).
  if (dry_run_ || !session_usable_) return;
  const PinKey key{tenant_, p_.policy_id, session_};
  const std::chrono::seconds ttl(p_.sticky.ttl_seconds);
  if (pending_renew_) d_.sticky_.Renew(key, out_.provider, now_, ttl);
  if (pending_put_) d_.sticky_.Put(key, out_.provider, now_, ttl);
}

Decider::Decider(const Clock& clock, ProviderHealth& health, const StatisticsView& stats,
                 StickyTable& sticky)
    : clock_(clock), health_(health), stats_(stats), sticky_(sticky) {}

DecideResult Decider::Decide(const DecideRequest& request) const {
  DecideResult out;
  if (request.policy == nullptr || request.context == nullptr) {
    out.status = MakeError(absl::StatusCode::kInternal, "internal error", tag::kInternal);
    return out;
  }
  DecisionRun run(*this, request, out);
  run.Run();
  return out;
}

}  // namespace router::core
