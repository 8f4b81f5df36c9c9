// The policy validator + compiler (POL §1, §1.5, §1.6, §2, §9 items). One pass over the parsed
// tree in document order collects violations (walk order and check order of POL §1.5) and, for
// a valid document, the compiled policy.
#include "policy/policy_compiler.h"

#include <algorithm>
#include <initializer_list>
#include <memory>
#include <optional>
#include <unordered_set>
#include <utility>

#include "absl/strings/str_cat.h"
#include "policy/dsl_text.h"
#include "policy/json_tree.h"
#include "policy/sha256.h"

namespace router::policy {
namespace {

constexpr size_t kMaxViolations = 20;
constexpr size_t kMaxRules = 32;
constexpr size_t kMaxWhenEntries = 16;
constexpr size_t kMaxListItems = 64;
constexpr size_t kMaxWhenStringBytes = 256;
constexpr size_t kMaxLegacyConditions = 16;
constexpr size_t kMaxStageItems = 5;
constexpr size_t kMaxExtensionsTotal = 10;
constexpr size_t kMaxConfigBytes = 16'384;
constexpr size_t kMaxMetadataMembers = 64;
constexpr size_t kMaxMetadataBytes = 8'192;
constexpr int64_t kMaxTtlSeconds = 86'400;

struct Hint {
  std::string_view from;
  std::string_view to;
};

using Keys = std::initializer_list<std::string_view>;
using Hints = std::initializer_list<Hint>;

bool Contains(Keys keys, std::string_view k) {
  return std::find(keys.begin(), keys.end(), k) != keys.end();
}

const JsonValue* Find(const JsonValue& obj, std::string_view key) {
  for (const JsonMember& m : obj.members) {
    if (m.key == key) return &m.value;
  }
  return nullptr;
}

std::optional<ConditionOp> OperatorOf(std::string_view key) {
  if (key == "==") return ConditionOp::kEq;
  if (key == "!=") return ConditionOp::kNe;
  if (key == ">") return ConditionOp::kGt;
  if (key == "<") return ConditionOp::kLt;
  if (key == ">=") return ConditionOp::kGe;
  if (key == "<=") return ConditionOp::kLe;
  if (key == "in") return ConditionOp::kIn;
  return std::nullopt;
}

size_t Utf8Length(std::string_view s) {
  size_t n = 0;
  for (char c : s) {
    if ((static_cast<unsigned char>(c) & 0xC0) != 0x80) ++n;
  }
  return n;
}

std::string OneOf(Keys values) {
  std::string out = "must be one of ";
  bool first = true;
  for (std::string_view v : values) {
    if (!first) out += ", ";
    first = false;
    out += Quoted(v);
  }
  return out;
}

enum class WeightScale : uint8_t { kUnset, kInteger, kFraction };

class Compiler {
 public:
  Compiler(std::string_view tenant_id, std::string_view policy_id)
      : tenant_id_(tenant_id), policy_id_(policy_id) {
    out_ = std::make_shared<CompiledPolicy>();
    out_->tenant_id = std::string(tenant_id);
    out_->policy_id = std::string(policy_id);
  }

  void Run(const JsonValue& root);

  const std::vector<FieldViolation>& violations() const { return violations_; }
  bool failed() const { return failed_; }
  std::shared_ptr<CompiledPolicy> TakeOutput() { return std::move(out_); }

 private:
  // ---- reporting
  void Add(const std::string& path, std::string text) {
    failed_ = true;
    if (violations_.size() < kMaxViolations) {
      violations_.push_back(FieldViolation{path, std::move(text)});
    }
  }

  // Walks the members of `obj` in document order: duplicate key, then unknown key (with
  // hints), then `on_member(key, value, path)` for a known key.
  template <typename F>
  void WalkMembers(const JsonValue& obj, const std::string& path, Keys known, Hints hints,
                   bool root, F&& on_member) {
    std::unordered_set<std::string_view> seen;
    for (const JsonMember& m : obj.members) {
      const std::string p = ChildPath(path, m.key);
      if (!seen.insert(m.key).second) {
        Add(p, "duplicate key");
        continue;
      }
      if (!Contains(known, m.key)) {
        if (root && (m.key == "defaults" || m.key == "escalate_on")) {
          Add(p, "deprecated key is not supported; move it under metadata");
          continue;
        }
        std::string text = "unknown key";
        for (const Hint& h : hints) {
          if (h.from == m.key)
            text = absl::StrCat("unknown key (did you mean \"", AbslView(h.to), "\"?)");
        }
        Add(p, std::move(text));
        continue;
      }
      on_member(m.key, m.value, p);
    }
  }

  void Required(const JsonValue& obj, const std::string& path, Keys keys) {
    for (std::string_view k : keys) {
      if (Find(obj, k) == nullptr) Add(ChildPath(path, k), "required");
    }
  }

