#pragma once
// Helpers for core unit tests: a map-backed ContextView and hand-built CompiledPolicy values
// (the compiler is tested in unit_policy; here policies are built field by field).

#include <cstdint>
#include <initializer_list>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "policy/compiled_policy.h"
#include "policy/condition.h"

namespace router::core::testutil {

class MapContext final : public policy::ContextView {
 public:
  MapContext() = default;
  MapContext(std::initializer_list<std::pair<const std::string, std::string>> init)
      : entries_(init) {}
  void Set(const std::string& key, std::string value) { entries_[key] = std::move(value); }
  void Erase(const std::string& key) { entries_.erase(key); }
  std::optional<std::string_view> Find(std::string_view key) const override {
    auto it = entries_.find(key);
    if (it == entries_.end()) return std::nullopt;
    return std::string_view(it->second);
  }

 private:
  std::map<std::string, std::string, std::less<>> entries_;
};

inline policy::ProviderSpec Provider(std::string name, uint32_t weight_micro,
                                     std::optional<int64_t> latency_ms = std::nullopt,
                                     std::optional<double> cost = std::nullopt) {
  policy::ProviderSpec spec;
  spec.name = std::move(name);
  spec.weight_micro = weight_micro;
  spec.declared_latency_ms = latency_ms;
  spec.declared_cost = cost;
  return spec;
}

inline policy::Literal Str(std::string s) {
  policy::Literal lit;
  lit.kind = policy::Literal::Kind::kString;
  lit.str = std::move(s);
  return lit;
}

// `{"<var>": [v1, ...]}` (shorthand list = in).
inline policy::Condition VarIn(std::string var, std::vector<std::string> values) {
  policy::ConditionEntry entry;
  entry.op = policy::ConditionOp::kIn;
  entry.lhs.kind = policy::Operand::Kind::kVar;
  entry.lhs.var_path = std::move(var);
  entry.rhs.kind = policy::Operand::Kind::kList;
  for (auto& v : values) entry.rhs.list.push_back(Str(std::move(v)));
  return policy::Condition({entry});
}

// `{"<var>": "<value>"}` (shorthand literal = ==).
inline policy::Condition VarEq(std::string var, std::string value) {
  policy::ConditionEntry entry;
  entry.op = policy::ConditionOp::kEq;
  entry.lhs.kind = policy::Operand::Kind::kVar;
  entry.lhs.var_path = std::move(var);
  entry.rhs.kind = policy::Operand::Kind::kLiteral;
  entry.rhs.literal = Str(std::move(value));
  return policy::Condition({entry});
}

inline policy::FallbackRule Rule(policy::Condition when, int retry, std::string to,
                                 int64_t base_ms = 100, bool jitter = false) {
  policy::FallbackRule rule;
  rule.when = std::move(when);
  rule.retry = retry;
  rule.to = std::move(to);
  rule.backoff.base_ms = base_ms;
  rule.backoff.jitter = jitter;
  return rule;
}

// Fills the derived fields the compiler would: fallback_targets and has_positive_weight.
inline void Finalize(policy::CompiledPolicy& p) {
  p.fallback_targets.clear();
  for (const auto& rule : p.rules) {
    if (rule.to.empty()) continue;
    bool seen = false;
    for (const auto& t : p.fallback_targets) seen = seen || t == rule.to;
    if (!seen) p.fallback_targets.push_back(rule.to);
  }
  p.has_positive_weight = false;
  for (const auto& spec : p.providers) p.has_positive_weight |= spec.weight_micro > 0;
}

inline std::shared_ptr<policy::CompiledPolicy> MakePolicy(
    std::string tenant, std::string policy_id, std::vector<policy::ProviderSpec> providers,
    std::vector<policy::FallbackRule> rules = {}, uint64_t version = 1) {
  auto p = std::make_shared<policy::CompiledPolicy>();
  p->tenant_id = std::move(tenant);
  p->policy_id = std::move(policy_id);
  p->version = version;
  p->providers = std::move(providers);
  p->rules = std::move(rules);
  Finalize(*p);
  return p;
}

// Critical values of chi-square at p = 0.001 for 1..5 degrees of freedom.
inline double ChiSquareCritical001(int df) {
  static constexpr double kTable[] = {0, 10.828, 13.816, 16.266, 18.467, 20.515};
  return kTable[df];
}

}  // namespace router::core::testutil
