// The one JSON parser and the canonical form (POL §1.5 parser rules, POL §10 canonical document).
#include "policy/json_tree.h"

#include <gtest/gtest.h>

#include <string>

#include "base/errors.h"
#include "policy/policy_compiler.h"
#include "policy/sha256.h"

namespace router::policy {
namespace {

TEST(JsonTreeTest, KeepsOrderDuplicatesAndTokenTypes) {
  auto v = ParseJson(R"({"b":1,"a":1.0,"b":7e-1,"s":"x\u00e9\n","n":null,"t":[true,false]})");
  ASSERT_TRUE(v.ok()) << v.status();
  ASSERT_TRUE(v->IsObject());
  ASSERT_EQ(v->members.size(), 6u);
  EXPECT_EQ(v->members[0].key, "b");
  EXPECT_TRUE(v->members[0].value.integer_token);
  EXPECT_EQ(v->members[1].value.str, "1.0");
  EXPECT_FALSE(v->members[1].value.integer_token);
  EXPECT_EQ(v->members[2].key, "b");
  EXPECT_EQ(v->members[2].value.str, "7e-1");
  EXPECT_FALSE(v->members[2].value.integer_token);
  EXPECT_EQ(v->members[3].value.str, "x\xC3\xA9\n");
  EXPECT_TRUE(v->members[4].value.IsNull());
  ASSERT_EQ(v->members[5].value.items.size(), 2u);
  EXPECT_TRUE(v->members[5].value.items[0].boolean);
}

TEST(JsonTreeTest, Limits) {
  JsonParseOptions small;
  small.max_bytes = 4;
  EXPECT_EQ(StdView(ParseJson("[1,2]", small).status().message()), "$: document exceeds 4 bytes");
  EXPECT_TRUE(ParseJson("[1]", small).ok());
  JsonParseOptions shallow;
  shallow.max_depth = 2;
  EXPECT_TRUE(ParseJson("[[1]]", shallow).ok());
  EXPECT_EQ(StdView(ParseJson("[[[1]]]", shallow).status().message()),
            "$: nesting deeper than 2 levels");
  auto err = ParseJson("[1,]");
  ASSERT_FALSE(err.ok());
  EXPECT_EQ(ErrorTag(err.status()), "invalid_policy");
  EXPECT_EQ(StdView(err.status().message()).rfind("$: invalid JSON at offset 3: ", 0), 0u)
      << err.status();
  // Deep input does not exhaust the stack: it stops at the limit.
  std::string deep(100000, '[');
  JsonParseOptions unlimited;
  unlimited.max_bytes = 0;
  EXPECT_EQ(StdView(ParseJson(deep, unlimited).status().message()),
            "$: nesting deeper than 32 levels");
}

TEST(JsonTreeTest, Utf8Validation) {
  EXPECT_TRUE(IsValidUtf8("a\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80"));
  EXPECT_FALSE(IsValidUtf8("\xC0\x80"));          // overlong
  EXPECT_FALSE(IsValidUtf8("\xED\xA0\x80"));      // surrogate
  EXPECT_FALSE(IsValidUtf8("\xF4\x90\x80\x80"));  // above U+10FFFF
  EXPECT_FALSE(IsValidUtf8("\xE2\x82"));          // truncated
  EXPECT_FALSE(IsValidUtf8("\x80"));
  EXPECT_TRUE(ParseJson(R"(["\ud83d\ude00"])").ok());
  EXPECT_FALSE(ParseJson(R"(["\ude00"])").ok());
  EXPECT_FALSE(ParseJson(R"(["\ud83d"])").ok());
  EXPECT_FALSE(ParseJson("[\"\xFF\"]").ok());
  EXPECT_FALSE(ParseJson("[\xFF]").ok());
}

// POL §10: sorted bytewise on unescaped keys, no whitespace, lexemes as written, minimal escapes.
TEST(CanonicalJsonTest, Form) {
  auto c = CanonicalJson(
      "{ \"b\" : [ 1.50 , -0 , 1E+2 ] ,\n \"a\" : { \"z\" : true, \"\\u00e9\" : null, \"Z\": \"\" "
      "} }");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(*c, "{\"a\":{\"Z\":\"\",\"z\":true,\"\xC3\xA9\":null},\"b\":[1.50,-0,1E+2]}");
  auto esc = CanonicalJson(R"(["\/\"\\\b\f\n\r\t\u0001\u001F\u007f\u00e9\u2028"])");
  ASSERT_TRUE(esc.ok());
  EXPECT_EQ(*esc, "[\"/\\\"\\\\\\b\\f\\n\\r\\t\\u0001\\u001f\x7f\xC3\xA9\xE2\x80\xA8\"]");
  // Keys sort on the unescaped bytes: "\u0041" is "A", which sorts before "a".
  auto keys = CanonicalJson(R"({"a":1,"\u0041":2,"":3,"ab":4})");
  ASSERT_TRUE(keys.ok());
  EXPECT_EQ(*keys, R"({"":3,"A":2,"a":1,"ab":4})");
  // Duplicate keys keep document order (stable sort).
  auto dup = CanonicalJson(R"({"b":1,"a":2,"b":0})");
  ASSERT_TRUE(dup.ok());
  EXPECT_EQ(*dup, R"({"a":2,"b":1,"b":0})");
  EXPECT_EQ(StdView(CanonicalJson("{").status().message()).rfind("$: invalid JSON at offset ", 0),
            0u);
  // Idempotent.
  auto again = CanonicalJson(*c);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(*again, *c);
  // Not bound by the policy size limit (the messaging fingerprint uses the same form).
  std::string big = "[\"" + std::string(70000, 'x') + "\"]";
  EXPECT_TRUE(CanonicalJson(big).ok());
}

TEST(Sha256Test, KnownVectors) {
  EXPECT_EQ(Sha256Hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(Sha256Hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(Sha256Hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  EXPECT_EQ(Sha256Hex(std::string(1000000, 'a')),
            "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
  // Lengths around the padding boundary.
  EXPECT_EQ(Sha256Hex(std::string(55, 'a')),
            "9f4390f8d30c2dd92ec9f095b65e2b9ae9b0a925a5258e241c9f1e910f734318");
  EXPECT_EQ(Sha256Hex(std::string(56, 'a')),
            "b35439a4ac6f0948b6d6f9e3c6af0f5f590ce20f1bde7090ef7970686ec6738a");
  EXPECT_EQ(Sha256Hex(std::string(64, 'a')),
            "ffe054fe7ae0cb6dc65c3af9b61d5209f439851db43d0ba5997337df154668eb");
}

}  // namespace
}  // namespace router::policy
