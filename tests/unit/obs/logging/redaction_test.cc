// Redaction (obs/logging/redaction.h): OBS §5.3 keys (case-insensitive, '-' as '_', suffixes,
// log.redact_keys), value patterns with the replacements the spec gives, known secrets, and
// "a bare word such as token in prose is not redacted".
#include "obs/logging/redaction.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace router::obs {
namespace {

std::string Patterns(std::string s) {
  RedactValuePatterns(&s);
  return s;
}

// ---------------------------------------------------------------- keys

TEST(RedactionKeysTest, EverySpecKeyIsSecret) {
  const Redactor redactor;
  for (const char* key :
       {"password",    "passwd",       "pwd",           "secret",        "client_secret",
        "token",       "access_token", "refresh_token", "id_token",      "session_token",
        "api_key",     "apikey",       "x_api_key",     "authorization", "proxy_authorization",
        "cookie",      "set_cookie",   "bearer",        "x_auth_token",  "x_authorization",
        "credentials", "creds",        "private_key",   "nkey",          "seed",
        "jwt",         "credit_card",  "card_number",   "cvv",           "ssn",
        "email",       "phone"}) {
    EXPECT_TRUE(redactor.IsSecretKey(key)) << key;
  }
}

TEST(RedactionKeysTest, CaseInsensitiveAndDashAsUnderscore) {
  const Redactor redactor;
  EXPECT_TRUE(redactor.IsSecretKey("Authorization"));
  EXPECT_TRUE(redactor.IsSecretKey("X-API-Key"));
  EXPECT_TRUE(redactor.IsSecretKey("Set-Cookie"));
  EXPECT_TRUE(redactor.IsSecretKey("PROXY-AUTHORIZATION"));
  EXPECT_TRUE(redactor.IsSecretKey("Client-Secret"));
}

TEST(RedactionKeysTest, Suffixes) {
  const Redactor redactor;
  EXPECT_TRUE(redactor.IsSecretKey("db_password"));
  EXPECT_TRUE(redactor.IsSecretKey("webhook_secret"));
  EXPECT_TRUE(redactor.IsSecretKey("github_token"));
  EXPECT_TRUE(redactor.IsSecretKey("openai_api_key"));
  EXPECT_TRUE(redactor.IsSecretKey("OpenAI-API-Key"));
}

TEST(RedactionKeysTest, OrdinaryKeysAreNotSecret) {
  const Redactor redactor;
  for (const char* key : {"tenant_id", "grpc_port", "tokens_used", "token_count", "passwords_ok",
                          "reason", "path", "secretary", "emails_sent", "keyboard", ""}) {
    EXPECT_FALSE(redactor.IsSecretKey(key)) << key;
  }
}

TEST(RedactionKeysTest, ConfiguredRedactKeys) {
  const Redactor redactor(RedactionOptions{{"Customer-Name", "iban"}, {}});
  EXPECT_TRUE(redactor.IsSecretKey("customer_name"));
  EXPECT_TRUE(redactor.IsSecretKey("CUSTOMER-NAME"));
  EXPECT_TRUE(redactor.IsSecretKey("IBAN"));
  EXPECT_FALSE(redactor.IsSecretKey("customer"));
  EXPECT_FALSE(Redactor().IsSecretKey("iban"));
}

TEST(RedactionKeysTest, WholeObjectOrArrayUnderSecretKeyIsReplaced) {
  const Redactor redactor;
  std::vector<LogField> fields = {
      {"credentials", LogValue::Object({{"user", "u"}, {"pass", "p"}})},
      {"cookie", LogValue::Array({"a=1", "b=2"})},
      {"nested", LogValue::Object({{"inner_token", "t"}, {"fine", "ok"}})},
      {"list", LogValue::Array({LogValue::Object({{"password", "x"}})})}};
  redactor.RedactFields(&fields);
  ASSERT_EQ(fields[0].value.Kind(), LogValueKind::kString);
  EXPECT_EQ(fields[0].value.StringValue(), "[REDACTED]");
  EXPECT_EQ(fields[1].value.StringValue(), "[REDACTED]");
  const auto& nested = fields[2].value.ObjectFields();
  EXPECT_EQ(nested[0].value.StringValue(), "[REDACTED]");
  EXPECT_EQ(nested[1].value.StringValue(), "ok");
  EXPECT_EQ(fields[3].value.ArrayItems()[0].ObjectFields()[0].value.StringValue(), "[REDACTED]");
}

// ---------------------------------------------------------------- value patterns

TEST(RedactionPatternsTest, Bearer) {
  EXPECT_EQ(Patterns("Bearer abc.def"), "Bearer [REDACTED]");
  EXPECT_EQ(Patterns("authorization: bearer   x-Y_z~+/=.9 rest"),
            "authorization: Bearer [REDACTED] rest");
  EXPECT_EQ(Patterns("BEARER\ttok"), "Bearer [REDACTED]");
  EXPECT_EQ(Patterns("two: Bearer a, Bearer b"), "two: Bearer [REDACTED], Bearer [REDACTED]");
  // \b: not inside a word; a token is required.
  EXPECT_EQ(Patterns("xbearer abc"), "xbearer abc");
  EXPECT_EQ(Patterns("the bearer"), "the bearer");
  EXPECT_EQ(Patterns("bearer , x"), "bearer , x");
  // The spec's expression takes any word after "bearer": prose can be caught too.
  EXPECT_EQ(Patterns("bearer token missing"), "Bearer [REDACTED] missing");
}

TEST(RedactionPatternsTest, Basic) {
  EXPECT_EQ(Patterns("Authorization: Basic dXNlcjpwYXNzd29yZA=="),
            "Authorization: Basic [REDACTED]");
  EXPECT_EQ(Patterns("basic  abcdefgh"), "Basic [REDACTED]");
  EXPECT_EQ(Patterns("Basic abcdefg"), "Basic abcdefg");  // fewer than 8
  EXPECT_EQ(Patterns("basically abcdefghij"), "basically abcdefghij");
}

TEST(RedactionPatternsTest, Jwt) {
  const std::string jwt =
      "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_"
      "XgL0n3I9PlFUP0THsR8U";
  EXPECT_EQ(Patterns("token " + jwt + " end"), "token [REDACTED:jwt] end");
  EXPECT_EQ(Patterns("eyJabcde.fghij."), "[REDACTED:jwt]");       // empty signature allowed
  EXPECT_EQ(Patterns("eyJabcd.fghij.k"), "eyJabcd.fghij.k");      // first part too short
  EXPECT_EQ(Patterns("eyJabcde.fghi.k"), "eyJabcde.fghi.k");      // second part too short
  EXPECT_EQ(Patterns("xeyJabcde.fghij.k"), "xeyJabcde.fghij.k");  // \b
  EXPECT_EQ(Patterns("-eyJabcde.fghij.k"), "-[REDACTED:jwt]");
}

TEST(RedactionPatternsTest, NatsSeed) {
  const std::string seed = "SUACSSL3UAHUDXKFSNVUZRF5UHPMWZ6BFDTJ7M6USDXIEDNPPQYYYCU3VY";
  ASSERT_EQ(seed.size(), 58u);
  EXPECT_EQ(Patterns("seed " + seed + "."), "seed [REDACTED:nkey].");
  EXPECT_EQ(Patterns(seed), "[REDACTED:nkey]");
  EXPECT_EQ(Patterns(seed + "A"), seed + "A");                  // 57 characters after S: no \b
  EXPECT_EQ(Patterns(seed.substr(0, 57)), seed.substr(0, 57));  // too short
  EXPECT_EQ(Patterns("SB" + seed.substr(2)), "SB" + seed.substr(2));  // B is not a seed type
}

TEST(RedactionPatternsTest, UrlUserinfo) {
  EXPECT_EQ(Patterns("nats://alice:s3cret@nats.local:4222"), "nats://***@nats.local:4222");
  EXPECT_EQ(Patterns("url=https://user@example.com/path"), "url=https://***@example.com/path");
  EXPECT_EQ(Patterns("postgres+ssl://u:p@db/x and tls://a@b"),
            "postgres+ssl://***@db/x and tls://***@b");
  EXPECT_EQ(Patterns("https://example.com/a@b"), "https://example.com/a@b");  // '@' after '/'
  EXPECT_EQ(Patterns("http://host:4222"), "http://host:4222");
}

TEST(RedactionPatternsTest, SecretAssignments) {
  EXPECT_EQ(Patterns("password=hunter2"), "password=[REDACTED]");
  EXPECT_EQ(Patterns("Password : hunter2 next"), "Password=[REDACTED] next");
  EXPECT_EQ(Patterns("passwd:x;secret=y&token=z,api_key=w"),
            "passwd=[REDACTED];secret=[REDACTED]&token=[REDACTED],api_key=[REDACTED]");
  EXPECT_EQ(Patterns("API-KEY=abc apikey: d"), "API-KEY=[REDACTED] apikey=[REDACTED]");
  // As the spec's expression is written, a quote between key and '=' (JSON) is not matched;
  // the key rule covers structured fields.
  EXPECT_EQ(Patterns("\"api_key\"=e"), "\"api_key\"=e");
  EXPECT_EQ(Patterns("?token='quoted'"), "?token='quoted'");  // no value char after '='
}

TEST(RedactionPatternsTest, BareWordsInProseAreNotRedacted) {
  for (const char* prose :
       {"token expired", "the password is wrong", "missing secret", "invalid api key",
        "token refresh failed for tenant acme", "rotate the api_key soon", "tokens: 5"}) {
    EXPECT_EQ(Patterns(prose), prose);
  }
}

TEST(RedactionPatternsTest, Email) {
  EXPECT_EQ(Patterns("contact alice.smith+tag@example.co.uk now"), "contact [REDACTED:email] now");
  EXPECT_EQ(Patterns("<bob@example.com>"), "<[REDACTED:email]>");
  EXPECT_EQ(Patterns("a@b.c"), "a@b.c");  // TLD of one letter
  EXPECT_EQ(Patterns("user@localhost"), "user@localhost");
  EXPECT_EQ(Patterns("x@y.com."), "[REDACTED:email].");
}

TEST(RedactionPatternsTest, SeveralPatternsInOneString) {
  EXPECT_EQ(Patterns("auth=Bearer abc.def url=nats://u:p@h mail=a@ex.org"),
            "auth=Bearer [REDACTED] url=nats://***@h mail=[REDACTED:email]");
}

TEST(RedactionPatternsTest, LongInputsStayLinear) {
  // Pathological inputs for a backtracking engine finish at once here.
  std::string s;
  for (int i = 0; i < 20000; ++i) s += "eyJaaaaa-";
  std::string copy = s;
  EXPECT_FALSE(RedactValuePatterns(&copy));
  std::string letters(200000, 'a');
  EXPECT_FALSE(RedactValuePatterns(&letters));
  std::string ats(100000, '@');
  EXPECT_FALSE(RedactValuePatterns(&ats));
}

// ---------------------------------------------------------------- known secrets

TEST(RedactionKnownSecretsTest, ConfiguredValuesOf8BytesOrMore) {
  const Redactor redactor(RedactionOptions{{}, {"dev-admin-key-0123456789", "short", "nats-pass"}});
  EXPECT_EQ(redactor.Redacted("k=dev-admin-key-0123456789 and nats-pass twice nats-pass"),
            "k=[REDACTED] and [REDACTED] twice [REDACTED]");
  EXPECT_EQ(redactor.Redacted("short stays"), "short stays");  // under 8 bytes: ignored
}

TEST(RedactionKnownSecretsTest, StringsAreRedactedInsideObjects) {
  const Redactor redactor;
  LogValue v = LogValue::Object({{"header", "Bearer abc"}, {"n", 1}});
  redactor.RedactValue(&v);
  EXPECT_EQ(v.ObjectFields()[0].value.StringValue(), "Bearer [REDACTED]");
  EXPECT_EQ(v.ObjectFields()[1].value.IntValue(), 1);
}

}  // namespace
}  // namespace router::obs
