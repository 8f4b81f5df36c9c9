// JsonWriter: escaping, UTF-8 sanitising, number forms and structure (nats-contracts.md §0:
// replies are UTF-8 JSON).

#include "nats/json_writer.h"

#include <gtest/gtest.h>

#include <string>

namespace router::nats_adapter {
namespace {

std::string Quoted(std::string_view s) {
  std::string out;
  AppendJsonString(out, s);
  return out;
}

TEST(JsonWriterTest, EscapesAsRfc8259Requires) {
  EXPECT_EQ(Quoted("plain"), "\"plain\"");
  EXPECT_EQ(Quoted("q\"b\\"), "\"q\\\"b\\\\\"");
  EXPECT_EQ(Quoted("\n\r\t\b\f"), "\"\\n\\r\\t\\b\\f\"");
  EXPECT_EQ(Quoted(std::string("\x01\x1f", 2)), "\"\\u0001\\u001f\"");
  EXPECT_EQ(Quoted(std::string("a\0b", 3)), "\"a\\u0000b\"");
  EXPECT_EQ(Quoted("/"), "\"/\"");
}

TEST(JsonWriterTest, KeepsValidUtf8AndReplacesInvalidBytes) {
  EXPECT_EQ(Quoted("h\xc3\xa9llo \xe2\x82\xac \xf0\x9f\x98\x80"),
            "\"h\xc3\xa9llo \xe2\x82\xac \xf0\x9f\x98\x80\"");
  EXPECT_EQ(Quoted("a\xff"
                   "b"),
            "\"a\xef\xbf\xbd"
            "b\"");
  EXPECT_EQ(Quoted("\xc3"), "\"\xef\xbf\xbd\"");                  // truncated sequence
  EXPECT_EQ(Quoted("\xc0\xaf"), "\"\xef\xbf\xbd\xef\xbf\xbd\"");  // overlong
  EXPECT_EQ(Quoted("\xed\xa0\x80"), "\"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\"");  // surrogate
  EXPECT_EQ(Quoted("\xf4\x90\x80\x80").size(), 2u + 4 * 3);                       // > U+10FFFF
}

TEST(JsonWriterTest, NumbersAndDoubles) {
  std::string out;
  AppendJsonInt(out, -9223372036854775807LL - 1);
  EXPECT_EQ(out, "-9223372036854775808");
  auto d = [](double v) {
    std::string s;
    AppendJsonDouble(s, v);
    return s;
  };
  EXPECT_EQ(d(0.0031), "0.0031");
  EXPECT_EQ(d(1.0), "1.0");
  EXPECT_EQ(d(0), "0.0");
  EXPECT_EQ(d(-2.5), "-2.5");
  EXPECT_EQ(d(1e21), "1e+21");
  EXPECT_EQ(d(std::numeric_limits<double>::quiet_NaN()), "0");
  EXPECT_EQ(d(std::numeric_limits<double>::infinity()), "0");
}

TEST(JsonWriterTest, StructureAndCommas) {
  std::string out = "prefix:";
  JsonWriter w(out);
  w.BeginObject()
      .Field("a", 1)
      .Field("b", "x")
      .Field("c", true)
      .Key("d")
      .Null()
      .Key("e")
      .BeginArray()
      .Int(1)
      .BeginObject()
      .EndObject()
      .BeginArray()
      .EndArray()
      .String("s")
      .EndArray()
      .Key("f")
      .Raw("{\"r\":1}")
      .Key("g")
      .Double(2.0)
      .EndObject();
  EXPECT_EQ(out,
            R"(prefix:{"a":1,"b":"x","c":true,"d":null,"e":[1,{},[],"s"],"f":{"r":1},"g":2.0})");
}

TEST(JsonWriterTest, ElementsAreWrittenCompactly) {
  simdjson::dom::parser parser;
  simdjson::padded_string text(std::string(
      R"( { "s" : "a\"\u00e9" , "i" : -5 , "u" : 18446744073709551615 , "d" : 1.50 , "b" : false , "n" : null , "a" : [ 1 , { } ] } )"));
  simdjson::dom::element e;
  ASSERT_EQ(parser.parse(text).get(e), simdjson::SUCCESS);
  std::string out;
  JsonWriter(out).Element(e);
  EXPECT_EQ(out,
            "{\"s\":\"a\\\"\xc3\xa9\",\"i\":-5,\"u\":18446744073709551615,\"d\":1.5,\"b\":false,"
            "\"n\":null,\"a\":[1,{}]}");
}

}  // namespace
}  // namespace router::nats_adapter
