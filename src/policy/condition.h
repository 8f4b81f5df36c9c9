#pragma once
// Condition: a compiled `when` object of the policy DSL (POL §2). Immutable after compilation;
// Evaluate() is const, allocation-free and thread-safe.
//
// The evaluation context is a string -> string view (gRPC context, or the flattened NATS
// constraints ∪ metadata). Missing variables make an entry false, never an error.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace router::policy {

// Read-only lookup of context entries by exact key. Implemented by transports over their own
// maps without copying.
class ContextView {
 public:
  virtual ~ContextView() = default;
  // The value stored under exactly `key`, or nullopt.
  virtual std::optional<std::string_view> Find(std::string_view key) const = 0;
};

struct Literal {
  enum class Kind : uint8_t { kString, kNumber, kBool };
  Kind kind = Kind::kString;
  std::string str;       // kString
  double num = 0;        // kNumber
  bool boolean = false;  // kBool
};

struct Operand {
  enum class Kind : uint8_t { kVar, kLiteral, kList };
  Kind kind = Kind::kLiteral;
  std::string var_path;       // kVar: path with a leading "context." already dropped
  Literal literal;            // kLiteral
  std::vector<Literal> list;  // kList (1..64 items)
};

enum class ConditionOp : uint8_t { kEq, kNe, kGt, kLt, kGe, kLe, kIn };

// One AND-ed entry. Shorthand `k: v` compiles to kEq(var k, v); `k: [..]` to kIn(var k, list).
struct ConditionEntry {
  ConditionOp op = ConditionOp::kEq;
  Operand lhs;
  Operand rhs;
};

class Condition {
 public:
  Condition() = default;  // {} : always true
  explicit Condition(std::vector<ConditionEntry> entries) : entries_(std::move(entries)) {}

  // True iff every entry holds against `ctx` (POL §2 types, coercions and missing rules).
  bool Evaluate(const ContextView& ctx) const;

  bool AlwaysTrue() const { return entries_.empty(); }
  const std::vector<ConditionEntry>& entries() const { return entries_; }

 private:
  std::vector<ConditionEntry> entries_;
};

}  // namespace router::policy
