// Legacy AdminPolicy fields <-> policy document (grpc-api.md §6.2, POL §1.6).
#include <cmath>
#include <utility>

#include "absl/strings/str_cat.h"
#include "policy/dsl_text.h"
#include "policy/json_tree.h"
#include "policy/legacy_match.h"
#include "policy/policy_compiler.h"

namespace router::policy {
namespace {

absl::Status MatchError(std::string text) {
  return MakeError(absl::StatusCode::kInvalidArgument, text, tag::kInvalidPolicy);
}

absl::Status RuleError(size_t index, std::string_view field, std::string_view text) {
  const std::string path = absl::StrCat("rules[", index, "].", AbslView(field));
  absl::Status status = MakeError(absl::StatusCode::kInvalidArgument,
                                  absl::StrCat(path, ": ", AbslView(text)), tag::kInvalidPolicy);
  SetViolations(status, {FieldViolation{path, std::string(text)}});
  return status;
}

// A weight written as a JSON fraction token: shortest round-trip digits, always with a '.'.
// Non-finite values become null, which the validator reports as "must be a number".
std::string FractionLexeme(double w) {
  if (!std::isfinite(w)) return "null";
  return FormatFracBound(w);
}

bool IsClauseValue(const JsonValue& v) {
  return v.IsString() && !v.str.empty() && v.str.find_first_of(";|") == std::string::npos;
}

}  // namespace

absl::StatusOr<std::string> MatchToWhenJson(std::string_view match) {
  if (match.empty()) return std::string("{}");
  if (match.front() == '{') {
    JsonParseOptions options;
    options.max_bytes = 0;
    absl::StatusOr<JsonValue> parsed = ParseJson(match, options);
    if (!parsed.ok()) {
      std::string_view message = StdView(parsed.status().message());
      if (message.substr(0, 3) == "$: ") message.remove_prefix(3);
      return MatchError(std::string(message));
    }
    return std::string(match);
  }
  std::string out = "{";
  std::vector<std::string_view> keys;
  size_t start = 0;
  while (true) {
    const size_t semi = match.find(';', start);
    const std::string_view clause =
        match.substr(start, semi == std::string_view::npos ? match.npos : semi - start);
    const size_t colon = clause.find(':');
    if (clause.empty() || colon == std::string_view::npos) {
      return MatchError(absl::StrCat("clause ", Quoted(clause),
                                     " must be key:value[|value...] (clauses separated by \";\")"));
    }
    const std::string_view key = clause.substr(0, colon);
    if (!IsContextPath(key)) {
      return MatchError(
          absl::StrCat("key ", Quoted(key), " must match ", AbslView(kContextPathPattern)));
    }
    for (std::string_view seen : keys) {
      if (seen == key) return MatchError(absl::StrCat("duplicate key ", Quoted(key)));
    }
    keys.push_back(key);
    if (keys.size() > 1) out += ',';
    AppendJsonString(out, key);
    out += ":[";
    const std::string_view values = clause.substr(colon + 1);
    size_t vstart = 0;
    bool first = true;
    while (true) {
      const size_t bar = values.find('|', vstart);
      const std::string_view value =
          values.substr(vstart, bar == std::string_view::npos ? values.npos : bar - vstart);
      if (value.empty()) {
        return MatchError(absl::StrCat("empty value in clause ", Quoted(clause)));
      }
      if (!first) out += ',';
      first = false;
      AppendJsonString(out, value);
      if (bar == std::string_view::npos) break;
      vstart = bar + 1;
    }
    out += ']';
    if (semi == std::string_view::npos) break;
    start = semi + 1;
  }
  out += '}';
  return out;
}

std::string RenderMatch(std::string_view when_json) {
  JsonParseOptions options;
  options.max_bytes = 0;
  absl::StatusOr<JsonValue> parsed = ParseJson(when_json, options);
  if (!parsed.ok() || !parsed->IsObject()) return std::string(when_json);
  if (parsed->members.empty()) return "";
  std::string out;
  for (const JsonMember& m : parsed->members) {
    if (!IsContextPath(m.key)) return WriteCompact(*parsed);  // operators and other keys
    std::vector<const JsonValue*> values;
    if (m.value.IsArray()) {
      if (m.value.items.empty()) return WriteCompact(*parsed);
      for (const JsonValue& item : m.value.items) values.push_back(&item);
    } else {
      values.push_back(&m.value);
    }
    if (!out.empty()) out += ';';
    out += m.key;
    out += ':';
    for (size_t i = 0; i < values.size(); ++i) {
      if (!IsClauseValue(*values[i])) return WriteCompact(*parsed);
      if (i > 0) out += '|';
      out += values[i]->str;
    }
  }
  return out;
}

absl::StatusOr<std::string> LegacyToDocument(const LegacyPolicyView& legacy) {
  std::string doc = "{\"version\":\"1.0\",\"providers\":[";
  for (size_t i = 0; i < legacy.providers.size(); ++i) {
    if (i > 0) doc += ',';
    doc += "{\"name\":";
    AppendJsonString(doc, legacy.providers[i].id);
    doc += ",\"weight\":";
    doc += FractionLexeme(legacy.providers[i].weight);
    doc += '}';
  }
  doc += ']';
  if (legacy.sticky) doc += ",\"sticky\":{\"enabled\":true}";
  if (!legacy.rules.empty()) {
    doc += ",\"fallbacks\":[";
    for (size_t i = 0; i < legacy.rules.size(); ++i) {
      const LegacyRule& rule = legacy.rules[i];
      absl::StatusOr<std::string> when = MatchToWhenJson(rule.match);
      if (!when.ok()) return RuleError(i, "match", StdView(when.status().message()));
      if (!rule.prefer.empty()) return RuleError(i, "prefer", "unsupported");
      if (i > 0) doc += ',';
      doc += "{\"when\":";
      doc += *when;
      if (!rule.fallback.empty()) {
        doc += ",\"to\":";
        AppendJsonString(doc, rule.fallback);
      }
      doc += '}';
    }
    doc += ']';
  }
  doc += '}';
  return doc;
}

LegacyPolicyView DocumentToLegacy(const CompiledPolicy& policy) {
  LegacyPolicyView view;
  for (const ProviderSpec& p : policy.providers) {
    view.providers.push_back(
        LegacyProvider{p.name, static_cast<double>(p.weight_micro) / kMicroShareScale});
  }
  view.sticky = policy.sticky.enabled;
  for (const FallbackRule& r : policy.rules) {
    LegacyRule rule;
    rule.match = RenderMatch(r.when_json);
    rule.fallback = r.to;
    view.rules.push_back(std::move(rule));
  }
  return view;
}

}  // namespace router::policy