  // ---- typed fields
  bool ExpectObject(const JsonValue& v, const std::string& p) {
    if (v.IsObject()) return true;
    Add(p, "must be an object");
    return false;
  }
  bool ExpectArray(const JsonValue& v, const std::string& p) {
    if (v.IsArray()) return true;
    Add(p, "must be an array");
    return false;
  }
  bool ExpectString(const JsonValue& v, const std::string& p) {
    if (v.IsString()) return true;
    Add(p, "must be a string");
    return false;
  }
  std::optional<bool> BoolField(const JsonValue& v, const std::string& p) {
    if (v.IsBool()) return v.boolean;
    Add(p, "must be a boolean");
    return std::nullopt;
  }
  std::optional<int64_t> IntField(const JsonValue& v, const std::string& p, int64_t min,
                                  int64_t max) {
    if (!v.IsNumber() || !v.integer_token) {
      Add(p, "must be an integer");
      return std::nullopt;
    }
    int64_t n = 0;
    if (!LexemeToInt64(v.str, n) || n < min || n > max) {
      Add(p, absl::StrCat("must be between ", FormatIntBound(min), " and ", FormatIntBound(max)));
      return std::nullopt;
    }
    return n;
  }
  std::optional<double> NumberField(const JsonValue& v, const std::string& p, double min,
                                    double max) {
    if (!v.IsNumber()) {
      Add(p, "must be a number");
      return std::nullopt;
    }
    const double d = LexemeToDouble(v.str);
    if (!(d >= min && d <= max)) {
      Add(p, absl::StrCat("must be between ", FormatFracBound(min), " and ", FormatFracBound(max)));
      return std::nullopt;
    }
    return d;
  }
  std::optional<std::string> EnumField(const JsonValue& v, const std::string& p, Keys values) {
    if (!ExpectString(v, p)) return std::nullopt;
    if (!Contains(values, v.str)) {
      Add(p, OneOf(values));
      return std::nullopt;
    }
    return v.str;
  }
  std::optional<std::string> ProviderNameField(const JsonValue& v, const std::string& p) {
    if (!ExpectString(v, p)) return std::nullopt;
    if (!IsProviderName(v.str)) {
      Add(p, absl::StrCat("must match ", AbslView(kProviderPattern)));
      return std::nullopt;
    }
    return v.str;
  }
  // Fractional weight 0.0..1.0 -> micro-shares (POL §1.1 rule 3).
  std::optional<uint32_t> FractionWeight(const JsonValue& v, const std::string& p) {
    const MicroScaled m = ScaleLexemeByMillion(v.str);
    if (m.zero) return 0;
    if (m.negative || m.overflow || m.integer > kMicroShareScale ||
        (m.integer == kMicroShareScale && m.fraction)) {
      Add(p, "must be between 0.0 and 1.0");
      return std::nullopt;
    }
    if (m.integer == 0) {
      Add(p, "must be 0 or at least 0.000001");
      return std::nullopt;
    }
    return static_cast<uint32_t>(m.integer + (m.round_up ? 1 : 0));
  }
  std::optional<uint32_t> IntegerWeight(const JsonValue& v, const std::string& p) {
    int64_t n = 0;
    if (!LexemeToInt64(v.str, n) || n < 0 || n > 100) {
      Add(p, "must be between 0 and 100");
      return std::nullopt;
    }
    return static_cast<uint32_t>(n * 10'000);
  }

  // ---- sections
  void Root(const JsonValue& root);
  void Providers(const JsonValue& v, const std::string& p);
  void Provider(const JsonValue& v, const std::string& p, size_t index);
  void Weights(const JsonValue& v, const std::string& p);
  void Selection(const JsonValue& v, const std::string& p);
  void Fallbacks(const JsonValue& v, const std::string& p);
  void Rule(const JsonValue& v, const std::string& p);
  std::optional<Backoff> BackoffObject(const JsonValue& v, const std::string& p);
  void LegacyFallback(const JsonValue& v, const std::string& p);
  void Sticky(const JsonValue& v, const std::string& p);
  void CircuitBreaker(const JsonValue& v, const std::string& p);
  void RateLimit(const JsonValue& v, const std::string& p);
  void Stage(const JsonValue& v, const std::string& p, std::string_view stage,
             std::vector<ExtensionItem>& items);
  void Extension(const JsonValue& v, const std::string& p, std::string_view stage,
                 std::vector<std::string>& ids, std::vector<ExtensionItem>& items);
  void Metadata(const JsonValue& v, const std::string& p);
  std::optional<Condition> When(const JsonValue& v, const std::string& p);
  std::optional<Operand> OperandOf(const JsonValue& v, const std::string& p, bool allow_list);
  std::optional<Literal> LiteralOf(const JsonValue& v, const std::string& p);
  std::optional<std::vector<Literal>> ListOf(const JsonValue& v, const std::string& p);

  std::string_view tenant_id_;
  std::string_view policy_id_;
  std::vector<FieldViolation> violations_;
  bool failed_ = false;
  std::shared_ptr<CompiledPolicy> out_;

  WeightScale scale_ = WeightScale::kUnset;
  std::vector<std::pair<std::string, size_t>> provider_names_;  // name -> first index
  std::vector<FallbackRule> legacy_rule_;                       // 0 or 1 rule from `fallback`
  size_t extension_count_ = 0;
};

void Compiler::Run(const JsonValue& root) {
  if (!root.IsObject()) {
    Add("$", "must be an object");
    return;
  }
  Root(root);
  if (failed_) return;
  for (FallbackRule& r : legacy_rule_) out_->rules.push_back(std::move(r));
  for (const FallbackRule& r : out_->rules) {
    if (!r.to.empty() && !out_->IsFallbackTarget(r.to)) out_->fallback_targets.push_back(r.to);
  }
  out_->has_positive_weight = std::any_of(out_->providers.begin(), out_->providers.end(),
                                          [](const ProviderSpec& s) { return s.weight_micro > 0; });
}

void Compiler::Root(const JsonValue& root) {
  const std::string path = "$";
  WalkMembers(
      root, path,
      {"version", "policy_id", "tenant_id", "providers", "weights", "selection", "fallbacks",
       "fallback", "sticky", "circuit_breaker", "rate_limit", "pre", "validators", "post",
       "metadata"},
      {}, /*root=*/true, [&](std::string_view key, const JsonValue& v, const std::string& p) {
        if (key == "version") {
          if (ExpectString(v, p) && v.str != "1.0") {
            Add(p, absl::StrCat("unsupported DSL version ", Quoted(v.str), "; supported: \"1.0\""));
          }
        } else if (key == "policy_id" || key == "tenant_id") {
          ExpectString(v, p);
        } else if (key == "providers") {
          Providers(v, p);
        } else if (key == "weights") {
          Weights(v, p);
        } else if (key == "selection") {
          Selection(v, p);
        } else if (key == "fallbacks") {
          Fallbacks(v, p);
        } else if (key == "fallback") {
          LegacyFallback(v, p);
        } else if (key == "sticky") {
          Sticky(v, p);
        } else if (key == "circuit_breaker") {
          CircuitBreaker(v, p);
        } else if (key == "rate_limit") {
          RateLimit(v, p);
        } else if (key == "pre") {
          Stage(v, p, "pre", out_->pre);
        } else if (key == "validators") {
          Stage(v, p, "validators", out_->validators);
        } else if (key == "post") {
          Stage(v, p, "post", out_->post);
        } else if (key == "metadata") {
          Metadata(v, p);
        }
      });
  // Required keys, then the cross-field rules of the root (POL §1.5).
  const bool has_providers = Find(root, "providers") != nullptr;
  const bool has_weights = Find(root, "weights") != nullptr;
  if (!has_providers && !has_weights) Add("providers", "required (or legacy \"weights\")");
  if (has_providers && has_weights) Add("weights", "cannot be combined with providers");
  if (extension_count_ > kMaxExtensionsTotal) {
    Add("$", absl::StrCat("at most ", kMaxExtensionsTotal, " extensions in total (got ",
                          extension_count_, ")"));
  }
  for (auto [key, expected] :
       {std::pair<std::string_view, std::string_view>{"policy_id", policy_id_},
        {"tenant_id", tenant_id_}}) {
    const JsonValue* v = Find(root, key);
    if (v != nullptr && v->IsString() && v->str != expected) {
      Add(std::string(key), absl::StrCat("must equal ", Quoted(expected)));
    }
  }
}

void Compiler::Providers(const JsonValue& v, const std::string& p) {
  if (!ExpectArray(v, p)) return;
  if (v.items.empty()) {
    Add(p, "must not be empty");
    return;
  }
  if (v.items.size() > kMaxProviders) {
    Add(p, absl::StrCat("at most ", kMaxProviders, " entries"));
    return;
  }
  for (size_t i = 0; i < v.items.size(); ++i) Provider(v.items[i], IndexPath(p, i), i);
}

void Compiler::Provider(const JsonValue& v, const std::string& p, size_t index) {
  if (!ExpectObject(v, p)) return;
  ProviderSpec spec;
  WalkMembers(v, p, {"name", "weight", "expected_latency_ms", "cost"}, {{"id", "name"}}, false,
              [&](std::string_view key, const JsonValue& m, const std::string& mp) {
                if (key == "name") {
                  auto name = ProviderNameField(m, mp);
                  if (!name) return;
                  for (const auto& [seen, first] : provider_names_) {
                    if (seen == *name) {
                      Add(mp, absl::StrCat("duplicate provider ", Quoted(*name),
                                           " (first at providers[", first, "])"));
                      return;
                    }
                  }
                  provider_names_.emplace_back(*name, index);
                  spec.name = *name;
                } else if (key == "weight") {
                  if (!m.IsNumber()) {
                    Add(mp, "must be a number");
                    return;
                  }
                  const WeightScale token =
                      m.integer_token ? WeightScale::kInteger : WeightScale::kFraction;
                  if (scale_ == WeightScale::kUnset) scale_ = token;
                  if (token != scale_) {
                    Add(mp, "mixes integer (0-100) and fractional (0-1) weights; use one scale");
                    return;
                  }
                  auto micro =
                      token == WeightScale::kInteger ? IntegerWeight(m, mp) : FractionWeight(m, mp);
                  if (micro) spec.weight_micro = *micro;
                } else if (key == "expected_latency_ms") {
                  auto n = IntField(m, mp, 0, 3'600'000);
                  if (n) spec.declared_latency_ms = *n;
                } else if (key == "cost") {
                  auto d = NumberField(m, mp, 0, 1'000'000);
                  if (d) spec.declared_cost = *d;
                }
              });
  Required(v, p, {"name", "weight"});
  out_->providers.push_back(std::move(spec));  // only used when the whole document is valid
}

void Compiler::Weights(const JsonValue& v, const std::string& p) {
  if (!ExpectObject(v, p)) return;
  if (v.members.empty()) {
    Add(p, "must not be empty");
    return;
  }
  if (v.members.size() > kMaxProviders) {
    Add(p, absl::StrCat("at most ", kMaxProviders, " entries"));
    return;
  }
  std::vector<std::string_view> seen;
  std::vector<ProviderSpec> specs;
  for (const JsonMember& m : v.members) {
    const std::string mp = ChildPath(p, m.key);
    if (std::find(seen.begin(), seen.end(), m.key) != seen.end()) {
      Add(mp, "duplicate key");
      continue;
    }
    seen.push_back(m.key);
    if (!IsProviderName(m.key)) {
      Add(mp, absl::StrCat("must match ", AbslView(kProviderPattern)));
      continue;
    }
    if (!m.value.IsNumber()) {
      Add(mp, "must be a number");
      continue;
    }
    // Legacy weights are always on the fractional scale, whatever the token type (POL §1.2).
    auto micro = FractionWeight(m.value, mp);
    if (!micro) continue;
    ProviderSpec spec;
    spec.name = m.key;
    spec.weight_micro = *micro;
    specs.push_back(std::move(spec));
  }
  std::sort(specs.begin(), specs.end(),
            [](const ProviderSpec& a, const ProviderSpec& b) { return a.name < b.name; });
  for (ProviderSpec& s : specs) out_->providers.push_back(std::move(s));
}

void Compiler::Selection(const JsonValue& v, const std::string& p) {
  if (!ExpectObject(v, p)) return;
  WalkMembers(v, p, {"strategy", "tie_tolerance"}, {}, false,
              [&](std::string_view key, const JsonValue& m, const std::string& mp) {
                if (key == "strategy") {
                  auto s = EnumField(m, mp, {"weighted", "least_latency", "lowest_cost"});
                  if (!s) return;
                  out_->selection.strategy = *s == "weighted"        ? Strategy::kWeighted
                                             : *s == "least_latency" ? Strategy::kLeastLatency
                                                                     : Strategy::kLowestCost;
                } else if (key == "tie_tolerance") {
                  auto d = NumberField(m, mp, 0.0, 1.0);
                  if (d) out_->selection.tie_tolerance = *d;
                }
              });
  Required(v, p, {"strategy"});
}

void Compiler::Fallbacks(const JsonValue& v, const std::string& p) {
  if (!ExpectArray(v, p)) return;
  if (v.items.size() > kMaxRules) {
    Add(p, absl::StrCat("at most ", kMaxRules, " entries"));
    return;
  }
  for (size_t i = 0; i < v.items.size(); ++i) Rule(v.items[i], IndexPath(p, i));
}

void Compiler::Rule(const JsonValue& v, const std::string& p) {
  if (!ExpectObject(v, p)) return;
  FallbackRule rule;
  rule.when_json = "{}";
  bool retry_valid = true;
  bool has_to = false;
  WalkMembers(v, p, {"when", "retry", "backoff", "to"}, {{"conditions", "when"}}, false,
              [&](std::string_view key, const JsonValue& m, const std::string& mp) {
                if (key == "when") {
                  auto c = When(m, mp);
                  if (c) {
                    rule.when = std::move(*c);
                    rule.when_json = WriteCompact(m);
                  }
                } else if (key == "retry") {
                  auto n = IntField(m, mp, 0, 10);
                  if (n) {
                    rule.retry = static_cast<int>(*n);
                  } else {
                    retry_valid = false;
                  }
                } else if (key == "backoff") {
                  auto b = BackoffObject(m, mp);
                  if (b) rule.backoff = *b;
                } else if (key == "to") {
                  has_to = true;
                  auto name = ProviderNameField(m, mp);
                  if (name) rule.to = *name;
                }
              });
  if (!has_to && retry_valid && rule.retry == 0) {
    Add(p, "must have \"to\" or \"retry\" greater than 0");
  }
  out_->rules.push_back(std::move(rule));
}

std::optional<Backoff> Compiler::BackoffObject(const JsonValue& v, const std::string& p) {
  if (!ExpectObject(v, p)) return std::nullopt;
  Backoff b;
  bool ok = true;
  std::optional<int64_t> base;
  std::optional<int64_t> max;
  WalkMembers(v, p, {"strategy", "base_ms", "max_ms", "jitter"}, {}, false,
              [&](std::string_view key, const JsonValue& m, const std::string& mp) {
                if (key == "strategy") {
                  auto s = EnumField(m, mp, {"exponential", "linear", "fixed"});
                  if (!s) {
                    ok = false;
                    return;
                  }
                  b.strategy = *s == "exponential" ? BackoffStrategy::kExponential
                               : *s == "linear"    ? BackoffStrategy::kLinear
                                                   : BackoffStrategy::kFixed;
                } else if (key == "base_ms") {
                  base = IntField(m, mp, 1, 10'000);
                  if (base)
                    b.base_ms = *base;
                  else
                    ok = false;
                } else if (key == "max_ms") {
                  max = IntField(m, mp, 1, 60'000);
                  if (max)
                    b.max_ms = *max;
                  else
                    ok = false;
                } else if (key == "jitter") {
                  auto j = BoolField(m, mp);
                  if (j)
                    b.jitter = *j;
                  else
                    ok = false;
                }
              });
  if (base && max && *max < *base) {
    Add(ChildPath(p, "max_ms"),
        absl::StrCat("must be greater than or equal to base_ms (", *base, ")"));
    ok = false;
  }
  if (!ok) return std::nullopt;
  return b;
}

void Compiler::LegacyFallback(const JsonValue& v, const std::string& p) {
  std::string provider;
  std::vector<std::string> conditions;
  if (v.IsString()) {
    auto name = ProviderNameField(v, p);
    if (!name) return;
    provider = *name;
  } else if (v.IsObject()) {
    WalkMembers(v, p, {"provider", "conditions"}, {}, false,
                [&](std::string_view key, const JsonValue& m, const std::string& mp) {
                  if (key == "provider") {
                    auto name = ProviderNameField(m, mp);
                    if (name) provider = *name;
                  } else if (key == "conditions") {
                    if (!ExpectArray(m, mp)) return;
                    if (m.items.size() > kMaxLegacyConditions) {
                      Add(mp, absl::StrCat("at most ", kMaxLegacyConditions, " entries"));
                      return;
                    }
                    for (size_t i = 0; i < m.items.size(); ++i) {
                      const std::string ip = IndexPath(mp, i);
                      if (!ExpectString(m.items[i], ip)) continue;
                      const size_t len = Utf8Length(m.items[i].str);
                      if (len < 1 || len > 64) {
                        Add(ip, "must match ^.{1,64}$");
                        continue;
                      }
                      conditions.push_back(m.items[i].str);
                    }
                  }
                });
    Required(v, p, {"provider"});
  } else {
    Add(p, "must be an object");
    return;
  }
  if (conditions.empty()) conditions.push_back("all_providers_failed");
  FallbackRule rule;
  rule.to = provider;
  rule.from_legacy_fallback = true;
  std::vector<Literal> list;
  rule.when_json = "{\"status\":[";
  for (size_t i = 0; i < conditions.size(); ++i) {
    if (i > 0) rule.when_json += ',';
    AppendJsonString(rule.when_json, conditions[i]);
    Literal lit;
    lit.kind = Literal::Kind::kString;
    lit.str = conditions[i];
    list.push_back(std::move(lit));
  }
  rule.when_json += "]}";
  ConditionEntry entry;
  entry.op = ConditionOp::kIn;
  entry.lhs.kind = Operand::Kind::kVar;
  entry.lhs.var_path = "status";
  entry.rhs.kind = Operand::Kind::kList;
  entry.rhs.list = std::move(list);
  rule.when = Condition({std::move(entry)});
  legacy_rule_.clear();
  legacy_rule_.push_back(std::move(rule));
}

void Compiler::Sticky(const JsonValue& v, const std::string& p) {
  if (!ExpectObject(v, p)) return;
  std::optional<int64_t> ttl;
  std::optional<int64_t> ttl_seconds;
  WalkMembers(v, p, {"enabled", "session_key", "ttl", "ttl_seconds"},
              {{"key", "session_key"}, {"ttl_sec", "ttl_seconds"}}, false,
              [&](std::string_view key, const JsonValue& m, const std::string& mp) {
                if (key == "enabled") {
                  auto b = BoolField(m, mp);
                  if (b) out_->sticky.enabled = *b;
                } else if (key == "session_key") {
                  if (!ExpectString(m, mp)) return;
                  if (!IsSessionKey(m.str)) {
                    Add(mp, absl::StrCat("must match ", AbslView(kSessionKeyPattern)));
                    return;
                  }
                  out_->sticky.session_key = m.str;
                } else if (key == "ttl") {
                  if (!ExpectString(m, mp)) return;
                  const std::string& s = m.str;
                  // ^[1-9][0-9]{0,5}[smh]$
                  bool well_formed = s.size() >= 2 && s.size() <= 7 && s[0] >= '1' && s[0] <= '9';
                  for (size_t i = 1; well_formed && i + 1 < s.size(); ++i) {
                    well_formed = s[i] >= '0' && s[i] <= '9';
                  }
                  const char unit = s.empty() ? '\0' : s.back();
                  well_formed = well_formed && (unit == 's' || unit == 'm' || unit == 'h');
                  if (!well_formed) {
                    Add(mp, absl::StrCat("invalid duration ", Quoted(s),
                                         ": expected digits followed by s, m or h"));
                    return;
                  }
                  int64_t n = 0;
                  LexemeToInt64(std::string_view(s).substr(0, s.size() - 1), n);
                  const int64_t seconds = n * (unit == 's' ? 1 : unit == 'm' ? 60 : 3600);
                  if (seconds < 1 || seconds > kMaxTtlSeconds) {
                    Add(mp, "must be between 1s and 24h");
                    return;
                  }
                  ttl = seconds;
                } else if (key == "ttl_seconds") {
                  ttl_seconds = IntField(m, mp, 1, kMaxTtlSeconds);
                }
              });
  Required(v, p, {"enabled"});
  if (ttl && ttl_seconds && *ttl != *ttl_seconds) {
    Add(ChildPath(p, "ttl_seconds"), "conflicts with sticky.ttl");
  }
  if (ttl) {
    out_->sticky.ttl_seconds = *ttl;
  } else if (ttl_seconds) {
    out_->sticky.ttl_seconds = *ttl_seconds;
  }
}

void Compiler::CircuitBreaker(const JsonValue& v, const std::string& p) {
  if (!ExpectObject(v, p)) return;
  BreakerConfig& b = out_->breaker;
  WalkMembers(
      v, p,
      {"enabled", "failure_threshold", "success_threshold", "timeout_ms", "half_open_max_calls",
       "error_rate_threshold", "error_rate_window_seconds", "min_requests", "latency_threshold_ms",
       "probe_timeout_ms"},
      {{"half_open_max_attempts", "half_open_max_calls"}, {"open_timeout_ms", "timeout_ms"}}, false,
      [&](std::string_view key, const JsonValue& m, const std::string& mp) {
        if (key == "enabled") {
          auto e = BoolField(m, mp);
          if (e) b.enabled = *e;
        } else if (key == "failure_threshold") {
          if (auto n = IntField(m, mp, 1, 1'000)) b.failure_threshold = static_cast<int>(*n);
        } else if (key == "success_threshold") {
          if (auto n = IntField(m, mp, 1, 100)) b.success_threshold = static_cast<int>(*n);
        } else if (key == "timeout_ms") {
          if (auto n = IntField(m, mp, 100, 3'600'000)) b.timeout_ms = *n;
        } else if (key == "half_open_max_calls") {
          if (auto n = IntField(m, mp, 1, 100)) b.half_open_max_calls = static_cast<int>(*n);
        } else if (key == "error_rate_threshold") {
          if (auto d = NumberField(m, mp, 0.01, 1.0)) b.error_rate_threshold = *d;
        } else if (key == "error_rate_window_seconds") {
          if (auto n = IntField(m, mp, 1, 600)) b.error_rate_window_seconds = static_cast<int>(*n);
        } else if (key == "min_requests") {
          if (auto n = IntField(m, mp, 1, 100'000)) b.min_requests = static_cast<int>(*n);
        } else if (key == "latency_threshold_ms") {
          if (auto n = IntField(m, mp, 1, 600'000)) b.latency_threshold_ms = *n;
        } else if (key == "probe_timeout_ms") {
          if (auto n = IntField(m, mp, 100, 600'000)) b.probe_timeout_ms = *n;
        }
      });
  Required(v, p, {"enabled"});
}

void Compiler::RateLimit(const JsonValue& v, const std::string& p) {
  if (!ExpectObject(v, p)) return;
  RateLimitConfig& r = out_->rate_limit;
  WalkMembers(v, p, {"enabled", "requests_per_second", "burst"}, {{"rps", "requests_per_second"}},
              false, [&](std::string_view key, const JsonValue& m, const std::string& mp) {
                if (key == "enabled") {
                  auto e = BoolField(m, mp);
                  if (e) r.enabled = *e;
                } else if (key == "requests_per_second") {
                  if (auto d = NumberField(m, mp, 0.01, 1'000'000)) r.requests_per_second = *d;
                } else if (key == "burst") {
                  if (auto n = IntField(m, mp, 1, 1'000'000)) r.burst = *n;
                }
              });
  Required(v, p, {"enabled"});
}

void Compiler::Stage(const JsonValue& v, const std::string& p, std::string_view stage,
                     std::vector<ExtensionItem>& items) {
  if (!ExpectArray(v, p)) return;
  extension_count_ += v.items.size();
  if (v.items.size() > kMaxStageItems) {
    Add(p, absl::StrCat("at most ", kMaxStageItems, " entries"));
    return;
  }
  std::vector<std::string> ids;
  for (size_t i = 0; i < v.items.size(); ++i) {
    Extension(v.items[i], IndexPath(p, i), stage, ids, items);
  }
}

void Compiler::Extension(const JsonValue& v, const std::string& p, std::string_view stage,
                         std::vector<std::string>& ids, std::vector<ExtensionItem>& items) {
  if (!ExpectObject(v, p)) return;
  const bool validator = stage == "validators";
  ExtensionItem item;
  item.mode = validator ? "block" : "optional";
  item.config_json = "{}";
  auto on_member = [&](std::string_view key, const JsonValue& m, const std::string& mp) {
    if (key == "id") {
      if (!ExpectString(m, mp)) return;
      if (!IsExtensionId(m.str)) {
        Add(mp, absl::StrCat("must match ", AbslView(kExtensionIdPattern)));
        return;
      }
      if (std::find(ids.begin(), ids.end(), m.str) != ids.end()) {
        Add(mp, absl::StrCat("duplicate extension ", Quoted(m.str), " in ", AbslView(stage)));
        return;
      }
      ids.push_back(m.str);
      item.id = m.str;
    } else if (key == "mode") {
      if (auto s = EnumField(m, mp, {"required", "optional"})) item.mode = *s;
    } else if (key == "on_fail") {
      if (auto s = EnumField(m, mp, {"block", "warn", "ignore"})) item.mode = *s;
    } else if (key == "when") {
      if (auto c = When(m, mp)) item.when = std::move(*c);
    } else if (key == "config") {
      if (!ExpectObject(m, mp)) return;
      std::string json = WriteCompact(m);
      if (json.size() > kMaxConfigBytes) {
        Add(mp, absl::StrCat("exceeds ", kMaxConfigBytes, " bytes"));
        return;
      }
      item.config_json = std::move(json);
    } else if (key == "timeout_ms") {
      if (auto n = IntField(m, mp, 10, 5'000)) item.timeout_ms = *n;
    } else if (key == "retry") {
      if (auto n = IntField(m, mp, 0, 3)) item.retry = static_cast<int>(*n);
    }
  };
  // (Separate calls: an initializer_list must not outlive its full-expression.)
  if (validator) {
    WalkMembers(v, p, {"id", "on_fail", "when", "config", "timeout_ms", "retry"}, {}, false,
                on_member);
  } else {
    WalkMembers(v, p, {"id", "mode", "when", "config", "timeout_ms", "retry"}, {}, false,
                on_member);
  }
  Required(v, p, {"id"});
  items.push_back(std::move(item));
}

void Compiler::Metadata(const JsonValue& v, const std::string& p) {
  if (!ExpectObject(v, p)) return;
  if (v.members.size() > kMaxMetadataMembers) {
    Add(p, absl::StrCat("at most ", kMaxMetadataMembers, " entries"));
    return;
  }
  if (WriteCompact(v).size() > kMaxMetadataBytes) {
    Add(p, absl::StrCat("exceeds ", kMaxMetadataBytes, " bytes"));
  }
}

std::optional<Condition> Compiler::When(const JsonValue& v, const std::string& p) {
  if (!ExpectObject(v, p)) return std::nullopt;
  if (v.members.size() > kMaxWhenEntries) {
    Add(p, absl::StrCat("at most ", kMaxWhenEntries, " entries"));
    return std::nullopt;
  }
  bool ok = true;
  std::vector<ConditionEntry> entries;
  std::vector<std::string_view> seen;
  for (const JsonMember& m : v.members) {
    const std::string mp = ChildPath(p, m.key);
    if (std::find(seen.begin(), seen.end(), m.key) != seen.end()) {
      Add(mp, "duplicate key");
      ok = false;
      continue;
    }
    seen.push_back(m.key);
    ConditionEntry entry;
    if (std::optional<ConditionOp> op = OperatorOf(m.key)) {
      if (!m.value.IsArray() || m.value.items.size() != 2) {
        Add(mp, "must be an array of exactly 2 operands");
        ok = false;
        continue;
      }
      entry.op = *op;
      auto lhs = OperandOf(m.value.items[0], IndexPath(mp, 0), /*allow_list=*/false);
      auto rhs =
          OperandOf(m.value.items[1], IndexPath(mp, 1), /*allow_list=*/*op == ConditionOp::kIn);
      if (!lhs || !rhs) {
        ok = false;
        continue;
      }
      entry.lhs = std::move(*lhs);
      entry.rhs = std::move(*rhs);
    } else if (IsContextPath(m.key)) {
      entry.lhs.kind = Operand::Kind::kVar;
      entry.lhs.var_path = std::string(DropContextPrefix(m.key));
      if (m.value.IsArray()) {
        auto list = ListOf(m.value, mp);
        if (!list) {
          ok = false;
          continue;
        }
        entry.op = ConditionOp::kIn;
        entry.rhs.kind = Operand::Kind::kList;
        entry.rhs.list = std::move(*list);
      } else {
        auto lit = LiteralOf(m.value, mp);
        if (!lit) {
          ok = false;
          continue;
        }
        entry.op = ConditionOp::kEq;
        entry.rhs.kind = Operand::Kind::kLiteral;
        entry.rhs.literal = std::move(*lit);
      }
    } else {
      Add(mp, "must be an operator or a context path");
      ok = false;
      continue;
    }
    entries.push_back(std::move(entry));
  }
  if (!ok) return std::nullopt;
  return Condition(std::move(entries));
}

std::optional<Operand> Compiler::OperandOf(const JsonValue& v, const std::string& p,
                                           bool allow_list) {
  Operand op;
  if (v.IsObject()) {
    bool ok = true;
    WalkMembers(v, p, {"var"}, {}, false,
                [&](std::string_view, const JsonValue& m, const std::string& mp) {
                  if (!ExpectString(m, mp)) {
                    ok = false;
                    return;
                  }
                  if (!IsContextPath(m.str)) {
                    Add(mp, absl::StrCat("must match ", AbslView(kContextPathPattern)));
                    ok = false;
                    return;
                  }
                  op.kind = Operand::Kind::kVar;
                  op.var_path = std::string(DropContextPrefix(m.str));
                });
    const size_t before = violations_.size();
    Required(v, p, {"var"});
    if (!ok || violations_.size() != before || v.members.size() != 1) return std::nullopt;
    return op;
  }
  if (v.IsArray() && allow_list) {
    auto list = ListOf(v, p);
    if (!list) return std::nullopt;
    op.kind = Operand::Kind::kList;
    op.list = std::move(*list);
    return op;
  }
  auto lit = LiteralOf(v, p);
  if (!lit) return std::nullopt;
  op.kind = Operand::Kind::kLiteral;
  op.literal = std::move(*lit);
  return op;
}

std::optional<Literal> Compiler::LiteralOf(const JsonValue& v, const std::string& p) {
  Literal lit;
  switch (v.type) {
    case JsonValue::Type::kString:
      if (v.str.size() > kMaxWhenStringBytes) {
        Add(p, absl::StrCat("exceeds ", kMaxWhenStringBytes, " bytes"));
        return std::nullopt;
      }
      lit.kind = Literal::Kind::kString;
      lit.str = v.str;
      return lit;
    case JsonValue::Type::kNumber:
      lit.kind = Literal::Kind::kNumber;
      lit.num = LexemeToDouble(v.str);
      return lit;
    case JsonValue::Type::kBool:
      lit.kind = Literal::Kind::kBool;
      lit.boolean = v.boolean;
      return lit;
    default:
      Add(p, "must be a string, number or boolean");
      return std::nullopt;
  }
}

std::optional<std::vector<Literal>> Compiler::ListOf(const JsonValue& v, const std::string& p) {
  if (v.items.empty()) {
    Add(p, "must not be empty");
    return std::nullopt;
  }
  if (v.items.size() > kMaxListItems) {
    Add(p, absl::StrCat("at most ", kMaxListItems, " entries"));
    return std::nullopt;
  }
  std::vector<Literal> out;
  bool ok = true;
  for (size_t i = 0; i < v.items.size(); ++i) {
    auto lit = LiteralOf(v.items[i], IndexPath(p, i));
    if (lit) {
      out.push_back(std::move(*lit));
    } else {
      ok = false;
    }
  }
  if (!ok) return std::nullopt;
  return out;
}

absl::Status InvalidPolicy(const std::vector<FieldViolation>& violations) {
  const FieldViolation& first = violations.front();
  absl::Status status =
      MakeError(absl::StatusCode::kInvalidArgument,
                absl::StrCat(first.field, ": ", first.description), tag::kInvalidPolicy);
  SetViolations(status, violations);
  return status;
}

}  // namespace

absl::StatusOr<CompiledPolicyPtr> CompilePolicy(std::string_view json, std::string_view tenant_id,
                                                std::string_view policy_id) {
  absl::StatusOr<JsonValue> root = ParseJson(json);
  if (!root.ok()) {
    absl::Status status = root.status();
    const std::string_view message = StdView(status.message());
    const size_t colon = message.find(": ");
    SetViolations(status, {FieldViolation{"$", std::string(message.substr(colon + 2))}});
    return status;
  }
  Compiler compiler(tenant_id, policy_id);
  compiler.Run(*root);
  if (compiler.failed()) return InvalidPolicy(compiler.violations());
  std::shared_ptr<CompiledPolicy> out = compiler.TakeOutput();
  out->canonical_json = WriteCanonical(*root);
  out->sha256_hex = Sha256Hex(out->canonical_json);
  return CompiledPolicyPtr(std::move(out));
}

absl::StatusOr<std::string> CanonicalJson(std::string_view json) {
  JsonParseOptions options;
  options.max_bytes = 0;
  options.max_depth = 256;
  absl::StatusOr<JsonValue> root = ParseJson(json, options);
  if (!root.ok()) return root.status();
  return WriteCanonical(*root);
}

}  // namespace router::policy
