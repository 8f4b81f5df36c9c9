#pragma once
// JsonWriter: a small append-only JSON writer for the NATS replies and envelopes
// (nats-contracts.md §3). It appends to a caller-owned std::string whose capacity the caller
// keeps across messages, so steady-state writing does not allocate: no DOM, no per-field
// strings. Commas are tracked on a fixed stack (depth ≤ kMaxDepth).
//
// Strings are escaped per RFC 8259 and made valid UTF-8: ill-formed bytes (e.g. from a header
// value) become U+FFFD, so the output is always well-formed JSON. Numbers: integers exactly,
// doubles in the shortest round-trip form with a fraction part kept (1.0 -> "1.0"; non-finite
// values are written as 0).
//
// Thread-compatible: one writer per thread; the free functions are reentrant.

#include <simdjson.h>

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

namespace router::nats_adapter {

// Appends `s` as a quoted JSON string.
void AppendJsonString(std::string& out, std::string_view s);
// Appends the compact JSON encoding of a parsed value (object members in document order).
void AppendJsonElement(std::string& out, simdjson::dom::element element);
// Appends a double in the shortest form that round-trips, always with a fraction or exponent
// ("1.0", "0.0031", "1e+21"); 0 for NaN/inf.
void AppendJsonDouble(std::string& out, double value);
void AppendJsonInt(std::string& out, int64_t value);

class JsonWriter {
 public:
  static constexpr int kMaxDepth = 62;

  // Appends to `out` (not cleared).
  explicit JsonWriter(std::string& out) : out_(out) {}

  JsonWriter& BeginObject();
  JsonWriter& EndObject();
  JsonWriter& BeginArray();
  JsonWriter& EndArray();
  // Object member name; the next call writes its value.
  JsonWriter& Key(std::string_view key);

  JsonWriter& String(std::string_view value);
  JsonWriter& Int(int64_t value);
  JsonWriter& Double(double value);
  JsonWriter& Bool(bool value);
  JsonWriter& Null();
  // A value that is already JSON text (inserted verbatim).
  JsonWriter& Raw(std::string_view json);
  JsonWriter& Element(simdjson::dom::element element);

  // Key + value shorthands.
  JsonWriter& Field(std::string_view key, std::string_view value) { return Key(key).String(value); }
  JsonWriter& Field(std::string_view key, const char* value) {
    return Key(key).String(std::string_view(value));
  }
  JsonWriter& Field(std::string_view key, int64_t value) { return Key(key).Int(value); }
  JsonWriter& Field(std::string_view key, int value) { return Key(key).Int(value); }
  JsonWriter& Field(std::string_view key, bool value) { return Key(key).Bool(value); }

  std::string& out() { return out_; }

 private:
  void BeforeValue();
  void Push(char open);
  void Pop(char close);

  std::string& out_;
  std::array<bool, kMaxDepth + 1> first_{};  // first_[d]: no member written yet at depth d
  int depth_ = 0;
  bool after_key_ = false;
};

}  // namespace router::nats_adapter
