#pragma once
// JsonValue: the one JSON parser of the policy library (POL §1, §1.5, §10). An ordered tree that
// keeps what the policy DSL needs and generic DOMs lose: object members in document order
// including duplicate keys, number lexemes exactly as written, and the token type of numbers
// (integer token vs fraction/exponent token, POL §1.1 rule 1). Also the canonical (POL §10) and
// compact writers. Pure values and functions; thread-safe.

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace router::policy {

struct JsonMember;

struct JsonValue {
  enum class Type : uint8_t { kNull, kBool, kNumber, kString, kArray, kObject };

  Type type = Type::kNull;
  bool boolean = false;             // kBool
  bool integer_token = false;       // kNumber: no '.' and no exponent in the lexeme
  std::string str;                  // kString: unescaped UTF-8; kNumber: the lexeme as written
  std::vector<JsonValue> items;     // kArray
  std::vector<JsonMember> members;  // kObject, document order, duplicates kept

  bool IsObject() const { return type == Type::kObject; }
  bool IsArray() const { return type == Type::kArray; }
  bool IsString() const { return type == Type::kString; }
  bool IsNumber() const { return type == Type::kNumber; }
  bool IsBool() const { return type == Type::kBool; }
  bool IsNull() const { return type == Type::kNull; }
};

struct JsonMember {
  std::string key;  // unescaped UTF-8
  JsonValue value;
};

struct JsonParseOptions {
  size_t max_bytes = 65'536;  // 0 = unlimited
  int max_depth = 32;         // containers nested deeper than this are rejected
};

// Parses exactly one JSON value (RFC 8259, strict UTF-8). Errors are INVALID_ARGUMENT with tag
// "invalid_policy" and one of the POL §1.5 messages:
//   `$: document exceeds <max_bytes> bytes`, `$: nesting deeper than <max_depth> levels`,
//   `$: invalid JSON at offset <n>: <parser detail>`.
absl::StatusOr<JsonValue> ParseJson(std::string_view text, const JsonParseOptions& options = {});

// Appends `s` as a JSON string literal with the minimal escaping of POL §10: \" \\ \b \f \n \r
// \t, other characters below 0x20 as lowercase \u00xx, everything else literal.
void AppendJsonString(std::string& out, std::string_view s);

// Canonical form (POL §10): object members sorted bytewise by unescaped key (stable, so
// duplicate keys keep document order), no whitespace, number lexemes as written.
std::string WriteCanonical(const JsonValue& value);

// Compact form: like WriteCanonical but members stay in document order.
std::string WriteCompact(const JsonValue& value);

// True iff `s` is well-formed UTF-8 (no overlongs, no surrogates, nothing above U+10FFFF).
bool IsValidUtf8(std::string_view s);

}  // namespace router::policy
