// FlatContext: the §3.1 flattening of constraints ∪ metadata and the POL §2 path resolution it
// stands for.

#include "nats/flat_context.h"

#include <gtest/gtest.h>

#include <map>
#include <string>

namespace router::nats_adapter {
namespace {

using Source = FlatContext::Source;

class FlatContextTest : public ::testing::Test {
 protected:
  bool Add(const std::string& json, Source source) {
    docs_.push_back(std::make_unique<Doc>());
    Doc& d = *docs_.back();
    d.text = simdjson::padded_string(json);
    simdjson::dom::element e;
    EXPECT_EQ(d.parser.parse(d.text).get(e), simdjson::SUCCESS) << json;
    return ctx_.Add(e.get_object().value_unsafe(), source, limits_);
  }
  std::string Get(std::string_view key) {
    auto v = ctx_.Find(key);
    return v ? std::string(*v) : "<missing>";
  }
  struct Doc {
    simdjson::padded_string text;
    simdjson::dom::parser parser;
  };
  std::vector<std::unique_ptr<Doc>> docs_;
  FlatContext::Limits limits_;
  FlatContext ctx_;
};

TEST_F(FlatContextTest, ValueEncodings) {
  ASSERT_TRUE(Add(
      R"({"s":"eu","i":1500,"neg":-3,"d":0.5,"one":1.0,"t":true,"f":false,"n":null,"arr":[1,"a",{"k":null}],"empty":{}})",
      Source::kConstraints));
  EXPECT_EQ(Get("s"), "eu");
  EXPECT_EQ(Get("i"), "1500");
  EXPECT_EQ(Get("neg"), "-3");
  EXPECT_EQ(Get("d"), "0.5");
  EXPECT_EQ(Get("one"), "1.0");
  EXPECT_EQ(Get("t"), "true");
  EXPECT_EQ(Get("f"), "false");
  EXPECT_EQ(Get("n"), "<missing>");  // null dropped
  EXPECT_EQ(Get("arr"), R"([1,"a",{"k":null}])");
  EXPECT_EQ(Get("empty"), "<missing>");
  EXPECT_EQ(ctx_.Size(), 8u);
}

TEST_F(FlatContextTest, NestedObjectsBecomeDottedKeysUpToFourSegments) {
  ASSERT_TRUE(
      Add(R"({"session":{"tier":"gold","geo":{"region":"eu","dc":{"id":7}}}})", Source::kMetadata));
  EXPECT_EQ(Get("session.tier"), "gold");
  EXPECT_EQ(Get("session.geo.region"), "eu");
  EXPECT_EQ(Get("session.geo.dc.id"), "7");
  EXPECT_EQ(Get("session"), "<missing>");
  ctx_.Clear();
  EXPECT_FALSE(Add(R"({"a":{"b":{"c":{"d":{"e":1}}}}})", Source::kMetadata));
}

TEST_F(FlatContextTest, MetadataWinsAndExactKeysBeatWalkedPaths) {
  ASSERT_TRUE(Add(R"({"region":"us","tier":"silver","a.b":"exact-c","x":{"y":"walk-c"}})",
                  Source::kConstraints));
  ASSERT_TRUE(Add(R"({"region":"eu","a":{"b":"walk-m"},"x.y":"exact-m"})", Source::kMetadata));
  EXPECT_EQ(Get("region"), "eu");  // metadata wins
  EXPECT_EQ(Get("tier"), "silver");
  EXPECT_EQ(Get("a.b"), "exact-c");  // exact key beats a walked path
  EXPECT_EQ(Get("x.y"), "exact-m");
  EXPECT_EQ(ctx_.SourceOf("region"), std::optional<Source>(Source::kMetadata));
  EXPECT_EQ(ctx_.SourceOf("tier"), std::optional<Source>(Source::kConstraints));
  EXPECT_EQ(ctx_.Size(), 4u);  // region, tier, a.b, x.y
  std::map<std::string, std::string> seen;
  ctx_.ForEach([&](std::string_view k, std::string_view v) { seen[std::string(k)] = v; });
  EXPECT_EQ(seen.size(), 4u);
  EXPECT_EQ(seen["region"], "eu");
}

TEST_F(FlatContextTest, Bounds) {
  limits_.max_entries = 3;
  limits_.max_key_bytes = 5;
  limits_.max_value_bytes = 4;
  EXPECT_TRUE(Add(R"({"a":"1234","b":"x"})", Source::kConstraints));
  EXPECT_TRUE(Add(R"({"a":"y","c":"z"})", Source::kMetadata));  // replacement does not count
  EXPECT_FALSE(Add(R"({"d":"w"})", Source::kMetadata));         // 4th distinct key
  ctx_.Clear();
  EXPECT_FALSE(Add(R"({"abcdef":"1"})", Source::kConstraints));
  ctx_.Clear();
  EXPECT_FALSE(Add(R"({"a":"12345"})", Source::kConstraints));
  ctx_.Clear();
  EXPECT_FALSE(Add(R"({"a":[1,2,3]})", Source::kConstraints));  // "[1,2,3]" is 7 bytes
  ctx_.Clear();
  EXPECT_FALSE(Add(R"({"ab":{"cde":"1"}})", Source::kConstraints));  // "ab.cde" is 6 bytes
}

TEST_F(FlatContextTest, ClearKeepsNothing) {
  ASSERT_TRUE(Add(R"({"a":"1"})", Source::kConstraints));
  ctx_.Clear();
  EXPECT_EQ(ctx_.Size(), 0u);
  EXPECT_EQ(Get("a"), "<missing>");
}

}  // namespace
}  // namespace router::nats_adapter
