// Condition evaluation (POL §2; scenario 29 of POL §12).
#include "policy/condition.h"

#include <gtest/gtest.h>

#include <map>
#include <string>

namespace router::policy {
namespace {

class MapContext : public ContextView {
 public:
  explicit MapContext(std::map<std::string, std::string> m) : m_(std::move(m)) {}
  std::optional<std::string_view> Find(std::string_view key) const override {
    auto it = m_.find(std::string(key));
    if (it == m_.end()) return std::nullopt;
    return std::string_view(it->second);
  }

 private:
  std::map<std::string, std::string> m_;
};

Literal Str(std::string s) {
  Literal l;
  l.kind = Literal::Kind::kString;
  l.str = std::move(s);
  return l;
}
Literal Num(double d) {
  Literal l;
  l.kind = Literal::Kind::kNumber;
  l.num = d;
  return l;
}
Literal Bool(bool b) {
  Literal l;
  l.kind = Literal::Kind::kBool;
  l.boolean = b;
  return l;
}
Operand Var(std::string path) {
  Operand o;
  o.kind = Operand::Kind::kVar;
  o.var_path = std::move(path);
  return o;
}
Operand Lit(Literal l) {
  Operand o;
  o.kind = Operand::Kind::kLiteral;
  o.literal = std::move(l);
  return o;
}
Operand List(std::vector<Literal> items) {
  Operand o;
  o.kind = Operand::Kind::kList;
  o.list = std::move(items);
  return o;
}
Condition One(ConditionOp op, Operand lhs, Operand rhs) {
  ConditionEntry e;
  e.op = op;
  e.lhs = std::move(lhs);
  e.rhs = std::move(rhs);
  return Condition({e});
}

// POL §12 scenario 29.
TEST(ConditionTest, Scenario29TrueCases) {
  MapContext ctx({{"tier", "gold"}, {"n", "1500"}});
  EXPECT_TRUE(One(ConditionOp::kEq, Var("tier"), Lit(Str("gold"))).Evaluate(ctx));
  EXPECT_TRUE(One(ConditionOp::kGt, Var("n"), Lit(Num(1000))).Evaluate(ctx));
  EXPECT_TRUE(One(ConditionOp::kLe, Var("n"), Lit(Num(1500))).Evaluate(ctx));
  EXPECT_TRUE(One(ConditionOp::kEq, Var("n"), Lit(Num(1500.0))).Evaluate(ctx));
  EXPECT_TRUE(One(ConditionOp::kIn, Var("tier"), List({Str("gold")})).Evaluate(ctx));
  EXPECT_TRUE(Condition().Evaluate(ctx));
}

TEST(ConditionTest, Scenario29FalseCases) {
  MapContext ctx({{"tier", "gold"}, {"n", "1500"}});
  EXPECT_FALSE(One(ConditionOp::kNe, Var("tier"), Lit(Str("gold"))).Evaluate(ctx));
  EXPECT_FALSE(One(ConditionOp::kGt, Var("tier"), Lit(Num(5))).Evaluate(ctx));
  ConditionEntry a{ConditionOp::kEq, Var("tier"), Lit(Str("gold"))};
  ConditionEntry b{ConditionOp::kEq, Var("missing"), Lit(Str("x"))};
  EXPECT_FALSE(Condition({a, b}).Evaluate(ctx));
  EXPECT_FALSE(One(ConditionOp::kEq, Var("missing"), Lit(Str("x"))).Evaluate(ctx));
  EXPECT_FALSE(One(ConditionOp::kNe, Var("missing"), Lit(Str("x"))).Evaluate(ctx));
  EXPECT_FALSE(One(ConditionOp::kGt, Var("missing"), Lit(Num(1))).Evaluate(ctx));
  EXPECT_FALSE(One(ConditionOp::kIn, Var("missing"), List({Str("x")})).Evaluate(ctx));
}

// POL §2 types table and coercions.
TEST(ConditionTest, CoercionsAndTypes) {
  MapContext ctx({{"flag", "true"},
                  {"off", "false"},
                  {"s", "900"},
                  {"t", "1000"},
                  {"word", "abc"},
                  {"sp", " 12"},
                  {"hex", "0x10"},
                  {"exp", "1.5e3"}});
  EXPECT_TRUE(One(ConditionOp::kEq, Var("flag"), Lit(Bool(true))).Evaluate(ctx));
  EXPECT_TRUE(One(ConditionOp::kEq, Var("off"), Lit(Bool(false))).Evaluate(ctx));
  EXPECT_TRUE(One(ConditionOp::kNe, Var("off"), Lit(Bool(true))).Evaluate(ctx));
  EXPECT_FALSE(One(ConditionOp::kEq, Var("word"), Lit(Bool(true))).Evaluate(ctx));
  // Not a complete JSON number literal: no coercion, so == is false and != is true.
  EXPECT_FALSE(One(ConditionOp::kEq, Var("sp"), Lit(Num(12))).Evaluate(ctx));
  EXPECT_TRUE(One(ConditionOp::kNe, Var("sp"), Lit(Num(12))).Evaluate(ctx));
  EXPECT_FALSE(One(ConditionOp::kEq, Var("hex"), Lit(Num(16))).Evaluate(ctx));
  EXPECT_TRUE(One(ConditionOp::kEq, Var("exp"), Lit(Num(1500))).Evaluate(ctx));
  // Strings compare byte-wise: "900" > "1000".
  EXPECT_TRUE(One(ConditionOp::kGt, Var("s"), Var("t")).Evaluate(ctx));
  EXPECT_TRUE(One(ConditionOp::kGt, Var("s"), Lit(Str("1000"))).Evaluate(ctx));
  EXPECT_FALSE(One(ConditionOp::kGt, Var("s"), Lit(Num(1000))).Evaluate(ctx));
  EXPECT_TRUE(One(ConditionOp::kLt, Var("s"), Lit(Num(1000))).Evaluate(ctx));
  EXPECT_TRUE(One(ConditionOp::kGe, Var("s"), Lit(Num(900))).Evaluate(ctx));
  // Booleans are not ordered; number vs bool never equal.
  EXPECT_FALSE(One(ConditionOp::kGt, Var("flag"), Lit(Bool(false))).Evaluate(ctx));
  EXPECT_FALSE(One(ConditionOp::kEq, Lit(Num(1)), Lit(Bool(true))).Evaluate(ctx));
  EXPECT_TRUE(One(ConditionOp::kEq, Lit(Num(10)), Lit(Num(10.0))).Evaluate(ctx));
  // `in` needs a list on the right.
  EXPECT_FALSE(One(ConditionOp::kIn, Var("word"), Lit(Str("abc"))).Evaluate(ctx));
  EXPECT_TRUE(One(ConditionOp::kIn, Var("s"), List({Num(1), Num(900)})).Evaluate(ctx));
  // Byte-wise ordering treats bytes as unsigned.
  MapContext utf(std::map<std::string, std::string>{{"u", "\xC3\xA9"}});
  EXPECT_TRUE(One(ConditionOp::kGt, Var("u"), Lit(Str("z"))).Evaluate(utf));
}

}  // namespace
}  // namespace router::policy
