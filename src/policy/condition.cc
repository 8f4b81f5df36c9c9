// Condition evaluation (POL §2): operand resolution, the two coercions and the operator table.
#include "policy/condition.h"

#include <charconv>
#include <cmath>
#include <cstdlib>
#include <string>

namespace router::policy {
namespace {

// A resolved operand. Context values are always strings; literals keep their type.
struct Value {
  enum class Kind : uint8_t { kString, kNumber, kBool, kList };
  Kind kind = Kind::kString;
  std::string_view str;
  double num = 0;
  bool boolean = false;
  const std::vector<Literal>* list = nullptr;
};

Value FromLiteral(const Literal& lit) {
  Value v;
  switch (lit.kind) {
    case Literal::Kind::kString:
      v.kind = Value::Kind::kString;
      v.str = lit.str;
      break;
    case Literal::Kind::kNumber:
      v.kind = Value::Kind::kNumber;
      v.num = lit.num;
      break;
    case Literal::Kind::kBool:
      v.kind = Value::Kind::kBool;
      v.boolean = lit.boolean;
      break;
  }
  return v;
}

// Resolves `op` against `ctx`; false when a variable is missing.
bool Resolve(const Operand& op, const ContextView& ctx, Value& out) {
  switch (op.kind) {
    case Operand::Kind::kVar: {
      std::optional<std::string_view> found = ctx.Find(op.var_path);
      if (!found.has_value()) return false;
      out = Value{};
      out.kind = Value::Kind::kString;
      out.str = *found;
      return true;
    }
    case Operand::Kind::kLiteral:
      out = FromLiteral(op.literal);
      return true;
    case Operand::Kind::kList:
      out = Value{};
      out.kind = Value::Kind::kList;
      out.list = &op.list;
      return true;
  }
  return false;
}

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// True iff `s` is exactly one JSON number literal (RFC 8259 grammar, no surrounding space).
bool IsJsonNumber(std::string_view s) {
  size_t i = 0;
  const size_t n = s.size();
  if (i < n && s[i] == '-') ++i;
  if (i >= n) return false;
  if (s[i] == '0') {
    ++i;
  } else if (s[i] >= '1' && s[i] <= '9') {
    while (i < n && IsDigit(s[i])) ++i;
  } else {
    return false;
  }
  if (i < n && s[i] == '.') {
    ++i;
    if (i >= n || !IsDigit(s[i])) return false;
    while (i < n && IsDigit(s[i])) ++i;
  }
  if (i < n && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    if (i < n && (s[i] == '+' || s[i] == '-')) ++i;
    if (i >= n || !IsDigit(s[i])) return false;
    while (i < n && IsDigit(s[i])) ++i;
  }
  return i == n;
}

// Converts a string holding a complete JSON number literal; false otherwise.
bool StringToNumber(std::string_view s, double& out) {
  if (!IsJsonNumber(s)) return false;
  const char* first = s.data();
  const char* last = s.data() + s.size();
  auto [ptr, ec] = std::from_chars(first, last, out);
  if (ec == std::errc() && ptr == last) return true;
  if (ec == std::errc::result_out_of_range) {
    // Rare: overflow/underflow. strtod gives the IEEE result (±inf or a tiny value / 0).
    std::string copy(s);
    out = std::strtod(copy.c_str(), nullptr);
    return true;
  }
  return false;
}

bool StringToBool(std::string_view s, bool& out) {
  if (s == "true") {
    out = true;
    return true;
  }
  if (s == "false") {
    out = false;
    return true;
  }
  return false;
}

// Applies the coercions so that both operands have the same scalar kind when possible.
// Returns false when the pair cannot be brought to one comparable kind.
bool Unify(Value& a, Value& b) {
  using K = Value::Kind;
  if (a.kind == K::kList || b.kind == K::kList) return false;
  if (a.kind == b.kind) return true;
  if (a.kind == K::kString && b.kind == K::kNumber) {
    if (!StringToNumber(a.str, a.num)) return false;
    a.kind = K::kNumber;
    return true;
  }
  if (a.kind == K::kNumber && b.kind == K::kString) {
    if (!StringToNumber(b.str, b.num)) return false;
    b.kind = K::kNumber;
    return true;
  }
  if (a.kind == K::kString && b.kind == K::kBool) {
    if (!StringToBool(a.str, a.boolean)) return false;
    a.kind = K::kBool;
    return true;
  }
  if (a.kind == K::kBool && b.kind == K::kString) {
    if (!StringToBool(b.str, b.boolean)) return false;
    b.kind = K::kBool;
    return true;
  }
  return false;  // number vs bool
}

bool Equal(Value a, Value b) {
  if (!Unify(a, b)) return false;
  switch (a.kind) {
    case Value::Kind::kString:
      return a.str == b.str;
    case Value::Kind::kNumber:
      return a.num == b.num;
    case Value::Kind::kBool:
      return a.boolean == b.boolean;
    case Value::Kind::kList:
      return false;
  }
  return false;
}

// Three-way ordering for > < >= <=; false when the pair is not ordered (bools, lists, mixes).
bool Compare(Value a, Value b, int& cmp) {
  if (!Unify(a, b)) return false;
  switch (a.kind) {
    case Value::Kind::kString: {
      int c = a.str.compare(b.str);  // char_traits<char>::compare is memcmp: byte-wise unsigned
      cmp = c < 0 ? -1 : (c > 0 ? 1 : 0);
      return true;
    }
    case Value::Kind::kNumber:
      if (std::isnan(a.num) || std::isnan(b.num)) return false;
      cmp = a.num < b.num ? -1 : (a.num > b.num ? 1 : 0);
      return true;
    default:
      return false;
  }
}

bool EvaluateEntry(const ConditionEntry& e, const ContextView& ctx) {
  Value lhs;
  Value rhs;
  if (!Resolve(e.lhs, ctx, lhs) || !Resolve(e.rhs, ctx, rhs)) return false;
  int cmp = 0;
  switch (e.op) {
    case ConditionOp::kEq:
      return Equal(lhs, rhs);
    case ConditionOp::kNe:
      if (lhs.kind == Value::Kind::kList || rhs.kind == Value::Kind::kList) return false;
      return !Equal(lhs, rhs);
    case ConditionOp::kGt:
      return Compare(lhs, rhs, cmp) && cmp > 0;
    case ConditionOp::kLt:
      return Compare(lhs, rhs, cmp) && cmp < 0;
    case ConditionOp::kGe:
      return Compare(lhs, rhs, cmp) && cmp >= 0;
    case ConditionOp::kLe:
      return Compare(lhs, rhs, cmp) && cmp <= 0;
    case ConditionOp::kIn:
      if (rhs.kind != Value::Kind::kList || lhs.kind == Value::Kind::kList) return false;
      for (const Literal& item : *rhs.list) {
        if (Equal(lhs, FromLiteral(item))) return true;
      }
      return false;
  }
  return false;
}

}  // namespace

bool Condition::Evaluate(const ContextView& ctx) const {
  for (const ConditionEntry& e : entries_) {
    if (!EvaluateEntry(e, ctx)) return false;
  }
  return true;
}

}  // namespace router::policy
