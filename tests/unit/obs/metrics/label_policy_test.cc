// Open label sanitising and the tenant budget (observability.md §2.2 rules 2 and 3).
#include "obs/metrics/label_policy.h"

#include <gtest/gtest.h>

#include <string>

namespace router::obs {
namespace {

// OBS §2.2 rule 2: > 128 bytes, invalid UTF-8 or a control character -> `other`.
TEST(LabelPolicyTest, SanitisesOpenValues) {
  EXPECT_EQ(SanitizeOpenLabelValue("tenant-1"), "tenant-1");
  EXPECT_EQ(SanitizeOpenLabelValue(std::string(128, 'a')), std::string(128, 'a'));
  EXPECT_EQ(SanitizeOpenLabelValue(std::string(129, 'a')), "other");
  EXPECT_EQ(SanitizeOpenLabelValue("caf\xc3\xa9"), "caf\xc3\xa9");  // é
  EXPECT_EQ(SanitizeOpenLabelValue("\xe6\x97\xa5\xf0\x9f\x98\x80"), "\xe6\x97\xa5\xf0\x9f\x98\x80");
  EXPECT_EQ(SanitizeOpenLabelValue("bad\xff"), "other");           // invalid byte
  EXPECT_EQ(SanitizeOpenLabelValue("cut\xc3"), "other");           // truncated
  EXPECT_EQ(SanitizeOpenLabelValue("\xc0\xaf"), "other");          // overlong
  EXPECT_EQ(SanitizeOpenLabelValue("\xed\xa0\x80"), "other");      // surrogate
  EXPECT_EQ(SanitizeOpenLabelValue("\xf4\x90\x80\x80"), "other");  // > U+10FFFF
  EXPECT_EQ(SanitizeOpenLabelValue("tab\there"), "other");         // C0
  EXPECT_EQ(SanitizeOpenLabelValue("new\nline"), "other");
  EXPECT_EQ(SanitizeOpenLabelValue(std::string("nul\0x", 5)), "other");
  EXPECT_EQ(SanitizeOpenLabelValue("del\x7f"), "other");     // DEL
  EXPECT_EQ(SanitizeOpenLabelValue("c1\xc2\x85"), "other");  // U+0085 (C1)
  EXPECT_EQ(SanitizeOpenLabelValue(""), "other");            // empty would read as an absent label
  EXPECT_EQ(SanitizeOpenLabelValue("quote\"and\\slash"), "quote\"and\\slash");  // escaped later
}

// OBS §2.2 rule 3 `capped`: the first N distinct tenants keep their value, later ones `other`.
TEST(LabelPolicyTest, CappedBudgetAdmitsFirstTenants) {
  TenantBudget budget(TenantLabelMode::kCapped, 2, {});
  EXPECT_EQ(budget.Map("t1", true), "t1");
  EXPECT_EQ(budget.Map("t2", true), "t2");
  EXPECT_EQ(budget.Map("t3", true), "other");
  EXPECT_EQ(budget.Map("t1", true), "t1");  // permanent
  EXPECT_EQ(budget.Map("t3", true), "other");
  EXPECT_EQ(budget.LabelledCount(), 2u);
}

TEST(LabelPolicyTest, LookupWithoutAdmitSpendsNoBudget) {
  TenantBudget budget(TenantLabelMode::kCapped, 1, {});
  EXPECT_EQ(budget.Map("t1", false), "other");
  EXPECT_EQ(budget.LabelledCount(), 0u);
  EXPECT_EQ(budget.Map("t2", true), "t2");
  EXPECT_EQ(budget.Map("t1", true), "other");
}

TEST(LabelPolicyTest, OtherNeverTakesASlot) {
  TenantBudget budget(TenantLabelMode::kCapped, 1, {});
  EXPECT_EQ(budget.Map("other", true), "other");
  EXPECT_EQ(budget.Map("t1", true), "t1");
}

// OBS §2.2 rule 3 `allowlist` and `off`.
TEST(LabelPolicyTest, AllowlistAndOffModes) {
  TenantBudget allow(TenantLabelMode::kAllowlist, 0, {"gold", "silver"});
  EXPECT_EQ(allow.Map("gold", true), "gold");
  EXPECT_EQ(allow.Map("bronze", true), "other");
  EXPECT_EQ(allow.LabelledCount(), 2u);
  TenantBudget off(TenantLabelMode::kOff, 200, {"gold"});
  EXPECT_EQ(off.Map("gold", true), "other");
  EXPECT_EQ(off.Map("t1", true), "other");
}

}  // namespace
}  // namespace router::obs
